// BuiltKernels.preflight, what --device npu checks before opening or allocating: memlock against the plan
// (limit injected), the device heap's maximum, and the xclbin's kernel signatures (metadata injected) against
// what the plan binds. A synthetic build of the small model at context 256 stands in for mlir-aie's output.
import Foundation
import LlamaCore
import NPUBackend
import XCTest

/// An xclbin's kernel table, as a test writes it.
final class TableXclbin: XclbinMetadata {
    let path: String
    var kernels: [String: [XclbinArgument]]
    init(path: String, kernels: [String: [XclbinArgument]]) {
        self.path = path
        self.kernels = kernels
    }
    func arguments(ofKernel kernel: String) throws -> [XclbinArgument] {
        guard let a = kernels[kernel] else { throw NPUDeviceError("xclbin", "no kernel '\(kernel)'") }
        return a
    }

    /// What aiecc emits for every kernel: opcode, instr, ninstr, bo0…bo4 (mlir-aie tools/aiecc/aiecc.cpp).
    static func aiecc(_ buffers: Int = 5) -> [XclbinArgument] {
        [XclbinArgument(name: "opcode", hostType: "uint64_t", index: 0), XclbinArgument(name: "instr", hostType: "char *", index: 1),
         XclbinArgument(name: "ninstr", hostType: "uint32_t", index: 2)]
            + (0..<buffers).map { XclbinArgument(name: "bo\($0)", hostType: "void*", index: 3 + $0) }
    }
}

final class PreflightTests: XCTestCase {
    let config = PlanSupport.small
    lazy var graph = Graph.llama(config)
    lazy var tensors = TensorDictionary.randomLlama(config, seed: 5, scale: 0.1)
    let context = 256
    var cache: String!
    var built: BuiltKernels!
    var designs: [FusedDesign] = []

