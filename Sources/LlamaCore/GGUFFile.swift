// Reader for GGUF v2/v3 files: metadata, tensor infos and memory-mapped tensor data, hostile input rejected.

/// One tensor as a GGUF file describes it.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// The ggml type id stored in the file.
    public let ggmlType: UInt32
    public let dtype: DType
    /// Dimensions in GGUF order: `ne[0]` is the innermost (contiguous) one.
    public let ne: [Int]
    /// Offset of the data relative to `GGUFFile.dataOffset`.
    public let offset: Int
    /// Size of the data in bytes.
    public let byteCount: Int

    /// Row-major shape, outermost first (the reverse of `ne`): a projection weight is (out, in).
    public var shape: [Int] { Array(ne.reversed()) }
    public var info: TensorInfo { TensorInfo(name: name, dtype: dtype, shape: shape) }
}

/// A memory-mapped GGUF file. Opening parses and validates the header only; tensor data is
/// neither read nor copied until asked for. Tensor names are kept as the file has them (llama.cpp
/// files already use the canonical names).
public final class GGUFFile: TensorSource, @unchecked Sendable {
    public static let magic: UInt32 = 0x4655_4747          // "GGUF" read as a little-endian u32
    public static let defaultAlignment = 32
    /// Deepest nesting of arrays accepted in metadata (real files use 1).
    public static let maxArrayNesting = 8
    /// ggml's GGML_MAX_DIMS.
    public static let maxDimensions = 4

    public let path: String
    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Alignment of the data section and of every tensor's offset (`general.alignment`, default 32).
    public let alignment: Int
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute byte offset of the data section (the end of the header rounded up to `alignment`).
    public let dataOffset: Int
    public let tensorNames: [String]
    private let indexByName: [String: Int]

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        var r = ByteReader(file)

        func fail(_ kind: ModelFileError.Kind, _ message: String) -> ModelFileError {
            ModelFileError(kind, file: path, message)
        }

