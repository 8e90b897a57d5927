// NPU2Baseline: the reader of Kernels/npu2_baseline.json — today's known violations of the target model's limits, each with its count and the issue that removes it.
import Foundation
import LlamaCore

/// One known violation: what exceeds a limit, by how much today, and why it is tolerated.
public struct NPU2Exemption: Sendable, Equatable {
    public var name: String
    /// The count today (buffer arguments of a design, kernels of an xclbin). More fails as a new violation.
    public var count: Int
    public var reason: String
    public init(name: String, count: Int, reason: String) {
        self.name = name
        self.count = count
        self.reason = reason
    }
}

/// The committed list of violations of `NPU2Target` limits that the designs still have (empty since issue 12's
/// decode token). A violation not listed fails where the real toolchain or driver would; a listed one is
/// allowed up to its count and every run of it is counted as a known violation (never silent); a test
/// fails when a listed one no longer exceeds the limit ("remove it from the baseline").
public struct NPU2Baseline: Sendable, Equatable {
    public let file: String
    /// Design name (`FusedDesign.design`, e.g. "decode_token") → its
    /// buffer-argument count, above aiecc's `aiecc.bufferArguments`.
    public let bufferArguments: [String: NPU2Exemption]
    /// xclbin composition ("decode") → its kernel count at the longest context a reference model offers, above
    /// `hwContext.maxKernels`.
    public let hwContextKernels: [String: NPU2Exemption]

    /// `<dir>/npu2_baseline.json` beside a file of Kernels/.
    public static func path(besides file: String) -> String {
        ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("npu2_baseline.json")
    }

    public static func load(path: String) throws -> NPU2Baseline {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NPU2TargetError(file: path, message: "cannot read the file (the known violations, Kernels/npu2_baseline.json)")
        }
        return try NPU2Baseline(json: data, file: path)
    }

    public init(json data: Data, file: String = "npu2_baseline.json") throws {
        func fail(_ why: String) -> NPU2TargetError { NPU2TargetError(file: file, message: why) }
        guard data.count <= 1 << 20 else { throw fail("is larger than 1048576 bytes") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("is not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))")
        }
        guard let top = root as? [String: Any] else { throw fail("must be an object, not \(jsonKind(root))") }
        guard let format = top["format"], jsonInt(format) == 1 else { throw fail("format: must be 1") }
        if let unknown = Set(top.keys).subtracting(["format", "about", "bufferArguments", "hwContextKernels"]).sorted().first {
            throw fail("unknown section '\(unknown)'")
        }
        func section(_ key: String) throws -> [String: NPU2Exemption] {
            guard let any = top[key] else { return [:] }
            guard let o = any as? [String: Any] else { throw fail("\(key): must be an object, not \(jsonKind(any))") }
            guard o.count <= 256 else { throw fail("\(key): has more than 256 entries") }
            var out: [String: NPU2Exemption] = [:]
            for (name, e) in o {
                let p = "\(key).\(name)"
                guard !name.isEmpty, name.utf8.count <= 64,
                      name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_+".unicodeScalars.contains($0)) })
                else { throw fail("\(key): '\(name.prefix(64))' is not a design or xclbin name (ASCII letters, digits, _ and +)") }
                guard let entry = e as? [String: Any] else { throw fail("\(p): must be an object, not \(jsonKind(e))") }
                if let unknown = Set(entry.keys).subtracting(["count", "reason"]).sorted().first {
                    throw fail("\(p): unknown field '\(unknown)'")
                }
                guard let c = entry["count"], let count = jsonInt(c), count > 0, count <= 4096 else {
                    throw fail("\(p).count: must be an integer from 1 to 4096")
                }
                guard let reason = entry["reason"] as? String, !reason.isEmpty, reason.utf8.count <= 4096 else {
                    throw fail("\(p).reason: must say why it is tolerated (1 to 4096 bytes)")
                }
                out[name] = NPU2Exemption(name: name, count: count, reason: reason)
            }
            return out
        }
        self.file = file
        bufferArguments = try section("bufferArguments")
        hwContextKernels = try section("hwContextKernels")
    }

    /// No known violations (what a test device starts from).
    public static let empty = NPU2Baseline(file: "an empty npu2_baseline.json", bufferArguments: [:], hwContextKernels: [:])

    init(file: String, bufferArguments: [String: NPU2Exemption], hwContextKernels: [String: NPU2Exemption]) {
        self.file = file
        self.bufferArguments = bufferArguments
        self.hwContextKernels = hwContextKernels
    }
}
