// EmulatedDevice: an NPUDevice that checks every XRT convention and runs the kernels' x86 emulation (Kernels/), counting as a real device.
import Foundation

/// A kernel of the emulated xclbin: its data arguments (mlir-aie's 3+i), instruction stream and what
/// a run does. `execute` receives the device copies of the data arguments in order.
public struct EmulatedKernelSpec: @unchecked Sendable {
    public var name: String
    public var arguments: [DesignArgument]
    public var execute: ([UnsafeMutableRawPointer]) throws -> Void
    /// A run whose driver counts what it moves (the decode token): called instead of `execute`, with whether to run
    /// the kernels (false: move and count only); its counts are the run's traffic. nil: traffic by argument role.
    public var measured: ((_ arguments: [UnsafeMutableRawPointer], _ executeKernels: Bool) throws -> RunTraffic)?
    /// The run's phases (DecodeLayout.phases): its modelled time is the cost model's over them.
    public var phases: [DecodePhase]?
    /// The baseline entry (Kernels/npu2_baseline.json bufferArguments) that tolerates this design binding
    /// more buffer arguments than aiecc emits: the xclbin declares its own count, and every run of it is
    /// counted in `DeviceCounters.knownViolationRuns`. nil: the kernel declares aiecc's count.
    public var exemption: NPU2Exemption?

    public init(name: String, arguments: [DesignArgument], execute: @escaping ([UnsafeMutableRawPointer]) throws -> Void) {
        self.name = name
        self.arguments = arguments
        self.execute = execute
    }
}

/// Bytes one run moved as its driver counted them: per argument read and written (in argument order), and per
/// DMA channel.
public struct RunTraffic: Sendable, Equatable {
    public var read: [Int]
    public var written: [Int]
    public var channels: [DecodeChannel: Int]
    public init(read: [Int], written: [Int], channels: [DecodeChannel: Int]) {
        self.read = read
        self.written = written
        self.channels = channels
    }
}

/// Bytes the emulated runs moved between DDR and the array.
public struct DeviceTraffic: Sendable, Equatable {
    public var weightBytes = 0        // channel streams and norm weights read
    public var kvReadBytes = 0        // KV cache read (up to each run's length bucket)
    public var kvWriteBytes = 0       // KV rows appended (through kv_row)
    public var activationReadBytes = 0 // io read: params, the embedding row, the read-backs of intermediates
    public var outputBytes = 0        // io written: every intermediate, the logits, the token
    /// Per DMA channel, as the drivers counted them (the decode token's shim channels and x_bcast).
    public var channels: [DecodeChannel: Int] = [:]
    public init() {}
    public var totalRead: Int { weightBytes + kvReadBytes + activationReadBytes }

    public static func - (a: DeviceTraffic, b: DeviceTraffic) -> DeviceTraffic {
        var d = DeviceTraffic()
        d.weightBytes = a.weightBytes - b.weightBytes
        d.kvReadBytes = a.kvReadBytes - b.kvReadBytes
        d.kvWriteBytes = a.kvWriteBytes - b.kvWriteBytes
        d.activationReadBytes = a.activationReadBytes - b.activationReadBytes
        d.outputBytes = a.outputBytes - b.outputBytes
        for (k, v) in a.channels {
            let n = v - (b.channels[k] ?? 0)
            if n != 0 { d.channels[k] = n }
        }
        return d
    }

    public static func + (a: DeviceTraffic, b: DeviceTraffic) -> DeviceTraffic {
        var d = a
        d.weightBytes += b.weightBytes
        d.kvReadBytes += b.kvReadBytes
        d.kvWriteBytes += b.kvWriteBytes
        d.activationReadBytes += b.activationReadBytes
        d.outputBytes += b.outputBytes
        for (k, v) in b.channels { d.channels[k, default: 0] += v }
        return d
    }
}

