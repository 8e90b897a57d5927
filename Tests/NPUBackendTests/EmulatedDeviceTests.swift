// The emulated NPU catches what a real device would silently corrupt: out-of-bounds writes, stale reads, wrong buffers.
import NPUBackend
import XCTest

final class EmulatedDeviceTests: XCTestCase {
    /// A one-argument-in, one-out kernel; `overrun` bytes are written past the output's end.
    func device(overrun: Int = 0) -> EmulatedDevice {
        let args = [DesignArgument(name: "x", bytes: 64, role: .input), DesignArgument(name: "y", bytes: 64, role: .output)]
        return EmulatedDevice(kernels: [EmulatedKernelSpec(name: "copy", arguments: args) { p in
            p[1].copyMemory(from: p[0], byteCount: 64)
            if overrun > 0 { p[1].initializeMemory(as: UInt8.self, repeating: 0x11, count: 64 + overrun) }
        }], target: Support.manifest.target)
    }

    struct Setup {
        let context: NPUHardwareContext
        let run: NPURun
        let x: NPUBuffer, y: NPUBuffer
    }

    func setup(_ d: EmulatedDevice, instrFlags: BufferFlags = .cacheable, instrGroup: Int = 1, ySize: Int = 64,
               yGroup: Int = 3, skipInstructions: Bool = false, context: NPUHardwareContext? = nil) throws -> Setup {
        let ctx = try context ?? d.openContext(xclbin: "test.xclbin")
        let k = try ctx.kernel(named: "copy")
        let words = try d.instructions(for: "copy")
        let insts = try d.allocate(size: 4 * words.count, flags: instrFlags, memoryGroup: instrGroup)
        insts.hostMemory.withMemoryRebound(to: UInt32.self) { p in for (i, w) in words.enumerated() { p[i] = w } }
        try insts.sync(.toDevice)
        let x = try d.allocate(size: 64, flags: .hostOnly, memoryGroup: k.memoryGroup(argument: 3))
        let y = try d.allocate(size: ySize, flags: .hostOnly, memoryGroup: yGroup)
        for i in 0..<64 { x.hostMemory[i] = UInt8(i) }
        try x.sync(.toDevice)
        let run = try ctx.makeRun(k)
        try run.setArgument(0, value: 3)
        if !skipInstructions { try run.setArgument(1, buffer: insts) }
        try run.setArgument(2, value: UInt64(words.count))
        try run.setArgument(3, buffer: x)
        try run.setArgument(4, buffer: y)
        return Setup(context: ctx, run: run, x: x, y: y)
    }

