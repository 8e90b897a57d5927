// The real-NPU path's kernel loading, tested without XRT: kernels.json as hostile input, the build directory lookup, the Python mirrors, prompts as decode steps.
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import XCTest

final class KernelIndexTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-index-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ name: String, _ data: Data) throws {
        try data.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(name)))
    }

    func entry(_ name: String, xclbin: String = "npu-llama.xclbin", insts: String? = nil, id: Any = 0x901,
               kernel: String? = nil) -> [String: Any] {
        ["name": name, "xclbin": xclbin, "xclbinKernel": kernel ?? name, "kernelId": id, "insts": insts ?? "\(name).insts.bin"]
    }

    func index(_ kernels: [Any], extra: [String: Any] = [:]) throws -> KernelIndex {
        var top: [String: Any] = ["format": 1, "toolchain": "aiecc 1.0 (test)", "kernels": kernels]
        top.merge(extra) { $1 }
        try write("kernels.json", try JSONSerialization.data(withJSONObject: top))
        return try KernelIndex.load(directory: dir)
    }

    func message(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch { return "\(error)" }
    }

    func testAValidIndexResolvesPathsAndInstructions() throws {
        try write("npu-llama.xclbin", Data([1, 2, 3]))
        try write("a.insts.bin", Data([1, 0, 0, 0, 0xFF, 0xEE, 0xDD, 0xCC]))
        let i = try index([entry("a"), entry("b", id: 0x902)])
        XCTAssertEqual(i.entries["a"]?.kernelID, 0x901)
        XCTAssertEqual(i.entries["b"]?.xclbin, (dir as NSString).appendingPathComponent("npu-llama.xclbin"))
        XCTAssertEqual(try i.xclbin(for: ["a", "b"]), (dir as NSString).appendingPathComponent("npu-llama.xclbin"))
        XCTAssertEqual(try i.instructions(for: "a"), [1, 0xCCDD_EEFF])
    }

    func testHostileIndexesFailNamingTheKernel() throws {
        let file = (dir as NSString).appendingPathComponent("kernels.json")
        try write("kernels.json", Data("{\"format\": 1".utf8))
        XCTAssertTrue(message { try KernelIndex.load(directory: self.dir) }!.hasPrefix("\(file): is not valid JSON"))
        try write("kernels.json", Data("[]".utf8))
        XCTAssertEqual(message { try KernelIndex.load(directory: self.dir) }, "\(file): must be an object, not an array")
        XCTAssertEqual(message { try self.index([], extra: ["format": 2]) }, "\(file): format: must be 1")
        XCTAssertEqual(message { try self.index([], extra: ["toolchain": 3]) }, "\(file): toolchain: must be a string")
        XCTAssertEqual(message { try self.index([["name": "a"]]) }, "\(file): kernels[0] (a).xclbinKernel: is missing")
        XCTAssertEqual(message { try self.index([self.entry("a", xclbin: "/etc/passwd")]) },
                       "\(file): kernels[0] (a).xclbin: '/etc/passwd' must be a relative path inside \(dir!) (no '..', no leading '/')")
        XCTAssertEqual(message { try self.index([self.entry("a", insts: "../x.bin")]) },
                       "\(file): kernels[0] (a).insts: '../x.bin' must be a relative path inside \(dir!) (no '..', no leading '/')")
        XCTAssertEqual(message { try self.index([self.entry("a", id: -1)]) },
                       "\(file): kernels[0] (a).kernelId: must be an integer from 1 to 2^32 - 1")
        XCTAssertEqual(message { try self.index([self.entry("a", id: "0x901")]) },
                       "\(file): kernels[0] (a).kernelId: must be an integer from 1 to 2^32 - 1")
        XCTAssertEqual(message { try self.index([self.entry("a", kernel: "MLIR_AIE")]) },
                       "\(file): kernels[0] (a).xclbinKernel: 'MLIR_AIE' differs from the kernel's name; NPUBackend opens kernels by name")
        XCTAssertEqual(message { try self.index([self.entry("a"), self.entry("a")]) }, "\(file): kernels: 'a' appears twice")
        XCTAssertEqual(message { try self.index([1]) }, "\(file): kernels[0]: must be an object, not an integer")
        try write("kernels.json", Data(repeating: 0x20, count: (4 << 20) + 1))
        XCTAssertEqual(message { try KernelIndex.load(directory: self.dir) }, "\(file): is larger than 4194304 bytes")
    }

    func testMissingOrBrokenKernelsAreNamed() throws {
        let file = (dir as NSString).appendingPathComponent("kernels.json")
        let i = try index([entry("a"), entry("b", xclbin: "other.xclbin")])
        XCTAssertEqual(message { try i.xclbin(for: ["a", "c"]) },
                       "\(file): has no kernel 'c' (built for other shapes or an older design set)")
        XCTAssertTrue(message { try i.xclbin(for: ["a", "b"]) }!.contains("the kernels span 2 xclbins; one runlist needs them in one"))
        XCTAssertEqual(message { try i.xclbin(for: ["a"]) },
                       "\(file): the xclbin \((dir as NSString).appendingPathComponent("npu-llama.xclbin")) is missing")
        let insts = (dir as NSString).appendingPathComponent("a.insts.bin")
        XCTAssertEqual(message { try i.instructions(for: "a") }, "\(file): kernel 'a': cannot read its instruction stream \(insts)")
        try write("a.insts.bin", Data([1, 2, 3]))
        XCTAssertEqual(message { try i.instructions(for: "a") },
                       "\(file): kernel 'a': its instruction stream \(insts) has 3 bytes; it must be 1 to 4194304 whole 32-bit words")
        try write("a.insts.bin", Data())
        XCTAssertTrue(message { try i.instructions(for: "a") }!.contains("has 0 bytes"))
    }
}

