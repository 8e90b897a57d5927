// Renders a VerifyReport: a per-layer terminal table and a self-contained HTML page with an error plot.
import Foundation

/// Per-layer summary rows: the worst error of each comparison over a case's steps.
struct LayerRow {
    var label: String
    var order: Int
    var worst: [String: Double] = [:]     // against → worst NMSE
    var minCosine = 1.0
    var failed = false
    var drift = false
    var status: String { failed ? "FAIL" : (drift ? "drift" : "ok") }
}

func layerRows(_ c: CaseReport) -> [LayerRow] {
    var rows: [Int: LayerRow] = [:]
    for check in c.checks {
        let order: Int, label: String
        if let layer = check.layer { (order, label) = (layer, "layer \(layer)") }
        else if check.node == "inp_embd" { (order, label) = (-1, "inp_embd") }
        else { (order, label) = (Int.max - (check.node == "result_output" ? 0 : 1), check.node) }
        var row = rows[order] ?? LayerRow(label: label, order: order)
        row.worst[check.against] = max(row.worst[check.against] ?? 0, check.nmse.isNaN ? .infinity : check.nmse)
        row.minCosine = min(row.minCosine, check.cosine)
        row.failed = row.failed || !check.passed
        row.drift = row.drift || check.exceedsBound
        rows[order] = row
    }
    return rows.values.sorted { $0.order < $1.order }
}

let comparisonColumns = ["teacher-forced", "fp32 reference", "golden"]

public enum ReportRendering {
    /// The terminal report: per case a per-layer table, the logit gate, the first failure.
    public static func text(_ report: VerifyReport) -> String {
        var out = "verify: \(report.model)\nchecked backend: \(report.device) against the fp32 CPU reference (granularity: \(report.granularity))\n"
        for c in report.cases {
            out += "\ncase \(c.name): \(c.promptIDs.count) prompt tokens, \(c.generatedIDs.count) greedy tokens\n"
            out += pad("", 16) + comparisonColumns.map { pad("NMSE " + $0, 22) }.joined() + pad("min cos", 14) + "status\n"
            for row in layerRows(c) {
                out += pad(row.label, 16)
                for column in comparisonColumns {
                    out += pad(row.worst[column].map { String(format: "%.3e", $0) } ?? "-", 22)
                }
                out += pad(String(format: "%.8f", row.minCosine), 14) + row.status + "\n"
            }
            for l in c.logits {
                out += String(format: "logits vs %@, %@: KL mean %.2e p90 %.2e max %.2e over %d %@, top-1 agreement %.1f%% — %@ (gate: %@)\n",
                              l.against, l.scope == .rows ? "every row" : "this case's steps", l.klMean, l.klP90, l.klMax, l.positions,
                              l.scope == .rows ? "rows" : "steps", 100 * l.top1Agreement, l.passed ? "ok" : "FAIL", l.gatedOn)
            }
            if let golden = c.goldenGreedyIDs, let g = c.greedy {
                if g.matched == g.compared {
                    out += "greedy vs golden: equal for all \(g.compared) tokens\n"
                } else {
                    out += "greedy vs golden: equal for \(g.matched) of \(g.compared) tokens, then ours \(c.generatedIDs[g.matched]) vs golden \(golden[g.matched])"
                    out += String(format: " where the golden margin is %.4f and our logit resolution %.4f — %@\n", g.goldenMargin ?? .nan, g.resolution,
                                  g.passed ? "ok (a near-tie this precision cannot resolve)" : "FAIL")
                }
            }
        }
        if let (caseName, f) = report.firstFailure {
            out += "\nFIRST FAILURE: \(f.node) (\(f.op), \(f.dtype)) at \(f.step) of case \(caseName), \(f.against): "
            out += String(format: "NMSE %.3e > bound %.1e, max-abs %.3e, cosine %.6f, non-finite %d\n", f.nmse, f.bound, f.maxAbs, f.cosine, f.nonFinite)
            for s in f.samples { out += "  [\(s.index)] expected \(s.expected)  actual \(s.actual)\n" }
        }
        let drifting = report.cases.flatMap(\.checks).filter { $0.passed && $0.exceedsBound }
        if let worst = drifting.max(by: { $0.nmse < $1.nmse }) {
            out += String(format: "\ndrift (reported, not gating): %d checks above the free-running guide; worst %@ at %@: NMSE %.3e (guide %.1e)\n",
                          drifting.count, worst.node, worst.step, worst.nmse, worst.bound)
        }
        out += "\n" + driftLegend + "\n"
        if let l = report.steps {
            out += String(format: "\nIRON's gate, logits vs %@ over the %d steps of %d case(s): KL mean %.2e p90 %.2e max %.2e, top-1 agreement %.1f%% — %@ (bounds %.2g / %.2g / %.2g)\n",
                          l.against, l.positions, report.cases.count, l.klMean, l.klP90, l.klMax, 100 * l.top1Agreement,
                          l.passed ? "ok" : "FAIL", report.gate.klMean, report.gate.klP90, report.gate.klMax)
        }
        out += "\nresult: \(report.passed ? "PASS" : "FAIL")\n"
        return out
    }

