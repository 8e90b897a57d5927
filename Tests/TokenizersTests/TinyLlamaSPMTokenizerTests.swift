// The tiny TinyLlama-style golden's prompts through our SentencePiece tokenizers and its chat template: HF's ids, llama.cpp's ids.
import Foundation
import LlamaCore
import XCTest
@testable import Tokenizers

final class TinyLlamaSPMTokenizerTests: XCTestCase {
    static let dir = Repo.root.appendingPathComponent("Golden/tiny-llama-spm").path
    static var folder: String { dir + "/model" }
    static var gguf: String { dir + "/tiny-llama-spm.bf16.gguf" }

    /// Golden/tiny-llama-spm/manifest.json's cases (written by Tools/golden/generate.py tinyspm with HF transformers).
    func cases() throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/manifest.json"))
        let m = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try XCTUnwrap(m["cases"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as! String, $0) })
    }

    func messages(_ c: [String: Any]) throws -> [ChatMessage] {
        let chat = try XCTUnwrap(c["messages"] as? [[String: String]])
        return chat.map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
    }

    /// The GGUF's vocabulary is llama.cpp's SentencePiece one (tokenizer.ggml.model "llama"); the folder's is HF's
    /// tokenizer.json (BPE with byte fallback, Metaspace prepend_scheme "first").
    func testBothSourcesLoadTheSentencePieceTokenizers() throws {
        let g = try TokenizerLoader.load(path: Self.gguf)
        XCTAssertTrue(g is SentencePieceTokenizer, "\(type(of: g))")
        let f = try TokenizerLoader.load(path: Self.folder)
        XCTAssertTrue(f is SentencePieceJSONTokenizer, "\(type(of: f))")
        for t in [g, f] {
            XCTAssertTrue(t.addsBOSByDefault)
            XCTAssertTrue(t.eosIDs.contains(2))
        }
    }

    /// The text prompt (byte fallback, digits, accents, a dash): HF's ids from both sources, BOS first.
    func testTextPromptGivesHFIds() throws {
        let c = try XCTUnwrap(try cases()["text"])
        let text = try XCTUnwrap(c["prompt"] as? String)
        let expected = try XCTUnwrap(c["prompt_ids"] as? [Int])
        for path in [Self.gguf, Self.folder] {
            let t = try TokenizerLoader.load(path: path)
            XCTAssertEqual(try t.encode(text, addBOS: t.addsBOSByDefault, allowSpecial: false), expected, path)
            XCTAssertEqual(try t.decode(c["greedy_ids"] as! [Int]), c["greedy_text"] as? String, "HF's decode of the continuation: \(path)")
        }
    }

    /// The chat template renders HF's text from both sources. The HF folder's tokenizer then gives HF's
    /// apply_chat_template ids exactly; the GGUF's gives llama.cpp's, which put "▁" (29871) after each </s>: llama.cpp
    /// prefixes every text fragment that follows a special token with a space for SentencePiece vocabularies
    /// (src/llama-vocab.cpp, llm_tokenizer_spm, `is_prev_special`), where transformers' Metaspace(prepend_scheme
    /// "first") prefixes only the first. The llama.cpp ids are llama-tokenize's (llama-cpp-python 0.3.16's
    /// llama.cpp, `llama-tokenize -m tiny-llama-spm.bf16.gguf -f chat.txt --ids --no-bos` on the rendered text).
    func testChatTemplateRendersHFTextAndTokenizesAsEachReference() throws {
        let c = try XCTUnwrap(try cases()["chat"])
        let rendered = try XCTUnwrap(c["prompt"] as? String)
        let hfIDs = try XCTUnwrap(c["prompt_ids"] as? [Int])
        let msgs = try messages(c)

        let folderTokenizer = try TokenizerLoader.load(path: Self.folder)
        let folderTemplate = try XCTUnwrap(try ChatTemplateLoader.folder(Self.folder))
        let folderPrompt = ChatPrompt.template(folderTemplate)
        XCTAssertEqual(try folderPrompt.render(msgs, addGenerationPrompt: true), rendered)
        XCTAssertEqual(try folderPrompt.encode(msgs, addGenerationPrompt: true, tokenizer: folderTokenizer), hfIDs)

        let metadata = try GGUFFile(path: Self.gguf).metadata
        let ggufTokenizer = try TokenizerLoader.gguf(metadata: metadata, file: Self.gguf)
        let ggufTemplate = try XCTUnwrap(try ChatTemplateLoader.gguf(metadata: metadata, tokenizer: ggufTokenizer))
        XCTAssertEqual(ggufTemplate.eosToken, "</s>")
        let ggufPrompt = ChatPrompt.template(ggufTemplate)
        XCTAssertEqual(try ggufPrompt.render(msgs, addGenerationPrompt: true), rendered)
        let llamaCpp = [529, 29989, 5205, 29989, 29958, 13, 3492, 526, 263, 19780, 13563, 7451, 29889, 2, 29871, 13, 29966,
                        29989, 1792, 29989, 29958, 13, 5328, 1784, 21152, 947, 263, 11148, 3304, 505, 29973, 2, 29871, 13,
                        29966, 29989, 465, 22137, 29989, 29958, 13]
        XCTAssertEqual(try ggufPrompt.encode(msgs, addGenerationPrompt: true, tokenizer: ggufTokenizer), llamaCpp)
        var withoutPrefix = llamaCpp
        withoutPrefix.removeAll { $0 == 29871 }
        XCTAssertEqual(withoutPrefix, hfIDs, "the two differ only in the space after each special token")
    }
}
