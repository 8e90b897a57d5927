// KernelPlan for Llama 3.2 1B and SmolLM2: every design fits the cores and memory tiles; bad shapes are rejected by name.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class KernelPlanTests: XCTestCase {
    func testEveryDesignFitsCoreAndMemoryTileForBothModels() {
        let device = TestPlans.manifest.device
        for (name, plan) in [("Llama 3.2 1B", TestPlans.llama1BPlan), ("SmolLM2", TestPlans.smolPlan)] {
            XCTAssertEqual(Set(plan.instances.map(\.use)), Set(TestPlans.manifest.uses.map(\.name)))
            for i in plan.instances {
                XCTAssertLessThanOrEqual(i.coreBytes, device.coreBytes - device.coreStackBytes, "\(name) \(i.use)")
                XCTAssertLessThanOrEqual(i.memTileBytes, device.memTileBytes, "\(name) \(i.use)")
                print("PLAN \(name) \(i.use) \(i.kernel) core \(i.coreBytes) B, mem tile \(i.memTileBytes) B")
            }
        }
        // Buffers double-buffered (depth 2) are counted twice: gemv's weight tiles are 2 × 64 × 64 × 2 bytes.
        XCTAssertEqual(TestPlans.llama1BPlan.instance("Qcur")!.coreBytes, 2 * 8192 + 2 * 128 + 256 + 2 * 128)
    }

    /// The tiling candidates after the first exist for small shapes only: Llama 3.2 1B and SmolLM2 take every
    /// kernel's first (default) tiling, so they plan exactly as they did with one tiling per kernel.
    func testReferenceModelsTakeTheDefaultTilingEverywhere() {
        for (name, plan) in [("Llama 3.2 1B", TestPlans.llama1BPlan), ("SmolLM2", TestPlans.smolPlan)] {
            for i in plan.instances {
                let kernel = TestPlans.manifest.kernels.first { $0.name == i.kernel }!
                XCTAssertEqual(i.tiling, Dictionary(uniqueKeysWithValues: kernel.tiling.map { ($0.key, $0.value) }), "\(name) \(i.use)")
            }
            for use in ["Qcur", "Kcur", "ffn_out", "result_output"] { XCTAssertEqual(plan.instance(use)!.values["tm"], 64, "\(name) \(use)") }
            XCTAssertEqual(plan.instance("prefill_Kcur")!.values["tn"], 64, name)
            XCTAssertEqual(plan.instance("ffn_act")!.values["tile"], 512, name)
            XCTAssertEqual(plan.instance("l_out")!.values["tile"], 64, name)
        }
    }

    /// The tiny golden model's shapes (kvDim 32, headDim 16, ffn 384) and one KV head of 16 (kvDim 16): each use
    /// takes the first candidate that fits, recorded in the instance with buffers sized from it.
    func testSmallShapesTakeTheFirstCandidateThatFits() throws {
        let tiny = TestPlans.tinyPlan, mqa = TestPlans.tinyMQAPlan
        XCTAssertEqual(tiny.instance("Kcur")!.tiling, ["tm": 32, "tk": 64, "cores": 32])
        XCTAssertEqual(tiny.instance("Kcur")!.coreBytes, 2 * (32 * 64 * 2) + 2 * 128 + 32 * 4 + 2 * 64)
        XCTAssertEqual(tiny.instance("Qcur")!.tiling["tm"], 64)
        XCTAssertEqual(tiny.instance("prefill_Vcur")!.tiling["tn"], 32)
        XCTAssertEqual(tiny.instance("ffn_act")!.tiling["tile"], 128)
        XCTAssertEqual(tiny.instance("prefill_ffn_act")!.tiling["tile"], 512, "chunk × ffn = 24576 takes the default")
        XCTAssertEqual(tiny.instance("Qrope")!.values["headDim"], 16)
        XCTAssertEqual(mqa.instance("Kcur")!.tiling["tm"], 16)
        XCTAssertEqual(mqa.instance("prefill_Kcur")!.tiling["tn"], 16)
        XCTAssertEqual(mqa.instance("Krope")!.args[0].shape, [1, 1, 16])
    }

    /// Tools/build-kernels.py plans with the same candidates as KernelPlan, and says which design instances run each
    /// use with which parameters (issue 12 + its LM-head addendum): the layers' uses run on decode_token, one instance
    /// per KV bucket, whose tiling is the decode contract's (tk from the plan's Qcur, block from its kqv_out, tm the
    /// fewest padded rows: tiny 16, SmolLM2 64), not the use's own; result_norm and the LM head run on lm_head, once,
    /// with its own tm_lm (the fewest padded vocab rows: 1024 and 49152 rows pad to none at 16·64, the larger wins);
    /// the prefill uses run on prefill (issue 13: one run per prompt chunk, per bucket, decode_token's tiling). SmolLM2 as shipped: Q4_1 projections with a bf16 LM head (two formats, two runs).
    func testBuildScriptPlansTheSameTilings() throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 is not installed; the build script cannot be checked") }
        let root = TestPlans.kernelsDirectory.deletingLastPathComponent()
        let lmUses: Set = ["result_norm", "result_output", "result_logits"]
        for (plan, args, tm, tmLM) in [(TestPlans.tinyPlan, ["--config", root.appendingPathComponent("Golden/tiny-llama32/model/config.json").path,
                                                             "--weights", "bf16", "--ctx", "8192"], 16, 64),
                                       (TestPlans.smolPlan, ["--preset", "smollm2-135m", "--weights", "q4_1", "--lm-head", "bf16",
                                                             "--ctx", "8192"], 64, 64)] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [root.appendingPathComponent("Tools/build-kernels.py").path] + args + ["--plan-only"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, args.joined(separator: " "))
            let uses = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            XCTAssertEqual(uses.count, plan.instances.count)
            let tk = try XCTUnwrap(plan.instance("Qcur")?.values["tk"]), block = try XCTUnwrap(plan.instance("kqv_out")?.values["block"])
            for (u, i) in zip(uses, plan.instances) {
                XCTAssertEqual(u["use"] as? String, i.use)
                XCTAssertEqual(u["kernel"] as? String, i.kernel)
                XCTAssertEqual(u["tiling"] as? [String: Int], i.tiling, i.use)
                let designArgs = try XCTUnwrap(u["designArgs"] as? [[String]])
                switch u["builtIn"] as? String {
                case "prefill":
                    XCTAssertTrue(i.use.hasPrefix("prefill_"), i.use)
                    XCTAssertEqual(designArgs.map { $0.first { $0.hasPrefix("bucket=") } }, [1, 2, 4, 8, 16, 32, 64, 128].map { "bucket=\($0)" }, i.use)
                    for a in ["tm=\(tm)", "tk=\(tk)", "block=\(block)"] { XCTAssertTrue(designArgs.allSatisfy { $0.contains(a) }, "\(i.use) \(a)") }
                case "lm_head":
                    XCTAssertTrue(lmUses.contains(i.use), i.use)
                    XCTAssertEqual(designArgs.count, 1, i.use)
                    for a in ["tm=\(tm)", "tm_lm=\(tmLM)", "tk_lm=64"] { XCTAssertTrue(designArgs.allSatisfy { $0.contains(a) }, "\(i.use) \(a)") }
                case "decode_token":
                    XCTAssertFalse(lmUses.contains(i.use) || i.use.hasPrefix("prefill_"), i.use)
                    XCTAssertEqual(designArgs.map { $0.first { $0.hasPrefix("bucket=") } }, [1, 2, 4, 8, 16, 32, 64, 128].map { "bucket=\($0)" }, i.use)
                    for a in ["tm=\(tm)", "tk=\(tk)", "block=\(block)", "tm_lm=\(tmLM)", "tk_lm=64"] {
                        XCTAssertTrue(designArgs.allSatisfy { $0.contains(a) }, "\(i.use) \(a)")
                    }
                default: XCTFail("\(i.use): builtIn \(String(describing: u["builtIn"]))")
                }
            }
        }
    }

    func testPlanBindsShapesDtypesAndEntries() throws {
        let smol = TestPlans.smolPlan
        XCTAssertEqual(smol.instance("ffn_gate")!.kernel, "gemv_q4_1")
        XCTAssertEqual(smol.instance("ffn_gate")!.values["M"], 1536)
        XCTAssertEqual(smol.instance("ffn_gate")!.args.first!.shape, [1536, 576])
        XCTAssertEqual(smol.instance("Qrope")!.entries, ["rope_adjacent_bf16"])
        XCTAssertEqual(TestPlans.llama1BPlan.instance("Qrope")!.entries, ["rope_halfsplit_bf16"])
        XCTAssertEqual(TestPlans.llama1BPlan.instance("kqv_out")!.args[3].shape, [8, 8192, 64])
        XCTAssertEqual(TestPlans.llama1BPlan.instance("result_output")!.kernel, "lm_head_argmax_bf16")
        XCTAssertEqual(smol.instance("Qcur")!.rounding, "conv_even")
    }

    func planError(_ config: ModelConfig, projection: DType = .bf16, lmHead: DType = .bf16,
                   context: Int = 2048, chunk: Int = 64) -> String? {
        do {
            _ = try KernelPlan(manifest: TestPlans.manifest, config: config, projectionWeights: projection,
                               lmHeadWeights: lmHead, context: context, chunk: chunk)
            return nil
        } catch { return "\(error)" }
    }

    func config(hidden: Int = 576, ffn: Int = 1536, heads: Int = 9, kvHeads: Int = 3, headDim: Int = 64,
                vocab: Int = 49152) throws -> ModelConfig {
        try ModelConfig(vocabSize: vocab, hiddenSize: hidden, intermediateSize: ffn, layerCount: 2, headCount: heads,
                        kvHeadCount: kvHeads, headDim: headDim, maxContext: 8192)
    }

    func testShapesTheTilingCannotServeAreRejectedWithTheConstraintNamed() throws {
        XCTAssertNil(planError(try config()))
        // every candidate tried; the message is the last candidate's (issue 17 appended tm 128 for head_dim 128
        // and the attention block 32)
        XCTAssertEqual(planError(try config(ffn: 1535)),
                       "ffn_gate: M=1535 is not a multiple of the tile M=128 (tilings tried: tm=64, tm=32, tm=16, tm=128)")
        XCTAssertEqual(planError(try config(hidden: 600)), "attn_norm: N=600 is not a multiple of the vector width 32")
        XCTAssertEqual(planError(try config(hidden: 608)),
                       "Qcur: M=576 is not a multiple of the tile M=128 (tilings tried: tm=64, tm=32, tm=16, tm=128)")
        XCTAssertEqual(planError(try config(heads: 12, kvHeads: 4, headDim: 48)),
                       "Qrope: headDim=48 is neither a multiple of 32 (16-lane halves) nor 16 (two heads per 32-lane vector)")
        XCTAssertEqual(planError(try config(heads: 16, kvHeads: 4, headDim: 8)),
                       "Qrope: headDim=8 is neither a multiple of 32 (16-lane halves) nor 16 (two heads per 32-lane vector)")
        XCTAssertEqual(planError(try config(hidden: 640, heads: 8, kvHeads: 1, headDim: 40)),
                       "Kcur: M=40 is not a multiple of the tile M=128 (tilings tried: tm=64, tm=32, tm=16, tm=128)")
        XCTAssertEqual(planError(try config(heads: 16, kvHeads: 16)),
                       "kqv_out: kvHeads=16 x splits=4 cores exceed the 32 cores (tilings tried: block=64, block=32)")
        XCTAssertEqual(planError(try config(vocab: 49153)),
                       "result_output: M=49153 is not a multiple of the tile M=16 (tilings tried: tm=64, tm=32, tm=16)")
        XCTAssertEqual(planError(try config(), context: 1000),
                       "kqv_out: ctx=1000 is not a multiple of the KV block=32 (tilings tried: block=64, block=32)")
        XCTAssertEqual(planError(try config(), context: 16384), "ctx: context 16384 is outside 1...8192 (max_position_embeddings)")
        XCTAssertEqual(planError(try config(), lmHead: .q8_0),
                       "result_output: no lm_head kernel takes Q8_0 weights (convert them at upload)")
        // A hidden size whose row buffers (weight + 2 in + 2 out) overflow a core.
        let big = planError(try config(hidden: 8192, ffn: 8192, heads: 64, kvHeads: 8))
        XCTAssertEqual(big, "attn_norm: rmsnorm_bf16 needs 81920 bytes per core (buffers with their copies), more than the 64512 a core has after its stack")
    }

    func testDesignFilesDeclareTheManifestTilingAndTheFusedDesignsFitTheDevice() throws {
        // Static: each design's tiling constants equal the manifest's. Executed (against Tools/iron_stub):
        // every design for Llama 3.2 1B and SmolLM2 fits the cores, memory tiles and DMA channels, calls
        // kernels the sources define, and moves exactly the bytes DecodeDesigns declares.
        try runPython(["Tools/check_designs.py", TestPlans.manifestPath])
    }

    func testTheDesignCheckerReportsBrokenDesigns() throws {
        // A fifo too big for a core, a wrong argument size, a third input channel, a missing symbol.
        try runPython(["-m", "unittest", "discover", "-s", "Tools/tests"])
    }

    func runPython(_ arguments: [String]) throws {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 is not installed; the design files cannot be checked") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.currentDirectoryURL = TestPlans.kernelsDirectory.deletingLastPathComponent()
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
    }
}