    /// What the status column means, in one line (terminal and HTML).
    public static let driftLegend = "status: ok = within its bound; drift = a free-running difference above its guide, reported and not a failure "
        + "(reduced precision accumulating over the layers; the teacher-forced bounds and the logit KL gate decide); FAIL = a gating bound exceeded"

    /// A self-contained HTML page (no external assets): error per layer per comparison as an SVG
    /// plot (log scale), the per-layer table and the first failing node.
    public static func html(_ report: VerifyReport) -> String {
        var body = "<h1>NPULlama verify: \(escape(report.model))</h1>"
        body += "<p>Checked backend: <b>\(escape(report.device))</b> against the fp32 CPU reference; granularity \(report.granularity). Result: <b class=\"\(report.passed ? "ok" : "fail")\">\(report.passed ? "PASS" : "FAIL")</b></p>"
        if let (caseName, f) = report.firstFailure {
            body += "<div class=\"fail-box\"><h2>First failing node: \(escape(f.node))</h2><p>case \(escape(caseName)), \(escape(f.step)), \(escape(f.against)), op \(escape(f.op)) in \(escape(f.dtype)): NMSE \(String(format: "%.3e", f.nmse)) &gt; \(String(format: "%.1e", f.bound)), cosine \(String(format: "%.6f", f.cosine))</p><table><tr><th>index</th><th>expected</th><th>actual</th></tr>"
            for s in f.samples { body += "<tr><td>\(s.index)</td><td>\(s.expected)</td><td>\(s.actual)</td></tr>" }
            body += "</table></div>"
        }
        body += "<p class=\"legend\">Rows shaded <span class=\"drift-key\">yellow (drift)</span> are reported, not failures: a free-running "
            + "difference above its guide, from reduced precision accumulating over the layers; the teacher-forced bounds and the logit KL gate "
            + "decide. Rows shaded <span class=\"fail-key\">red (FAIL)</span> exceeded a gating bound.</p>"
        for c in report.cases {
            let rows = layerRows(c)
            body += "<h2>Case \(escape(c.name))</h2>" + plot(rows)
            body += "<table><tr><th></th>" + comparisonColumns.map { "<th>NMSE \($0)</th>" }.joined() + "<th>min cosine</th><th>status</th></tr>"
            for row in rows {
                body += "<tr class=\"\(row.failed ? "fail" : (row.drift ? "drift" : ""))\"><td>\(escape(row.label))</td>"
                body += comparisonColumns.map { "<td>\(row.worst[$0].map { String(format: "%.3e", $0) } ?? "–")</td>" }.joined()
                body += "<td>\(String(format: "%.8f", row.minCosine))</td><td>\(row.status)</td></tr>"
            }
            body += "</table><ul>"
            for l in c.logits {
                body += "<li>logits vs \(escape(l.against)), \(l.scope == .rows ? "every row" : "this case's steps") (gate: \(l.gatedOn)): KL mean \(String(format: "%.2e", l.klMean)), p90 \(String(format: "%.2e", l.klP90)), max \(String(format: "%.2e", l.klMax)) over \(l.positions) \(l.scope == .rows ? "rows" : "steps"); top-1 agreement \(String(format: "%.1f", 100 * l.top1Agreement))% — \(l.passed ? "ok" : "FAIL")</li>"
            }
            if let g = c.greedy {
                body += "<li>greedy vs golden: " + (g.matched == g.compared ? "equal for all \(g.compared) tokens"
                    : "equal for \(g.matched) of \(g.compared) tokens; golden margin at the divergence \(String(format: "%.4f", g.goldenMargin ?? .nan)), our logit resolution \(String(format: "%.4f", g.resolution))") + " — \(g.passed ? "ok" : "FAIL")</li>"
            }
            body += "</ul>"
        }
        if let l = report.steps {
            body += "<h2>IRON's gate</h2><p>logits vs \(escape(l.against)) over the \(l.positions) steps of \(report.cases.count) case(s): KL mean \(String(format: "%.2e", l.klMean)), p90 \(String(format: "%.2e", l.klP90)), max \(String(format: "%.2e", l.klMax)); top-1 agreement \(String(format: "%.1f", 100 * l.top1Agreement))% — \(l.passed ? "ok" : "FAIL") (bounds \(report.gate.klMean) / \(report.gate.klP90) / \(report.gate.klMax))</p>"
        }
        body += "<h2>Tolerances</h2><table><tr><th>op</th><th>dtype</th><th>mode</th><th>NMSE bound</th><th>gates</th><th>reason</th></tr>"
        for t in report.tolerances {
            body += "<tr><td>\(escape(t.op))</td><td>\(t.dtype)</td><td>\(t.mode)</td><td>\(String(format: "%.1e", t.nmse))</td><td>\(t.gates ? "yes" : "no (drift guide)")</td><td>\(escape(t.reason))</td></tr>"
        }
        body += "</table>"
        // The tables and the plot take the page's width.
        let style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0;width:100%}svg{width:100%;height:auto}.drift-key{background:#ffc}.fail-key{background:#fdd}"
            + "td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px;text-align:right}tr.fail td{background:#fdd}tr.drift td{background:#ffc}.ok{color:#080}.fail{color:#c00}.fail-box{border:2px solid #c00;padding:0 1em;margin:1em 0}"
        return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>NPULlama verify</title><style>\(style)</style></head><body>\(body)</body></html>\n"
    }