/// The emulated NPU: a test instrument, selected explicitly (never a fallback for the real device). It
/// enforces the XRT and amdxdna limits of the NPU2 target model (Kernels/npu2_target.json), each failure
/// citing its source: BO flags (`bo.allowedFlags`), kernels per hw_context (`hwContext.maxKernels`), the
/// buffer arguments aiecc declares (`aiecc.bufferArguments`: set_arg past them throws), runlists split into
/// chained commands (`runlist.runsPerChain`) that must fit the firmware command buffer
/// (`runlist.chainPayloadBytes`), the TDR watchdog on each chain's modelled time (`tdr.seconds`, with
/// `cost`), and XRT's asynchronous runlist (EmulatedRunlist).
public final class EmulatedDevice: NPUDevice, @unchecked Sendable {
    public let label = "emulated NPU"
    public let target: NPU2Target
    public private(set) var counters = DeviceCounters()
    public private(set) var traffic = DeviceTraffic()
    /// false: every check and count, but the kernels are not executed (for counting 1B shapes fast).
    public var executesKernels = true
    /// The modelled time of a run (DecodeBenchmark's cost model over the run's phases, or its bytes at the DRAM
    /// ceiling, plus `secondsPerRun`): a chain modelled longer than `tdr.seconds` ends in TIMEOUT as amdxdna's
    /// watchdog ends it.
    public var cost = DecodeCostModel()
    /// Tolerated: an xclbin with more kernels than `hwContext.maxKernels`, up to this entry's count
    /// (Kernels/npu2_baseline.json hwContextKernels; set by `NPUBackend.emulatedDevice`).
    public var contextKernelExemption: NPU2Exemption?
    /// The known violations this device tolerated, in words, for printing beside the counts.
    public private(set) var knownViolations: [String] = []
    /// Every chained command the runlists' executions made, in order (`counters.driverCommands` of them).
    public private(set) var chains: [RunlistChain] = []
    /// The xclbins opened, in order.
    public private(set) var openedXclbins: [String] = []
    private var specs: [String: EmulatedKernelSpec] = [:]
    private var nextBuffer = 0
    /// Root buffers bound by runlists that are executing (not yet waited for): count per buffer.
    private var busy: [ObjectIdentifier: Int] = [:]
    static let instructionMagic: UInt32 = 0x4E50_5545   // "NPUE"
    static let instructionWords = 16

    /// An emulated xclbin holding `kernels` (see `EmulatedDesigns` for the decode designs), enforcing `target`.
    public init(kernels: [EmulatedKernelSpec] = [], target: NPU2Target) {
        self.target = target
        for k in kernels { specs[k.name] = k }
    }

    /// Adds a kernel to the emulated xclbin (tests use it for deliberately faulty kernels).
    public func register(_ spec: EmulatedKernelSpec) { specs[spec.name] = spec }

    public var kernelNames: [String] { specs.keys.sorted() }

    /// The instruction stream (insts.bin) of a kernel of the emulated xclbin.
    public func instructions(for kernel: String) throws -> [UInt32] {
        guard specs[kernel] != nil else { throw NPUDeviceError("instructions of \(kernel)", "the emulated xclbin has no such kernel") }
        var h: UInt32 = 2_166_136_261
        for b in kernel.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return [Self.instructionMagic, h] + (2..<Self.instructionWords).map { UInt32($0) }
    }

    /// `register_xclbin` + `hw_context`: every kernel of the xclbin is one CU of the context, and amdxdna
    /// configures at most `hwContext.maxKernels` (aie2_config_cu fails with -EINVAL), unless the baseline
    /// tolerates this xclbin's count (recorded in `knownViolations`).
    public func openContext(xclbin path: String) throws -> NPUHardwareContext {
        let n = specs.count, limit = target.maxKernelsPerContext
        if n > limit {
            guard let known = contextKernelExemption, n <= known.count else {
                let listed = contextKernelExemption.map { "; the baseline tolerates \($0.count) for \($0.name)" } ?? ""
                throw NPUDeviceError("openContext(\(path))",
                                     "the xclbin holds \(n) kernels; amdxdna accepts at most \(limit) per hardware context "
                                         + "(\(target.source("hwContext.maxKernels")))\(listed)")
            }
            knownViolations.append("hardware context on \(path): \(n) kernels > \(limit) (\(target.source("hwContext.maxKernels"))), "
                                   + "tolerated up to \(known.count) for \(known.name): \(known.reason)")
        }
        openedXclbins.append(path)
        return EmulatedContext(device: self)
    }