final class BuiltKernelsTests: XCTestCase {
    let config = Support.smallConfig
    lazy var graph = Graph.llama(config)
    lazy var tensors = Support.bf16Weights(config, seed: 7)
    let context = 256

    func testMissingBuildNamesTheDirectoryItLookedIn() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kernels-\(UUID().uuidString)").path
        XCTAssertThrowsError(try BuiltKernels(graph: graph, tensors: tensors, manifest: Support.manifest, contextLength: context,
                                              cache: cache)) { error in
            let missing = error as? BuiltKernels.Missing
            XCTAssertEqual(missing?.directory,
                           cache + "/h128-f512-q4-kv2-d64-v1024-l2-half-bf16-bf16-ctx256-c64")
        }
    }

    /// A synthetic build with every decode kernel of the model: found, one xclbin, instructions by name.
    func testASyntheticBuildIsFoundAndServesEveryDecodeKernel() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kernels-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let dir = BuiltKernels.directory(graph: graph, tensors: tensors, contextLength: context, cache: cache)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let names = try NPUBackend.kernelNames(graph: graph, tensors: tensors, manifest: Support.manifest, contextLength: context)
        XCTAssertEqual(names, ["decode_bf16_b1", "decode_bf16_b2", "decode_bf16_b4", "lm_head_bf16",
                               "prefill_bf16_b1", "prefill_bf16_b2", "prefill_bf16_b4"],
                       "one decode token kernel per bucket, one LM head kernel, one prefill kernel per bucket (issue 13)")
        let kernels = names.enumerated().map { i, n in
            ["name": n, "xclbin": "npu-llama.xclbin", "xclbinKernel": n, "kernelId": 0x901 + i, "insts": "\(n).insts.bin"] as [String: Any]
        }
        try JSONSerialization.data(withJSONObject: ["format": 1, "toolchain": "test", "kernels": kernels])
            .write(to: URL(fileURLWithPath: dir + "/kernels.json"))
        try Data([0]).write(to: URL(fileURLWithPath: dir + "/npu-llama.xclbin"))
        for (i, n) in names.enumerated() {
            try Data([UInt8(i), 0, 0, 0]).write(to: URL(fileURLWithPath: dir + "/\(n).insts.bin"))
        }
        let built = try BuiltKernels(graph: graph, tensors: tensors, manifest: Support.manifest, contextLength: context, cache: cache)
        XCTAssertEqual(built.xclbin, dir + "/npu-llama.xclbin")
        XCTAssertEqual(try built.index.instructions(for: names[2]), [2])
    }

    /// A prompt through the prefill run (one chunk) and the same prompt as single decode steps give the same greedy
    /// tokens; a multi-row step is the prefill's (its logits within the decode path's rounding of the single steps').
    func testPromptsAsDecodeStepsGiveTheSameTokens() throws {
        let prompt = [3, 99, 250, 4, 61, 77, 12, 5]
        let (npu, _) = try Support.npuBackend(graph, tensors, context: context)
        let ids = try npu.generateGreedy(prompt: prompt, count: 6)
        XCTAssertEqual(npu.counters.chunkCount, 1, "the prompt: one prefill chunk")
        XCTAssertEqual(npu.counters.tokenCount, 5, "then 5 decode tokens")
        let (stepwise, _) = try Support.npuBackend(graph, tensors, context: context)
        for (i, t) in prompt.dropLast().enumerated() { _ = try stepwise.step(tokens: [t], start: i, logitRows: .last, observer: nil) }
        var token = try stepwise.nextTokenGreedy(after: prompt.last!, position: prompt.count - 1)
        var again = [token]
        for pos in prompt.count..<prompt.count + 5 {
            token = try stepwise.nextTokenGreedy(after: token, position: pos)
            again.append(token)
        }
        XCTAssertEqual(ids, again)
        // logits of a multi-row step: the prompt's last row, the same run as a single step
        let (a, _) = try Support.npuBackend(graph, tensors, context: context)
        let (b, _) = try Support.npuBackend(graph, tensors, context: context)
        let all = try a.step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        for (i, t) in prompt.dropLast().enumerated() { _ = try b.step(tokens: [t], start: i, logitRows: .last, observer: nil) }
        let last = try b.step(tokens: [prompt.last!], start: prompt.count - 1, logitRows: .last, observer: nil)
        XCTAssertEqual(all.count, config.vocabSize)
        XCTAssertEqual(a.counters.chunkCount, 1)
        XCTAssertLessThan(klDivergence(expectedLogits: last[...], actualLogits: all[...]), 1e-3,
                          "prefill (mmul, row core) and decode (gemv, hub) round differently, within bf16")
        XCTAssertEqual(Sampler.argmax(all), Sampler.argmax(last))
    }

    /// NPUBackend over the real device with a real build: needs an NPU, XRT and `npu-llama kernels build`.
    func testRealDeviceBackendOverABuild() throws {
        let missing = NPUEnvironment.current().openPrerequisites().filter { !$0.ok }
        if !missing.isEmpty {
            throw XCTSkip("needs an XDNA NPU with XRT ≥ 2.18 and its XDNA plugin (missing \(missing.map(\.name).joined(separator: ", "))) and kernels built by mlir-aie")
        }
        let built: BuiltKernels
        do {
            built = try BuiltKernels(graph: graph, tensors: tensors, manifest: Support.manifest, contextLength: context)
        } catch let m as BuiltKernels.Missing {
            throw XCTSkip("\(m): build them with Tools/build-kernels.py --config … --ctx \(context)")
        }
        let backend = try built.backend(graph: graph, tensors: tensors, device: try XRTDevice.open(),
                                        manifest: Support.manifest, contextLength: context)
        let reference = try Support.referenceGreedy(try Support.reference(graph, try FloatWeights(graph: graph, source: tensors),
                                                                          context: context), prompt: [3, 99, 250], count: 4)
        XCTAssertEqual(try backend.generateGreedy(prompt: [3, 99, 250], count: 4), reference.ids)
    }
}

