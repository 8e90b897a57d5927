// XRTHardwareContext and XRTKernel: an `xrt::hw_context` on one registered xclbin and its kernels.
import CXRT

public final class XRTHardwareContext: NPUHardwareContext {
    public let xclbinPath: String
    let handle: OpaquePointer
    let device: XRTDevice

    init(handle: OpaquePointer, device: XRTDevice, xclbinPath: String) {
        self.handle = handle
        self.device = device
        self.xclbinPath = xclbinPath
    }

    deinit { cxrt_context_close(handle) }

    /// `xrt::kernel(context, name)`.
    public func kernel(named name: String) throws -> NPUKernel {
        var kernel: OpaquePointer?
        try xrtCheck(cxrt_kernel_open(handle, name, &kernel),
                     XRTFailureSubject(operation: "kernel lookup", kernel: name, label: xclbinPath))
        guard let kernel else { throw NPUDeviceError("XRT kernel '\(name)'", "CXRT returned no kernel") }
        return XRTKernel(handle: kernel, context: self, name: name)
    }

    /// `xrt::run(kernel)`; the kernel must come from this context.
    public func makeRun(_ kernel: NPUKernel) throws -> NPURun {
        guard let kernel = kernel as? XRTKernel, kernel.context === self else {
            throw NPUDeviceError("XRT makeRun of kernel '\(kernel.name)'",
                                 "the kernel does not belong to this hardware context (\(xclbinPath))")
        }
        var run: OpaquePointer?
        try xrtCheck(cxrt_run_create(kernel.handle, &run), XRTFailureSubject(operation: "makeRun", kernel: kernel.name))
        guard let run else { throw NPUDeviceError("XRT makeRun of kernel '\(kernel.name)'", "CXRT returned no run") }
        return XRTRun(handle: run, kernel: kernel)
    }

    /// `xrt::runlist(context)`.
    public func makeRunlist() throws -> NPURunlist {
        var list: OpaquePointer?
        try xrtCheck(cxrt_runlist_create(handle, &list), XRTFailureSubject(operation: "makeRunlist", label: xclbinPath))
        guard let list else { throw NPUDeviceError("XRT makeRunlist", "CXRT returned no runlist") }
        return XRTRunlist(handle: list, context: self)
    }
}

public final class XRTKernel: NPUKernel {
    public let name: String
    let handle: OpaquePointer
    let context: XRTHardwareContext

    init(handle: OpaquePointer, context: XRTHardwareContext, name: String) {
        self.handle = handle
        self.context = context
        self.name = name
    }

    deinit { cxrt_kernel_close(handle) }

    /// `kernel.group_id(argument)`; -1 when XRT refuses (an argument that is not a buffer).
    public func memoryGroup(argument: Int) -> Int {
        var group: Int32 = -1
        guard let index = Int32(exactly: argument), cxrt_kernel_group_id(handle, index, &group) == CXRT_OK else {
            return -1
        }
        return Int(group)
    }
}
