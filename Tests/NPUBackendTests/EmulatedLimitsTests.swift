// The XRT/amdxdna limits of the NPU2 target model as the emulated device enforces them: each fires with its source named.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

final class EmulatedLimitsTests: XCTestCase {
    let target = Support.manifest.target

    /// A kernel binding `arguments` 64-byte buffers: reads the first, writes the last; `fail` makes it
    /// write past its output (a run failure the device detects).
    func spec(_ name: String, arguments: Int = 2, exemption: NPU2Exemption? = nil, fail: Bool = false) -> EmulatedKernelSpec {
        let args = (0..<arguments).map {
            DesignArgument(name: "a\($0)", bytes: 64, role: $0 == arguments - 1 ? .output : .input)
        }
        var s = EmulatedKernelSpec(name: name, arguments: args) { p in
            p[arguments - 1].copyMemory(from: p[0], byteCount: 64)
            if fail { p[arguments - 1].initializeMemory(as: UInt8.self, repeating: 0x11, count: 65) }
        }
        s.exemption = exemption
        return s
    }

    /// Runs of `kernel` with fresh synced buffers (every argument set as mlir-aie's convention).
    func runs(_ d: EmulatedDevice, _ ctx: NPUHardwareContext, _ kernel: String, count: Int) throws -> [NPURun] {
        let k = try ctx.kernel(named: kernel)
        let words = try d.instructions(for: kernel)
        let insts = try d.allocate(size: 4 * words.count, flags: .cacheable, memoryGroup: 1)
        insts.hostMemory.withMemoryRebound(to: UInt32.self) { p in for (i, w) in words.enumerated() { p[i] = w } }
        try insts.sync(.toDevice)
        let n = d.spec(kernel)!.arguments.count
        return try (0..<count).map { _ in
            let run = try ctx.makeRun(k)
            try run.setArgument(0, value: 3)
            try run.setArgument(1, buffer: insts)
            try run.setArgument(2, value: UInt64(words.count))
            for i in 0..<n {
                let b = try d.allocate(size: 64, flags: .hostOnly, memoryGroup: 3)
                try b.sync(.toDevice)
                try run.setArgument(3 + i, buffer: b)
            }
            return run
        }
    }

