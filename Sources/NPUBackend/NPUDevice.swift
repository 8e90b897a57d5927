// The device interface at the XRT boundary: buffers, hardware contexts, runs and runlists, counted.

/// Direction of a buffer sync, as XRT's `xclBOSyncDirection`.
public enum SyncDirection: Sendable {
    case toDevice, fromDevice
}

/// A command's state, numbered as XRT's `ert_cmd_state`.
public enum CommandState: Int32, Sendable {
    case new = 1, queued = 2, running = 3, completed = 4, error = 5, abort = 6, submitted = 7,
         timeout = 8, noResponse = 9
}

/// Buffer object flags, as `xrt::bo::flags`. mlir-aie's convention: the instruction stream in a
/// `cacheable` BO in the kernel's group 1; data in `hostOnly` BOs in the kernel's groups 3+i. amdxdna's
/// shim refuses `normal` (NPU2 target model `bo.allowedFlags`).
public enum BufferFlags: Sendable {
    case normal, cacheable, hostOnly

    /// XRT's name of the flag, as the target model lists them.
    public var xrtName: String {
        switch self {
        case .normal: "normal"
        case .cacheable: "cacheable"
        case .hostOnly: "host_only"
        }
    }
}

/// Everything a device did, as the real device would count it. Emulator counts are exact.
public struct DeviceCounters: Sendable, Equatable {
    public var runs = 0               // kernel runs executed (inside runlists or alone)
    public var submissions = 0        // host → device submissions: run.start() or runlist.execute()
    public var runlistExecutes = 0    // runlist.execute() calls (a share of `submissions`)
    /// Commands the driver receives: one per run.start(), and per runlist.execute() one chained command
    /// (ERT_CMD_CHAIN) per `runlist.runsPerChain` runs, as XRT splits it (a 33-run runlist is 2).
    public var driverCommands = 0
    /// Bytes of the chained commands' firmware buffers (slot + register map per run; emulated device only).
    public var chainPayloadBytes = 0
    /// Runs of designs the baseline tolerates over a limit (Kernels/npu2_baseline.json): known violations.
    public var knownViolationRuns = 0
    public var syncsToDevice = 0
    public var syncsFromDevice = 0
    public var bytesToDevice = 0
    public var bytesFromDevice = 0
    public var buffersAllocated = 0
    public var bytesAllocated = 0
    public init() {}

    public static func - (a: DeviceCounters, b: DeviceCounters) -> DeviceCounters {
        var d = DeviceCounters()
        d.runs = a.runs - b.runs
        d.submissions = a.submissions - b.submissions
        d.runlistExecutes = a.runlistExecutes - b.runlistExecutes
        d.driverCommands = a.driverCommands - b.driverCommands
        d.chainPayloadBytes = a.chainPayloadBytes - b.chainPayloadBytes
        d.knownViolationRuns = a.knownViolationRuns - b.knownViolationRuns
        d.syncsToDevice = a.syncsToDevice - b.syncsToDevice
        d.syncsFromDevice = a.syncsFromDevice - b.syncsFromDevice
        d.bytesToDevice = a.bytesToDevice - b.bytesToDevice
        d.bytesFromDevice = a.bytesFromDevice - b.bytesFromDevice
        d.buffersAllocated = a.buffersAllocated - b.buffersAllocated
        d.bytesAllocated = a.bytesAllocated - b.bytesAllocated
        return d
    }
}

/// A device buffer object. The host sees it through `hostMemory` after a `sync(.fromDevice)`,
/// and the device sees host writes after a `sync(.toDevice)`.
public protocol NPUBuffer: AnyObject {
    var size: Int { get }
    var memoryGroup: Int { get }
    var flags: BufferFlags { get }
    /// The mapped host view (`bo.map()`). Valid while the buffer lives.
    var hostMemory: UnsafeMutableRawBufferPointer { get }
    /// `bo.sync(direction, size, offset)`.
    func sync(_ direction: SyncDirection, offset: Int, size: Int) throws
}

extension NPUBuffer {
    public func sync(_ direction: SyncDirection) throws { try sync(direction, offset: 0, size: size) }
}

/// The checked host view: how the backend reads what the device wrote. A device that tracks
/// buffer state (the emulator) refuses a read of device-written data not yet synced back.
public protocol CheckedHostRead: NPUBuffer {
    /// `hostMemory` for reading, or an error when the device wrote the buffer after the last
    /// `sync(.fromDevice)` (the host copy is stale).
    func hostBytes() throws -> UnsafeRawBufferPointer
    /// The same for `size` bytes at `offset`: refused only when the device wrote that range since its last sync back.
    func hostBytes(offset: Int, size: Int) throws -> UnsafeRawBufferPointer
}

