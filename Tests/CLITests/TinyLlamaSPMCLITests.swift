// npu-llama end to end on the tiny TinyLlama/Mistral-style golden: SentencePiece tokenizer, zephyr-style chat template, verify on both devices.
import XCTest
import Foundation

extension CLITests {
    static let spmFolder = "Golden/tiny-llama-spm/model"
    static let spmGGUF = "Golden/tiny-llama-spm/tiny-llama-spm.bf16.gguf"

    func spmGolden() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "Golden/tiny-llama-spm/manifest.json"))
        return try XCTUnwrap((JSONSerialization.jsonObject(with: data) as? [String: Any])?["cases"] as? [[String: Any]])
    }

    /// verify finds the committed golden for both sources and passes on the CPU reference and the emulated NPU.
    func testVerifyTinyLlamaSPMOnBothDevices() throws {
        for model in [Self.spmFolder, Self.spmGGUF] {
            for device in ["reference", "emulator"] {
                let r = try run(["verify", "--device", device, "--quiet", "--model", model])
                XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
                XCTAssertTrue(r.stdout.contains("result: PASS"), "\(model) \(device): \(r.stdout)")
                XCTAssertTrue(r.stdout.contains("case chat: 39 prompt tokens, 20 greedy tokens"), r.stdout)
                XCTAssertTrue(r.stdout.contains("greedy vs golden: equal for all 20 tokens"), "the chat case: \(r.stdout)")
            }
        }
    }

    /// `generate --chat` renders the model's own template and tokenizes it with its SentencePiece tokenizer: from the
    /// HF folder, HF's apply_chat_template ids and HF's greedy continuation (the golden), on both devices; from the GGUF,
    /// llama.cpp's ids (a "▁" after each </s>, TokenizersTests.TinyLlamaSPMTokenizerTests). A plain prompt from the
    /// GGUF gives HF's ids and, on the CPU reference, HF's 20 greedy tokens.
    func testGenerateChatWithTheSentencePieceTokenizerAndTemplate() throws {
        let cases = try spmGolden()
        let text = cases[0], chat = cases[1]
        let messages = try XCTUnwrap(chat["messages"] as? [[String: String]])
        let chatArgs = ["--chat", "--system", messages[0]["content"]!, "--max-tokens", "20", "--json", "--quiet", messages[1]["content"]!]
        for device in ["reference", "emulator"] {
            let r = try run(["generate", "--device", device, "--model", Self.spmFolder] + chatArgs)
            XCTAssertEqual(r.status, 0, r.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            XCTAssertEqual(json["prompt_ids"] as? [Int], chat["prompt_ids"] as? [Int], device)
            XCTAssertEqual(json["generated_ids"] as? [Int], chat["greedy_ids"] as? [Int], device)
            XCTAssertEqual(json["text"] as? String, chat["greedy_text"] as? String, device)
        }
        let g = try run(["generate", "--device", "reference", "--model", Self.spmGGUF] + chatArgs)
        XCTAssertEqual(g.status, 0, g.stderr)
        let gj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(g.stdout.utf8)) as? [String: Any])
        var hf = try XCTUnwrap(chat["prompt_ids"] as? [Int])
        for at in hf.indices.reversed() where hf[at] == 2 { hf.insert(29871, at: at + 1) }
        XCTAssertEqual(gj["prompt_ids"] as? [Int], hf, "llama.cpp's ids: HF's with ▁ after each </s>")

        let inspect = try run(["inspect", Self.spmGGUF])
        for words in ["heads 4/1 (GQA 4:1), head_dim 16", "rope θ 10000.0 adjacent pairing, scaling none", "untied LM head",
                      "tokenizer:    SentencePiece BPE (GGUF \"llama\", as llama.cpp), 32000 tokens",
                      "chat template: GGUF tokenizer.chat_template"] {
            XCTAssertTrue(inspect.stdout.contains(words), "\(words): \(inspect.stdout)")
        }

        let plain = try run(["generate", "--device", "reference", "--model", Self.spmGGUF, "--max-tokens", "20", "--json", "--quiet",
                             text["prompt"] as! String])
        let pj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(pj["prompt_ids"] as? [Int], text["prompt_ids"] as? [Int])
        XCTAssertEqual(pj["generated_ids"] as? [Int], text["greedy_ids"] as? [Int])
    }
}
