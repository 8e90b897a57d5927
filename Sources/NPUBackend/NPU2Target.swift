// NPU2Target: the reader of Kernels/npu2_target.json (hostile input) — the one Swift source of the NPU2, aiecc, XRT and amdxdna limits.
import Foundation
import LlamaCore

/// A problem with the target model file, naming the file and the key.
public struct NPU2TargetError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// One limit of the target model: its value, unit and the real source it was read from.
public struct NPU2Limit: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int)
        case string(String)
        case strings([String])
        case bool(Bool)
        case double(Double)
        /// A structured value Swift does not enforce (an AIE API rule's type table, a numeric model), as compact JSON.
        case json(String)
        /// A list of flat records of strings (e.g. `driver.xdna2Devices`).
        case records([[String: String]])
    }
    public var key: String
    public var value: Value
    public var unit: String
    /// Repository, path and symbol the value was read from: quoted in every error that enforces it.
    public var source: String
    /// Whether the source states the value for XDNA2 (else `note` says why the value is conservative).
    public var confirmed: Bool
    public var note: String?
}

/// The NPU2 target model. Every stand-in reads its limits from here, never from constants of its own:
/// `KernelPlan` (core and memory-tile budgets, through `KernelManifest.device`), the plan's design checks
/// (`DesignLimits`: aiecc's buffer arguments, kernels per hw_context) and `EmulatedDevice` (runlist chains,
/// the firmware command buffer, TDR, BO flags). The limits Swift enforces are checked present, typed and
/// positive at load, so a broken file fails there, naming the key.
public struct NPU2Target: Sendable, Equatable {
    public let file: String
    public let target: String
    public let limits: [String: NPU2Limit]

    // Array, core and memory tile (read by KernelPlan through KernelManifest.device).
    public let columns: Int
    public let coreRows: Int
    public let coreDataMemoryBytes: Int
    public let coreStackBytes: Int
    public let memTileBytes: Int
    // aiecc's kernel signature: opcode, instr, ninstr, then this many buffer arguments, and its register map.
    public let aieccBufferArguments: Int
    public let aieccRegmapFixedBytes: Int
    public let aieccBufferArgumentBytes: Int
    // XRT and amdxdna.
    public let maxKernelsPerContext: Int
    public let runsPerChain: Int
    public let driverMaxRunsPerChain: Int
    public let chainPayloadBytes: Int
    public let chainSlotBytes: Int
    public let tdrSeconds: Int
    public let allowedBufferFlags: [String]

    /// The keys Swift enforces; each must be present with a positive integer (or, for BO flags, a list).
    static let requiredIntegers = [
        "array.columns", "array.coreRows", "core.dataMemoryBytes", "core.stackBytes", "memTile.bytes",
        "aiecc.bufferArguments", "aiecc.regmapFixedBytes", "aiecc.bufferArgumentBytes",
        "hwContext.maxKernels", "runlist.runsPerChain", "runlist.driverMaxRunsPerChain", "runlist.chainPayloadBytes",
        "runlist.chainSlotBytes", "tdr.seconds",
    ]
    static let maxBytes = 1 << 20

    /// The target model beside a file of Kernels/ (the manifest, the baseline): `<dir>/npu2_target.json`.
    public static func path(besides file: String) -> String {
        ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("npu2_target.json")
    }

