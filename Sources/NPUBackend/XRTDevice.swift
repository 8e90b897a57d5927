// XRTDevice: the real NPU through the CXRT shim over XRT (device 0), with the device's counters.
// Opening never falls back: without a usable NPU it throws one error naming what is missing.
import CXRT
import Foundation

/// The counters one device keeps, shared by its buffers, runs and runlists.
final class XRTCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var value = DeviceCounters()

    var snapshot: DeviceCounters { lock.withLock { value } }

    func update(_ change: (inout DeviceCounters) -> Void) { lock.withLock { change(&value) } }
}

/// The NPU, as XRT sees it: `xrt::device(index)`.
public final class XRTDevice: NPUDevice {
    public let label = "NPU hardware"
    /// XRT's name for the device (`xrt::info::device::name`), e.g. "RyzenAI-npu5".
    public let deviceName: String
    /// The linked XRT library's version.
    public let xrtVersion: String
    public var counters: DeviceCounters { counterStore.snapshot }
    /// The NPU2 target model (NPUBackend hands its manifest's): runlist executions are counted as the
    /// driver commands XRT splits them into (`runlist.runsPerChain`); nil counts none.
    public var target: NPU2Target?

    let handle: OpaquePointer
    let counterStore = XRTCounters()

    /// Opens device `index` after checking what it needs (device node, amdxdna, XRT >= 2.18 with its XDNA
    /// plugin, a shim built with XRT). Throws one `NPUDeviceError` listing every missing piece with its fix.
    /// The memlock limit is checked before this by BuiltKernels.preflight: opening maps the 64 MiB device heap.
    public static func open(index: UInt32 = 0, environment: NPUEnvironment = .current()) throws -> XRTDevice {
        let missing = environment.openPrerequisites().filter { !$0.ok }
        if !missing.isEmpty { throw NPUEnvironment.openError(missing) }
        var handle: OpaquePointer?
        try xrtCheck(cxrt_device_open(index, &handle), XRTFailureSubject(operation: "open device \(index)"))
        guard let handle else {
            throw NPUDeviceError("XRT open device \(index)", "CXRT returned no device")
        }
        return XRTDevice(handle: handle)
    }

    private init(handle: OpaquePointer) {
        self.handle = handle
        var name = [CChar](repeating: 0, count: 256)
        deviceName = cxrt_device_name(handle, &name, name.count) == CXRT_OK
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
        xrtVersion = String(cString: cxrt_version())
    }

    deinit { cxrt_device_close(handle) }

    /// `register_xclbin(xclbin(path))` then `hw_context(device, uuid)`.
    public func openContext(xclbin path: String) throws -> NPUHardwareContext {
        var context: OpaquePointer?
        try xrtCheck(cxrt_context_open(handle, path, &context),
                     XRTFailureSubject(operation: "openContext", label: path))
        guard let context else { throw NPUDeviceError("XRT openContext (\(path))", "CXRT returned no context") }
        return XRTHardwareContext(handle: context, device: self, xclbinPath: path)
    }

    /// `xrt::bo(device, size, flags, group)`, mapped once.
    public func allocate(size: Int, flags: BufferFlags, memoryGroup: Int) throws -> NPUBuffer {
        let subject = XRTFailureSubject(operation: "allocate",
                                        label: "\(size) bytes, \(flags), group \(memoryGroup)")
        guard size > 0, let group = Int32(exactly: memoryGroup) else {
            throw NPUDeviceError(subject.text, "a buffer needs a positive size and a 32-bit memory group")
        }
        let cflags: cxrt_bo_flags = switch flags {
        case .normal: CXRT_BO_NORMAL
        case .cacheable: CXRT_BO_CACHEABLE
        case .hostOnly: CXRT_BO_HOST_ONLY
        }
        var bo: OpaquePointer?
        try xrtCheck(cxrt_bo_alloc(handle, size, cflags, group, &bo), subject)
        guard let bo else { throw NPUDeviceError(subject.text, "CXRT returned no buffer") }
        var memory: UnsafeMutableRawPointer?
        let mapped = cxrt_bo_map(bo, &memory)
        guard mapped == CXRT_OK, let memory else {
            let error = xrtError(mapped, XRTFailureSubject(operation: "map", label: subject.label))
            cxrt_bo_free(bo)
            throw error
        }
        counterStore.update {
            $0.buffersAllocated += 1
            $0.bytesAllocated += size
        }
        return XRTBuffer(handle: bo, device: self, memory: UnsafeMutableRawBufferPointer(start: memory, count: size),
                         memoryGroup: memoryGroup, flags: flags)
    }

    /// `xrt::bo(parent, size, offset)`: a view sharing the parent's memory (the step params, a KV row).
    public func subBuffer(of parent: NPUBuffer, offset: Int, size: Int) throws -> NPUBuffer {
        let subject = XRTFailureSubject(operation: "sub-buffer", label: "\(size) bytes at \(offset) of a \(parent.size)-byte buffer")
        guard let parent = parent as? XRTBuffer else {
            throw NPUDeviceError(subject.text, "the parent is not a buffer of this device")
        }
        guard offset >= 0, size > 0, offset <= parent.size, size <= parent.size - offset else {
            throw NPUDeviceError(subject.text, "the range is outside the parent buffer")
        }
        var bo: OpaquePointer?
        try xrtCheck(cxrt_bo_sub(parent.handle, size, offset, &bo), subject)
        guard let bo else { throw NPUDeviceError(subject.text, "CXRT returned no buffer") }
        let view = UnsafeMutableRawBufferPointer(rebasing: parent.hostMemory[offset..<offset + size])
        return XRTBuffer(handle: bo, device: self, memory: view, memoryGroup: parent.memoryGroup, flags: parent.flags,
                         parent: parent)
    }
}