    /// `xrt::bo(device, size, flags, group)`: only the flags amdxdna's shim accepts (`bo.allowedFlags`).
    public func allocate(size: Int, flags: BufferFlags, memoryGroup: Int) throws -> NPUBuffer {
        guard size > 0 else { throw NPUDeviceError("allocate", "a buffer object needs a positive size, not \(size)") }
        guard target.allowedBufferFlags.contains(flags.xrtName) else {
            throw NPUDeviceError("allocate(\(size) bytes, \(flags.xrtName))",
                                 "amdxdna's shim refuses the \(flags.xrtName) flag; it accepts \(target.allowedBufferFlags.joined(separator: ", ")) "
                                     + "(\(target.source("bo.allowedFlags")))",
                                 hint: "host_only for data, cacheable for instruction streams")
        }
        nextBuffer += 1
        counters.buffersAllocated += 1
        counters.bytesAllocated += size
        return EmulatedBuffer(device: self, size: size, flags: flags, memoryGroup: memoryGroup, name: "bo#\(nextBuffer)")
    }

    /// A view (no allocation counted: XRT's sub-buffer shares its parent's memory). Sub-buffers are valid
    /// kernel arguments.
    public func subBuffer(of parent: NPUBuffer, offset: Int, size: Int) throws -> NPUBuffer {
        guard let p = parent as? EmulatedBuffer else { throw NPUDeviceError("sub-buffer", "the parent is not an emulated buffer") }
        guard offset >= 0, size > 0, offset + size <= p.size else {
            throw NPUDeviceError("sub-buffer of \(p.name)", "range \(offset)..<\(offset + size) is outside its \(p.size) bytes")
        }
        return EmulatedBuffer(subOf: p.root, offset: p.offset + offset, size: size, name: "\(p.name)[\(offset)..<\(offset + size)]")
    }

    func countSync(_ direction: SyncDirection, bytes: Int) {
        switch direction {
        case .toDevice: counters.syncsToDevice += 1; counters.bytesToDevice += bytes
        case .fromDevice: counters.syncsFromDevice += 1; counters.bytesFromDevice += bytes
        }
    }

    /// A kernel of the emulated xclbin, by name.
    public func spec(_ name: String) -> EmulatedKernelSpec? { specs[name] }

    /// The buffer arguments the xclbin declares for a kernel: aiecc's, or the design's own for a design
    /// the baseline tolerates over it (built with a widened aiecc).
    func declaredBufferArguments(_ spec: EmulatedKernelSpec) -> Int {
        spec.exemption != nil ? target.declaredBufferArguments(bound: spec.arguments.count) : target.aieccBufferArguments
    }

