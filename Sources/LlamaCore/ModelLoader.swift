// Opens a model by path — an HF folder (config.json + safetensors) or a GGUF file — as config + tensors.
import Foundation

/// Where a model's weights come from.
public enum ModelFormat: String, Sendable {
    case gguf = "GGUF"
    case safetensors = "safetensors"
}

/// A model opened for reading: its validated config and its tensors in canonical names.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let format: ModelFormat
    public let config: ModelConfig
    public let tensors: TensorSource
    /// The GGUF file itself, for its tokenizer metadata (nil for safetensors folders).
    public let gguf: GGUFFile?
    /// A tokenizer file beside safetensors weights (`tokenizer.json` or `tokenizer.model`), if any.
    public let tokenizerFile: String?

    init(path: String, format: ModelFormat, config: ModelConfig, tensors: TensorSource,
                 gguf: GGUFFile?, tokenizerFile: String?) {
        self.path = path
        self.format = format
        self.config = config
        self.tensors = tensors
        self.gguf = gguf
        self.tokenizerFile = tokenizerFile
    }

    /// Opens `path`: a directory holding `config.json` and safetensors, or a `.gguf` file.
    public static func open(path: String) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError(.notFound, file: path, "no such file or directory")
        }
        if isDirectory.boolValue { return try openFolder(path) }
        return try openGGUF(path)
    }

    private static func openFolder(_ path: String) throws -> LoadedModel {
        let configPath = (path as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw ModelFileError(.notFound, file: path,
                "is a folder without config.json; give an HF model folder (config.json + *.safetensors) or a .gguf file")
        }
        let config = try ModelConfig.fromHFConfig(data: data, file: configPath)
        let tensors = try SafetensorsModel(path: path)
        let tokenizer = ["tokenizer.json", "tokenizer.model"]
            .map { (path as NSString).appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0) }
        return LoadedModel(path: path, format: .safetensors, config: config, tensors: tensors,
                           gguf: nil, tokenizerFile: tokenizer)
    }

    private static func openGGUF(_ path: String) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        var factors: [Float]? = nil
        if file.info("rope_freqs.weight") != nil { factors = try file.floats("rope_freqs.weight") }
        let config = try ModelConfig.fromGGUF(metadata: file.metadata, file: path,
                                              hasOutputWeight: file.info("output.weight") != nil,
                                              ropeFreqFactors: factors)
        return LoadedModel(path: path, format: .gguf, config: config, tensors: file, gguf: file, tokenizerFile: nil)
    }
}