    /// An SVG line plot: x = layer row, y = log10(NMSE), one line per comparison.
    static func plot(_ rows: [LayerRow]) -> String {
        let width = 900.0, height = 330.0, left = 70.0, bottom = 40.0, top = 30.0, right = 150.0
        let values = rows.flatMap { $0.worst.values }.filter { $0 > 0 && $0.isFinite }
        let lo = floor(log10(values.min() ?? 1e-12)) , hi = max(ceil(log10(values.max() ?? 1)), lo + 1)
        func x(_ i: Int) -> Double { left + (width - left - right) * (rows.count > 1 ? Double(i) / Double(rows.count - 1) : 0.5) }
        func y(_ v: Double) -> Double {
            let l = v > 0 && v.isFinite ? log10(v) : (v == 0 ? lo : hi)
            return top + (height - top - bottom) * (hi - l) / (hi - lo)
        }
        // viewBox: the plot scales to the page's width (CSS svg{width:100%}), keeping its proportions.
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\">"
        for e in stride(from: lo, through: hi, by: 1) {
            svg += "<line x1=\"\(left)\" x2=\"\(width - right)\" y1=\"\(y(pow(10, e)))\" y2=\"\(y(pow(10, e)))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(pow(10, e)) + 4)\" text-anchor=\"end\">1e\(Int(e))</text>"
        }
        for (i, row) in rows.enumerated() where rows.count <= 40 || i % 2 == 0 {
            svg += "<text x=\"\(x(i))\" y=\"\(height - bottom + 14)\" text-anchor=\"middle\" fill=\"\(row.failed ? "#c00" : "#333")\">\(escape(shortLabel(row.label)))</text>"
        }
        svg += "<text x=\"\(left)\" y=\"\(top - 6)\">worst NMSE per layer (log scale)</text>"
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c"]
        for (k, column) in comparisonColumns.enumerated() {
            let points = rows.enumerated().compactMap { i, row in row.worst[column].map { "\(x(i)),\(y($0))" } }
            guard !points.isEmpty else { continue }
            svg += "<polyline fill=\"none\" stroke=\"\(colors[k])\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            for p in points { let xy = p.split(separator: ","); svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(colors[k])\"/>" }
            svg += "<text x=\"\(width - right + 10)\" y=\"\(top + 16 * Double(k + 1))\" fill=\"\(colors[k])\">\(column)</text>"
        }
        for (i, row) in rows.enumerated() where row.failed {
            svg += "<line x1=\"\(x(i))\" x2=\"\(x(i))\" y1=\"\(top)\" y2=\"\(height - bottom)\" stroke=\"#c00\" stroke-dasharray=\"3,3\"/>"
        }
        return svg + "</svg>"
    }

    /// Axis labels: layer numbers, and short names for the head and tail nodes.
    static func shortLabel(_ label: String) -> String {
        switch label {
        case "inp_embd": return "emb"
        case "result_norm": return "norm"
        case "result_output": return "out"
        default: return label.replacingOccurrences(of: "layer ", with: "")
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

private func pad(_ s: String, _ n: Int) -> String {
    s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
}
