// The NPU2 target model and the baseline of known violations as Swift reads them: values, sources, hostile files, and a baseline that is exact and still needed.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class NPU2TargetTests: XCTestCase {
    let target = Support.manifest.target
    let targetPath = Support.root.appendingPathComponent("Kernels/npu2_target.json").path

    /// The limits Swift enforces, with the values read from their sources (see the file's notes).
    func testTheLimitsSwiftEnforcesAndTheirSources() throws {
        XCTAssertEqual(target.aieccBufferArguments, 5)
        XCTAssertEqual(target.aieccRegmapFixedBytes, 0x14)
        XCTAssertEqual(target.aieccBufferArgumentBytes, 8)
        XCTAssertEqual(target.maxKernelsPerContext, 32)
        XCTAssertEqual(target.runsPerChain, 24)
        XCTAssertEqual(target.driverMaxRunsPerChain, 64)
        XCTAssertEqual(target.chainPayloadBytes, 4096)
        XCTAssertEqual(target.chainSlotBytes, 52)
        XCTAssertEqual(target.tdrSeconds, 2)
        XCTAssertEqual(target.allowedBufferFlags, ["host_only", "cacheable"])
        // per run: 52 + 0x14 + 8 per declared buffer argument; aiecc's 5 → 112 B
        XCTAssertEqual(target.chainSlotBytes(bufferArguments: 5), 112)
        let sources = [
            "aiecc.bufferArguments": "tools/aiecc/aiecc.cpp generateKernelsJson",
            "aiecc.regmapFixedBytes": "generateKernelsJson",
            "aiecc.bufferArgumentBytes": "xrt_kernel.cpp kernel_impl",
            "hwContext.maxKernels": "aie2_msg_priv.h MAX_NUM_CUS",
            "runlist.runsPerChain": "runlist_impl::submit_size",
            "runlist.driverMaxRunsPerChain": "MAX_CHAINED_SUB_CMD",
            "runlist.chainPayloadBytes": "MAX_CHAIN_CMDBUF_SIZE",
            "runlist.chainSlotBytes": "cmd_chain_slot_npu",
            "tdr.seconds": "aie2_tdr.c timeout_in_sec",
            "bo.allowedFlags": "src/shim/device.cpp device::alloc_bo",
        ]
        for (key, symbol) in sources {
            let limit = try XCTUnwrap(target.limits[key], key)
            XCTAssertTrue(limit.source.contains(symbol), "\(key): \(limit.source)")
            XCTAssertTrue(limit.confirmed, key)
        }
    }

    /// KernelPlan's budgets come from the target model alone; a manifest that carries its own device section is refused.
    func testManifestDeviceBudgetsAreTheTargetModels() throws {
        let d = Support.manifest.device
        XCTAssertEqual([d.columns, d.coresPerColumn, d.coreBytes, d.coreStackBytes, d.memTileBytes],
                       [target.columns, target.coreRows, target.coreDataMemoryBytes, target.coreStackBytes, target.memTileBytes])
        XCTAssertEqual(d.cores, 32)
        let path = Support.root.appendingPathComponent("Kernels/manifest.json").path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertFalse(text.contains(#""device":"#), "the manifest carries no device section of its own")
        text = text.replacingOccurrences(of: #""kernels":"#, with: #""device": {"coreStackBytes": 2048}, "kernels":"#)
        XCTAssertThrowsError(try KernelManifest(json: Data(text.utf8), file: path)) { error in
            XCTAssertTrue("\(error)".contains("device: is no longer read: the NPU2 target model"), "\(error)")
        }
    }

    func load(_ text: String) -> String? {
        do { _ = try NPU2Target(json: Data(text.utf8), file: "t.json"); return nil } catch { return "\(error)" }
    }

    /// The real file with one substitution.
    func mutated(_ from: String, _ to: String) throws -> String {
        let text = try String(contentsOfFile: targetPath, encoding: .utf8)
        XCTAssert(text.contains(from), "fixture: \(from)")
        return text.replacingOccurrences(of: from, with: to)
    }

    func testHostileTargetFilesFailNamingTheKey() throws {
        XCTAssertNil(load(try String(contentsOfFile: targetPath, encoding: .utf8)))
        XCTAssertTrue(load("[1")!.hasPrefix("t.json: is not valid JSON"))
        XCTAssertEqual(load("[]"), "t.json: must be an object, not an array")
        XCTAssertEqual(load(#"{"format": 2}"#), "t.json: format: must be 1")
        XCTAssertEqual(load(#"{"format": 1, "target": "npu1"}"#), "t.json: target: must be \"npu2\"")
        XCTAssertEqual(load(try mutated(#""runlist.runsPerChain": {"value": 24,"#, #""runlist.runsPerChain": {"value": "24","#)),
                       "t.json: limits.runlist.runsPerChain.value: must be a positive integer")
        XCTAssertEqual(load(try mutated(#""tdr.seconds": {"value": 2,"#, #""tdr.seconds": {"value": 0,"#)),
                       "t.json: limits.tdr.seconds.value: must be a positive integer")
        XCTAssertEqual(load(try mutated(#""hwContext.maxKernels""#, #""hwContext.maxKernelz""#)),
                       "t.json: limits.hwContext.maxKernels: is missing (Sources/NPUBackend enforces it)")
        XCTAssertEqual(load(try mutated(#""runlist.runsPerChain": {"value": 24,"#, #""runlist.runsPerChain": {"value": 65,"#)),
                       "t.json: limits.runlist.runsPerChain: 65 exceeds the driver's 64 sub-commands per chain")
        XCTAssertEqual(load(try mutated(#""value": ["host_only", "cacheable"]"#, #""value": []"#)),
                       "t.json: limits.bo.allowedFlags.value: must be a non-empty list of XRT flag names")
        XCTAssertEqual(load(try mutated(#""tdr.seconds": {"value": 2, "unit""#, #""tdr.seconds": {"value": 2, "units": 1, "unit""#)),
                       "t.json: limits.tdr.seconds: unknown field 'units'")
        XCTAssertEqual(load(#"{"format": 1, "target": "npu2", "limits": {"a.b": {"value": 1, "unit": "u", "source": "s", "confirmed": false}}}"#),
                       "t.json: limits.a.b.note: an unconfirmed value must say why it is used")
        XCTAssertEqual(load(#"{"format": 1, "target": "npu2", "limits": {"a.b": {"value": 1, "unit": "u", "source": "s", "confirmed": 1}}}"#),
                       "t.json: limits.a.b.confirmed: must be true or false")
        XCTAssertEqual(load(#"{"format": 1, "target": "npu2", "limits": {"a b": {}}}"#),
                       "t.json: limits: 'a b' is not a key (area.name, ASCII letters and digits)")
    }

    func testHostileBaselinesFailNamingTheEntry() {
        func load(_ text: String) -> String? {
            do { _ = try NPU2Baseline(json: Data(text.utf8), file: "b.json"); return nil } catch { return "\(error)" }
        }
        XCTAssertNil(load(#"{"format": 1}"#))
        XCTAssertEqual(load(#"{"format": 1, "cores": {}}"#), "b.json: unknown section 'cores'")
        XCTAssertEqual(load(#"{"format": 1, "bufferArguments": {"attn_half": {"count": 0, "reason": "r"}}}"#),
                       "b.json: bufferArguments.attn_half.count: must be an integer from 1 to 4096")
        XCTAssertEqual(load(#"{"format": 1, "bufferArguments": {"attn_half": {"count": 12}}}"#),
                       "b.json: bufferArguments.attn_half.reason: must say why it is tolerated (1 to 4096 bytes)")
        XCTAssertEqual(load(#"{"format": 1, "hwContextKernels": {"a b": {"count": 1, "reason": "r"}}}"#),
                       "b.json: hwContextKernels: 'a b' is not a design or xclbin name (ASCII letters, digits, _ and +)")
    }

    /// The designs the reference models need, at the longest context each offers.
    func referenceDesigns() throws -> [(model: String, decode: DecodeDesigns)] {
        var out: [(String, DecodeDesigns)] = []
        for (name, c) in [("Llama 3.2 1B", DecodeBenchmark.llama32_1B), ("SmolLM2-135M", DecodeBenchmark.smolLM2)] {
            for w in [DType.bf16, .q4_1, .q4_0] {
                out.append(("\(name) \(w.rawValue)",
                            try DecodeDesigns(manifest: Support.manifest, config: c, projectionDType: w, lmHeadDType: w, context: c.maxContext)))
            }
        }
        return out
    }

    /// Kernels/npu2_baseline.json is the exact list of today's violations, empty since issue 12: no design binds more
    /// than aiecc's 5 buffer arguments (the decode token binds 4, the LM head 2), and the decode xclbin of every
    /// reference model holds at most 32 kernels at its longest context (Llama 3.2 1B at 131072: 12 buckets and the LM
    /// head, 13 kernels).
    func testTheBaselineIsExactAndStillNeeded() throws {
        let baseline = Support.manifest.baseline
        var seen: [String: Int] = [:]
        var kernels = 0
        for (model, decode) in try referenceDesigns() {
            for d in decode.all where d.arguments.count > target.aieccBufferArguments { seen["\(model) \(d.design)"] = d.arguments.count }
            XCTAssertEqual(decode.all.map(\.arguments.count), Array(repeating: 4, count: decode.buckets.count) + [2]
                               + Array(repeating: 5, count: decode.buckets.count), model)
            kernels = max(kernels, decode.all.count)
        }
        XCTAssertEqual(seen, [:])
        XCTAssertEqual(kernels, 25, "1B at 131072: 12 decode buckets, the LM head, 12 prefill buckets")
        XCTAssertLessThanOrEqual(kernels, target.maxKernelsPerContext)
        XCTAssertEqual(baseline.bufferArguments, [:], "no design exceeds aiecc's buffer arguments: the baseline lists none")
        XCTAssertEqual(baseline.hwContextKernels, [:], "the decode xclbin fits amdxdna's 32 kernels: the baseline lists none")
    }
}
