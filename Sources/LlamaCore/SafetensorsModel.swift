// A Hugging Face model folder's safetensors weights (single file or sharded), under canonical tensor names.

import Foundation

/// The weights of a Hugging Face model folder: `model.safetensors`, or the shards listed in
/// `model.safetensors.index.json` (`weight_map`). Tensors are exposed under canonical names
/// (`canonicalTensorName(forHF:)`); names we do not know keep their HF name.
/// Note: HF q/k projection rows are in "rotate_half" RoPE order, not GGUF's interleaved order.
public final class SafetensorsModel: TensorSource, @unchecked Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    /// The folder (or the single file / index file given).
    public let path: String
    /// The safetensors files, in shard-name order.
    public let shards: [SafetensorsFile]
    /// Canonical names, sorted.
    public let tensorNames: [String]
    private let entries: [String: (shard: Int, hfName: String)]

    /// Opens `path`: a model folder, a `.safetensors` file, or a `model.safetensors.index.json`.
    public init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError(.notFound, file: path, "no such file or folder")
        }
        var hfNamesByShard: [(file: String, names: [String])]
        if isDirectory.boolValue {
            let folder = URL(fileURLWithPath: path)
            let index = folder.appendingPathComponent(Self.indexFileName).path
            let single = folder.appendingPathComponent(Self.singleFileName).path
            if FileManager.default.fileExists(atPath: index) {
                hfNamesByShard = try Self.readIndex(index)
            } else if FileManager.default.fileExists(atPath: single) {
                hfNamesByShard = [(single, [])]
            } else {
                throw ModelFileError(.notFound, file: path,
                                     "the folder has neither \(Self.singleFileName) nor \(Self.indexFileName)")
            }
        } else if path.hasSuffix(".json") {
            hfNamesByShard = try Self.readIndex(path)
        } else {
            hfNamesByShard = [(path, [])]
        }

        var shards: [SafetensorsFile] = []
        var entries: [String: (shard: Int, hfName: String)] = [:]
        for (shardIndex, (shardPath, listed)) in hfNamesByShard.enumerated() {
            let shard = try SafetensorsFile(path: shardPath)
            shards.append(shard)
            // A single file contributes all its tensors; a shard those the index assigns to it.
            let names = listed.isEmpty && hfNamesByShard.count == 1 ? shard.tensorNames : listed
            for hfName in names {
                guard shard.tensors[hfName] != nil else {
                    throw ModelFileError(.missingTensor, file: shardPath,
                                         "tensor '\(hfName)' is listed in \(Self.indexFileName) for this shard but the shard does not contain it")
                }
                let canonical = canonicalTensorName(forHF: hfName)
                if let other = entries[canonical] {
                    throw ModelFileError(.inconsistent, file: path,
                                         "tensors '\(other.hfName)' and '\(hfName)' both map to the canonical name '\(canonical)'")
                }
                entries[canonical] = (shardIndex, hfName)
            }
        }
        self.shards = shards
        self.entries = entries
        self.tensorNames = entries.keys.sorted()
    }

    /// The name the tensor has in its safetensors file.
    public func hfName(_ canonicalName: String) -> String? { entries[canonicalName]?.hfName }

    /// The file that holds a tensor.
    public func shard(_ canonicalName: String) -> SafetensorsFile? {
        entries[canonicalName].map { shards[$0.shard] }
    }

    public func info(_ name: String) -> TensorInfo? {
        guard let e = entries[name], let t = shards[e.shard].tensors[e.hfName] else { return nil }
        return TensorInfo(name: name, dtype: t.dtype, shape: t.shape)
    }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let e = entries[name] else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return try shards[e.shard].rawBytes(e.hfName)
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let e = entries[name] else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return try shards[e.shard].floats(e.hfName)
    }

    /// Reads `weight_map` of an index file: the shards (paths beside the index, sorted by file
    /// name) and the HF tensor names each must hold.
    private static func readIndex(_ indexPath: String) throws -> [(file: String, names: [String])] {
        let index = try MappedFile(path: indexPath)
        func fail(_ kind: ModelFileError.Kind, _ message: String) -> ModelFileError {
            ModelFileError(kind, file: indexPath, message)
        }
        guard index.count <= 64 << 20 else {
            throw fail(.badHeader, "index file is \(index.count) bytes, implausibly large")
        }
        guard let root = try parseJSON(index.bytes, file: indexPath, what: "index") as? [String: Any] else {
            throw fail(.badHeader, "index is not a JSON object")
        }
        guard let mapValue = root["weight_map"] else { throw fail(.missingKey, "no 'weight_map'") }
        guard let map = mapValue as? [String: Any] else {
            throw fail(.badValue, "'weight_map' must be an object, found \(jsonKind(mapValue))")
        }
        guard !map.isEmpty else { throw fail(.badValue, "'weight_map' is empty") }
        let folder = URL(fileURLWithPath: indexPath).deletingLastPathComponent()
        var byShard: [String: [String]] = [:]
        for (tensor, value) in map {
            guard let shard = jsonString(value) else {
                throw fail(.badValue, "'weight_map.\(tensor)' must be a file name, found \(jsonKind(value))")
            }
            // A plain file name beside the index: no folders, no way out of the model folder.
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw fail(.badValue, "'weight_map.\(tensor)' is '\(shard)', not a plain file name")
            }
            byShard[shard, default: []].append(tensor)
        }
        return try byShard.keys.sorted().map { shard in
            let shardPath = folder.appendingPathComponent(shard).path
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw ModelFileError(.notFound, file: shardPath,
                                     "shard '\(shard)' listed in \(indexFileName) does not exist")
            }
            return (shardPath, byShard[shard]!.sorted())
        }
    }
}