    override func setUpWithError() throws {
        cache = FileManager.default.temporaryDirectory.appendingPathComponent("preflight-\(UUID().uuidString)").path
        let dir = BuiltKernels.directory(graph: graph, tensors: tensors, contextLength: context, cache: cache)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        designs = try BuiltKernels.designs(graph: graph, tensors: tensors, manifest: PlanSupport.manifest, contextLength: context)
        let kernels = designs.enumerated().map { i, d in
            ["name": d.kernelName, "xclbin": "npu-llama.xclbin", "xclbinKernel": d.kernelName, "kernelId": 0x901 + i,
             "insts": "\(d.kernelName).insts.bin"] as [String: Any]
        }
        try JSONSerialization.data(withJSONObject: ["format": 1, "toolchain": "test", "kernels": kernels])
            .write(to: URL(fileURLWithPath: dir + "/kernels.json"))
        try Data(count: 200_000).write(to: URL(fileURLWithPath: dir + "/npu-llama.xclbin"))
        for d in designs { try Data(count: 4096).write(to: URL(fileURLWithPath: dir + "/\(d.kernelName).insts.bin")) }
        built = try BuiltKernels(graph: graph, tensors: tensors, manifest: PlanSupport.manifest, contextLength: context, cache: cache)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: cache) }

    func environment(memlock: UInt64?) -> NPUEnvironment {
        NPUEnvironment(root: "/nonexistent", environment: [:], shimBuiltWithXRT: false, shimXRTVersion: "",
                       memlockLimit: memlock, mayRunTools: false)
    }

    /// The table the plan binds: opcode, instr, ninstr and one buffer per design argument.
    func matchingTable() -> TableXclbin {
        var table: [String: [XclbinArgument]] = [:]
        for d in designs {
            table[d.kernelName] = Array(TableXclbin.aiecc(0)) + d.arguments.enumerated().map {
                XclbinArgument(name: $1.name, hostType: "void*", index: 3 + $0)
            }
        }
        return TableXclbin(path: built.xclbin, kernels: table)
    }

    func preflight(_ env: NPUEnvironment, _ table: XclbinMetadata?) throws -> DeviceMemoryPlan {
        try built.preflight(graph: graph, tensors: tensors, manifest: PlanSupport.manifest, contextLength: context,
                            environment: env, xclbinMetadata: table)
    }

    func testMemlockTooLowStopsBeforeAnythingIsOpened() throws {
        let plan = try built.memoryPlan(graph: graph, tensors: tensors, manifest: PlanSupport.manifest, contextLength: context)
        XCTAssertEqual(plan.bytes(.instructions), designs.count * 4096)
        XCTAssertEqual(plan.pdiBytes, 200_000)
        // command BOs: 3 decode token runs, the LM head run, 3 prefill runs; 2 decode and 2 prefill runlists per
        // bucket and verify's [LM head] (one chained command each)
        XCTAssertEqual(plan.mappedBytes, plan.hostOnlyMappedBytes + (3 + 1 + 3 + 2 * 3 + 2 * 3 + 1) * 4096 + (64 << 20))
        XCTAssertThrowsError(try preflight(environment(memlock: 8 << 20), matchingTable())) { error in
            guard let e = error as? NPUPreflightError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.check, "memlock limit")
            XCTAssertEqual(e.message, "RLIMIT_MEMLOCK is 8 MiB (8388608 bytes), but the backend maps "
                           + "\(NPUEnvironment.formatBytes(UInt64(plan.mappedBytes))) (\(plan.mappedBytes) bytes) MAP_LOCKED for "
                           + "2 layers, hidden 128, context 256: \(plan.breakdown); the XDNA plugin maps every buffer object "
                           + "MAP_SHARED | MAP_LOCKED (amd/xdna-driver src/shim/buffer.cpp mmap_ptr::mmap_ptr(const pdev*, "
                           + "void*, uint64_t, size_t)), so a map past the limit fails")
            XCTAssertTrue(e.fix?.hasPrefix("raise it to at least \((plan.mappedBytes + 1023) / 1024) KiB, or unlimited: `ulimit -l ") ?? false)
        }
        XCTAssertTrue(plan.breakdown.hasPrefix("weights "))
        XCTAssertTrue(plan.breakdown.contains("device heap 64 MiB (instruction streams \(NPUEnvironment.formatBytes(UInt64(designs.count * 4096)))"))
        // unlimited, or a limit of exactly the plan, passes
        XCTAssertEqual(try preflight(environment(memlock: nil), matchingTable()), plan)
        XCTAssertEqual(try preflight(environment(memlock: UInt64(plan.mappedBytes)), matchingTable()), plan)
        XCTAssertThrowsError(try preflight(environment(memlock: UInt64(plan.mappedBytes - 1)), matchingTable()))
    }

    /// aiecc's five buffer arguments serve the decode token's four and the LM head's two (the rest left unset); an
    /// xclbin declaring fewer than the plan binds is named, with both counts.
    func testArgumentCountMismatchNamesTheKernelAndBothNumbers() throws {
        let aiecc = TableXclbin(path: built.xclbin, kernels: Dictionary(uniqueKeysWithValues: designs.map { ($0.kernelName, TableXclbin.aiecc()) }))
        XCTAssertNoThrow(try preflight(environment(memlock: nil), aiecc), "4 and 2 of aiecc's 5 buffer arguments")
        let narrow = TableXclbin(path: built.xclbin, kernels: Dictionary(uniqueKeysWithValues: designs.map { ($0.kernelName, TableXclbin.aiecc(3)) }))
        XCTAssertThrowsError(try preflight(environment(memlock: nil), narrow)) { error in
            XCTAssertEqual(error as? KernelSignatureMismatch, KernelSignatureMismatch(
                kernel: "decode_bf16_b1", xclbin: self.built.xclbin,
                message: "the xclbin declares 6 arguments (opcode, instr, ninstr, bo0, bo1, bo2), but the plan binds 7 "
                    + "(opcode, instr, ninstr and 4 buffers: weights, kv, kv_row, io); "
                    + "XRT's run.set_arg fails on an argument the kernel does not declare. aiecc emits opcode, instr, ninstr "
                    + "and a fixed number of buffer arguments bo0… (mlir-aie tools/aiecc/aiecc.cpp generateKernelsJson)"))
        }
        // every kernel's binding as the check sees it
        XCTAssertEqual(designs.map { KernelSignatureCheck.binding($0).count },
                       designs.map { 3 + $0.arguments.count })
        XCTAssertEqual(designs.map { KernelSignatureCheck.binding($0).count }, [7, 7, 7, 5, 8, 8, 8])
        let lmHead = designs.first { $0.kind == .lmHead }!
        XCTAssertEqual(KernelSignatureCheck.binding(lmHead).map(\.name), ["opcode", "instr", "ninstr", "lm_weights", "io"])
        XCTAssertEqual(KernelSignatureCheck.binding(designs.last!).map(\.name),
                       ["opcode", "instr", "ninstr", "weights", "kv", "kv_blk", "pio", "io"], "the prefill: all 5 of aiecc's")
        // an xclbin of 4 buffer arguments serves the LM head (2) but not the decode token (4 + opcode, instr, ninstr = 7)
        let four = TableXclbin(path: built.xclbin, kernels: Dictionary(uniqueKeysWithValues: designs.map { ($0.kernelName, TableXclbin.aiecc(4)) }))
        XCTAssertNoThrow(try KernelSignatureCheck.check([lmHead], against: four))
    }

    func testScalarWhereThePlanBindsABuffer() throws {
        let table = matchingTable()
        let name = designs[0].kernelName
        table.kernels[name]![4].hostType = "uint32_t"
        XCTAssertThrowsError(try preflight(environment(memlock: nil), table)) { error in
            XCTAssertEqual("\(error)", "kernel '\(name)' of \(self.built.xclbin): argument 4 is kv (uint32_t) in the xclbin, "
                           + "a scalar, but the plan binds a buffer there (kv)")
        }
        table.kernels[name] = nil
        XCTAssertThrowsError(try preflight(environment(memlock: nil), table)) { error in
            XCTAssertEqual("\(error)", "xclbin: no kernel '\(name)'")
        }
    }

    func testDeviceHeapMaximum() throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: built.xclbin))
        try handle.truncate(atOffset: 600 << 20)   // sparse: PDIs bounded by 600 MiB
        try handle.close()
        XCTAssertThrowsError(try preflight(environment(memlock: nil), matchingTable())) { error in
            let e = error as? NPUPreflightError
            XCTAssertEqual(e?.check, "device heap")
            XCTAssertEqual(e?.message, "the instruction streams (\(designs.count * 4096) bytes) and PDIs (at most the xclbin's "
                           + "629145600 bytes) need \(designs.count * 4096 + (600 << 20)) bytes of the XDNA plugin's device heap, "
                           + "which stops at 536870912 (amd/xdna-driver src/shim/kmq/pcidev.cpp max_heap_sz (512 MiB); "
                           + "buffer::expand 'Heap at max size')")
        }
    }

    /// Without XRT the signatures cannot be read: the stub says so (after memlock passed).
    func testWithoutXRTTheXclbinCannotBeRead() throws {
        guard !NPUEnvironment.current().shimBuiltWithXRT else { throw XCTSkip("the shim was built with XRT") }
        XCTAssertThrowsError(try preflight(environment(memlock: nil), nil)) { error in
            let e = error as? NPUDeviceError
            XCTAssertEqual(e?.what, "XRT xclbin (\(self.built.xclbin))")
            XCTAssertTrue(e?.detail.hasPrefix("xrt::xclbin: CXRT was built without XRT") ?? false, "\(error)")
        }
    }
}
