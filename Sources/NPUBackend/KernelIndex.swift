// The built NPU kernels of one model shape (Tools/build-kernels.py's kernels.json), read as hostile input: where they live and how to load them.
import Foundation
import LlamaCore

/// A problem with a kernels.json or a file it names; the message names the kernel when there is one.
public struct KernelIndexError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// Where the kernels of one model shape are built: `<cache>/kernels/<key>/kernels.json`. The key is
/// every shape the designs are built for; `npu-llama kernels build` passes this directory to
/// Tools/build-kernels.py (`--out-dir`), and `build-kernels.py --print-key` computes the same key.
public enum KernelBuildKey {
    /// `$NPULLAMA_CACHE/kernels`, default `~/.cache/npu-llama/kernels`.
    public static var cacheDirectory: String {
        (ModelCache.directory as NSString).deletingLastPathComponent + "/kernels"
    }

    public static func key(config c: ModelConfig, projection: DType, lmHead: DType, context: Int, chunk: Int) -> String {
        "h\(c.hiddenSize)-f\(c.intermediateSize)-q\(c.headCount)-kv\(c.kvHeadCount)-d\(c.headDim)-v\(c.vocabSize)"
            + "-l\(c.layerCount)-\(c.ropePairing == .adjacent ? "adj" : "half")-\(projection.rawValue.lowercased())"
            + "-\(lmHead.rawValue.lowercased())-ctx\(context)-c\(chunk)"
    }

    public static func directory(config: ModelConfig, projection: DType, lmHead: DType, context: Int, chunk: Int,
                                 cache: String = cacheDirectory) -> String {
        (cache as NSString).appendingPathComponent(key(config: config, projection: projection, lmHead: lmHead,
                                                       context: context, chunk: chunk))
    }
}

/// kernels.json: `{"format": 1, "toolchain": …, "kernels": [{"name", "xclbin", "xclbinKernel", "kernelId", "insts"}]}`,
/// file names relative to its directory. Every Swift kernel name (`FusedDesign.kernelName`) maps to one entry.
public struct KernelIndex: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var xclbin: String        // absolute path
        public var xclbinKernel: String
        public var kernelID: Int
        public var insts: String         // absolute path
    }

    public let file: String
    public let directory: String
    public let toolchain: String
    public let entries: [String: Entry]

    static let maxJSONBytes = 4 << 20
    static let maxInstructionBytes = 16 << 20

    public static func load(directory: String) throws -> KernelIndex {
        let file = (directory as NSString).appendingPathComponent("kernels.json")
        guard let data = FileManager.default.contents(atPath: file) else {
            throw KernelIndexError(file: file, message: "cannot read the file")
        }
        return try KernelIndex(json: data, file: file)
    }

    public init(json data: Data, file: String) throws {
        func fail(_ m: String) -> KernelIndexError { KernelIndexError(file: file, message: m) }
        self.file = file
        directory = (file as NSString).deletingLastPathComponent
        guard data.count <= Self.maxJSONBytes else { throw fail("is larger than \(Self.maxJSONBytes) bytes") }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw fail("is not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))")
        }
        guard let top = root as? [String: Any] else { throw fail("must be an object, not \(jsonKind(root))") }
        guard let format = top["format"].flatMap(jsonInt), format == 1 else { throw fail("format: must be 1") }
        guard let toolchain = top["toolchain"] as? String, !(top["toolchain"] is NSNumber) else {
            throw fail("toolchain: must be a string")
        }
        self.toolchain = toolchain
        guard let list = top["kernels"] as? [Any] else { throw fail("kernels: must be an array") }
        guard list.count <= 1024 else { throw fail("kernels: has more than 1024 entries") }
        let directory = self.directory
        var found: [String: Entry] = [:]
        for (i, any) in list.enumerated() {
            guard let k = any as? [String: Any] else { throw fail("kernels[\(i)]: must be an object, not \(jsonKind(any))") }
            func string(_ key: String, _ label: String) throws -> String {
                guard let v = k[key] else { throw fail("\(label).\(key): is missing") }
                guard let s = v as? String, !(v is NSNumber), !s.isEmpty, s.utf8.count <= 256 else {
                    throw fail("\(label).\(key): must be a non-empty string of at most 256 bytes, not \(jsonKind(v))")
                }
                return s
            }
            let name = try string("name", "kernels[\(i)]")
            let label = "kernels[\(i)] (\(name))"
            func file(_ key: String) throws -> String {
                let rel = try string(key, label)
                let parts = rel.split(separator: "/", omittingEmptySubsequences: false)
                guard !rel.hasPrefix("/"), !parts.contains(".."), !parts.contains(""), !rel.contains("\0") else {
                    throw fail("\(label).\(key): '\(rel)' must be a relative path inside \(directory) (no '..', no leading '/')")
                }
                return (directory as NSString).appendingPathComponent(rel)
            }
            let xclbinKernel = try string("xclbinKernel", label)
            guard xclbinKernel == name else {
                throw fail("\(label).xclbinKernel: '\(xclbinKernel)' differs from the kernel's name; NPUBackend opens kernels by name")
            }
            guard let id = k["kernelId"].flatMap(jsonInt), id > 0, id < 1 << 32 else {
                throw fail("\(label).kernelId: must be an integer from 1 to 2^32 - 1")
            }
            guard found[name] == nil else { throw fail("kernels: '\(name)' appears twice") }
            found[name] = Entry(name: name, xclbin: try file("xclbin"), xclbinKernel: xclbinKernel, kernelID: id,
                                  insts: try file("insts"))
        }
        entries = found
    }

    /// The one xclbin holding every named kernel (a runlist's runs must share one hardware context).
    public func xclbin(for names: [String]) throws -> String {
        var xclbins = Set<String>()
        for name in names {
            guard let e = entries[name] else {
                throw KernelIndexError(file: file, message: "has no kernel '\(name)' (built for other shapes or an older design set)")
            }
            xclbins.insert(e.xclbin)
        }
        guard xclbins.count == 1, let only = xclbins.first else {
            throw KernelIndexError(file: file, message: xclbins.isEmpty ? "no kernels were asked for"
                                   : "the kernels span \(xclbins.count) xclbins; one runlist needs them in one (\(xclbins.sorted().joined(separator: ", ")))")
        }
        guard FileManager.default.fileExists(atPath: only) else {
            throw KernelIndexError(file: file, message: "the xclbin \(only) is missing")
        }
        return only
    }

    /// A kernel's instruction stream (raw little-endian uint32 words), checked: present, non-empty, whole words.
    public func instructions(for name: String) throws -> [UInt32] {
        guard let e = entries[name] else { throw KernelIndexError(file: file, message: "has no kernel '\(name)'") }
        func fail(_ m: String) -> KernelIndexError { KernelIndexError(file: file, message: "kernel '\(name)': \(m)") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: e.insts)
        guard let size = (attributes?[.size] as? NSNumber)?.intValue else {
            throw fail("cannot read its instruction stream \(e.insts)")
        }
        guard size > 0, size <= Self.maxInstructionBytes, size % 4 == 0 else {
            throw fail("its instruction stream \(e.insts) has \(size) bytes; it must be 1 to \(Self.maxInstructionBytes / 4) whole 32-bit words")
        }
        guard let data = FileManager.default.contents(atPath: e.insts), data.count == size else {
            throw fail("cannot read its instruction stream \(e.insts)")
        }
        return data.withUnsafeBytes { raw in
            (0..<size / 4).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
    }
}
