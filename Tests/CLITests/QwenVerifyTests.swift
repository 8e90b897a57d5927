// `npu-llama verify` on the tiny Qwen2.5- and Qwen3-style golden models: the reference passes; the NPU refuses the unfused ops by name.
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
        let npu = try run(["verify", "--device", "emulator", "--quiet", "--model", "Golden/tiny-qwen2/model"])
        XCTAssertNotEqual(npu.status, 0)
        XCTAssertTrue(npu.stderr.contains("node Qcur-0 cannot run: the NPU designs do not fuse the q/k/v bias add yet"), npu.stderr)
    }
}