final class KernelManifestTests: XCTestCase {
    func load(_ text: String) -> String? {
        do { _ = try KernelManifest(json: Data(text.utf8), file: "m.json"); return nil } catch { return "\(error)" }
    }

    /// The real manifest with one substitution.
    func mutated(_ from: String, _ to: String) throws -> String {
        let text = try String(contentsOfFile: TestPlans.manifestPath, encoding: .utf8)
        XCTAssert(text.contains(from), "fixture: \(from)")
        return text.replacingOccurrences(of: from, with: to)
    }

    func testHostileManifestsFailWithThePathNamed() throws {
        XCTAssertEqual(load("[1"), load("[1"))   // deterministic
        XCTAssertTrue(load("[1")!.hasPrefix("m.json: is not valid JSON"))
        XCTAssertEqual(load("[]"), "m.json: must be an object, not an array")
        XCTAssertEqual(load(#"{"format": 2}"#), "m.json: format: must be 1")
        XCTAssertEqual(load(#"{"format": true}"#), "m.json: format: must be an integer from 0 to 2^40, not a boolean")
        XCTAssertEqual(load(try mutated(#"{"tm": 32, "tk": 64, "cores": 32}"#, #"{"tm": -32, "tk": 64, "cores": 32}"#)),
                       "m.json: kernels[0] (gemv_bf16).tilings[1].tm: must be an integer from 1 to 2^20")
        XCTAssertEqual(load(try mutated(#"{"tm": 16, "tk": 64, "cores": 32}"#, #"{"tm": 16, "tk": 64}"#)),
                       "m.json: kernels[0] (gemv_bf16).tilings[2]: must bind the same keys as the first candidate, [\"cores\", \"tk\", \"tm\"]")
        XCTAssertEqual(load(try mutated(#""tiling": {"cores": 1},"#, #""tiling": {"cores": 1}, "tilings": [],"#)),
                       "m.json: kernels[6] (rmsnorm_bf16): has both 'tiling' and 'tilings'")
        XCTAssertEqual(load(try mutated(#""tilings": [{"tile": 64, "cores": 8}, {"tile": 32, "cores": 8}]"#, #""tilings": []"#)),
                       "m.json: kernels[10] (add_bf16).tilings: must hold 1 to 16 candidates")
        XCTAssertEqual(load(try mutated(#""tilings": [{"block": 64, "splits": 4}, {"block": 32, "splits": 4}],"#, "")),
                       "m.json: kernels[8] (attn_decode_bf16).tiling: is missing (give 'tiling' or 'tilings')")
        XCTAssertEqual(load(try mutated(#""dtype": "bf16", "count": "tm * tk", "depth": 2}"#,
                                        #""dtype": "fp8", "count": "tm * tk", "depth": 2}"#)),
                       "m.json: kernels[0] (gemv_bf16).coreBuffers[0].dtype: 'fp8' is not one of [\"bf16\", \"f32\", \"i32\", \"u8\", \"u16\", \"q4_1\", \"q4_0\"]")
        XCTAssertEqual(load(try mutated(#""check": "M % tm == 0""#, #""check": "M % tn == 0""#)),
                       "m.json: kernels[0] (gemv_bf16).constraints[0].check: reads 'tn', which is neither a model dimension, a dim nor a tiling parameter")
        XCTAssertEqual(load(try mutated(#""check": "K % tk == 0""#, #""check": "K % (tk == 0""#)),
                       "m.json: kernels[0] (gemv_bf16).constraints[1].check: missing ')'")
        XCTAssertEqual(load(try mutated(#""name": "gemv_q4_1""#, #""name": "gemv_bf16""#)),
                       "m.json: kernels: 'gemv_bf16' appears twice")
        XCTAssertEqual(load(try mutated(#""dims": {"M": "qDim", "K": "hidden"}"#, #""dims": {"M": "qDim"}"#)),
                       "m.json: instances[1].dims: must bind exactly [\"K\", \"M\"] for op 'gemv'")
        XCTAssertEqual(load(try mutated(#""dims": {"M": "qDim", "K": "hidden"}"#, #""dims": {"M": "qdim", "K": "hidden"}"#)),
                       "m.json: instances[1].dims.M: reads 'qdim', which is not a model dimension")
        XCTAssertEqual(load(try mutated(#""op": "swiglu", "dims""#, #""op": "gelu", "dims""#)),
                       "m.json: instances[12].op: no kernel implements op 'gelu'")
        XCTAssertEqual(load(try mutated(#""entries": ["rmsnorm_bf16"]"#, #""entries": ["rms norm"]"#)),
                       "m.json: kernels[6] (rmsnorm_bf16).entries[0]: 'rms norm' is not an identifier (ASCII letters, digits, _; at most 64)")
        XCTAssertEqual(load(String(repeating: " ", count: (1 << 20) + 1)), "m.json: is larger than 1048576 bytes")
    }

    func testExpressionEvaluator() throws {
        let v = ["a": 7, "b": 3, "big": Int.max / 2]
        func eval(_ s: String) throws -> Int { try KernelExpression(parsing: s).evaluate(v) }
        XCTAssertEqual(try eval("a * b + 1"), 22)
        XCTAssertEqual(try eval("a - b - 1"), 3)          // left associative
        XCTAssertEqual(try eval("(a + b) % 4 == 2"), 1)
        XCTAssertEqual(try eval("-a / 2"), -3)
        XCTAssertEqual(try eval("a > b && b > 4 || a == 7"), 1)
        XCTAssertEqual(try eval("min(a, b) * max(a, b) + ceildiv(a, b)"), 24)
        XCTAssertEqual(try eval("b == 0 && a / b"), 0)    // && short-circuits
        for (bad, message) in [("a / (b - 3)", "division by zero in (a / (b - 3))"), ("big * 4", "overflow in (big * 4)"),
                               ("c + 1", "unknown name 'c'")] {
            XCTAssertThrowsError(try eval(bad)) { XCTAssertEqual("\($0)", message) }
        }
        for (bad, message) in [("a +", "expression ends early"), ("a $ b", "unexpected character '$' in 'a $ b'"),
                               ("foo(a)", "unknown function 'foo'"), ("min(a)", "min takes 2 arguments, not 1"),
                               ("a b", "unexpected 'b' in 'a b'"), ("99999999999999999999", "'99999999999999999999' is not an integer up to 2^40"),
                               (String(repeating: "(", count: 40) + "a" + String(repeating: ")", count: 40), "expression nests too deeply"),
                               (String(repeating: "a+", count: 200) + "a", "expression is longer than 256 characters")] {
            XCTAssertThrowsError(try KernelExpression(parsing: bad)) { XCTAssertEqual("\($0)", message, bad) }
        }
    }
}
