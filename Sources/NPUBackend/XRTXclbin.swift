// XRTXclbin: an xclbin's kernel metadata through CXRT (`xrt::xclbin(path)`, no device needed): each kernel's
// argument count, names and host types, as XRT will check run.set_arg against them.
import CXRT

/// One argument of a kernel in an xclbin, as `xrt::xclbin::arg` reports it.
public struct XclbinArgument: Sendable, Equatable, CustomStringConvertible {
    public var name: String        // "opcode", "instr", "ninstr", "bo0" …
    public var hostType: String    // "uint64_t", "char *", "uint32_t", "void*"
    public var index: Int
    public var offset: Int
    public var size: Int

    public init(name: String, hostType: String, index: Int, offset: Int = 0, size: Int = 0) {
        self.name = name
        self.hostType = hostType
        self.index = index
        self.offset = offset
        self.size = size
    }

    /// A pointer argument takes a buffer object (aiecc's "char *" instr and "void*" bo0…); others are scalars.
    public var takesBuffer: Bool { hostType.contains("*") }
    public var description: String { "\(name) (\(hostType))" }
}

/// Where an xclbin's kernel signatures come from: XRT (`XRTXclbin`) on the real path, a table in tests.
public protocol XclbinMetadata: AnyObject {
    var path: String { get }
    /// The kernel's arguments in index order; throws naming the kernel when the xclbin has none of that name.
    func arguments(ofKernel kernel: String) throws -> [XclbinArgument]
}

/// `xrt::xclbin(path)`, held open for its metadata.
public final class XRTXclbin: XclbinMetadata {
    public let path: String
    let handle: OpaquePointer

    /// Reads the xclbin (fails with "built without XRT" from the stubs).
    public init(path: String) throws {
        var handle: OpaquePointer?
        try xrtCheck(cxrt_xclbin_open(path, &handle), XRTFailureSubject(operation: "xclbin", label: path))
        guard let handle else { throw NPUDeviceError("XRT xclbin (\(path))", "CXRT returned no xclbin") }
        self.handle = handle
        self.path = path
    }

    deinit { cxrt_xclbin_close(handle) }

    public func arguments(ofKernel kernel: String) throws -> [XclbinArgument] {
        let subject = XRTFailureSubject(operation: "xclbin metadata", kernel: kernel, label: path)
        var count = 0
        try xrtCheck(cxrt_xclbin_kernel_arg_count(handle, kernel, &count), subject)
        return try (0..<count).map { i in
            var a = cxrt_xclbin_arg()
            try xrtCheck(cxrt_xclbin_kernel_arg(handle, kernel, i, &a), subject)
            func text<T>(_ field: T) -> String {
                withUnsafeBytes(of: field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return XclbinArgument(name: text(a.name), hostType: text(a.host_type), index: Int(a.index),
                                  offset: Int(a.offset), size: Int(a.size))
        }
    }
}

extension XRTDevice {
    /// The kernel signatures of an xclbin as XRT reads them (no device needed).
    public static func xclbin(_ path: String) throws -> XRTXclbin { try XRTXclbin(path: path) }
}
