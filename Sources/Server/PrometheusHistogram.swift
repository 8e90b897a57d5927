// A Prometheus histogram (cumulative buckets, sum, count) and its text exposition lines.
import Foundation

struct PrometheusHistogram: Sendable {
    let bounds: [Double]
    private(set) var counts: [Int]
    private(set) var sum = 0.0
    private(set) var count = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    mutating func observe(_ value: Double) {
        guard value.isFinite else { return }
        for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
        sum += value
        count += 1
    }

    /// `name_bucket{le="…"}` (cumulative, then +Inf), `name_sum`, `name_count`.
    func lines(_ name: String) -> [String] {
        var out: [String] = []
        for (bound, n) in zip(bounds, counts) { out.append("\(name)_bucket{le=\"\(PrometheusText.number(bound))\"} \(n)") }
        out.append("\(name)_bucket{le=\"+Inf\"} \(count)")
        out.append("\(name)_sum \(PrometheusText.number(sum))")
        out.append("\(name)_count \(count)")
        return out
    }
}

enum PrometheusText {
    /// Content-Type of the text exposition format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
        return "\(v)"
    }

    static func header(_ name: String, _ type: String, _ help: String) -> [String] {
        ["# HELP \(name) \(help)", "# TYPE \(name) \(type)"]
    }

    /// A label value with `\`, `"` and newlines escaped.
    static func label(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
