// A buffer object of the emulated NPU: separate host and device copies, guard bytes around the device copy, sync state tracked.
import Foundation

/// Host view and device memory are two copies, as XRT's sync contract allows: the device sees host
/// writes only after `sync(.toDevice)`, the host sees device writes only after `sync(.fromDevice)`.
/// When a run writes a buffer (or a range of it) its host view there is poisoned (0xFF bytes: NaN in bf16/fp32,
/// -1 in int32) and checked reads of that range (`hostBytes`) are refused until the host syncs it back, so stale data can
/// neither be read quietly nor fed back. The device copy has `guardBytes` of a pattern on each side,
/// checked after every run that binds the buffer.
public final class EmulatedBuffer: NPUBuffer, CheckedHostRead, @unchecked Sendable {
    public static let guardBytes = 64
    static let guardPattern: UInt8 = 0xC5
    static let poison: UInt8 = 0xFF

    public let size: Int
    public let memoryGroup: Int
    public let flags: BufferFlags
    public let hostMemory: UnsafeMutableRawBufferPointer
    /// Set by the backend for error messages ("k_cache-3"); defaults to "bo#N".
    public var name: String
    /// The device copy (without guards): what runs read and write.
    let deviceMemory: UnsafeMutableRawPointer
    private let deviceAllocation: UnsafeMutableRawPointer?   // nil for sub-buffers
    private let hostAllocation: UnsafeMutableRawPointer?
    /// A sub-buffer's parent and offset (sync and state go to the parent's range).
    let parent: EmulatedBuffer?
    let offset: Int
    let device: EmulatedDevice
    /// Byte ranges of this (root) buffer the device wrote after the host last synced them back: the host copy
    /// there is stale (poisoned). A sub-buffer asks its root.
    private var staleRanges: [Range<Int>] = []
    /// The device wrote some of this buffer after the host's last `sync(.fromDevice)` of that part.
    public var deviceNewer: Bool { !root.staleRanges.isEmpty }