    func assertFails(_ body: () throws -> Void, _ contains: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = "\(error)"
            for c in contains { XCTAssertTrue(text.contains(c), "'\(text)' does not mention '\(c)'", file: file, line: line) }
        }
    }

    func testCleanRunReadsBackAndCounts() throws {
        let d = device()
        let s = try setup(d)
        let before = d.counters
        try s.run.start()
        XCTAssertEqual(try s.run.wait(timeoutMilliseconds: 100), .completed)
        try s.y.sync(.fromDevice)
        XCTAssertEqual(Array(try s.y.readableHostBytes()), (0..<64).map(UInt8.init))
        let delta = d.counters - before
        XCTAssertEqual(delta.runs, 1)
        XCTAssertEqual(delta.submissions, 1)
        XCTAssertEqual(delta.syncsFromDevice, 1)
        XCTAssertEqual(delta.bytesFromDevice, 64)
        XCTAssertEqual(d.counters.buffersAllocated, 3)
        XCTAssertEqual(d.counters.bytesAllocated, 64 + 64 + 64)
    }

    func testGuardByteOverwriteIsCaughtNamingKernelAndArgument() throws {
        let s = try setup(device(overrun: 1))
        assertFails({ try s.run.start() }, ["copy", "argument 4 (y", "past its end"])
    }

    func testUnsyncedReadIsRefusedAndTheHostCopyIsPoisoned() throws {
        let s = try setup(device())
        try s.run.start()
        assertFails({ _ = try s.y.readableHostBytes() }, ["host read", "sync"])
        XCTAssertTrue(s.y.hostMemory.allSatisfy { $0 == 0xFF }, "a raw stale read sees poison (NaN in bf16)")
        assertFails({ try s.y.sync(.toDevice) }, ["would overwrite"])
        try s.y.sync(.fromDevice)
        XCTAssertNoThrow(try s.y.readableHostBytes())
    }

    func testHostWriteWithoutSyncIsRefused() throws {
        let s = try setup(device())
        s.x.hostMemory[0] = 99
        assertFails({ try s.run.start() }, ["argument 3 (x", "did not sync"])
    }

    func testWrongGroupSizeAndMissingInstructionsAreRejected() throws {
        assertFails({ try self.setup(self.device(), yGroup: 1).run.start() }, ["argument 4", "memory group 1"])
        assertFails({ try self.setup(self.device(), ySize: 128).run.start() }, ["argument 4", "128 bytes", "takes 64"])
        assertFails({ try self.setup(self.device(), skipInstructions: true).run.start() }, ["argument 1", "not set"])
        assertFails({ try self.setup(self.device(), instrFlags: .hostOnly).run.start() }, ["not allocated cacheable"])
        assertFails({ try self.setup(self.device(), instrGroup: 3).run.start() }, ["instruction buffer", "group_id(1)"])
        let s = try setup(device())
        try s.run.setArgument(0, value: 1)
        assertFails({ try s.run.start() }, ["opcode", "3"])
        try s.run.setArgument(0, value: 3)
        try s.run.setArgument(2, value: 2)
        assertFails({ try s.run.start() }, ["argument 2", "word count"])
    }

    func testRunlistExecutesInOrderAsOneSubmission() throws {
        let d = device()
        let a = try setup(d)
        let b = try setup(d, context: a.context)
        // b copies a's output: order matters
        try b.run.setArgument(3, buffer: a.y)
        let list = try a.context.makeRunlist()
        try list.add(a.run)
        try list.add(b.run)
        let before = d.counters
        try list.execute()
        try list.wait(timeoutMilliseconds: 100)
        XCTAssertEqual((d.counters - before).submissions, 1)
        XCTAssertEqual((d.counters - before).runs, 2)
        try b.y.sync(.fromDevice)
        XCTAssertEqual(Array(try b.y.readableHostBytes()), (0..<64).map(UInt8.init))
    }

    /// XRT's runlist protocol (Xilinx/XRT xrt_kernel.cpp runlist_impl): add and execute only while idle,
    /// a run of a runlist is never started alone, and the list is reused by execute() after wait().
    func testRunlistRulesOfXRT() throws {
        let d = device()
        let a = try setup(d)
        let list = try a.context.makeRunlist()
        try list.add(a.run)
        assertFails({ try list.add(a.run) }, ["already in this runlist"])
        assertFails({ try a.run.start() }, ["belongs to a runlist", "xrt_kernel.cpp"])
        // XRT counts the runlists a run is in; executing two that share it without wait() is undefined
        let other = try a.context.makeRunlist()
        try other.add(a.run)
        let before = d.counters
        try list.execute()
        assertFails({ try other.execute() }, ["also in a runlist that is executing"])
        assertFails({ try list.execute() }, ["already executing", "runlist_impl::execute", "must be idle"])
        let b = try setup(d, context: a.context)
        assertFails({ try list.add(b.run) }, ["executing", "runlist_impl::add", "must be idle"])
        assertFails({ try a.run.setArgument(4, buffer: a.y) }, ["set_arg(4)", "executes"])
        try list.wait(timeoutMilliseconds: 100)
        try list.wait(timeoutMilliseconds: 100)   // waiting on an idle runlist returns at once
        // a list is re-executed as it is once waited for
        try list.execute()
        try list.wait(timeoutMilliseconds: 0)
        let delta = d.counters - before
        XCTAssertEqual(delta.submissions, 2)
        XCTAssertEqual(delta.runlistExecutes, 2)
        XCTAssertEqual(delta.driverCommands, 2)
        XCTAssertEqual(delta.runs, 2)
        XCTAssertEqual(try list.runStates(), [.completed])
        // an empty runlist executes as a no-op (XRT)
        let empty = try a.context.makeRunlist()
        try empty.execute()
        XCTAssertEqual((d.counters - before).submissions, 2)
    }

    /// The output bound as a 64-byte sub-buffer of a larger buffer: the parent's memory continues past
    /// it, yet a run writing past the sub-buffer fails like any out-of-bounds write, and nothing of the
    /// parent outside the sub-buffer changes; a run within bounds writes through to the parent.
    func testWritePastASubBufferIsCaught() throws {
        for (overrun, offset) in [(1, 64), (0, 64), (1, 128)] {
            let d = device(overrun: overrun)
            let s = try setup(d)
            let parent = try d.allocate(size: 256, flags: .hostOnly, memoryGroup: 3)
            try parent.sync(.toDevice)
            let view = try d.subBuffer(of: parent, offset: offset, size: 64)
            try s.run.setArgument(4, buffer: view)
            if overrun > 0 {
                assertFails({ try s.run.start() }, ["copy", "argument 4 (y", "sub-buffer", "past its end"])
                continue
            }
            try s.run.start()
            try parent.sync(.fromDevice)
            let bytes = Array(try parent.readableHostBytes())
            XCTAssertEqual(Array(bytes[offset..<offset + 64]), (0..<64).map(UInt8.init))
            XCTAssertTrue(bytes[..<offset].allSatisfy { $0 == 0 } && bytes[(offset + 64)...].allSatisfy { $0 == 0 },
                          "the parent outside the sub-buffer is unchanged")
        }
    }

    /// A run in a runlist may be re-bound while the list is not executing (NPUBackend re-binds k_row /
    /// v_row per token); the next execution writes through the new binding.
    func testRebindingARunInARunlistBetweenExecutions() throws {
        let d = device()
        let a = try setup(d)
        let list = try a.context.makeRunlist()
        try list.add(a.run)
        let parent = try d.allocate(size: 192, flags: .hostOnly, memoryGroup: 3)
        try parent.sync(.toDevice)
        for row in 0..<3 {
            try a.run.setArgument(4, buffer: try d.subBuffer(of: parent, offset: 64 * row, size: 64))
            try list.execute()
            try list.wait(timeoutMilliseconds: 0)
        }
        try parent.sync(.fromDevice)
        XCTAssertEqual(Array(try parent.readableHostBytes()), (0..<3).flatMap { _ in (0..<64).map(UInt8.init) })
    }
}