    public static func load(path: String) throws -> NPU2Target {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NPU2TargetError(file: path, message: "cannot read the file (the NPU2 target model, Kernels/npu2_target.json)")
        }
        return try NPU2Target(json: data, file: path)
    }

    public init(json data: Data, file: String = "npu2_target.json") throws {
        func fail(_ why: String) -> NPU2TargetError { NPU2TargetError(file: file, message: why) }
        guard data.count <= Self.maxBytes else { throw fail("is larger than \(Self.maxBytes) bytes") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("is not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))")
        }
        guard let top = root as? [String: Any] else { throw fail("must be an object, not \(jsonKind(root))") }
        guard let format = top["format"], jsonInt(format) == 1 else { throw fail("format: must be 1") }
        guard let target = top["target"] as? String, target == "npu2" else { throw fail("target: must be \"npu2\"") }
        guard let entries = top["limits"] as? [String: Any] else {
            throw fail("limits: must be an object, not \(top["limits"].map(jsonKind) ?? "missing")")
        }
        guard entries.count <= 1024 else { throw fail("limits: has more than 1024 entries") }
        func text(_ v: Any?, _ path: String, optional: Bool = false) throws -> String? {
            guard let v else {
                if optional { return nil }
                throw fail("\(path): is missing")
            }
            guard let s = v as? String, !(v is NSNumber) else { throw fail("\(path): must be a string, not \(jsonKind(v))") }
            guard !s.isEmpty, s.utf8.count <= 4096 else { throw fail("\(path): must be 1 to 4096 bytes") }
            return s
        }
        var limits: [String: NPU2Limit] = [:]
        for (key, any) in entries {
            guard key.utf8.count <= 64, key.contains("."),
                  key.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == ".") })
            else { throw fail("limits: '\(key.prefix(64))' is not a key (area.name, ASCII letters and digits)") }
            let p = "limits.\(key)"
            guard let e = any as? [String: Any] else { throw fail("\(p): must be an object, not \(jsonKind(any))") }
            if let unknown = Set(e.keys).subtracting(["value", "unit", "source", "confirmed", "note", "check"]).sorted().first {
                throw fail("\(p): unknown field '\(unknown)'")
            }
            let value: NPU2Limit.Value
            switch e["value"] {
            case nil: throw fail("\(p).value: is missing")
            case let v as NSNumber where ["c", "B"].contains(String(cString: v.objCType)): value = .bool(v.boolValue)
            case let v? where jsonInt(v) != nil: value = .int(jsonInt(v)!)
            case let v as String: value = .string(try text(v, "\(p).value")!)
            case let v as NSNumber where !(v is Bool) && v.doubleValue.isFinite && jsonInt(v) == nil: value = .double(v.doubleValue)
            case let v as [Any] where v.allSatisfy({ $0 is [String: Any] }) && !v.isEmpty
                && v.allSatisfy({ ($0 as! [String: Any]).values.allSatisfy { $0 is String } }):
                guard v.count <= 64 else { throw fail("\(p).value: has more than 64 elements") }
                value = .records(try v.enumerated().map { i, r in
                    guard let record = r as? [String: Any], record.count <= 16 else {
                        throw fail("\(p).value[\(i)]: must be an object of at most 16 strings, not \(jsonKind(r))")
                    }
                    return try record.reduce(into: [String: String]()) { $0[$1.key] = try text($1.value, "\(p).value[\(i)].\($1.key)")! }
                })
            case let v as [Any] where v.allSatisfy({ $0 is String }):
                guard v.count <= 64 else { throw fail("\(p).value: has more than 64 elements") }
                value = .strings(try v.enumerated().map { try text($1, "\(p).value[\($0)]")! })
            case let v? where v is [Any] || v is [String: Any]:
                guard let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]), d.count <= 4096,
                      let text = String(data: d, encoding: .utf8) else {
                    throw fail("\(p).value: a structured value must be JSON of at most 4096 bytes")
                }
                value = .json(text)
            case let v?: throw fail("\(p).value: must be an integer, a number, a boolean, a string, a list or an object, not \(jsonKind(v))")
            }
            guard let confirmed = e["confirmed"], let c = confirmed as? NSNumber,
                  String(cString: c.objCType) == "c" || String(cString: c.objCType) == "B" else {
                throw fail("\(p).confirmed: must be true or false")
            }
            if let check = try text(e["check"], "\(p).check", optional: true), !["compile", "numerics", "runtime"].contains(check) {
                throw fail("\(p).check: must be compile, numerics or runtime (how the AIE API emulation enforces it), not '\(check.prefix(32))'")
            }
            let note = try text(e["note"], "\(p).note", optional: true)
            if !c.boolValue && note == nil { throw fail("\(p).note: an unconfirmed value must say why it is used") }
            limits[key] = NPU2Limit(key: key, value: value, unit: try text(e["unit"], "\(p).unit")!,
                                    source: try text(e["source"], "\(p).source")!, confirmed: c.boolValue, note: note)
        }
        var ints: [String: Int] = [:]
        for key in Self.requiredIntegers {
            guard let limit = limits[key] else { throw fail("limits.\(key): is missing (Sources/NPUBackend enforces it)") }
            guard case .int(let n) = limit.value, n > 0, n <= 1 << 40 else {
                throw fail("limits.\(key).value: must be a positive integer")
            }
            ints[key] = n
        }
        guard let flags = limits["bo.allowedFlags"] else { throw fail("limits.bo.allowedFlags: is missing (Sources/NPUBackend enforces it)") }
        guard case .strings(let allowed) = flags.value, !allowed.isEmpty else {
            throw fail("limits.bo.allowedFlags.value: must be a non-empty list of XRT flag names")
        }
        self.file = file
        self.target = target
        self.limits = limits
        columns = ints["array.columns"]!
        coreRows = ints["array.coreRows"]!
        coreDataMemoryBytes = ints["core.dataMemoryBytes"]!
        coreStackBytes = ints["core.stackBytes"]!
        memTileBytes = ints["memTile.bytes"]!
        aieccBufferArguments = ints["aiecc.bufferArguments"]!
        aieccRegmapFixedBytes = ints["aiecc.regmapFixedBytes"]!
        aieccBufferArgumentBytes = ints["aiecc.bufferArgumentBytes"]!
        maxKernelsPerContext = ints["hwContext.maxKernels"]!
        runsPerChain = ints["runlist.runsPerChain"]!
        driverMaxRunsPerChain = ints["runlist.driverMaxRunsPerChain"]!
        chainPayloadBytes = ints["runlist.chainPayloadBytes"]!
        chainSlotBytes = ints["runlist.chainSlotBytes"]!
        tdrSeconds = ints["tdr.seconds"]!
        allowedBufferFlags = allowed
        guard coreStackBytes < coreDataMemoryBytes else {
            throw fail("limits.core.stackBytes: \(coreStackBytes) leaves nothing of the \(coreDataMemoryBytes)-byte data memory")
        }
        guard runsPerChain <= driverMaxRunsPerChain else {
            throw fail("limits.runlist.runsPerChain: \(runsPerChain) exceeds the driver's \(driverMaxRunsPerChain) sub-commands per chain")
        }
    }

    /// "repository path symbol" of a limit, for error messages ("?" for a key the file lacks).
    public func source(_ key: String) -> String { limits[key]?.source ?? "?" }

    /// Bytes of one run's slot in a chain's firmware command buffer for a kernel that declares
    /// `bufferArguments` buffer arguments: the slot header and the register map (opcode, instr, ninstr,
    /// then one 8-byte address per buffer argument) — 52 + 20 + 8N with the file's values.
    public func chainSlotBytes(bufferArguments: Int) -> Int {
        chainSlotBytes + aieccRegmapFixedBytes + aieccBufferArgumentBytes * bufferArguments
    }

    /// The buffer arguments an xclbin kernel declares for a design that binds `bound`: the 5 aiecc emits,
    /// or, for a design that needs more (only ones listed in Kernels/npu2_baseline.json get this far, built
    /// with an aiecc that has mlir-aie PR #3252), the design's own count. The larger of the two is the
    /// larger register map, so chain payloads are never under-counted.
    public func declaredBufferArguments(bound: Int) -> Int { max(aieccBufferArguments, bound) }
}
