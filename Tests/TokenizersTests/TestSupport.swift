// Test helpers: repository paths, golden files, model files (skipped with a reason when absent).
import Foundation
import LlamaCore
import XCTest
@testable import Tokenizers

enum Repo {
    /// The repository root, from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static func golden(_ name: String) -> String { root.appendingPathComponent("Golden/tokenizer/\(name)").path }
}

enum Golden {
    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Repo.golden(name)))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The corpus texts, in file order.
    static let corpus: [(name: String, text: String)] = {
        let c = try! json("corpus.json")
        return (c["cases"] as! [[String: Any]]).map { ($0["name"] as! String, $0["text"] as! String) }
    }()

    static func text(_ name: String) -> String { corpus.first { $0.name == name }!.text }

    /// `cases[name]["plain" | "special"]` of a golden id file.
    static func ids(_ file: [String: Any], _ name: String, special: Bool) -> [Int] {
        let cases = file["cases"] as! [String: Any]
        let c = cases[name] as! [String: Any]
        return c[special ? "special" : "plain"] as! [Int]
    }
}

enum ModelFiles {
    static let fetchHint = ModelCache.fetchHint
    static var llama3TokenizerModel: String { ModelCache.llama3TokenizerModel }
    static var smolLM2GGUF: String { ModelCache.smolLM2GGUF }

    /// The path if the file exists, else XCTSkip naming the variable, the path and the fetch command.
    static func require(_ path: String, env: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent (set \(env) to its path, or \(fetchHint))")
        }
        return path
    }
}

/// Tokenizers load once per test process.
enum Loaded {
    static let llama3: Result<TiktokenTokenizer, Error> = Result {
        try TiktokenTokenizer(path: try ModelFiles.require(ModelFiles.llama3TokenizerModel, env: "NPULLAMA_LLAMA3_TOKENIZER"))
    }
    static let smolLM2Metadata: Result<[String: GGUFValue], Error> = Result {
        try GGUFFile(path: try ModelFiles.require(ModelFiles.smolLM2GGUF, env: "NPULLAMA_SMOLLM2_GGUF")).metadata
    }
    static let smolLM2: Result<BytePairTokenizer, Error> = Result {
        try BytePairTokenizer(ggufMetadata: try smolLM2Metadata.get(), file: ModelFiles.smolLM2GGUF)
    }
}