    func assertFails(_ body: () throws -> Void, _ contains: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for c in contains { XCTAssertTrue(text.contains(c), "'\(text)' does not mention '\(c)'", file: file, line: line) }
        }
    }

    // MARK: 1. aiecc's buffer arguments

    /// A design binding more than aiecc's 5 buffer arguments fails at plan time naming the kernel and both
    /// numbers unless the baseline lists it, and may not grow past its listed count; the decode token binds 4, the LM
    /// head 2, and neither needs a baseline entry (Kernels/npu2_baseline.json lists none).
    func testBufferArgumentsOverAieccFailAtPlanTime() throws {
        let graph = Graph.llama(Support.smallConfig)
        let tensors = Support.bf16Weights(Support.smallConfig, seed: 1)
        let data = try Data(contentsOf: Support.root.appendingPathComponent("Kernels/manifest.json"))
        let bare = try KernelManifest(json: data, file: "manifest.json", target: target, baseline: .empty)
        let designs = try NPUBackend.designs(graph: graph, tensors: tensors, manifest: bare, contextLength: 256)
        XCTAssertEqual(designs.all.map(\.arguments.count), [4, 4, 4, 2, 5, 5, 5])
        XCTAssertEqual(Support.manifest.baseline.bufferArguments, [:])
        let wide = FusedDesign(kernelName: "wide_b1", design: "wide", kind: .decodeToken(bucket: 1),
                               arguments: (0..<6).map { DesignArgument(name: "a\($0)", bytes: 64, role: .input) })
        assertFails({ try DesignLimits.checkBufferArguments([wide], target: self.target, baseline: .empty) },
                    ["wide_b1", "binds 6 data buffers", "aiecc emits 5 buffer arguments", "tools/aiecc/aiecc.cpp generateKernelsJson",
                     "set_arg(8)", "not in an empty npu2_baseline.json bufferArguments"])
        let tight = try NPU2Baseline(json: Data(#"{"format": 1, "bufferArguments": {"wide": {"count": 5, "reason": "r"}}}"#.utf8), file: "tight.json")
        assertFails({ try DesignLimits.checkBufferArguments([wide], target: self.target, baseline: tight) },
                    ["wide_b1", "binds 6 data buffers, more than the 5 tight.json tolerates", "aiecc.cpp"])
    }

    /// On the device: a kernel declares aiecc's 5 buffer arguments, so set_arg(8) throws as XRT's does;
    /// a design the baseline tolerates declares its own count and every run of it is a known violation.
    func testSetArgPastAieccsArgumentsIsRefusedAndExemptRunsAreCounted() throws {
        let exempt = NPU2Exemption(name: "wide", count: 6, reason: "issue 12")
        let d = EmulatedDevice(kernels: [spec("narrow", arguments: 6), spec("wide", arguments: 6, exemption: exempt)], target: target)
        let ctx = try d.openContext(xclbin: "test.xclbin")
        assertFails({ _ = try self.runs(d, ctx, "narrow", count: 1) },
                    ["set_arg(8)", "8 arguments", "aiecc emits 5", "generateKernelsJson", "#3248"])
        let run = try runs(d, ctx, "wide", count: 1)[0]
        try run.start()
        XCTAssertEqual(d.counters.knownViolationRuns, 1)
        XCTAssertEqual(d.counters.runs, 1)
    }

    // MARK: 2. kernels per hw_context

    func testMoreThan32KernelsFailAtContextCreation() throws {
        let kernels = (0..<33).map { spec("k\($0)") }
        let d = EmulatedDevice(kernels: kernels, target: target)
        assertFails({ _ = try d.openContext(xclbin: "big.xclbin") },
                    ["33 kernels", "at most 32", "aie2_msg_priv.h MAX_NUM_CUS", "aie2_config_cu"])
        d.contextKernelExemption = NPU2Exemption(name: "decode+prefill", count: 32, reason: "issue 12")
        assertFails({ _ = try d.openContext(xclbin: "big.xclbin") }, ["33 kernels", "tolerates 32"])
        d.contextKernelExemption = NPU2Exemption(name: "decode+prefill", count: 33, reason: "issue 12")
        _ = try d.openContext(xclbin: "big.xclbin")
        XCTAssertEqual(d.knownViolations.count, 1)
        XCTAssertTrue(d.knownViolations[0].contains("33 kernels > 32"), d.knownViolations[0])
        XCTAssertNoThrow(try EmulatedDevice(kernels: Array(kernels.prefix(32)), target: target).openContext(xclbin: "ok.xclbin"))
    }

    /// The xclbin holds one decode kernel per KV length bucket, the LM head and one prefill kernel per bucket: the
    /// small model at 4096 positions 7 + 1 + 7, Llama 3.2 1B at its longest context (131072) 12 + 1 + 12, both within
    /// amdxdna's 32 without a baseline entry;
    /// an xclbin over 32 still fails at context creation naming the limit.
    func testTheDecodeXclbinFits32KernelsAtTheLongestContext() throws {
        let graph = Graph.llama(Support.smallConfig)
        let tensors = Support.bf16Weights(Support.smallConfig, seed: 1)
        let (backend, device) = try Support.npuBackend(graph, tensors, context: 4096)
        XCTAssertEqual(backend.designs.buckets, [1, 2, 4, 8, 16, 32, 64])
        XCTAssertEqual(device.kernelNames.count, 15, "7 decode buckets, the LM head, 7 prefill buckets")
        XCTAssertEqual(device.knownViolations, [])
        let c = DecodeBenchmark.llama32_1B
        for dtype in [DType.bf16, .q4_0] {
            let d = try DecodeDesigns(manifest: Support.manifest, config: c, projectionDType: dtype, lmHeadDType: dtype, context: c.maxContext)
            XCTAssertEqual(d.all.count, 25, "1B at 131072: decode buckets 1 … 2048, the LM head, prefill buckets 1 … 2048")
        }
        XCTAssertEqual(Support.manifest.baseline.hwContextKernels, [:])
        assertFails({ try DesignLimits.checkContextKernels(count: 33, composition: "decode", target: self.target, baseline: Support.manifest.baseline) },
                    ["33 kernels", "at most 32", "MAX_NUM_CUS", "npu2_baseline.json hwContextKernels"])
    }

    // MARK: 3. chains of 24 runs, 4 KiB firmware command buffer

    func testRunlistSplitsIntoChainsOf24AndChecksTheirPayload() throws {
        let d = EmulatedDevice(kernels: [spec("copy")], target: target)
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let list = try ctx.makeRunlist()
        for r in try runs(d, ctx, "copy", count: 33) { try list.add(r) }
        try list.execute()
        try list.wait(timeoutMilliseconds: 0)
        XCTAssertEqual(d.counters.runlistExecutes, 1)
        XCTAssertEqual(d.counters.driverCommands, 2, "33 runs = chains of 24 + 9 (XRT runlist_impl::submit_size)")
        XCTAssertEqual(d.chains.map(\.runs), [24, 9])
        // per run 52 (cmd_chain_slot_npu) + 20 (opcode, instr, ninstr) + 8 × 5 (aiecc's bo0…bo4) = 112 B
        XCTAssertEqual(d.chains.map(\.payloadBytes), [24 * 112, 9 * 112])
        XCTAssertEqual(d.counters.chainPayloadBytes, 33 * 112)
        XCTAssertEqual(target.chainSlotBytes(bufferArguments: 12), 168)
    }

    /// 24 runs of a 13-buffer kernel need 24 × (52 + 20 + 104) = 4224 B > 4096: the driver fails the chain;
    /// none of its runs execute, reported at wait as ERROR at its first run, the rest ABORT. 23 fit (4048 B).
    func testAChainOverTheFirmwareBufferFailsAtWait() throws {
        let exempt = NPU2Exemption(name: "wide", count: 13, reason: "test")
        for (count, fits) in [(24, false), (23, true)] {
            let d = EmulatedDevice(kernels: [spec("wide", arguments: 13, exemption: exempt)], target: target)
            let ctx = try d.openContext(xclbin: "t.xclbin")
            let list = try ctx.makeRunlist()
            for r in try runs(d, ctx, "wide", count: count) { try list.add(r) }
            try list.execute()   // submitted: the driver's failure is reported at wait
            XCTAssertEqual(d.chains.map(\.payloadBytes), [count * 176])
            if fits {
                try list.wait(timeoutMilliseconds: 0)
                XCTAssertEqual(d.counters.runs, 23)
                continue
            }
            XCTAssertThrowsError(try list.wait(timeoutMilliseconds: 0)) { error in
                let e = error as! NPUDeviceError
                XCTAssertEqual(e.state, .error)
                XCTAssertEqual(e.failedRun, 0)
                for s in ["4224 bytes", "4096-byte firmware command buffer", "MAX_CHAIN_CMDBUF_SIZE", "cmd_chain_slot_npu", "23 runs after it ABORT"] {
                    XCTAssertTrue("\(e)".contains(s), "'\(e)' does not mention '\(s)'")
                }
            }
            XCTAssertEqual(d.counters.runs, 0)
            XCTAssertEqual(try list.runStates(), [CommandState.error] + Array(repeating: CommandState.abort, count: 23))
        }
    }

    // MARK: 4. the asynchronous runlist

    /// A run that fails is reported at wait(), not execute(): ERROR at it, ABORT after it, COMPLETED
    /// before; outputs cannot be synced before wait(); the list is idle again afterwards.
    func testErrorsAreReportedAtWaitWithLaterRunsAborted() throws {
        let d = EmulatedDevice(kernels: [spec("copy"), spec("bad", fail: true)], target: target)
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let list = try ctx.makeRunlist()
        let good = try runs(d, ctx, "copy", count: 2), bad = try runs(d, ctx, "bad", count: 1)
        for r in [good[0], bad[0], good[1]] { try list.add(r) }
        XCTAssertNoThrow(try list.execute())
        let out = try d.allocate(size: 64, flags: .hostOnly, memoryGroup: 3)
        assertFails({ try good[0].setArgument(4, buffer: out) }, ["set_arg(4)", "executes"])
        XCTAssertThrowsError(try list.wait(timeoutMilliseconds: 0)) { error in
            let e = error as! NPUDeviceError
            XCTAssertEqual(e.state, .error)
            XCTAssertEqual(e.failedRun, 1)
            XCTAssertTrue("\(e)".contains("runlist run 1 of 3 (bad)") && "\(e)".contains("past its end")
                          && "\(e)".contains("ERT_CMD_STATE_ERROR") && "\(e)".contains("runlist_impl::wait"), "\(e)")
        }
        XCTAssertEqual(try list.runStates(), [.completed, .error, .abort])
        XCTAssertEqual(d.counters.runs, 1, "the runs after the failure do not run")
        XCTAssertNoThrow(try list.execute(), "idle again after wait()")
        XCTAssertThrowsError(try list.wait(timeoutMilliseconds: 0))
    }

    /// Syncing a buffer a running runlist binds is refused (its contents are defined after wait()).
    func testSyncBeforeWaitIsRefused() throws {
        let d = EmulatedDevice(kernels: [spec("copy")], target: target)
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let list = try ctx.makeRunlist()
        let run = try runs(d, ctx, "copy", count: 1)[0]
        let y = try d.allocate(size: 64, flags: .hostOnly, memoryGroup: 3)
        try y.sync(.toDevice)
        try run.setArgument(4, buffer: y)
        try list.add(run)
        try list.execute()
        assertFails({ try y.sync(.fromDevice) }, ["sync(.fromDevice)", "executing", "runlist_impl::wait"])
        try list.wait(timeoutMilliseconds: 0)
        XCTAssertNoThrow(try y.sync(.fromDevice))
    }

    // MARK: 5. TDR

    /// A chain modelled past the 2 s watchdog ends in TIMEOUT at the run that crossed it; the context is
    /// unusable afterwards (amdxdna restarts it); a new context works. With DecodeBenchmark's cost model at
    /// 100 bytes/s, a run moving 128 bytes is modelled 1.28 s: the second run of a chain crosses 2 s.
    func testAChainPastTheTDRTimesOutAndStopsTheContext() throws {
        let d = EmulatedDevice(kernels: [spec("copy")], target: target)
        d.cost.dramBytesPerSecond = 100
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let list = try ctx.makeRunlist()
        for r in try runs(d, ctx, "copy", count: 3) { try list.add(r) }
        try list.execute()
        XCTAssertThrowsError(try list.wait(timeoutMilliseconds: 0)) { error in
            let e = error as! NPUDeviceError
            XCTAssertEqual(e.state, .timeout)
            XCTAssertEqual(e.failedRun, 1)
            for s in ["ERT_CMD_STATE_TIMEOUT", "2.560 s", "no progress for 2 s", "aie2_tdr.c timeout_in_sec", "restarts the hardware context"] {
                XCTAssertTrue("\(e)".contains(s), "'\(e)' does not mention '\(s)'")
            }
        }
        XCTAssertEqual(try list.runStates(), [.completed, .timeout, .abort])
        XCTAssertEqual(d.chains.map(\.state), [.timeout])
        assertFails({ try list.execute() }, ["hardware context", "aie2_tdr.c"])
        assertFails({ _ = try ctx.makeRunlist() }, ["hardware context", "TIMEOUT"])
        let fresh = try d.openContext(xclbin: "t.xclbin")
        d.cost = DecodeCostModel()
        let again = try fresh.makeRunlist()
        try again.add(try runs(d, fresh, "copy", count: 1)[0])
        try again.execute()
        XCTAssertNoThrow(try again.wait(timeoutMilliseconds: 0))
    }

    /// The wait's own timeout, shorter than the runs' modelled time (under the TDR): TIMEOUT with no failed
    /// run and the list still executing, as XRT's wait returns cv_status::timeout; waiting again completes.
    func testWaitTimeoutLeavesTheListExecuting() throws {
        let d = EmulatedDevice(kernels: [spec("copy")], target: target)
        d.cost.dramBytesPerSecond = 1000   // 128 bytes: 128 ms per run
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let list = try ctx.makeRunlist()
        try list.add(try runs(d, ctx, "copy", count: 1)[0])
        try list.execute()
        XCTAssertThrowsError(try list.wait(timeoutMilliseconds: 100)) { error in
            let e = error as! NPUDeviceError
            XCTAssertEqual(e.state, .timeout)
            XCTAssertNil(e.failedRun)
        }
        assertFails({ try list.execute() }, ["already executing"])
        XCTAssertNoThrow(try list.wait(timeoutMilliseconds: 200))
    }

    /// The backend follows the protocol: a decode token whose run is modelled past the TDR (at a 100 kB/s DRAM
    /// ceiling the small model's ~4 MB of channel streams take ~40 s) fails at its wait with TIMEOUT, and the next
    /// token is refused on the stopped context.
    func testTheBackendReportsATDRAndStopsOnTheContext() throws {
        let graph = Graph.llama(Support.smallConfig)
        let (npu, device) = try Support.npuBackend(graph, Support.bf16Weights(Support.smallConfig, seed: 3), context: 256)
        device.cost.dramBytesPerSecond = 1e5
        XCTAssertThrowsError(try npu.nextTokenGreedy(after: 5, position: 0)) { error in
            XCTAssertEqual((error as? NPUDeviceError)?.state, .timeout, "\(error)")
            XCTAssertTrue("\(error)".contains("aie2_tdr.c"), "\(error)")
        }
        assertFails({ _ = try npu.nextTokenGreedy(after: 5, position: 0) }, ["hardware context", "TIMEOUT"])
    }

    // MARK: 6. BO flags

    func testNormalBuffersAreRefusedAndSubBuffersAreArguments() throws {
        let d = EmulatedDevice(kernels: [spec("copy")], target: target)
        assertFails({ _ = try d.allocate(size: 64, flags: .normal, memoryGroup: 3) },
                    ["normal", "host_only, cacheable", "src/shim/device.cpp device::alloc_bo", "bo_flags_to_type"])
        let ctx = try d.openContext(xclbin: "t.xclbin")
        let run = try runs(d, ctx, "copy", count: 1)[0]
        let parent = try d.allocate(size: 256, flags: .hostOnly, memoryGroup: 3)
        try parent.sync(.toDevice)
        try run.setArgument(4, buffer: try d.subBuffer(of: parent, offset: 128, size: 64))
        XCTAssertNoThrow(try run.start())
    }

    // MARK: counters of the backend

    /// The small model (2 layers) at 256 positions: every row is ONE runlist execute = 1 driver command; a token's
    /// runlist chains the decode token run and the LM head run (2 × (52 + 20 + 8 × 5) = 224 bytes: aiecc's 5 buffer
    /// arguments declared, 4 and 2 bound), a prompt row whose logits nobody reads the decode token run alone (112
    /// bytes); nothing is a known violation; one set_arg (kv_row) per row.
    func testBackendCountsRunlistExecutesAndDriverCommands() throws {
        let graph = Graph.llama(Support.smallConfig)
        let (npu, _) = try Support.npuBackend(graph, Support.bf16Weights(Support.smallConfig, seed: 3), context: 256)
        npu.promptsThroughPrefill = false   // rows as decode steps (a prompt chunk's counts: PrefillBackendTests)
        _ = try npu.step(tokens: [1, 2, 3], start: 0, logitRows: .last, observer: nil)
        XCTAssertEqual(npu.counters.tokenCount, 3)
        XCTAssertEqual(npu.counters.tokens.runs, 1 + 1 + 2)
        XCTAssertEqual(npu.counters.tokens.driverCommands, 3)
        _ = try npu.step(tokens: [1, 2], start: 3, logitRows: .all, observer: nil)
        XCTAssertEqual(npu.counters.tokens.runs, 4 + 2 + 2, "every row's logits: every row runs the LM head")
        _ = try npu.nextTokenGreedy(after: 5, position: 5)
        let t = npu.counters.lastToken
        XCTAssertEqual([t.runs, t.submissions, t.runlistExecutes, t.driverCommands, t.knownViolationRuns], [2, 1, 1, 1, 0])
        XCTAssertEqual(npu.counters.lastTokenChains?.map(\.payloadBytes), [224])
        XCTAssertEqual(npu.counters.lastTokenChains?.map(\.runs), [2])
        XCTAssertEqual(t.chainPayloadBytes, 224)
        XCTAssertEqual(npu.counters.lastTokenArgumentRebinds, 1)
    }
}
