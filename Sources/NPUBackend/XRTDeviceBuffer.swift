// XRTBuffer: an `xrt::bo` on the NPU, mapped once into the host, with counted syncs.
import CXRT

public final class XRTBuffer: NPUBuffer {
    public let size: Int
    public let memoryGroup: Int
    public let flags: BufferFlags
    public let hostMemory: UnsafeMutableRawBufferPointer

    let handle: OpaquePointer
    let device: XRTDevice   // the bo needs its device alive
    let parent: XRTBuffer?  // a sub-buffer keeps the buffer it views alive

    init(handle: OpaquePointer, device: XRTDevice, memory: UnsafeMutableRawBufferPointer, memoryGroup: Int,
         flags: BufferFlags, parent: XRTBuffer? = nil) {
        self.handle = handle
        self.device = device
        self.parent = parent
        self.hostMemory = memory
        self.size = memory.count
        self.memoryGroup = memoryGroup
        self.flags = flags
    }

    deinit { cxrt_bo_free(handle) }

    /// `bo.sync(direction, size, offset)`; counted as one sync of `size` bytes in that direction.
    public func sync(_ direction: SyncDirection, offset: Int, size: Int) throws {
        let subject = XRTFailureSubject(operation: "sync", label: "\(direction) \(size) bytes at \(offset) "
                                            + "of a \(self.size)-byte buffer")
        guard offset >= 0, size >= 0, offset <= self.size, size <= self.size - offset else {
            throw NPUDeviceError(subject.text, "the range is outside the buffer")
        }
        let cdirection = direction == .toDevice ? CXRT_SYNC_TO_DEVICE : CXRT_SYNC_FROM_DEVICE
        try xrtCheck(cxrt_bo_sync(handle, cdirection, size, offset), subject)
        device.counterStore.update {
            switch direction {
            case .toDevice:
                $0.syncsToDevice += 1
                $0.bytesToDevice += size
            case .fromDevice:
                $0.syncsFromDevice += 1
                $0.bytesFromDevice += size
            }
        }
    }
}
