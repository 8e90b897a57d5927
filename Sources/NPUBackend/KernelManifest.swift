// Reads Kernels/manifest.json (the kernels' ABI: entries, arguments, tiling, buffers) as hostile input.
import Foundation
import LlamaCore

/// A problem with the manifest file, naming the file and the JSON path of the offending value.
public struct KernelManifestError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// Element types a manifest may name, with their storage size.
public enum KernelDType: String, Sendable, CaseIterable {
    case bf16, f32, i32, u8, u16, q4_1, q4_0

    /// Bytes of `count` elements (Q4_1: 20 bytes per 32, Q4_0: 18), nil when not whole blocks or on overflow.
    public func bytes(_ count: Int) -> Int? {
        switch self {
        case .u8: return count
        case .bf16, .u16: return count.multipliedReportingOverflow(by: 2).overflow ? nil : count * 2
        case .f32, .i32: return count.multipliedReportingOverflow(by: 4).overflow ? nil : count * 4
        case .q4_1: return count % 32 == 0 ? DType.q4_1.byteCount(elements: count) : nil
        case .q4_0: return count % 32 == 0 ? DType.q4_0.byteCount(elements: count) : nil
        }
    }
}

/// The device budgets the plan checks every tiling against, read from the NPU2 target model
/// (Kernels/npu2_target.json), not from the manifest: array columns × core rows, a core's data memory and
/// stack, a memory tile's bytes.
public struct KernelDevice: Sendable, Equatable {
    public var name: String
    public var columns: Int
    public var coresPerColumn: Int
    public var coreBytes: Int
    public var coreStackBytes: Int
    public var memTileBytes: Int
    public var cores: Int { columns * coresPerColumn }

    public init(_ target: NPU2Target) {
        name = target.target
        columns = target.columns
        coresPerColumn = target.coreRows
        coreBytes = target.coreDataMemoryBytes
        coreStackBytes = target.coreStackBytes
        memTileBytes = target.memTileBytes
    }
}

/// A tensor argument or an on-chip buffer of a kernel, sized by expressions.
public struct KernelBuffer: Sendable, Equatable {
    public var name: String
    public var dtype: KernelDType
    /// Argument shape (outermost first); for on-chip buffers a single element count.
    public var shape: [KernelExpression]
    /// How many copies (2 = double-buffered ObjectFifo).
    public var depth: Int
}

/// One kernel of the manifest.
public struct KernelSpec: Sendable, Equatable {
    public var name: String
    public var op: String
    public var dtype: String
    public var source: String
    public var design: String
    public var entries: [String]
    public var entryByPairing: [String: String]
    public var rounding: String
    public var dims: [String]
    /// Tiling candidates in order of preference (manifest `tilings`, or the one `tiling`); every
    /// candidate binds the same keys. The plan takes, per use, the first whose constraints and
    /// buffer budgets hold; the first is the design files' default (their module constants).
    public var tilings: [[(key: String, value: Int)]]
    /// The default tiling: the first candidate.
    public var tiling: [(key: String, value: Int)] { tilings[0] }
    public var constraints: [(check: KernelExpression, message: String)]
    public var args: [KernelBuffer]
    public var coreBuffers: [KernelBuffer]
    public var memTileBuffers: [KernelBuffer]

    public static func == (a: KernelSpec, b: KernelSpec) -> Bool {
        a.name == b.name && a.op == b.op && a.dtype == b.dtype && a.entries == b.entries
            && a.tilings.map { $0.map(\.key) } == b.tilings.map { $0.map(\.key) }
            && a.tilings.map { $0.map(\.value) } == b.tilings.map { $0.map(\.value) }
    }
}

/// One use of an op by the model (a graph slot such as `ffn_gate`), with its dims in model terms.
public struct KernelUse: Sendable, Equatable {
    public var name: String
    public var op: String
    /// Which weights pick the kernel's dtype: `projection`, `lm_head`, or nil for bf16 activations only.
    public var weights: String?
    public var dims: [(key: String, value: KernelExpression)]