        // Header: magic, version, counts.
        try file.requireReadable(offset: 0, length: 4, what: "the GGUF magic")
        let magic = try r.u32()
        guard magic == Self.magic else {
            let shown = withUnsafeBytes(of: magic.littleEndian) { $0.map { String(format2: $0) }.joined(separator: " ") }
            throw fail(.badMagic, "not a GGUF file: it starts with bytes \(shown), expected 47 47 55 46 (\"GGUF\")")
        }
        r.context = "the GGUF header"
        let version = try r.u32()
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw fail(.unsupportedVersion, "big-endian GGUF (version \(version.byteSwapped) byte-swapped) is not supported")
            }
            throw fail(.unsupportedVersion, "GGUF version \(version) is not supported (only versions 2 and 3)")
        }
        self.version = version
        let tensorCount = try Self.count(&r, what: "tensor count", file: file)
        let kvCount = try Self.count(&r, what: "metadata key/value count", file: file)

        // Metadata.
        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        metadata.reserveCapacity(min(kvCount, r.remaining / 13))
        keys.reserveCapacity(min(kvCount, r.remaining / 13))
        for i in 0 ..< kvCount {
            let keyOffset = r.offset
            r.context = "metadata entry \(i)"
            guard let key = try Self.readString(&r, what: "key of metadata entry \(i)").validated else {
                throw fail(.badMetadata, "metadata key at offset \(keyOffset) is not valid UTF-8")
            }
            r.context = "metadata entry \(i) ('\(key)')"
            let typeOffset = r.offset
            let type = try r.u32()
            let value = try Self.readValue(&r, type: type, depth: 0, key: key, typeOffset: typeOffset)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw fail(.badMetadata, "metadata key '\(key)' appears twice")
            }
            keys.append(key)
        }
        self.metadata = metadata
        self.metadataKeys = keys

        // Alignment.
        var alignment = Self.defaultAlignment
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a else {
                throw fail(.badMetadata, "general.alignment must be a uint32, found \(a)")
            }
            guard v > 0, v & (v - 1) == 0 else {
                throw fail(.badMetadata, "general.alignment is \(v), which is not a power of two")
            }
            alignment = Int(v)
        }
        self.alignment = alignment

        // Tensor infos.
        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(min(tensorCount, r.remaining / 24))
        for i in 0 ..< tensorCount {
            let nameOffset = r.offset
            r.context = "tensor info \(i)"
            guard let name = try Self.readString(&r, what: "name of tensor \(i)").validated else {
                throw fail(.badHeader, "name of tensor \(i) at offset \(nameOffset) is not valid UTF-8")
            }
            guard !name.isEmpty else { throw fail(.badHeader, "tensor \(i) at offset \(nameOffset) has an empty name") }
            r.context = "tensor info \(i) ('\(name)')"
            let nDims = try r.u32()
            guard nDims >= 1, nDims <= Self.maxDimensions else {
                throw fail(.badHeader, "tensor '\(name)' has \(nDims) dimensions; 1 to \(Self.maxDimensions) are allowed")
            }
            var ne: [Int] = []
            var elements = 1
            for _ in 0 ..< nDims {
                let d = try r.u64()
                guard d > 0, let dim = Int(exactly: d) else {
                    throw fail(.badHeader, "tensor '\(name)' has dimension \(d); dimensions must be between 1 and \(Int.max)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw fail(.badHeader, "tensor '\(name)': the element count of dimensions \(ne + [dim]) overflows")
                }
                elements = product
                ne.append(dim)
            }
            let typeID = try r.u32()
            guard let dtype = DType(ggmlType: typeID) else {
                let known = DType.ggmlTypeName(typeID).map { " (\($0))" } ?? ""
                throw fail(.unknownDType, "tensor '\(name)' has ggml type \(typeID)\(known), which is not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)")
            }
            let rawOffset = try r.u64()
            guard ne[0] % dtype.blockSize == 0 else {
                throw fail(.shapeMismatch, "tensor '\(name)' of type \(dtype.rawValue) has rows of \(ne[0]) elements, not a multiple of the block size \(dtype.blockSize)")
            }
            guard let bytes = dtype.byteCount(elements: elements) else {
                throw fail(.badHeader, "tensor '\(name)': the byte size of \(elements) \(dtype.rawValue) elements overflows")
            }
            guard let offset = Int(exactly: rawOffset) else {
                throw fail(.outOfRange, "tensor '\(name)' has data offset \(rawOffset), beyond any file")
            }
            guard offset % alignment == 0 else {
                throw fail(.badHeader, "tensor '\(name)' has data offset \(offset), which is not a multiple of the alignment \(alignment)")
            }
            guard index.updateValue(infos.count, forKey: name) == nil else {
                throw fail(.badHeader, "tensor name '\(name)' appears twice")
            }
            infos.append(GGUFTensorInfo(name: name, ggmlType: typeID, dtype: dtype, ne: ne, offset: offset, byteCount: bytes))
        }

        // Data section: starts at the end of the header rounded up to the alignment.
        let headerEnd = r.offset
        let (padded, overflow) = headerEnd.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw fail(.badHeader, "header end \(headerEnd) cannot be aligned to \(alignment)") }
        let dataOffset = padded / alignment * alignment
        self.dataOffset = dataOffset

        // Every tensor inside the file, no two overlapping.
        for t in infos {
            let (start, o1) = dataOffset.addingReportingOverflow(t.offset)
            guard !o1, file.contains(offset: start, length: t.byteCount) else {
                throw fail(.outOfRange, "tensor '\(t.name)' (\(t.byteCount) bytes at data offset \(t.offset), data section at \(dataOffset)) extends past the end of the file (\(file.count) bytes)")
            }
        }
        let byStart = infos.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        var previous: GGUFTensorInfo?
        for t in byStart where t.byteCount > 0 {
            if let p = previous, t.offset < p.offset + p.byteCount {
                throw fail(.overlap, "tensor '\(t.name)' (data offset \(t.offset), \(t.byteCount) bytes) overlaps tensor '\(p.name)' (data offset \(p.offset), \(p.byteCount) bytes)")
            }
            previous = t
        }

        self.tensors = infos
        self.indexByName = index
        self.tensorNames = index.keys.sorted()
    }

    /// The GGUF description of a tensor (type id, `ne`, offset), nil when absent.
    public func tensorInfo(_ name: String) -> GGUFTensorInfo? {
        indexByName[name].map { tensors[$0] }
    }

    public func info(_ name: String) -> TensorInfo? { tensorInfo(name)?.info }

    /// The stored bytes of a tensor: for quantized types, its ggml blocks in file order.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let t = tensorInfo(name) else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return try file.slice(at: dataOffset + t.offset, length: t.byteCount, what: "tensor '\(name)'")
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensorInfo(name) else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return dequantize(try rawBytes(name), as: t.dtype)
    }

    // MARK: - Parsing helpers

    /// A u64 count that must be plausible: no more entries than the file has bytes.
    private static func count(_ r: inout ByteReader, what: String, file: MappedFile) throws -> Int {
        let at = r.offset
        let n = try r.u64()
        guard n <= UInt64(file.count) else {
            throw ModelFileError(.badHeader, file: file.path,
                                 "the \(what) at offset \(at) is \(n), more than the file has bytes (\(file.count)): the header is corrupt")
        }
        return Int(n)
    }

    private struct RawString {
        let bytes: UnsafeRawBufferPointer
        /// The bytes as a String when they are valid UTF-8.
        var validated: String? {
            let s = String(decoding: bytes, as: UTF8.self)     // repairs; a repair changes the bytes
            return s.utf8.elementsEqual(bytes) ? s : nil
        }
        /// The bytes as a String, invalid UTF-8 replaced by U+FFFD.
        var repaired: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// A GGUF string: u64 byte length, then that many bytes.
    private static func readString(_ r: inout ByteReader, what: @autoclosure () -> String) throws -> RawString {
        let at = r.offset
        let n = try r.u64()
        guard n <= UInt64(r.remaining) else {
            throw ModelFileError(.truncated, file: r.file.path,
                                 "\(what()) at offset \(at) claims \(n) bytes but only \(r.remaining) remain in the file")
        }
        return RawString(bytes: try r.bytes(Int(n), what: what()))
    }

    /// Smallest encoded size of a value of each type (for bounding array counts by the file size).
    private static func minimumSize(of type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 12
        default: return 1
        }
    }

    private static func readValue(_ r: inout ByteReader, type: UInt32, depth: Int, key: String,
                                  typeOffset: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try r.u8())
        case 1: return .int8(try r.i8())
        case 2: return .uint16(try r.u16())
        case 3: return .int16(try r.i16())
        case 4: return .uint32(try r.u32())
        case 5: return .int32(try r.i32())
        case 6: return .float32(try r.f32())
        case 7:
            let at = r.offset
            let b = try r.u8()
            guard b <= 1 else {
                throw ModelFileError(.badMetadata, file: r.file.path,
                                     "metadata '\(key)': bool at offset \(at) has value \(b), not 0 or 1")
            }
            return .bool(b == 1)
        case 8: return .string(try readString(&r, what: "string value of metadata '\(key)'").repaired)
        case 9:
            guard depth < maxArrayNesting else {
                throw ModelFileError(.badMetadata, file: r.file.path,
                                     "metadata '\(key)': arrays nested deeper than \(maxArrayNesting) levels")
            }
            let elementTypeOffset = r.offset
            let elementType = try r.u32()
            guard elementType <= 12 else {
                throw ModelFileError(.badMetadata, file: r.file.path,
                                     "metadata '\(key)': unknown array element type \(elementType) at offset \(elementTypeOffset)")
            }
            let countOffset = r.offset
            let n = try r.u64()
            let minSize = minimumSize(of: elementType)
            guard n <= UInt64(r.remaining / minSize) else {
                throw ModelFileError(.truncated, file: r.file.path,
                                     "metadata '\(key)': array at offset \(countOffset) claims \(n) elements, more than the \(r.remaining) bytes left in the file can hold")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(Int(n))
            for _ in 0 ..< Int(n) {
                values.append(try readValue(&r, type: elementType, depth: depth + 1, key: key, typeOffset: elementTypeOffset))
            }
            return .array(values)
        case 10: return .uint64(try r.u64())
        case 11: return .int64(try r.i64())
        case 12: return .float64(try r.f64())
        default:
            throw ModelFileError(.badMetadata, file: r.file.path,
                                 "metadata '\(key)': unknown value type \(type) at offset \(typeOffset)")
        }
    }
}

private extension String {
    /// Two lowercase hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}