    init(device: EmulatedDevice, size: Int, flags: BufferFlags, memoryGroup: Int, name: String) {
        self.device = device
        self.size = size
        self.flags = flags
        self.memoryGroup = memoryGroup
        self.name = name
        parent = nil
        offset = 0
        let g = Self.guardBytes
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size + 2 * g, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: g)
        (raw + g).initializeMemory(as: UInt8.self, repeating: 0, count: size)
        (raw + g + size).initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: g)
        deviceAllocation = raw
        deviceMemory = raw + g
        let host = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 64)
        host.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 1))
        hostAllocation = host
        hostMemory = UnsafeMutableRawBufferPointer(start: host, count: size)
    }

    init(subOf parent: EmulatedBuffer, offset: Int, size: Int, name: String) {
        device = parent.device
        self.parent = parent
        self.offset = offset
        self.size = size
        flags = parent.flags
        memoryGroup = parent.memoryGroup
        self.name = name
        deviceAllocation = nil
        hostAllocation = nil
        deviceMemory = parent.deviceMemory + offset
        hostMemory = UnsafeMutableRawBufferPointer(rebasing: parent.hostMemory[offset..<offset + size])
    }

    deinit {
        deviceAllocation?.deallocate()
        hostAllocation?.deallocate()
    }

    /// The buffer that owns the memory (self unless a sub-buffer).
    var root: EmulatedBuffer { parent ?? self }

    public func sync(_ direction: SyncDirection, offset: Int, size: Int) throws {
        guard offset >= 0, size >= 0, offset + size <= self.size else {
            throw NPUDeviceError("sync of \(name)", "range \(offset)..<\(offset + size) is outside its \(self.size) bytes")
        }
        if device.isBusy(self) {
            throw NPUDeviceError("sync(\(direction == .toDevice ? ".toDevice" : ".fromDevice")) of \(name)",
                                 "a runlist that binds it is executing: XRT defines a run's buffers only after runlist.wait() "
                                     + "(Xilinx/XRT src/runtime_src/core/common/api/xrt_kernel.cpp runlist_impl::wait); wait() first")
        }
        let range = (self.offset + offset)..<(self.offset + offset + size)   // in the root's bytes
        switch direction {
        case .toDevice:
            if let stale = root.staleRanges.first(where: { $0.overlaps(range) }) {
                throw NPUDeviceError("sync(.toDevice) of \(name)",
                                     "the device wrote bytes \(stale.clamped(to: range)) of its root and the host never synced them back: the stale host copy would overwrite them")
            }
            (deviceMemory + offset).copyMemory(from: hostMemory.baseAddress! + offset, byteCount: size)
        case .fromDevice:
            (hostMemory.baseAddress! + offset).copyMemory(from: deviceMemory + offset, byteCount: size)
            root.subtractStale(range)
        }
        device.countSync(direction, bytes: size)
    }

    /// The stale ranges less `r` (the host synced it back).
    private func subtractStale(_ r: Range<Int>) {
        staleRanges = staleRanges.flatMap { s -> [Range<Int>] in
            guard s.overlaps(r) else { return [s] }
            return [s.lowerBound..<max(s.lowerBound, r.lowerBound), min(s.upperBound, r.upperBound)..<s.upperBound].filter { !$0.isEmpty }
                .map { $0.clamped(to: s) }
        }
    }

    public func hostBytes() throws -> UnsafeRawBufferPointer { try hostBytes(offset: 0, size: size) }

    public func hostBytes(offset: Int, size: Int) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, size >= 0, offset + size <= self.size else {
            throw NPUDeviceError("host read of \(name)", "range \(offset)..<\(offset + size) is outside its \(self.size) bytes")
        }
        let range = (self.offset + offset)..<(self.offset + offset + size)
        if let stale = root.staleRanges.first(where: { $0.overlaps(range) }) {
            throw NPUDeviceError("host read of \(name)", "the device wrote bytes \(stale.clamped(to: range)) after the last sync(.fromDevice) of them; sync them first")
        }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(hostMemory)[offset..<offset + size])
    }

    /// After a run wrote the buffer (or `range` of it, in its own bytes): the host copy there is stale, so it is poisoned.
    func markWrittenByDevice(_ range: Range<Int>? = nil) {
        let r = range ?? 0..<size
        guard !r.isEmpty else { return }
        root.subtractStale(r.lowerBound + offset..<r.upperBound + offset)
        root.staleRanges.append(r.lowerBound + offset..<r.upperBound + offset)
        (hostMemory.baseAddress! + r.lowerBound).initializeMemory(as: UInt8.self, repeating: Self.poison, count: r.count)
    }

    /// True when the host view differs from the device copy while the device holds nothing newer:
    /// the host wrote without `sync(.toDevice)`.
    func hostWroteWithoutSync(_ range: Range<Int>? = nil) -> Bool {
        let r = range ?? 0..<size
        var clean = [r.lowerBound + offset..<r.upperBound + offset]   // root bytes the device did not write since
        for s in root.staleRanges {
            clean = clean.flatMap { c -> [Range<Int>] in
                guard c.overlaps(s) else { return [c] }
                return [c.lowerBound..<max(c.lowerBound, s.lowerBound), min(c.upperBound, s.upperBound)..<c.upperBound].filter { !$0.isEmpty }
                    .map { $0.clamped(to: c) }
            }
        }
        return clean.contains { c in
            memcmp(root.hostMemory.baseAddress! + c.lowerBound, root.deviceMemory + c.lowerBound, c.count) != 0
        }
    }

    /// The first guard byte that is not the pattern, as "before"/"after" + offset, or nil.
    func brokenGuard() -> String? {
        guard let raw = deviceAllocation else { return nil }
        let g = Self.guardBytes
        for i in 0..<g where raw.load(fromByteOffset: i, as: UInt8.self) != Self.guardPattern {
            return "\(g - i) bytes before its start"
        }
        for i in 0..<g where raw.load(fromByteOffset: g + size + i, as: UInt8.self) != Self.guardPattern {
            return "\(i) bytes past its end (size \(size))"
        }
        return nil
    }

    func restoreGuards() {
        guard let raw = deviceAllocation else { return }
        let g = Self.guardBytes
        raw.initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: g)
        (raw + g + size).initializeMemory(as: UInt8.self, repeating: Self.guardPattern, count: g)
    }
}