extension NPUBuffer {
    /// The host view for reading: checked when the device supports it (`CheckedHostRead`).
    public func readableHostBytes() throws -> UnsafeRawBufferPointer {
        if let checked = self as? CheckedHostRead { return try checked.hostBytes() }
        return UnsafeRawBufferPointer(hostMemory)
    }

    /// `size` bytes at `offset` of the host view, checked like `readableHostBytes()` for that range.
    public func readableHostBytes(offset: Int, size: Int) throws -> UnsafeRawBufferPointer {
        if let checked = self as? CheckedHostRead { return try checked.hostBytes(offset: offset, size: size) }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(hostMemory)[offset..<offset + size])
    }
}

/// A kernel of a hardware context (`xrt::kernel(ctx, name)`).
public protocol NPUKernel: AnyObject {
    var name: String { get }
    /// `kernel.group_id(argument)`: the memory group a buffer argument must be allocated in.
    func memoryGroup(argument: Int) -> Int
}

/// One run of a kernel (`xrt::run`) with mlir-aie's arguments: 0 = opcode 3, 1 = instruction
/// buffer, 2 = instruction word count, 3+i = data buffers.
public protocol NPURun: AnyObject {
    var kernel: NPUKernel { get }
    func setArgument(_ index: Int, buffer: NPUBuffer) throws
    func setArgument(_ index: Int, value: UInt64) throws
    func start() throws
    func wait(timeoutMilliseconds: Int) throws -> CommandState
}

/// An ordered batch of runs submitted at once (`xrt::runlist`): runs execute atomically in order; all
/// runs come from kernels of the same hardware context. Asynchronous as XRT's (Xilinx/XRT
/// src/runtime_src/core/common/api/xrt_kernel.cpp runlist_impl): `execute()` submits and returns; `wait()`
/// reports the outcome — the first failed run's state (ERROR, TIMEOUT …), the later runs ABORT; outputs
/// are defined only after `wait()`. `add()` and `execute()` are refused while the list executes; after
/// `wait()` the list is idle and may be executed again.
public protocol NPURunlist: AnyObject {
    func add(_ run: NPURun) throws
    func execute() throws
    /// 0 blocks until done. Throws `NPUDeviceError` with `state` and `failedRun` when a run failed, or
    /// with state `.timeout` when the timeout elapsed first (the list is then still executing).
    func wait(timeoutMilliseconds: Int) throws
    /// Every run's state (`xrt::run::state()`), in list order.
    func runStates() throws -> [CommandState]
}

/// A hardware context on one registered xclbin (`xrt::hw_context`).
public protocol NPUHardwareContext: AnyObject {
    func kernel(named name: String) throws -> NPUKernel
    func makeRun(_ kernel: NPUKernel) throws -> NPURun
    func makeRunlist() throws -> NPURunlist
}

/// The NPU as the backend sees it. Implemented by `XRTDevice` (the real NPU through the C++ XRT
/// shim) and `EmulatedDevice` (a test instrument that runs the Kernels/ sources on the CPU).
public protocol NPUDevice: AnyObject {
    /// "NPU hardware" or "emulated NPU": printed beside every figure.
    var label: String { get }
    var counters: DeviceCounters { get }
    /// `device.register_xclbin(xclbin)` then `hw_context(device, uuid)`.
    func openContext(xclbin path: String) throws -> NPUHardwareContext
    /// `xrt::bo(device, size, flags, group)`.
    func allocate(size: Int, flags: BufferFlags, memoryGroup: Int) throws -> NPUBuffer
    /// `xrt::bo(parent, size, offset)`: a view of part of `parent` (no new device memory); syncs
    /// of the view move its range of the parent.
    func subBuffer(of parent: NPUBuffer, offset: Int, size: Int) throws -> NPUBuffer
}

extension NPUDevice {
    public func subBuffer(of parent: NPUBuffer, offset: Int, size: Int) throws -> NPUBuffer {
        throw NPUDeviceError("sub-buffer", "\(label) does not implement xrt::bo(parent, size, offset)")
    }
}

/// A device-level failure, naming what failed (kernel, layer) and the device's own words.
public struct NPUDeviceError: Error, CustomStringConvertible, Sendable {
    public var what: String
    public var detail: String
    public var hint: String?
    /// For a failed command: its state, and for a runlist the position of the first failed run.
    public var state: CommandState?
    public var failedRun: Int?
    public init(_ what: String, _ detail: String, hint: String? = nil, state: CommandState? = nil, failedRun: Int? = nil) {
        self.what = what
        self.detail = detail
        self.hint = hint
        self.state = state
        self.failedRun = failedRun
    }
    public var description: String { "\(what): \(detail)" + (hint.map { " (\($0))" } ?? "") }
}