/// The Python side agrees with the Swift side: build key and the decode designs' names and arguments.
final class PythonMirrorTests: XCTestCase {
    func python(_ args: [String]) throws -> String {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 is not installed; the build tools cannot be checked") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = args
        p.currentDirectoryURL = Support.root
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, args.joined(separator: " "))
        return String(decoding: data, as: UTF8.self)
    }

    static let llama1B = try! ModelConfig(
        vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, layerCount: 16, headCount: 32, kvHeadCount: 8,
        headDim: 64, maxContext: 131072, tiedEmbeddings: true)
    static let smol = try! ModelConfig(
        vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
        headDim: 64, ropePairing: .adjacent, maxContext: 8192, tiedEmbeddings: true)

    func testBuildKeyAgreesWithBuildKernels() throws {
        // SmolLM2 as shipped: Q4_1 projections, its Q8_0 embedding a bf16 LM head (build-kernels.py's default head)
        let key = try python(["Tools/build-kernels.py", "--preset", "smollm2-135m", "--weights", "q4_1", "--ctx", "2048", "--print-key"])
        XCTAssertEqual(key.trimmingCharacters(in: .whitespacesAndNewlines),
                       KernelBuildKey.key(config: Self.smol, projection: .q4_1, lmHead: .bf16, context: 2048, chunk: 64))
    }

    /// Issue 17: a tiny Qwen golden model's config (Golden/<name>/model/config.json), family included.
    static func qwen(_ name: String) throws -> ModelConfig {
        let path = Support.root.appendingPathComponent("Golden/\(name)/model/config.json").path
        return try ModelConfig.fromHFConfig(data: try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
    }

    /// The tiny golden model (Golden/tiny-llama32/model/config.json): headDim 16 takes tm 16.
    static let tiny = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 4, headCount: 8, kvHeadCount: 2,
        headDim: 16, ropeTheta: 500000, maxContext: 131072, tiedEmbeddings: true)

    /// DecodeLayout as Kernels/decode/layout.py's `to_json` spells it (every number of the contract).
    static func mirror(_ l: DecodeLayout, positions: [Int] = [0, 1, 63, 64, 1000]) -> [String: Any] {
        let c = l.config, L = c.layerCount
        func dt(_ d: DType) -> String { d.rawValue.lowercased() }
        func stage(_ s: DecodeLayout.StageShape, tm: Int) -> [String: Any] {
            ["rows": s.rows, "K": s.k, "R": s.paddedRows, "T": s.paddedRows / tm, "rho": s.rounds,
             "dtype": dt(s.dtype), "ks": s.slices, "tileBytes": s.tileBytes]
        }
        var stages: [String: Any] = [:]
        for s in l.stages { stages[s.stage.name] = stage(s, tm: l.tm) }
        let lm = l.lmHead
        var off: [String: Int] = [:]
        for layer in Set([0, L - 1]) {
            for g in 0..<l.kvGroups {
                for i in 0..<l.headsPerGroup {
                    for kv in 0...1 { off["\(layer),\(g),\(i),\(kv)"] = l.kvOffset(layer: layer, group: g, head: i, value: kv == 1) }
                }
            }
        }
        var base: [String: Int] = [:]
        for p in positions.filter({ $0 < l.context }) + [l.context - 1] { base["\(p)"] = l.kvRowBase(position: p) }
        let r = l.layers[0], lb = r.qkv
        let sizes: [String: Int] = ["params": l.paramsValues, "x": c.hiddenSize, "qkv": l.qkvSlots,   // fp32 rows for Qwen
                                    "o": l.stages[1].paddedRows, "gu": l.stages[2].paddedRows, "d": l.stages[3].paddedRows,
                                    "packs": c.kvHeadCount * l.pack, "kqv": c.qDim, "attn_norm": c.hiddenSize,
                                    "ffn_inp": c.hiddenSize, "ffn_norm": c.hiddenSize, "act": c.intermediateSize,
                                    "l_out": c.hiddenSize, "x_final": c.hiddenSize, "result_norm": c.hiddenSize,
                                    "logits": lm.stage.paddedRows, "bests": DecodeLayout.gemvCores * lm.tm, "token": l.hubSlice]
            .merging(l.fusedValues > 0 ? ["qkv_fused": l.fusedValues] : [:]) { a, _ in a }
        let offsets: [String: Int] = ["params": l.ioParams, "x": l.ioX, "x_final": l.ioXFinal, "result_norm": l.ioResultNorm,
                                      "logits": l.ioLogits, "bests": l.ioBests, "token": l.ioToken]
        func perLayer(_ g: DecodeLayout.LayerRegions, minus base: Int) -> [String: Int] {
            ["qkv": g.qkv - base, "o": g.o - base, "gu": g.gu - base, "d": g.d - base, "packs": g.packs - base,
             "kqv": g.kqv - base, "attn_norm": g.attnNorm - base, "ffn_inp": g.ffnInp - base, "ffn_norm": g.ffnNorm - base,
             "act": g.act - base, "l_out": g.lOut - base].merging(l.fusedValues > 0 ? ["qkv_fused": g.qkvFused - base] : [:]) { a, _ in a }
        }
        let designs = l.buckets.map { l.kernelName(bucket: $0) } + [lm.kernelName]
        // issue 17: a Qwen family's extra weights and fused rows (Llama: no key, as layout.py)
        let family: [String: Any] = l.extraValues == 0 ? [:] : ["familyExtra": [
            "family": c.family.rawValue, "values": l.extraValues, "fusedValues": l.fusedValues, "offsets": l.extraOffsets]]
        return family.merging([
            "model": ["hidden": c.hiddenSize, "ffn": c.intermediateSize, "heads": c.headCount, "kvHeads": c.kvHeadCount,
                      "headDim": c.headDim, "vocab": c.vocabSize, "layers": L],
            "weights": dt(l.projectionDType), "lmHead": dt(l.lmHeadDType), "ctx": l.context,
            "tm": l.tm, "tk": l.tk, "block": l.block, "S": l.hubSlice, "NG": DecodeLayout.gemvCores, "PN": l.pack,
            "G": l.kvGroups, "gk": l.headsPerGroup, "packFifos": l.packFifos, "paramsElements": l.paramsValues,
            "stages": stages, "paddedRowsPerToken": l.candidates.first { $0.tm == l.tm }!.paddedRows!,
            "buckets": l.buckets, "kernels": designs,
            "arguments": [["weights", l.weightsBytes, "weight"], ["kv", 2 * l.kvElements, "kvCache"],
                          ["kv_row", 2 * l.kvRowElements, "kvRow"], ["io", 2 * l.ioElements, "io"]],
            "weightsBO": ["bytes": l.weightsBytes, "normsOffset": l.normsOffset, "normsBytes": 2 * L * 2 * c.hiddenSize + L * 2 * l.extraValues,
                          "attnNorm": l.attnNormOffsets, "ffnNorm": l.ffnNormOffsets,
                          "streamsOffset": l.streamsOffset, "pairBytes": l.pairBytes, "pairsPerLayer": l.pairsPerLayer,
                          "pairsPerChannel": l.pairsPerChannel, "streamBytesPerChannel": l.channelBytes,
                          "channelOffsets": l.channelOffsets],
            "kvBO": ["elements": l.kvElements, "bytes": 2 * l.kvElements, "NB": l.blocks, "chunk": l.kvChunk, "slab": l.kvSlab,
                     "off": off, "base": base, "kvRowElements": l.kvRowElements, "kvRowBytes": 2 * l.kvRowElements],
            "ioBO": ["elements": l.ioElements, "bytes": 2 * l.ioElements, "layerBase": lb,
                     "layerStride": L > 1 ? l.layers[1].qkv - lb : l.ioXFinal - lb, "sizes": sizes, "offsets": offsets,
                     "layerOffsets": perLayer(r, minus: lb), "lastLayer": perLayer(l.layers[L - 1], minus: 0)],
            "lm": ["kernel": lm.kernelName, "dtype": dt(lm.dtype), "tm": lm.tm, "tk": lm.tk, "stage": stage(lm.stage, tm: lm.tm),
                   "paddedRows": lm.stage.paddedRows - lm.stage.rows,
                   "arguments": [["lm_weights", lm.weightsBytes, "weight"], ["io", 2 * l.ioElements, "io"]],
                   "lmWeightsBO": ["bytes": lm.weightsBytes, "outputNorm": lm.outputNormOffset, "normBytes": 2 * c.hiddenSize,
                                   "streamsOffset": lm.streamsOffset, "pairBytes": lm.pairBytes,
                                   "pairsPerChannel": lm.pairsPerChannel, "streamBytesPerChannel": lm.channelBytes,
                                   "channelOffsets": lm.channelOffsets]],
        ] as [String: Any]) { a, _ in a }
    }

    /// Every number of the decode token's contract, Swift's DecodeLayout against the Python mirror
    /// (Tools/decode_designs.py --layout-json, from Kernels/decode/layout.py), for the reference models in every
    /// weight format, at a short and the longest context.
    func testDecodeLayoutMirrorAgreesWithSwift() throws {
        func qwenConfig(_ name: String) -> [String] {
            ["--config", Support.root.appendingPathComponent("Golden/\(name)/model/config.json").path]
        }
        let tinyConfig = ["--config", Support.root.appendingPathComponent("Golden/tiny-llama32/model/config.json").path]
        for (model, config, weights, head, ctx) in [(["--preset", "llama-3.2-1b"], Self.llama1B, DType.bf16, DType.bf16, 2048),
                                                    (["--preset", "llama-3.2-1b"], Self.llama1B, .q4_0, .q4_0, 131072),
                                                    (["--preset", "llama-3.2-1b"], Self.llama1B, .q4_1, .q4_1, 2048),
                                                    (["--preset", "smollm2-135m"], Self.smol, .q4_1, .bf16, 8192),
                                                    (["--preset", "smollm2-135m"], Self.smol, .q4_1, .q4_1, 2048),
                                                    (["--preset", "smollm2-135m"], Self.smol, .bf16, .bf16, 2048),
                                                    (tinyConfig, Self.tiny, .bf16, .bf16, 2048), (tinyConfig, Self.tiny, .q4_0, .bf16, 256),
                                                    (qwenConfig("tiny-qwen2"), try Self.qwen("tiny-qwen2"), .bf16, .bf16, 2048),
                                                    (qwenConfig("tiny-qwen3"), try Self.qwen("tiny-qwen3"), .q4_0, .bf16, 256)] {
            let label = model.joined(separator: " ") + " \(weights.rawValue) + \(head.rawValue) LM head ctx \(ctx)"
            let args = ["Tools/decode_designs.py"] + model + ["--weights", weights.rawValue.lowercased(), "--lm-head", head.rawValue.lowercased(),
                                                              "--ctx", "\(ctx)", "--layout-json"]
            guard let text = try? pythonOutput(args) else {
                throw XCTSkip("Tools/decode_designs.py of this checkout has no --layout-json (Kernels/decode/layout.py's mirror)")
            }
            let python = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary, label)
            let layout = try DecodeLayout(manifest: Support.manifest, config: config, projection: weights, lmHead: head, context: ctx)
            let swift = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: Self.mirror(layout))) as? NSDictionary)
            for key in Set(swift.allKeys.map { "\($0)" }).union(python.allKeys.map { "\($0)" }).sorted() {
                XCTAssertEqual(swift[key] as? NSObject, python[key] as? NSObject, "\(label): \(key)")
            }
        }
    }

    /// PrefillLayout as Kernels/decode/layout.py's `PrefillLayout.to_json` spells it (every number of the contract).
    static func prefillMirror(_ p: PrefillLayout, starts: [Int] = [0, 64, 1984]) -> [String: Any] {
        let d = p.decode, c = d.config, L = c.layerCount, nkv = c.kvHeadCount
        let ends = Array(Set([0, L - 1])).sorted()
        var off: [String: Int] = [:], fill: [String: [Int]] = [:], qpack: [String: Int] = [:]
        for l in ends {
            for h in 0..<nkv { for kv in 0...1 { off["\(l),\(h),\(kv)"] = p.kvOffset(layer: l, kvHead: h, value: kv == 1) } }
            for g in 0..<p.kvGroupCount {
                let f = p.kvGroupFill(layer: l, group: g, bucket: d.buckets.last!)
                fill["\(l),\(g)"] = [f.start, f.blocks, f.elements, f.stride, f.repeats]
            }
            for j in 0..<c.groupSize { for h in 0..<nkv { qpack["\(l),\(j),\(h)"] = p.qpack(layer: l, j: j, kvHead: h) } }
        }
        let s = starts.filter { $0 < d.context }
        var base: [String: Int] = [:], bucket: [String: Int] = [:]
        for x in s { base["\(x)"] = p.kvBlockBase(start: x); bucket["\(x)"] = p.bucket(start: x) }
        var layerOffsets: [String: Int] = [:], lastLayer: [String: Int] = [:]
        for r in p.regions {
            layerOffsets[r.rawValue] = p.layerOffsets[r]!
            lastLayer[r.rawValue] = p.pio(r, layer: L - 1)
        }
        let groups = (0..<p.kvGroupCount).map { g in Array(g * p.kvGroupHeads..<(g + 1) * p.kvGroupHeads) }
        let xFrom = ["QKV": "attn_norm", "O": "kqv", "GU": "ffn_norm", "D": "act"], out = ["QKV": "qkv", "O": "o", "GU": "gu", "D": "d"]
        var stages: [String: Any] = [:]
        for st in d.stages {
            let n = st.stage.name
            stages[n] = ["x": xFrom[n]!, "out": out[n]!, "rho": st.rounds, "ks": st.slices, "R": st.paddedRows, "K": st.k,
                         "tileBytes": st.tileBytes]
        }
        return [
            "model": ["hidden": c.hiddenSize, "ffn": c.intermediateSize, "heads": c.headCount, "kvHeads": nkv,
                      "headDim": c.headDim, "vocab": c.vocabSize, "layers": L],
            "weights": d.projectionDType.rawValue.lowercased(), "ctx": d.context, "tm": d.tm, "tk": d.tk, "block": d.block,
            "C": p.chunk, "U": p.unit, "RM": p.rowValues, "xDepth": p.xDepth,
            "coreBytes": ["gemm": p.coreBytes.gemm, "row": p.coreBytes.row], "grp": c.groupSize, "KG": p.kvGroupCount, "kgk": p.kvGroupHeads,
            "kvGroupHeads": groups, "lanes": p.lanes, "reps": p.reps, "packFifos": p.kvGroupCount, "packHeads": groups, "PQ": p.packValues, "kvb": p.kvHeadBlock,
            "attnRows": PrefillLayout.attentionRows, "header": PrefillLayout.headerValues,
            "kernels": p.kernelNames, "buckets": d.buckets,
            "arguments": p.arguments.map { [$0.name, $0.bytes, $0.role.contractName] },
            "kvBlk": ["elements": p.kvBlockElements, "bytes": 2 * p.kvBlockElements, "slab": d.kvSlab, "base": base,
                      "bucket": bucket, "off": off],
            "kvFill": fill,
            "pioBO": ["elements": p.pioElements, "bytes": p.pioBytes, "layerBase": p.layerBase, "layerStride": p.layerStride,
                      "sizes": p.sizes, "rowStrides": p.rowStrides,
                      "offsets": ["hdr": p.pioHeader, "cs": p.pioCS, "x": p.pioX],
                      "layerOffsets": layerOffsets, "lastLayer": lastLayer, "qpack": qpack],
            "ioXFinal": d.ioXFinal,
            "stages": stages,
        ].merging(p.fusedValues == 0 ? [:] : ["family": ["family": c.family.rawValue, "extraValues": d.extraValues,
                                                         "extraRepeats": p.extraRepeats, "fusedValues": p.fusedValues]]) { a, _ in a }
    }

    /// Every number of the prefill contract, Swift's PrefillLayout against the Python mirror
    /// (Tools/decode_designs.py --layout-json --prefill, from Kernels/decode/layout.py's PrefillLayout), for Llama 3.2
    /// 1B, SmolLM2, the tiny golden model, (issue 17) the tiny Qwen2/Qwen3 models in bf16, Q4_1 and Q4_0, and (task G)
    /// Llama 3.2 3B / 3.1 8B in bf16 (xDepth 1) and Q4_0.
    func testPrefillLayoutMirrorAgreesWithSwift() throws {
        let tinyConfig = ["--config", Support.root.appendingPathComponent("Golden/tiny-llama32/model/config.json").path]
        var cases: [([String], ModelConfig, DType, Int)] = []
        for w in [DType.bf16, .q4_1, .q4_0] {
            cases += [(["--preset", "llama-3.2-1b"], Self.llama1B, w, 2048), (["--preset", "smollm2-135m"], Self.smol, w, 2048),
                      (tinyConfig, Self.tiny, w, 256)]
        }
        cases.append((["--preset", "llama-3.2-1b"], Self.llama1B, .q4_0, 131072))
        // task G: the head_dim-128 shapes, bf16 (the GEMM cores' x slice single-buffered, xDepth 1) and Q4_0 (2)
        for w in [DType.bf16, .q4_0] {
            cases += [(["--preset", "llama-3.2-3b"], ExactShapePlanTests.llama32_3B, w, 2048),
                      (["--preset", "llama-3.1-8b"], ExactShapePlanTests.llama31_8B, w, 2048)]
        }
        for name in ["tiny-qwen2", "tiny-qwen3"] {
            let q = ["--config", Support.root.appendingPathComponent("Golden/\(name)/model/config.json").path]
            cases += [(q, try Self.qwen(name), .bf16, 2048), (q, try Self.qwen(name), .q4_0, 256)]
        }
        for (model, config, weights, ctx) in cases {
            let label = model.joined(separator: " ") + " \(weights.rawValue) ctx \(ctx)"
            let args = ["Tools/decode_designs.py"] + model + ["--weights", weights.rawValue.lowercased(), "--ctx", "\(ctx)",
                                                              "--layout-json", "--prefill"]
            guard let text = try? pythonOutput(args) else {
                throw XCTSkip("Tools/decode_designs.py of this checkout has no --layout-json --prefill (PrefillLayout's mirror)")
            }
            let python = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary, label)
            let layout = try PrefillLayout(try DecodeLayout(manifest: Support.manifest, config: config, projection: weights,
                                                            lmHead: weights, context: ctx),
                                           coreBudget: Support.manifest.device.coreBytes - Support.manifest.device.coreStackBytes)
            let swift = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: Self.prefillMirror(layout))) as? NSDictionary)
            for key in Set(swift.allKeys.map { "\($0)" }).union(python.allKeys.map { "\($0)" }).sorted() {
                XCTAssertEqual(swift[key] as? NSObject, python[key] as? NSObject, "\(label): \(key)")
            }
        }
    }

    /// A command's stdout, or an error when it exits non-zero.
    func pythonOutput(_ args: [String]) throws -> String {
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile)
        else { throw XCTSkip("python3 is not installed; the build tools cannot be checked") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = args
        p.currentDirectoryURL = Support.root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NPUDeviceError(args.joined(separator: " "), "exit status \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }
}
