// `npu-llama verify` on the tiny Qwen2.5- and Qwen3-style golden models: the reference passes; the emulated NPU runs them.
import XCTest
import Foundation

extension CLITests {
    func testVerifyTinyQwenModelsOnTheReference() throws {
        for model in ["Golden/tiny-qwen2/model", "Golden/tiny-qwen2/tiny-qwen2.bf16.gguf",
                      "Golden/tiny-qwen3/model", "Golden/tiny-qwen3/tiny-qwen3.bf16.gguf"] {
            let r = try run(["verify", "--device", "reference", "--quiet", "--model", model])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("result: PASS"), r.stdout)
            // equal greedy ids also prove the golden is this model's, not tiny-llama32's (both HF folders are `model`)
            XCTAssertTrue(r.stdout.contains("greedy vs golden: equal for all 20 tokens"), r.stdout)
        }
        // On the emulated NPU (issue 17: the biases / q-k norms rounded once, in the decode hub on the QKV stage's fp32
        // rows and in the prefill's family core) every node, the greedy path and IRON's KL gate pass (over both cases'
        // 42 steps: p90 0.026 tiny-qwen2, 0.024 tiny-qwen3). On these random models that margin is a draw, not a
        // property of the Qwen ops: IRON's gate fails 7 (tiny-qwen2), 4 (tiny-qwen3) and 10 (tiny-llama32) of 40
        // random 24-token prompts' 21 steps (`python3 Tools/kl_gate_spread.py`, Kernels/decode/README.md "Qwen fp32 rows").
        for model in ["Golden/tiny-qwen2/model", "Golden/tiny-qwen2/tiny-qwen2.bf16.gguf",
                      "Golden/tiny-qwen3/model", "Golden/tiny-qwen3/tiny-qwen3.bf16.gguf"] {
            let npu = try run(["verify", "--device", "emulator", "--model", model])
            XCTAssertTrue(npu.stdout.contains("checked backend: emulated NPU"), npu.stdout + npu.stderr)
            XCTAssertEqual(npu.status, 0, npu.stdout + npu.stderr)
            XCTAssertTrue(npu.stdout.contains("IRON's gate, logits vs fp32 reference over the 42 steps of 2 case(s)"), npu.stdout)
            XCTAssertTrue(npu.stdout.contains("result: PASS"), npu.stdout)
            XCTAssertFalse(npu.stdout.split(separator: "\n").contains { $0.hasSuffix("FAIL") || $0.contains("— FAIL") }, npu.stdout)
            XCTAssertEqual(npu.stdout.components(separatedBy: "greedy vs golden: equal for all 20 tokens").count - 1
                           + npu.stdout.components(separatedBy: "a near-tie this precision cannot resolve").count - 1, 2, npu.stdout)
        }
    }
}
