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
                           cache + "/h128-f512-q4-kv2-d64-v512-l2-half-bf16-bf16-ctx256-c64")
        }
    }

    /// A synthetic build with every decode kernel of the model: found, one xclbin, instructions by name.
    func testASyntheticBuildIsFoundAndServesEveryDecodeKernel() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("kernels-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let dir = BuiltKernels.directory(graph: graph, tensors: tensors, contextLength: context, cache: cache)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let names = try NPUBackend.kernelNames(graph: graph, tensors: tensors, manifest: Support.manifest,
                                               contextLength: context, prefillDesigns: false)
        XCTAssertEqual(names.count, 2 * (3 + 2) + 1, "buckets 1, 2, 4 and mlp, logits head, with taps; the argmax head")
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
        XCTAssertEqual(try built.index.instructions(for: names[3]), [3])
    }

    /// The real NPU runs prompts as decode steps; the same tokens as through the prefill designs (emulated).
    func testPromptsAsDecodeStepsGiveTheSameTokens() throws {
        let manifest = Support.manifest
        func backend(_ prefill: Bool) throws -> NPUBackend {
            let device = try NPUBackend.emulatedDevice(graph: graph, tensors: tensors, manifest: manifest, contextLength: context)
            return try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest, contextLength: context,
                                  xclbin: "emulated-decode.xclbin", instructions: { try device.instructions(for: $0) },
                                  prefillDesigns: prefill)
        }
        let prompt = [3, 99, 250, 4, 61, 77, 12, 5]
        let withPrefill = try backend(true), decodeOnly = try backend(false)
        XCTAssertEqual(try decodeOnly.generateGreedy(prompt: prompt, count: 6), try withPrefill.generateGreedy(prompt: prompt, count: 6))
        XCTAssertEqual(decodeOnly.counters.prefillChunkCount, 0)
        XCTAssertEqual(decodeOnly.counters.tokenCount, prompt.count + 5, "every prompt row, then 5 decode tokens")
        // logits of a multi-row step: the prompt's last row
        let a = try backend(false).step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        let b = try backend(true).step(tokens: prompt, start: 0, logitRows: .last, observer: nil)
        XCTAssertEqual(a.count, config.vocabSize)
        XCTAssertLessThan(klDivergence(expectedLogits: b[...], actualLogits: a[...]), 1e-3)
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
        let key = try python(["Tools/build-kernels.py", "--preset", "smollm2-135m", "--weights", "q4_1", "--ctx", "2048", "--print-key"])
        XCTAssertEqual(key.trimmingCharacters(in: .whitespacesAndNewlines),
                       KernelBuildKey.key(config: Self.smol, projection: .q4_1, lmHead: .bf16, context: 2048, chunk: 64))
    }

    /// The tiny golden model (Golden/tiny-llama32/model/config.json): kvDim 32 takes 32-row K/V tiles.
    static let tiny = try! ModelConfig(
        vocabSize: 1024, hiddenSize: 128, intermediateSize: 384, layerCount: 4, headCount: 8, kvHeadCount: 2,
        headDim: 16, ropeTheta: 500000, maxContext: 131072, tiedEmbeddings: true)

    /// Names, argument bytes and roles of every decode design, and the gemv tile height of each stage the
    /// designs are generated with (the plan's per-instance tilings), for bf16, Q4_1 and Q4_0 weights.
    func testDecodeDesignsMirrorAgreesWithSwift() throws {
        let tinyConfig = ["--config", Support.root.appendingPathComponent("Golden/tiny-llama32/model/config.json").path]
        for (model, config, weights) in [(["--preset", "llama-3.2-1b"], Self.llama1B, DType.bf16),
                                         (["--preset", "smollm2-135m"], Self.smol, .q4_1),
                                         (["--preset", "llama-3.2-1b"], Self.llama1B, .q4_1),
                                         (["--preset", "llama-3.2-1b"], Self.llama1B, .q4_0),
                                         (tinyConfig, Self.tiny, .bf16), (tinyConfig, Self.tiny, .q4_0)] {
            let preset = model.joined(separator: " ")
            let text = try python(["Tools/decode_designs.py"] + model + ["--weights", weights.rawValue.lowercased(),
                                   "--ctx", "2048"])
            let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
            let plan = try KernelPlan(manifest: Support.manifest, config: config, projectionWeights: weights, lmHeadWeights: .bf16,
                                      context: 2048, chunk: 64)
            let swift = try DecodeDesigns(plan: plan, config: config, projectionDType: weights, lmHeadDType: .bf16, context: 2048).all
            let designs = try DecodeDesigns(plan: plan, config: config, projectionDType: weights, lmHeadDType: .bf16, context: 2048)
            XCTAssertEqual(list.map { $0["kernelName"] as? String }, swift.map(\.kernelName), preset)
            for (p, s) in zip(list, swift) {
                let args = (p["arguments"] as? [[Any]] ?? []).map { "\($0[0]) \($0[1]) \($0[2])" }
                XCTAssertEqual(args, s.arguments.map { "\($0.name) \($0.bytes) \($0.role)" }, s.kernelName)
                let parameters = try XCTUnwrap(p["parameters"] as? [String: Any], s.kernelName)
                switch s.kind {
                case .attentionHalf: XCTAssertEqual(parameters["tms"] as? [Int], designs.attentionTM, s.kernelName)
                case .mlpHalf: XCTAssertEqual(parameters["tms"] as? [Int], designs.mlpTM, s.kernelName)
                case .lmHeadArgmax: XCTAssertEqual(parameters["tm"] as? Int, plan.instance("result_output")!.values["tm"], s.kernelName)
                case .lmHeadLogits: XCTAssertEqual(parameters["tm"] as? Int, plan.instance("result_logits")!.values["tm"], s.kernelName)
                }
                XCTAssertEqual(parameters["tk"] as? Int, designs.tk, s.kernelName)
            }
            if config.kvDim == 32 { XCTAssertEqual(designs.attentionTM, [64, 32, 64], "the tiny model's K/V rows take 32-row tiles") }
        }
    }
}
