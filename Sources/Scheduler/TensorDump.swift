// Dumps chosen node outputs to .npy files with a manifest in the golden format, so a dump loads as a golden.
import Foundation
import LlamaCore

/// Node-name patterns such as `l_out-*,Qcur-3` (`*` matches any run of characters).
public struct NodePattern: Sendable {
    public let patterns: [String]

    public init(_ list: String) {
        patterns = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func matches(_ name: String) -> Bool { patterns.contains { Self.glob($0, name) } }

    /// `*`-only glob match, linear in the lengths.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.utf8), t = Array(text.utf8)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] == t[ti] { pi += 1; ti += 1 }
            else if pi < p.count && p[pi] == UInt8(ascii: "*") { star = pi; mark = ti; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ti = mark }
            else { return false }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// Collects node outputs per case and writes `DIR/manifest.json` + `DIR/<case>/<node>.npy`.
public final class TensorDump {
    public let directory: String
    public let pattern: NodePattern
    private var cases: [[String: Any]] = []
    private let model: String
    private let device: String

    public init(directory: String, pattern: NodePattern, model: String, device: String) {
        self.directory = directory
        self.pattern = pattern
        self.model = model
        self.device = device
    }

    /// Writes one case's matching tensors. `outputs` maps node name → (rows, row-major values).
    public func add(caseName: String, promptIDs: [Int], greedyIDs: [Int],
                    outputs: [String: (rows: Int, values: [Float])]) throws {
        let caseDir = (directory as NSString).appendingPathComponent(caseName)
        try FileManager.default.createDirectory(atPath: caseDir, withIntermediateDirectories: true)
        var tensors: [String: Any] = [:]
        for (name, output) in outputs.sorted(by: { $0.key < $1.key }) where pattern.matches(name) {
            let width = output.rows > 0 ? output.values.count / output.rows : 0
            let file = "\(caseName)/\(name).npy"
            try NPY.write(NPYArray(shape: [output.rows, width], values: output.values),
                          to: (directory as NSString).appendingPathComponent(file))
            tensors[name] = ["file": file, "shape": [output.rows, width]]
        }
        cases.append(["name": caseName, "prompt": NSNull(), "prompt_ids": promptIDs, "greedy_ids": greedyIDs,
                      "greedy_margins": [Double](), "tensors": tensors])
        try writeManifest()
    }

    private func writeManifest() throws {
        let manifest: [String: Any] = [
            "format_version": GoldenSet.formatVersion,
            "model": ["name": (model as NSString).lastPathComponent, "file": model],
            "generator": ["command": "npu-llama verify --dump", "device": device],
            "cases": cases,
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("manifest.json")))
    }
}
