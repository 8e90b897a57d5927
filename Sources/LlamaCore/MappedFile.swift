// A read-only memory-mapped file with bounds-checked little-endian reads that throw, never trap.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Reads are bounds-checked and throw
/// `ModelFileError` naming the file and the offset; nothing is copied until asked for.
/// The mapping lives as long as the object (unmapped in `deinit`).
public final class MappedFile: @unchecked Sendable {
    /// The path as given, used in every error message.
    public let path: String
    /// Size of the file in bytes.
    public let count: Int
    private let base: UnsafeRawPointer?

    /// Maps `path` read-only. Throws `.notFound` when it does not exist and `.unreadable` when it
    /// cannot be opened, is not a regular file or cannot be mapped.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR {
                throw ModelFileError(.notFound, file: path, "no such file")
            }
            throw ModelFileError(.unreadable, file: path, "cannot open: \(Self.describe(code))")
        }
        // The descriptor is not needed once the pages are mapped.
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ModelFileError(.unreadable, file: path, "cannot stat: \(Self.describe(errno))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFileError(.unreadable, file: path, "not a regular file")
        }
        guard let size = Int(exactly: st.st_size), size >= 0 else {
            throw ModelFileError(.unreadable, file: path, "unusable file size \(st.st_size)")
        }
        count = size
        if size == 0 {
            base = nil      // mmap of zero bytes is an error; an empty file simply has no bytes
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelFileError(.unreadable, file: path, "cannot map \(size) bytes: \(Self.describe(errno))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { _ = munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// All bytes of the file (valid while `self` lives).
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// `length` bytes at `offset`; throws `.outOfRange` when any of them lies outside the file.
    public func slice(at offset: Int, length: Int, what: @autoclosure () -> String = "data") throws
        -> UnsafeRawBufferPointer {
        guard contains(offset: offset, length: length) else {
            throw ModelFileError(.outOfRange, file: path,
                                 "\(what()) at byte offset \(offset) with length \(length) lies outside the file (\(count) bytes)")
        }
        return UnsafeRawBufferPointer(start: base.map { $0 + offset }, count: length)
    }

    /// True when [offset, offset + length) lies within the file (overflow-safe).
    public func contains(offset: Int, length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && length <= count - offset
    }

    /// A little-endian integer at `offset`; throws `.truncated` when the file ends first.
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) throws -> T {
        try requireReadable(offset: offset, length: MemoryLayout<T>.size, what: "\(T.self)")
        return T(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// A little-endian IEEE binary32 at `offset`.
    public func loadFloat(at offset: Int) throws -> Float {
        Float(bitPattern: try load(UInt32.self, at: offset))
    }

    /// A little-endian IEEE binary64 at `offset`.
    public func loadDouble(at offset: Int) throws -> Double {
        Double(bitPattern: try load(UInt64.self, at: offset))
    }

    /// Throws `.truncated` unless [offset, offset + length) lies within the file.
    public func requireReadable(offset: Int, length: Int, what: @autoclosure () -> String) throws {
        guard contains(offset: offset, length: length) else {
            let available = offset >= 0 && offset <= count ? count - offset : 0
            throw ModelFileError(.truncated, file: path,
                                 "file ends early: \(what()) needs \(length) bytes at offset \(offset) but only \(available) remain (file is \(count) bytes)")
        }
    }

    private static func describe(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s)
    }
}

/// A forward cursor over a `MappedFile`; every read is bounds-checked and throws `.truncated`.
public struct ByteReader {
    public let file: MappedFile
    public private(set) var offset: Int
    /// What is being read (e.g. "metadata entry 3 ('general.name')"), named when the file ends early.
    public var context = ""

    public init(_ file: MappedFile, offset: Int = 0) {
        self.file = file
        self.offset = offset
    }

    /// Bytes left between the cursor and the end of the file.
    public var remaining: Int { max(0, file.count - offset) }

    public mutating func u8() throws -> UInt8 { try advance(UInt8.self) }
    public mutating func i8() throws -> Int8 { try advance(Int8.self) }
    public mutating func u16() throws -> UInt16 { try advance(UInt16.self) }
    public mutating func i16() throws -> Int16 { try advance(Int16.self) }
    public mutating func u32() throws -> UInt32 { try advance(UInt32.self) }
    public mutating func i32() throws -> Int32 { try advance(Int32.self) }
    public mutating func u64() throws -> UInt64 { try advance(UInt64.self) }
    public mutating func i64() throws -> Int64 { try advance(Int64.self) }
    public mutating func f32() throws -> Float { Float(bitPattern: try advance(UInt32.self)) }
    public mutating func f64() throws -> Double { Double(bitPattern: try advance(UInt64.self)) }

    /// The next `length` bytes (no copy); throws `.truncated` when the file ends first.
    public mutating func bytes(_ length: Int, what: @autoclosure () -> String = "bytes") throws
        -> UnsafeRawBufferPointer {
        try file.requireReadable(offset: offset, length: length,
                                 what: context.isEmpty ? what() : "\(context): \(what())")
        let b = UnsafeRawBufferPointer(rebasing: file.bytes[offset ..< offset + length])
        offset += length
        return b
    }

    /// Moves the cursor to `newOffset` (which may be the end of the file, not beyond it).
    public mutating func seek(to newOffset: Int) throws {
        try file.requireReadable(offset: newOffset, length: 0, what: "seek")
        offset = newOffset
    }

    private mutating func advance<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        if !file.contains(offset: offset, length: MemoryLayout<T>.size) {
            try file.requireReadable(offset: offset, length: MemoryLayout<T>.size,
                                     what: context.isEmpty ? "a \(T.self)" : context)
        }
        let v = try file.load(T.self, at: offset)
        offset += MemoryLayout<T>.size
        return v
    }
}
