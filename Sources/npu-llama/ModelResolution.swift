// Turns --model (a path, or a short name for a cached model) into an opened model.
import Foundation
import LlamaCore

enum ModelResolution {
    static var cacheDirectory: String { ModelCache.directory }

    /// Short names of models the project's scripts put in the cache.
    static let shortNames: [String: (file: String, fetch: String)] = [
        "smollm2": ("SmolLM2-135M-Instruct.Q4_1.gguf", "Tools/fetch-models.sh"),
        "smollm2-135m-instruct": ("SmolLM2-135M-Instruct.Q4_1.gguf", "Tools/fetch-models.sh"),
        "random-llama-3.2-1b": ("random-llama-3.2-1b", "python3 Tools/make-random-llama.py"),
    ]

    static let defaultModel = "smollm2"

    static func open(_ name: String) throws -> LoadedModel {
        var path = (name as NSString).expandingTildeInPath
        if let known = shortNames[name.lowercased()], !FileManager.default.fileExists(atPath: path) {
            path = (cacheDirectory as NSString).appendingPathComponent(known.file)
            guard FileManager.default.fileExists(atPath: path) else {
                throw UserFacingError(message: "model \(name) is not in the cache (\(path))",
                                      hint: "fetch it with \(known.fetch)", code: ExitCodes.badInput)
            }
        } else if !FileManager.default.fileExists(atPath: path) {
            let names = shortNames.keys.sorted().joined(separator: ", ")
            throw UserFacingError(message: "no model at \(name): it is neither a file, a folder nor a known short name",
                                  hint: "give an HF folder (config.json + safetensors), a .gguf file, or one of: \(names)",
                                  code: ExitCodes.badInput)
        }
        return try LoadedModel.open(path: path)
    }
}