    /// Checks a run's arguments against mlir-aie's convention and the kernel's signature, executes
    /// it, checks the guard bytes of every buffer it bound, and counts it. A host write not synced
    /// to the device is detected by comparing the two copies of input buffers up to 1 MB (and of an io
    /// argument's host-written range); large weight BOs are written once at load and synced there.
    /// - Returns: the run's modelled seconds (the cost model over its phases, or its bytes).
    @discardableResult
    func execute(_ run: EmulatedRun) throws -> Double {
        let spec = run.spec
        let k = spec.name
        func fail(_ what: String) -> NPUDeviceError { NPUDeviceError("run of \(k)", what) }
        guard let opcode = run.values[0] else { throw fail("argument 0 (opcode) is not set") }
        guard opcode == 3 else { throw fail("argument 0 (opcode) is \(opcode); mlir-aie's convention is 3") }
        guard let instr = run.buffers[1] else { throw fail("argument 1 (instruction buffer) is not set") }
        guard instr.flags == .cacheable else { throw fail("the instruction buffer \(instr.name) is not allocated cacheable") }
        guard instr.memoryGroup == run.kernel.memoryGroup(argument: 1) else {
            throw fail("the instruction buffer \(instr.name) is in memory group \(instr.memoryGroup), not the kernel's group_id(1) = \(run.kernel.memoryGroup(argument: 1))")
        }
        let expected = try instructions(for: k)
        guard instr.size >= 4 * expected.count else { throw fail("the instruction buffer \(instr.name) is empty or shorter than \(k)'s \(expected.count) words") }
        if instr.hostWroteWithoutSync() { throw fail("the instruction buffer \(instr.name) was written by the host but not synced to the device") }
        let words = (0..<expected.count).map { instr.deviceMemory.load(fromByteOffset: 4 * $0, as: UInt32.self) }
        guard words == expected else { throw fail("the instruction buffer \(instr.name) does not hold \(k)'s instruction stream") }
        guard let count = run.values[2], count == UInt64(expected.count) else {
            throw fail("argument 2 (instruction word count) is \(run.values[2].map(String.init) ?? "not set"); the stream has \(expected.count) words")
        }
        var pointers: [UnsafeMutableRawPointer] = []
        var bound: [EmulatedBuffer] = []
        var windows: [SubBufferWindow?] = []
        defer { for w in windows { w?.release() } }
        for (i, a) in spec.arguments.enumerated() {
            let index = 3 + i
            guard let b = run.buffers[index] else { throw fail("argument \(index) (\(a.name)) is not set") }
            guard b.flags == .hostOnly else { throw fail("argument \(index) (\(a.name)): \(b.name) is not a host_only buffer") }
            let group = run.kernel.memoryGroup(argument: index)
            guard b.memoryGroup == group else {
                throw fail("argument \(index) (\(a.name)): \(b.name) is in memory group \(b.memoryGroup), not the kernel's group_id(\(index)) = \(group)")
            }
            guard b.size == a.bytes else { throw fail("argument \(index) (\(a.name)): \(b.name) has \(b.size) bytes; the design takes \(a.bytes)") }
            if a.role == .io || a.role == .prefillIO, b.hostWroteWithoutSync(0..<a.hostInputBytes) {
                throw fail("argument \(index) (\(a.name)): the host wrote its input range 0..<\(a.hostInputBytes) of \(b.name) but did not sync it to the device")
            }
            if !a.role.isWritten && b.size <= 1 << 20 && b.hostWroteWithoutSync() {
                throw fail("argument \(index) (\(a.name)): the host wrote \(b.name) but did not sync it to the device")
            }
            // a sub-buffer is run on a guarded copy of its range, so a write past it fails like any other
            let window = b.parent != nil && executesKernels ? SubBufferWindow(b) : nil
            pointers.append(window?.memory ?? b.deviceMemory)
            bound.append(b)
            windows.append(window)
        }
        if let extra = run.buffers.keys.first(where: { $0 >= 3 + spec.arguments.count }) {
            throw fail("argument \(extra) is set but the kernel has \(spec.arguments.count) data arguments")
        }
        var measured: RunTraffic?
        if let m = spec.measured {
            measured = try m(pointers, executesKernels)
        } else if executesKernels {
            try spec.execute(pointers)
        }
        for (i, w) in windows.enumerated() {
            guard let w else { continue }
            if let where_ = w.brokenGuard() {
                throw fail("wrote outside argument \(3 + i) (\(spec.arguments[i].name), sub-buffer \(bound[i].name)): guard bytes changed \(where_)")
            }
        }
        // the runs' writes reach the parent (as a sub-buffer shares its parent's memory)
        for (a, w) in zip(spec.arguments, windows) where a.role.isWritten { w?.writeBack() }
        for (i, b) in bound.enumerated() {
            if let where_ = b.root.brokenGuard() {
                b.root.restoreGuards()
                throw fail("wrote outside argument \(3 + i) (\(spec.arguments[i].name), \(b.name)): guard bytes changed \(where_)")
            }
        }
        let before = traffic
        for (i, (a, b)) in zip(spec.arguments, bound).enumerated() {
            let read = measured?.read[i], written = measured?.written[i]
            switch a.role {
            case .weight: traffic.weightBytes += read ?? b.size
            case .input, .params: traffic.activationReadBytes += read ?? b.size
            case .kvCache: traffic.kvReadBytes += read ?? b.size
            case .kvRow, .kvBlock: traffic.kvWriteBytes += written ?? b.size
            case .output, .taps: traffic.outputBytes += written ?? b.size
            case .io, .prefillIO:
                traffic.activationReadBytes += read ?? a.hostInputBytes
                traffic.outputBytes += written ?? (b.size - a.hostInputBytes)
            }
            switch a.role {
            case .kvRow, .kvBlock, .output, .taps: b.markWrittenByDevice()
            case .io, .prefillIO: b.markWrittenByDevice(a.hostInputBytes..<b.size)
            default: break
            }
        }
        for (ch, n) in measured?.channels ?? [:] { traffic.channels[ch, default: 0] += n }
        counters.runs += 1
        if spec.arguments.count > target.aieccBufferArguments { counters.knownViolationRuns += 1 }
        if let phases = spec.phases { return cost.seconds(phases: phases) + cost.secondsPerRun }
        let moved = traffic - before
        return cost.seconds(ofRunStreaming: moved.totalRead + moved.kvWriteBytes + moved.outputBytes)
    }

