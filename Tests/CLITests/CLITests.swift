// The npu-llama executable run as a user runs it: happy paths and every bad input's message and exit code.
import XCTest
import Foundation
import LlamaCore

final class CLITests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the npu-llama built beside this test bundle.
    func run(_ args: [String], environment: [String: String] = [:], input: String? = nil) throws -> Result {
        // The test bundle (Linux: an executable .xctest) sits in the products folder beside npu-llama.
        let candidates = [Bundle.main.bundleURL, Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
            .map { $0.appendingPathComponent("npu-llama") }
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("npu-llama is not built beside the tests (looked in \(candidates.map(\.path)))")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: Self.repo)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    func requireSmolLM2() throws {
        guard FileManager.default.fileExists(atPath: ModelCache.smolLM2GGUF) else {
            throw XCTSkip("SmolLM2 GGUF not at \(ModelCache.smolLM2GGUF); \(ModelCache.fetchHint)")
        }
    }

    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testGenerateOnTheDefaultModelWithTheReference() throws {
        try requireSmolLM2()
        let r = try run(["generate", "--device", "reference", "--max-tokens", "6", "--json", "The capital of France is"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["device"] as? String, "CPU reference")
        XCTAssertEqual(json["prompt_ids"] as? [Int], [504, 3575, 282, 4649, 314])
        XCTAssertEqual((json["generated_ids"] as? [Int])?.prefix(2), [7042, 30])
        XCTAssertTrue((json["text"] as? String ?? "").hasPrefix(" Paris."), "\(json)")

        let streamed = try run(["generate", "--device", "reference", "--max-tokens", "2", "The capital of France is"])
        XCTAssertEqual(streamed.status, 0)
        XCTAssertEqual(streamed.stdout, " Paris.\n")
        XCTAssertTrue(streamed.stderr.contains("[CPU reference]"), "timings name the device: \(streamed.stderr)")
    }

    func testVerifyTinyModelPassesAndWritesHTML() throws {
        let dir = try temporaryDirectory()
        let r = try run(["verify", "--device", "reference", "--quiet", "--model", "Golden/tiny-llama32/model",
                         "--html", dir + "/r.html"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("result: PASS"))
        XCTAssertTrue(r.stdout.contains("checked backend: CPU reference"))
        XCTAssertTrue(try String(contentsOfFile: dir + "/r.html", encoding: .utf8).contains("<svg"))
    }

    /// The tiny golden model (headDim 16, kvDim 32) on the emulated NPU, as an HF folder and as GGUF: verify passes
    /// against the reference and the goldens, and the kernel plan shows its 32-row K/V tiles.
    func testVerifyTinyModelOnTheEmulatedNPU() throws {
        for model in ["Golden/tiny-llama32/model", "Golden/tiny-llama32/tiny-llama32.bf16.gguf"] {
            let r = try run(["verify", "--device", "emulator", "--quiet", "--model", model])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("checked backend: emulated NPU"), r.stdout)
            XCTAssertTrue(r.stdout.contains("result: PASS"), r.stdout)
            XCTAssertTrue(r.stdout.contains("greedy vs golden: equal for all 20 tokens"), "p0: \(r.stdout)")
        }
        let list = try run(["kernels", "list", "--model", "Golden/tiny-llama32/model", "--ctx", "64"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let kcur = list.stdout.split(separator: "\n").first { $0.hasPrefix("Kcur ") }
        XCTAssertTrue(kcur?.contains("tm=32") ?? false, list.stdout)
        XCTAssertTrue(list.stdout.contains("the decode token run, then the LM head run): gemv tm 16, tk 64"), list.stdout)
        XCTAssertTrue(list.stdout.contains("LM head BF16 tm 64, tk 64"), list.stdout)
        XCTAssertTrue(list.stdout.contains("kernels: decode_bf16_b1, lm_head_bf16"), list.stdout)
    }

    func assertFails(_ args: [String], status: Int32, mentions text: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run(args)
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(text), "stderr should mention \"\(text)\": \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("backtrace"), r.stderr, file: file, line: line)
    }

    func testBadInputGivesOneClearMessageAndItsExitCode() throws {
        let dir = try temporaryDirectory()
        try assertFails(["generate", "--device", "reference", "--model", "/no/such/model.gguf", "hi"], status: 65, mentions: "no model at /no/such/model.gguf")
        try assertFails(["generate", "--device", "reference", "--model", "nonesuch-7b", "hi"], status: 65, mentions: "known short name")
        try assertFails(["generate", "--device", "reference", "--model", dir, "hi"], status: 65, mentions: "without config.json")
        let corrupt = dir + "/corrupt.gguf"
        var bytes = [UInt8]("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 40)
        bytes[8] = 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
        try assertFails(["generate", "--device", "reference", "--model", corrupt, "hi"], status: 65, mentions: corrupt)
        try assertFails(["generate", "--device", "reference", "--model", "Golden/tiny-llama32/model", "hi"], status: 65, mentions: "has no tokenizer")
        try assertFails(["generate", "--device", "warp-drive", "hi"], status: 64, mentions: "warp-drive")
        try assertFails(["generate", "--device", "npu", "--model", "Golden/tiny-llama32/model", "hi"], status: 65, mentions: "has no tokenizer")
        try assertFails(["verify", "--device", "npu", "--model", "Golden/tiny-llama32/model"], status: 69, mentions: "no usable XDNA NPU here (missing: device node")
    }

    func testPromptLongerThanTheContextIsRefused() throws {
        try requireSmolLM2()
        try assertFails(["generate", "--device", "reference", "--context", "4", "one two three four five six seven"],
                        status: 64, mentions: "the context holds 4")
    }

    func testChatWorksWhenPipedAndKeepsHistory() throws {
        try requireSmolLM2()
        let r = try run(["chat", "--device", "reference", "--max-tokens", "12", "--quiet"],
                        input: "What is the capital of France?\nAnd of Germany?\n/reset\n/quit\nnever read\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, r.stdout)
        XCTAssertTrue(lines[0].contains("Paris"), r.stdout)
        XCTAssertTrue(lines[1].contains("Berlin"), "the second answer uses the history: \(r.stdout)")
    }

    func testTokenizeDetokenizeAndInspect() throws {
        try requireSmolLM2()
        let t = try run(["tokenize", "--json", "The capital of France is"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(t.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["ids"] as? [Int], [504, 3575, 282, 4649, 314])
        XCTAssertEqual(json["pieces"] as? [String], ["The", " capital", " of", " France", " is"])
        let d = try run(["detokenize"], input: "504 3575 282 4649 314\n")
        XCTAssertEqual(d.stdout, "The capital of France is\n")
        let i = try run(["inspect", "smollm2"])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertTrue(i.stdout.contains("30 layers, hidden 576, ffn 1536, heads 9/3"), i.stdout)
        XCTAssertTrue(i.stdout.contains("Q4_1×30"))
        XCTAssertTrue(i.stdout.contains("parameters:   134.5 M"))
        try assertFails(["detokenize", "12", "x7"], status: 64, mentions: "\"x7\" is not a token id")
        try assertFails(["detokenize", "99999999"], status: 65, mentions: "99999999")
    }

    /// `tokenize --tokenizer` and `inspect` on a vocabulary-only GGUF (llama.cpp's test vocabularies) and a
    /// SentencePiece-style tokenizer.json; an unsupported vocabulary is refused by name.
    func testVocabularyOnlyFilesAndKinds() throws {
        let spm = Self.repo + "/Golden/tokenizer/spm-legacy.tokenizer.json"
        let t = try run(["tokenize", "--tokenizer", spm, "Hello world"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let kind = try run(["inspect", spm])
        XCTAssertTrue(kind.stdout.contains("kind:         SentencePiece-style BPE (HF tokenizer.json, Prepend/Replace normalizers"), kind.stdout)
        let vocabs = ModelCache.llamaCppModels
        guard FileManager.default.fileExists(atPath: vocabs + "/ggml-vocab-llama-spm.gguf") else {
            throw XCTSkip("\(vocabs) lacks llama.cpp's test vocabularies (\(ModelCache.llamaCppFetchHint))")
        }
        // llama.cpp's own vector: "Hello world" with BOS (ggml-vocab-llama-spm.gguf.out has 15043 3186).
        let ids = try run(["tokenize", "--tokenizer", vocabs + "/ggml-vocab-llama-spm.gguf", "Hello world"])
        XCTAssertEqual(ids.stdout, "1 15043 3186\n", ids.stderr)
        let qwen = try run(["inspect", vocabs + "/ggml-vocab-qwen2.gguf"])
        XCTAssertEqual(qwen.status, 0, qwen.stderr)
        XCTAssertTrue(qwen.stdout.contains("byte-level BPE (GGUF \"gpt2\", pre-tokenizer \"qwen2\", as llama.cpp)"), qwen.stdout)
        let bert = try run(["tokenize", "--tokenizer", vocabs + "/ggml-vocab-bert-bge.gguf", "x"])
        XCTAssertNotEqual(bert.status, 0)
        XCTAssertTrue(bert.stderr.contains("\"bert\" (WordPiece (BERT)) is not supported"), bert.stderr)
    }

    func testTokenizerFileAlone() throws {
        guard FileManager.default.fileExists(atPath: ModelCache.llama3TokenizerModel) else {
            throw XCTSkip("Llama 3 tokenizer.model not at \(ModelCache.llama3TokenizerModel); \(ModelCache.fetchHint)")
        }
        let r = try run(["tokenize", "--tokenizer", ModelCache.llama3TokenizerModel, "--bos",
                         "Hello, world! The quick brown fox jumps over 12345 lazy dogs. 日本語 🦙"])
        XCTAssertEqual(r.stdout, "128000 9906 11 1917 0 578 4062 14198 39935 35308 927 220 4513 1774 16053 12875 13 105180 102158 11410 99 247\n")
        let inspect = try run(["inspect", "Golden/tiny-llama32/tiny-llama32.bf16.gguf", "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["layers"] as? Int, 4)
        XCTAssertEqual(json["rope_pairing"] as? String, "adjacent")
    }

    func testDoctorReportsEveryCheckAndSaysTheNPUCannotRunHere() throws {
        let r = try run(["doctor", "--json"])
        XCTAssertEqual(r.status, 69, "no NPU here: doctor's exit status says generation on the NPU cannot run")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["npu_ready"] as? Bool, false)
        let checks = json["checks"] as! [[String: Any]]
        let names = checks.compactMap { $0["check"] as? String }
        for expected in ["device node", "amdxdna driver", "XRT", "XRT version", "memlock limit", "kernel cache", "OpenBLAS (CPU reference)"] {
            XCTAssertTrue(names.contains(expected), "\(expected) in \(names)")
        }
        for check in checks where (check["ok"] as? Bool) == false {
            XCTAssertNotNil(check["fix"] as? String, "every failed check has a fix: \(check)")
        }
    }

    func testKernelsListBuildAndClean() throws {
        try requireSmolLM2()
        let list = try run(["kernels", "list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("projections Q4_1"), list.stdout)
        XCTAssertTrue(list.stdout.contains("kqv_out"), list.stdout)
        let cache = try temporaryDirectory()
        let build = try run(["kernels", "build", "--model", ModelCache.smolLM2GGUF], environment: ["NPULLAMA_CACHE": cache, "PATH": "/usr/bin:/bin", "PEANO_INSTALL_DIR": ""])
        XCTAssertEqual(build.status, 69, "no mlir-aie here: the build says so")
        XCTAssertTrue(build.stderr.contains("cannot build NPU kernels on this machine"), build.stderr)
        let clean = try run(["kernels", "clean"], environment: ["NPULLAMA_CACHE": cache])
        XCTAssertEqual(clean.status, 0)
        XCTAssertTrue(clean.stdout.hasPrefix("nothing to clean") || clean.stdout.hasPrefix("removed"), clean.stdout)
    }

    func testWeightsQ4_0ConvertsAtLoadForThePlanAndTheBench() throws {
        try requireSmolLM2()
        let list = try run(["kernels", "list", "--weights", "q4_0"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("projections Q4_0, LM head Q4_0"), list.stdout)
        XCTAssertTrue(list.stdout.contains("gemv_q4_0"), list.stdout)
        XCTAssertTrue(list.stdout.contains("lm_head_argmax_q4_0"), list.stdout)
        XCTAssertTrue(list.stdout.contains("matmul_q4_0"), list.stdout)
        let b = try run(["bench", "--device", "emulator", "--weights", "q4_0", "--json", "--quiet"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let bench = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(bench["weights"] as? String, "Q4_0 matrices, Q4_0 LM head")
        XCTAssertEqual(bench["runs"] as? Int, 2)
        XCTAssertEqual(bench["driver_commands"] as? Int, 1)
        XCTAssertEqual(bench["kernels"] as? [String], ["decode_q4_0_b16", "lm_head_q4_0"])
        XCTAssertEqual(bench["submissions"] as? Int, 1)
        // SmolLM2: 134,479,872 matrix weights at 18 bytes per 32, + 61 norm weights of 576 in bf16; the channel
        // streams carry them and the zero rows of QKV (960 → 1024) and O (576 → 1024) of 576 columns and of D
        // (576 → 1024) of 1536 columns, per layer
        XCTAssertEqual(bench["model_weight_bytes"] as? Int, 134_479_872 / 32 * 18 + 61 * 576 * 2)
        XCTAssertEqual(bench["padding_bytes"] as? Int, 30 * ((64 + 448) * 576 + 448 * 1536) / 32 * 18)
        XCTAssertEqual(bench["weight_bytes_streamed"] as? Int, (bench["model_weight_bytes"] as! Int) + (bench["padding_bytes"] as! Int))
        let bad = try run(["bench", "--device", "emulator", "--weights", "q8_0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("stored") && bad.stderr.contains("q4_0"), bad.stderr)
    }

    func testGenerateAndBenchOnTheEmulatedNPU() throws {
        try requireSmolLM2()
        let g = try run(["generate", "--device", "emulator", "--max-tokens", "3", "--context", "128", "--json", "--quiet", "The capital of France is"])
        XCTAssertEqual(g.status, 0, g.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(g.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["device"] as? String, "emulated NPU")
        XCTAssertEqual((json["generated_ids"] as? [Int])?.prefix(2), [7042, 30], "\" Paris.\" on the emulated NPU")
        let stop = try run(["generate", "--device", "reference", "--max-tokens", "12", "--stop", "\n", "--quiet", "The capital of France is"])
        XCTAssertEqual(stop.stdout, " Paris.\n", "the stop sequence ends the text and is not printed")

        let b = try run(["bench", "--device", "emulator", "--json", "--quiet"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let bench = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(bench["device"] as? String, "emulated NPU")
        XCTAssertEqual(bench["time"] as? String, "modelled")
        XCTAssertEqual(bench["weights"] as? String, "Q4_1 matrices, BF16 LM head", "its Q8_0 embedding as a bf16 LM head")
        XCTAssertEqual(bench["runs"] as? Int, 2, "the decode token (30 layers) and the LM head")
        XCTAssertEqual(bench["runlist_executes"] as? Int, 1)
        XCTAssertEqual(bench["driver_commands"] as? Int, 1)
        XCTAssertEqual(bench["chain_payload_bytes"] as? [Int], [224], "one chained command of 2 runs × 112 B")
        XCTAssertEqual(bench["submissions"] as? Int, 1)
        XCTAssertGreaterThan(bench["modelled_tok_s"] as? Double ?? 0, 0)
        XCTAssertNotNil(bench["limited_by"])
        let prefill = bench["prefill_modelled"] as? [[String: Any]]
        XCTAssertEqual(prefill?.map { $0["prompt_tokens"] as? Int }, [512, 1024, 2048], "the modelled pp512, pp1024 and pp2048 beside decode")
        XCTAssertEqual(prefill?.map { $0["chunks"] as? Int }, [8, 16, 32])
        XCTAssertEqual(bench["syncs_to_device"] as? Int, 1)
        XCTAssertEqual(bench["syncs_from_device"] as? Int, 1)
    }

    func testVerifyBadInput() throws {
        let dir = try temporaryDirectory()
        try assertFails(["verify", "--device", "reference", "--model", "Golden/tiny-llama32/model", "--golden", dir + "/none"],
                        status: 65, mentions: "golden manifest not found")
        try assertFails(["verify", "--device", "reference", "--model", "Golden/tiny-llama32/model", "--dump", "no_such_node-*"],
                        status: 64, mentions: "matches no node")
        try "{\"format_version\": 99, \"cases\": []}".write(toFile: dir + "/manifest.json", atomically: true, encoding: .utf8)
        try assertFails(["verify", "--device", "reference", "--model", "Golden/tiny-llama32/model", "--golden", dir],
                        status: 65, mentions: "Tools/golden/generate.py")
    }

    func testBenchEncodeReportsThroughput() throws {
        try requireSmolLM2()
        let r = try run(["bench", "--encode", "--repetitions", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(json["bytes"] as? Int, 1_035_870, "Golden/tokenizer's document_100k repeated to ~1 MB")
        XCTAssertEqual(json["tokens"] as? Int, 296_860, "SmolLM2's ids for that text")
        XCTAssertGreaterThan(json["encode_mb_s"] as? Double ?? 0, 0)
    }
}