    public static func == (a: KernelUse, b: KernelUse) -> Bool {
        a.name == b.name && a.op == b.op && a.weights == b.weights && a.dims.map(\.key) == b.dims.map(\.key)
    }
}

/// The parsed manifest. Every expression is parsed and every name checked at load. The device budgets and
/// every other hardware limit come from the NPU2 target model beside it (`target`), the tolerated
/// violations of those limits from the baseline beside it (`baseline`).
public struct KernelManifest: Sendable, Equatable {
    /// The budgets the plan checks against (from `target`).
    public var device: KernelDevice
    public var target: NPU2Target
    public var baseline: NPU2Baseline
    public var kernels: [KernelSpec]
    public var uses: [KernelUse]

    /// Names a use's dims may read.
    public static let modelVariables: Set<String> = [
        "hidden", "qDim", "kvDim", "headDim", "heads", "kvHeads", "group", "ffn", "vocab", "ctx", "chunk", "layers",
    ]
    static let maxBytes = 1 << 20

    public static func load(path: String) throws -> KernelManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KernelManifestError(file: path, message: "cannot read the file")
        }
        return try KernelManifest(json: data, file: path)
    }

    /// - Parameters:
    ///   - target, baseline: the NPU2 target model and the known violations; nil reads `npu2_target.json` and
    ///     `npu2_baseline.json` from the directory of `file` (Kernels/ holds all three), after the manifest
    ///     itself parsed.
    public init(json data: Data, file: String = "manifest.json", target: NPU2Target? = nil, baseline: NPU2Baseline? = nil) throws {
        func fail(_ path: String, _ why: String) -> KernelManifestError {
            KernelManifestError(file: file, message: path.isEmpty ? why : "\(path): \(why)")
        }
        guard data.count <= Self.maxBytes else { throw fail("", "is larger than \(Self.maxBytes) bytes") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("", "is not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))")
        }
        let r = Reader(fail: fail)
        let top = try r.object(root, "")
        guard try r.int(top, "format", "") == 1 else { throw fail("format", "must be 1") }


        var kernels: [KernelSpec] = []
        for (i, any) in try r.array(top["kernels"] as Any, "kernels").enumerated() {
            let p = "kernels[\(i)]"
            let k = try r.object(any, p)
            let name = try r.identifier(k, "name", p)
            let p2 = "kernels[\(i)] (\(name))"
            let dims = try r.array(k["dims"] as Any, "\(p2).dims").enumerated().map { try r.identifierValue($1, "\(p2).dims[\($0)]") }
            // "tiling": one fixed tiling; "tilings": candidates in order of preference
            let tilingObjects: [(Any, String)]
            switch (k["tiling"], k["tilings"]) {
            case (let one?, nil): tilingObjects = [(one, "\(p2).tiling")]
            case (nil, let list?):
                let a = try r.array(list, "\(p2).tilings")
                guard (1...16).contains(a.count) else { throw fail("\(p2).tilings", "must hold 1 to 16 candidates") }
                tilingObjects = a.enumerated().map { ($1, "\(p2).tilings[\($0)]") }
            case (nil, nil): throw fail("\(p2).tiling", "is missing (give 'tiling' or 'tilings')")
            case (_?, _?): throw fail("\(p2)", "has both 'tiling' and 'tilings'")
            }
            let tilings = try tilingObjects.map { any, tp -> [(key: String, value: Int)] in
                let o = try r.object(any, tp)
                return try o.keys.sorted().map { key -> (key: String, value: Int) in
                    guard let v = jsonInt(o[key]!), v > 0, v <= 1 << 20 else {
                        throw fail("\(tp).\(key)", "must be an integer from 1 to 2^20")
                    }
                    return (key, v)
                }
            }
            let tilingKeys = tilings[0].map(\.key)
            if let bad = tilings.firstIndex(where: { $0.map(\.key) != tilingKeys }) {
                throw fail("\(p2).tilings[\(bad)]", "must bind the same keys as the first candidate, \(tilingKeys)")
            }
            let known = Self.modelVariables.union(dims).union(tilingKeys)
            func expr(_ value: Any, _ path: String) throws -> KernelExpression {
                let e: KernelExpression
                if let n = jsonInt(value) { e = .literal(n) } else {
                    let text = try r.stringValue(value, path)
                    do { e = try KernelExpression(parsing: text) } catch { throw fail(path, "\(error)") }
                }
                if let unknown = e.names.subtracting(known).sorted().first {
                    throw fail(path, "reads '\(unknown)', which is neither a model dimension, a dim nor a tiling parameter")
                }
                return e
            }
            func buffers(_ key: String, shaped: Bool) throws -> [KernelBuffer] {
                try r.array(k[key] as Any, "\(p2).\(key)").enumerated().map { j, any in
                    let bp = "\(p2).\(key)[\(j)]"
                    let b = try r.object(any, bp)
                    let dt = try r.string(b, "dtype", bp)
                    guard let dtype = KernelDType(rawValue: dt) else {
                        throw fail("\(bp).dtype", "'\(dt)' is not one of \(KernelDType.allCases.map(\.rawValue))")
                    }
                    let shape = shaped
                        ? try r.array(b["shape"] as Any, "\(bp).shape").enumerated().map { try expr($1, "\(bp).shape[\($0)]") }
                        : [try expr(b["count"] as Any, "\(bp).count")]
                    let depth = shaped ? 1 : try r.int(b, "depth", bp)
                    guard (1...4).contains(depth) else { throw fail("\(bp).depth", "must be 1 to 4") }
                    return KernelBuffer(name: try r.identifier(b, "name", bp), dtype: dtype, shape: shape, depth: depth)
                }
            }
            let constraints = try r.array(k["constraints"] as Any, "\(p2).constraints").enumerated().map { j, any in
                let cp = "\(p2).constraints[\(j)]"
                let c = try r.object(any, cp)
                return (check: try expr(c["check"] as Any, "\(cp).check"), message: try r.string(c, "message", cp))
            }
            var byPairing: [String: String] = [:]
            if let bp = k["entryByPairing"] {
                for (key, value) in try r.object(bp, "\(p2).entryByPairing") {
                    byPairing[key] = try r.identifierValue(value, "\(p2).entryByPairing.\(key)")
                }
            }
            let entries = try r.array(k["entries"] as Any, "\(p2).entries").enumerated().map {
                try r.identifierValue($1, "\(p2).entries[\($0)]")
            }
            guard !entries.isEmpty else { throw fail("\(p2).entries", "is empty") }
            if let bad = byPairing.values.first(where: { !entries.contains($0) }) {
                throw fail("\(p2).entryByPairing", "'\(bad)' is not among the entries")
            }
            kernels.append(KernelSpec(
                name: name, op: try r.identifier(k, "op", p2), dtype: try r.identifier(k, "dtype", p2),
                source: try r.string(k, "source", p2), design: try r.string(k, "design", p2), entries: entries,
                entryByPairing: byPairing, rounding: try r.string(k, "rounding", p2), dims: dims, tilings: tilings,
                constraints: constraints, args: try buffers("args", shaped: true),
                coreBuffers: try buffers("coreBuffers", shaped: false),
                memTileBuffers: try buffers("memTileBuffers", shaped: false)))
        }
        var seen = Set<String>()
        for k in kernels {
            guard seen.insert(k.name).inserted else { throw fail("kernels", "'\(k.name)' appears twice") }
            guard seen.insert("\(k.op)/\(k.dtype)").inserted else {
                throw fail("kernels", "two kernels serve op '\(k.op)' for dtype '\(k.dtype)'")
            }
        }
        self.kernels = kernels

        var uses: [KernelUse] = []
        for (i, any) in try r.array(top["instances"] as Any, "instances").enumerated() {
            let p = "instances[\(i)]"
            let u = try r.object(any, p)
            let op = try r.identifier(u, "op", p)
            guard let kernel = kernels.first(where: { $0.op == op }) else {
                throw fail("\(p).op", "no kernel implements op '\(op)'")
            }
            let dimsObject = try r.object(u["dims"] as Any, "\(p).dims")
            guard Set(dimsObject.keys) == Set(kernel.dims) else {
                throw fail("\(p).dims", "must bind exactly \(kernel.dims.sorted()) for op '\(op)'")
            }
            let dims = try kernel.dims.map { key -> (key: String, value: KernelExpression) in
                let dp = "\(p).dims.\(key)"
                let text = try r.stringValue(dimsObject[key]!, dp)
                let e: KernelExpression
                do { e = try KernelExpression(parsing: text) } catch { throw fail(dp, "\(error)") }
                if let unknown = e.names.subtracting(Self.modelVariables).sorted().first {
                    throw fail(dp, "reads '\(unknown)', which is not a model dimension")
                }
                return (key, e)
            }
            let weights = try u["weights"].map { try r.stringValue($0, "\(p).weights") }
            if let w = weights, !["projection", "lm_head"].contains(w) {
                throw fail("\(p).weights", "must be 'projection' or 'lm_head', not '\(w)'")
            }
            uses.append(KernelUse(name: try r.identifier(u, "name", p), op: op, weights: weights, dims: dims))
        }
        self.uses = uses

        let target = try target ?? NPU2Target.load(path: NPU2Target.path(besides: file))
        self.target = target
        self.baseline = try baseline ?? NPU2Baseline.load(path: NPU2Baseline.path(besides: file))
        device = KernelDevice(target)
        // the device's limits live in the target model alone; a manifest that still carries its own is refused
        if top["device"] != nil {
            throw fail("device", "is no longer read: the NPU2 target model (\(target.file)) is the one source of device limits")
        }
    }
}