    func countStart() {
        counters.submissions += 1
        counters.driverCommands += 1
    }

    func countRunlistExecute() {
        counters.submissions += 1
        counters.runlistExecutes += 1
    }

    func record(_ chain: RunlistChain) {
        counters.driverCommands += 1
        counters.chainPayloadBytes += chain.payloadBytes
        chains.append(chain)
    }

    /// Marks the root buffers of `runs` as bound by an executing runlist; `release` with the result.
    func hold(_ runs: [EmulatedRun]) -> [ObjectIdentifier] {
        var roots = Set<ObjectIdentifier>()
        for r in runs { for b in r.buffers.values { roots.insert(ObjectIdentifier(b.root)) } }
        for id in roots { busy[id, default: 0] += 1 }
        return Array(roots)
    }

    func release(_ roots: [ObjectIdentifier]) {
        for id in roots {
            busy[id]! -= 1
            if busy[id] == 0 { busy[id] = nil }
        }
    }

    /// Whether a runlist that binds the buffer is executing (its contents are undefined until wait()).
    func isBusy(_ b: EmulatedBuffer) -> Bool { busy[ObjectIdentifier(b.root)] != nil }
}

/// The emulated hardware context: kernels by name, runs, runlists. After a TDR it refuses all work.
final class EmulatedContext: NPUHardwareContext {
    let device: EmulatedDevice
    /// Why the context is unusable: amdxdna's watchdog stopped a chain and restarted the context.
    var stopped: String?
    init(device: EmulatedDevice) { self.device = device }

    func checkUsable() throws {
        if let why = stopped {
            throw NPUDeviceError("hardware context", why, hint: "open a new hardware context (the emulator does not reuse one its TDR restarted)",
                                 state: .abort)
        }
    }

    func kernel(named name: String) throws -> NPUKernel {
        guard let spec = device.spec(name) else {
            throw NPUDeviceError("kernel \(name)", "the emulated xclbin has no such kernel (it has \(device.kernelNames.count))")
        }
        return EmulatedKernel(spec: spec, context: self, declaredBufferArguments: device.declaredBufferArguments(spec))
    }

    func makeRun(_ kernel: NPUKernel) throws -> NPURun {
        guard let k = kernel as? EmulatedKernel, k.context === self else {
            throw NPUDeviceError("run of \(kernel.name)", "the kernel is not from this hardware context")
        }
        try checkUsable()
        return EmulatedRun(kernel: k)
    }

    func makeRunlist() throws -> NPURunlist {
        try checkUsable()
        return EmulatedRunlist(context: self)
    }
}

final class EmulatedKernel: NPUKernel {
    let spec: EmulatedKernelSpec
    let context: EmulatedContext
    /// The buffer arguments of the xclbin's kernel (its register map): aiecc's 5, or a tolerated design's own.
    let declaredBufferArguments: Int
    var name: String { spec.name }
    init(spec: EmulatedKernelSpec, context: EmulatedContext, declaredBufferArguments: Int) {
        self.spec = spec
        self.context = context
        self.declaredBufferArguments = declaredBufferArguments
    }
    /// The instruction stream's group (group_id(1) = 1) and one DDR data group for every data
    /// argument (group_id(3+i) = 3), so buffers can be shared between kernels and arguments as
    /// designs do (activations, KV cache) while a buffer in the wrong kind of group is caught.
    func memoryGroup(argument: Int) -> Int { argument < 3 ? argument : 3 }
}

final class EmulatedRun: NPURun {
    let ekernel: EmulatedKernel
    var kernel: NPUKernel { ekernel }
    var spec: EmulatedKernelSpec { ekernel.spec }
    var values: [Int: UInt64] = [:]
    var buffers: [Int: EmulatedBuffer] = [:]
    var state: CommandState = .new
    /// Runlists holding the run (XRT counts them: such a run is never started on its own), and how many
    /// of them are executing.
    var runlists = 0
    var executing = 0

    init(kernel: EmulatedKernel) { ekernel = kernel }

