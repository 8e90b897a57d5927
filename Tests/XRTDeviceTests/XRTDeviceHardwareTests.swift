// XRTDevice on a real XDNA NPU: buffers, syncs, runs and runlists, and the counters they leave.
// Skipped without an NPU. The run tests take a built design from the environment:
//   NPULLAMA_TEST_XCLBIN (an aiecc xclbin), NPULLAMA_TEST_INSTS (its insts.bin),
//   NPULLAMA_TEST_ARG_BYTES (data buffer sizes, "4096,4096,4096"), NPULLAMA_TEST_KERNEL (default MLIR_AIE).
import Foundation
import NPUBackend
import XCTest

final class XRTDeviceHardwareTests: XCTestCase {
    private let env = ProcessInfo.processInfo.environment

    private func openDevice() throws -> XRTDevice {
        let missing = NPUEnvironment.current().openPrerequisites().filter { !$0.ok }
        if !missing.isEmpty {
            throw XCTSkip("needs an XDNA NPU with XRT ≥ 2.18 and its XDNA plugin: missing \(missing.map(\.name).joined(separator: ", "))")
        }
        return try XRTDevice.open()
    }

    private struct Design {
        var context: NPUHardwareContext
        var kernel: NPUKernel
        var instructions: NPUBuffer
        var words: Int
        var argumentBytes: [Int]
    }

    private func loadDesign(_ device: XRTDevice) throws -> Design {
        guard let xclbin = env["NPULLAMA_TEST_XCLBIN"], let insts = env["NPULLAMA_TEST_INSTS"],
              let sizes = env["NPULLAMA_TEST_ARG_BYTES"] else {
            throw XCTSkip("needs an XDNA NPU with XRT ≥ 2.18 and a design: set NPULLAMA_TEST_XCLBIN, "
                              + "NPULLAMA_TEST_INSTS and NPULLAMA_TEST_ARG_BYTES")
        }
        let context = try device.openContext(xclbin: xclbin)
        let kernel = try context.kernel(named: env["NPULLAMA_TEST_KERNEL"] ?? "MLIR_AIE")
        let data = try Data(contentsOf: URL(fileURLWithPath: insts))
        let instructions = try device.allocate(size: data.count, flags: .cacheable,
                                               memoryGroup: kernel.memoryGroup(argument: 1))
        data.withUnsafeBytes { instructions.hostMemory.copyMemory(from: $0) }
        try instructions.sync(.toDevice)
        return Design(context: context, kernel: kernel, instructions: instructions, words: data.count / 4,
                      argumentBytes: sizes.split(separator: ",").compactMap { Int($0) })
    }

    private func makeRun(_ d: Design, _ device: XRTDevice) throws -> NPURun {
        let run = try d.context.makeRun(d.kernel)
        try run.setArgument(0, value: 3)
        try run.setArgument(1, buffer: d.instructions)
        try run.setArgument(2, value: UInt64(d.words))
        for (i, bytes) in d.argumentBytes.enumerated() {
            let bo = try device.allocate(size: bytes, flags: .hostOnly, memoryGroup: d.kernel.memoryGroup(argument: 3 + i))
            try run.setArgument(3 + i, buffer: bo)
        }
        return run
    }

    func testOpenNamesTheDevice() throws {
        let device = try openDevice()
        XCTAssertEqual(device.label, "NPU hardware")
        XCTAssertNotEqual(device.deviceName, "?")
        XCTAssertNotEqual(NPUEnvironment.compareVersions(device.xrtVersion, "2.18"), .orderedAscending)
        XCTAssertEqual(device.counters, DeviceCounters())
    }

    func testBuffersAndSyncsAreCounted() throws {
        let device = try openDevice()
        let d = try loadDesign(device)
        let before = device.counters
        let bo = try device.allocate(size: 8192, flags: .hostOnly, memoryGroup: d.kernel.memoryGroup(argument: 3))
        for i in 0..<8192 { bo.hostMemory[i] = UInt8(truncatingIfNeeded: i * 7) }
        try bo.sync(.toDevice)
        try bo.sync(.fromDevice, offset: 4096, size: 1024)
        XCTAssertEqual(bo.hostMemory[100], UInt8(truncatingIfNeeded: 700))
        let delta = device.counters - before
        XCTAssertEqual(delta.buffersAllocated, 1)
        XCTAssertEqual(delta.bytesAllocated, 8192)
        XCTAssertEqual([delta.syncsToDevice, delta.bytesToDevice, delta.syncsFromDevice, delta.bytesFromDevice],
                       [1, 8192, 1, 1024])
        XCTAssertThrowsError(try bo.sync(.toDevice, offset: 8000, size: 1024))
    }

    func testRunAndRunlistAreCounted() throws {
        let device = try openDevice()
        let d = try loadDesign(device)
        let single = try makeRun(d, device)
        var before = device.counters
        try single.start()
        XCTAssertEqual(try single.wait(timeoutMilliseconds: 5000), .completed)
        XCTAssertEqual((device.counters - before).runs, 1)
        XCTAssertEqual((device.counters - before).submissions, 1)

        let list = try d.context.makeRunlist()
        for _ in 0..<3 { try list.add(try makeRun(d, device)) }
        before = device.counters
        try list.execute()
        try list.wait(timeoutMilliseconds: 5000)
        XCTAssertEqual((device.counters - before).runs, 3)
        XCTAssertEqual((device.counters - before).submissions, 1)
    }
}