/// Typed access to untrusted JSON values; every failure names the JSON path.
private struct Reader {
    let fail: (String, String) -> KernelManifestError

    func object(_ v: Any, _ path: String) throws -> [String: Any] {
        guard let o = v as? [String: Any] else { throw fail(path, "must be an object, not \(jsonKind(v))") }
        return o
    }
    func array(_ v: Any, _ path: String) throws -> [Any] {
        guard let a = v as? [Any] else { throw fail(path, "must be an array, not \(jsonKind(v))") }
        guard a.count <= 4096 else { throw fail(path, "has more than 4096 elements") }
        return a
    }
    func stringValue(_ v: Any, _ path: String) throws -> String {
        guard let s = v as? String, !(v is NSNumber) else { throw fail(path, "must be a string, not \(jsonKind(v))") }
        guard s.utf8.count <= 1024 else { throw fail(path, "is longer than 1024 bytes") }
        return s
    }
    func string(_ o: [String: Any], _ key: String, _ path: String) throws -> String {
        guard let v = o[key] else { throw fail(path.isEmpty ? key : "\(path).\(key)", "is missing") }
        return try stringValue(v, path.isEmpty ? key : "\(path).\(key)")
    }
    func identifierValue(_ v: Any, _ path: String) throws -> String {
        let s = try stringValue(v, path)
        guard !s.isEmpty, s.utf8.count <= 64,
              s.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") })
        else { throw fail(path, "'\(s)' is not an identifier (ASCII letters, digits, _; at most 64)") }
        return s
    }
    func identifier(_ o: [String: Any], _ key: String, _ path: String) throws -> String {
        guard let v = o[key] else { throw fail(path.isEmpty ? key : "\(path).\(key)", "is missing") }
        return try identifierValue(v, path.isEmpty ? key : "\(path).\(key)")
    }
    func int(_ o: [String: Any], _ key: String, _ path: String) throws -> Int {
        let p = path.isEmpty ? key : "\(path).\(key)"
        guard let v = o[key] else { throw fail(p, "is missing") }
        guard let n = jsonInt(v), n >= 0, n <= 1 << 40 else { throw fail(p, "must be an integer from 0 to 2^40, not \(jsonKind(v))") }
        return n
    }
    func positive(_ o: [String: Any], _ key: String, _ path: String) throws -> Int {
        let n = try int(o, key, path)
        guard n > 0 else { throw fail(path.isEmpty ? key : "\(path).\(key)", "must be positive") }
        return n
    }
}