    private func checkArgument(_ index: Int) throws {
        let declared = ekernel.declaredBufferArguments
        guard index >= 0, index < 3 + declared else {
            let target = ekernel.context.device.target
            throw NPUDeviceError("run of \(spec.name)",
                                 "set_arg(\(index)): the kernel has \(3 + declared) arguments (opcode, instr, ninstr, \(declared) buffers); "
                                     + "aiecc emits \(target.aieccBufferArguments) buffer arguments (\(target.source("aiecc.bufferArguments"))) "
                                     + "and XRT refuses an index past them (mlir-aie #3248)")
        }
        guard executing == 0 else {
            throw NPUDeviceError("run of \(spec.name)",
                                 "set_arg(\(index)) while a runlist holding the run executes: the command is in flight; wait() first")
        }
    }

    /// Allowed on a run in a runlist that is not executing: the next execution binds the new buffer
    /// (NPUBackend re-binds k_row / v_row per token, between wait() and the next execute()).
    func setArgument(_ index: Int, buffer: NPUBuffer) throws {
        guard let b = buffer as? EmulatedBuffer else { throw NPUDeviceError("run of \(spec.name)", "argument \(index) is not an emulated buffer") }
        guard index >= 1 else { throw NPUDeviceError("run of \(spec.name)", "argument 0 is the opcode, not a buffer") }
        try checkArgument(index)
        buffers[index] = b
        values[index] = nil
    }

    func setArgument(_ index: Int, value: UInt64) throws {
        try checkArgument(index)
        values[index] = value
        buffers[index] = nil
    }

    /// One run as one driver command (ERT_START_CU). The emulator checks and executes it here and throws
    /// what failed (a run's wait() then returns the state); runlists report at wait() as XRT does.
    func start() throws {
        guard runlists == 0 else {
            throw NPUDeviceError("run of \(spec.name)", "the run belongs to a runlist and cannot be explicitly started (Xilinx/XRT xrt_kernel.cpp run_impl::start)")
        }
        let context = ekernel.context, device = context.device
        try context.checkUsable()
        device.countStart()
        do {
            let seconds = try device.execute(self)
            if seconds > Double(device.target.tdrSeconds) {
                state = .timeout
                let why = EmulatedRunlist.tdrText(seconds: seconds, what: "the run", device: device)
                context.stopped = why
                throw NPUDeviceError("run of \(spec.name)", why, state: .timeout)
            }
            state = .completed
        } catch let e as NPUDeviceError {
            if state != .timeout { state = .error }
            throw e
        }
    }

    func wait(timeoutMilliseconds: Int) throws -> CommandState { state }
}

extension ArgumentRole {
    /// Roles a run writes (the device copy becomes newer than the host's).
    var isWritten: Bool { [.output, .taps, .kvRow, .kvBlock, .io, .prefillIO].contains(self) }
}

/// A run's view of a sub-buffer argument: a copy of its range with guard bytes on each side, written
/// back to the parent after the run (for roles the run writes), so a write past the sub-buffer's bounds
/// is caught even though the parent's memory continues there. A run that reads the parent through
/// another argument sees the parent as it was before the run (on the device the order is not defined).
final class SubBufferWindow {
    let buffer: EmulatedBuffer
    let raw: UnsafeMutableRawPointer
    /// The copy keeps the sub-buffer's address modulo 64, so alignment checks see what the device would.
    let start: Int
    var memory: UnsafeMutableRawPointer { raw + start }

    init(_ b: EmulatedBuffer) {
        buffer = b
        let g = EmulatedBuffer.guardBytes
        start = g + Int(bitPattern: b.deviceMemory) & 63
        raw = UnsafeMutableRawPointer.allocate(byteCount: start + b.size + g, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: EmulatedBuffer.guardPattern, count: start)
        (raw + start).copyMemory(from: b.deviceMemory, byteCount: b.size)
        (raw + start + b.size).initializeMemory(as: UInt8.self, repeating: EmulatedBuffer.guardPattern, count: g)
    }

    func brokenGuard() -> String? {
        let g = EmulatedBuffer.guardBytes
        for i in 0..<start where raw.load(fromByteOffset: i, as: UInt8.self) != EmulatedBuffer.guardPattern {
            return "\(start - i) bytes before its start"
        }
        for i in 0..<g where raw.load(fromByteOffset: start + buffer.size + i, as: UInt8.self) != EmulatedBuffer.guardPattern {
            return "\(i) bytes past its end (size \(buffer.size))"
        }
        return nil
    }

    func writeBack() { buffer.deviceMemory.copyMemory(from: memory, byteCount: buffer.size) }
    func release() { raw.deallocate() }
}
