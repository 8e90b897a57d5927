// Reader for one .safetensors file: a validated JSON header and memory-mapped F32/F16/BF16 tensors.

/// One tensor as a safetensors header describes it.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    /// Row-major shape, outermost first (as stored).
    public let shape: [Int]
    /// Byte range relative to the start of the data section (`SafetensorsFile.dataOffset`).
    public let dataOffsets: Range<Int>
    public var info: TensorInfo { TensorInfo(name: name, dtype: dtype, shape: shape) }
}

/// A memory-mapped `.safetensors` file. Tensor names are the file's own (no renaming here:
/// `SafetensorsModel` maps Hugging Face names to canonical ones).
public final class SafetensorsFile: TensorSource, @unchecked Sendable {
    /// The largest header accepted (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    public let path: String
    public let file: MappedFile
    /// Length of the JSON header in bytes.
    public let headerLength: Int
    /// Absolute byte offset of the data section (8 + header length).
    public let dataOffset: Int
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]
    public let tensors: [String: SafetensorsTensorInfo]
    public let tensorNames: [String]

    public init(path: String) throws {
        self.path = path
        let file = try MappedFile(path: path)
        self.file = file
        func fail(_ kind: ModelFileError.Kind, _ message: String) -> ModelFileError {
            ModelFileError(kind, file: path, message)
        }

        let rawLength = try file.load(UInt64.self, at: 0)
        guard rawLength <= UInt64(Self.maxHeaderLength) else {
            throw fail(.badHeader, "header length \(rawLength) is larger than the \(Self.maxHeaderLength) bytes safetensors allows (not a safetensors file?)")
        }
        let headerLength = Int(rawLength)
        guard headerLength <= file.count - 8 else {
            throw fail(.truncated, "header length \(headerLength) reaches beyond the end of the file (\(file.count) bytes): truncated or not a safetensors file")
        }
        guard headerLength >= 2 else {
            throw fail(.badHeader, "header length \(headerLength) is too short for a JSON object")
        }
        self.headerLength = headerLength
        let dataOffset = 8 + headerLength
        self.dataOffset = dataOffset
        let dataLength = file.count - dataOffset

        let header = try file.slice(at: 8, length: headerLength, what: "header")
        guard header.first == UInt8(ascii: "{") else {
            throw fail(.badHeader, "header does not start with '{' (not a safetensors file?)")
        }
        guard let root = try parseJSON(header, file: path, what: "header") as? [String: Any] else {
            throw fail(.badHeader, "header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        tensors.reserveCapacity(root.count)
        for (name, value) in root {
            if name == "__metadata__" {
                guard let dict = value as? [String: Any] else {
                    throw fail(.badMetadata, "'__metadata__' must be an object of strings, found \(jsonKind(value))")
                }
                for (k, v) in dict {
                    guard let s = jsonString(v) else {
                        throw fail(.badMetadata, "'__metadata__.\(k)' must be a string, found \(jsonKind(v))")
                    }
                    metadata[k] = s
                }
                continue
            }
            tensors[name] = try Self.tensorInfo(name: name, entry: value, dataLength: dataLength, fail: fail)
        }

        // No two tensors may share bytes.
        let byStart = tensors.values.filter { !$0.dataOffsets.isEmpty }
            .sorted { ($0.dataOffsets.lowerBound, $0.name) < ($1.dataOffsets.lowerBound, $1.name) }
        for (a, b) in zip(byStart, byStart.dropFirst()) where b.dataOffsets.lowerBound < a.dataOffsets.upperBound {
            throw fail(.overlap, "tensor '\(b.name)' (data_offsets \(b.dataOffsets.lowerBound)..<\(b.dataOffsets.upperBound)) overlaps tensor '\(a.name)' (data_offsets \(a.dataOffsets.lowerBound)..<\(a.dataOffsets.upperBound))")
        }

        self.metadata = metadata
        self.tensors = tensors
        self.tensorNames = tensors.keys.sorted()
    }

    private static func tensorInfo(name: String, entry: Any, dataLength: Int,
                                   fail: (ModelFileError.Kind, String) -> ModelFileError) throws
        -> SafetensorsTensorInfo {
        guard !name.isEmpty else { throw fail(.badHeader, "a tensor has an empty name") }
        guard let dict = entry as? [String: Any] else {
            throw fail(.badHeader, "tensor '\(name)': entry must be an object, found \(jsonKind(entry))")
        }
        func field(_ key: String) throws -> Any {
            guard let v = dict[key] else { throw fail(.missingKey, "tensor '\(name)': no '\(key)'") }
            return v
        }

        let dtypeValue = try field("dtype")
        guard let dtypeName = jsonString(dtypeValue) else {
            throw fail(.badValue, "tensor '\(name)': 'dtype' must be a string, found \(jsonKind(dtypeValue))")
        }
        let dtype: DType
        switch dtypeName {
        case "F32": dtype = .f32
        case "F16": dtype = .f16
        case "BF16": dtype = .bf16
        default:
            throw fail(.unknownDType, "tensor '\(name)' has dtype '\(dtypeName)', which is not supported (supported: F32, F16, BF16)")
        }

        let shapeValue = try field("shape")
        guard let shapeArray = shapeValue as? [Any] else {
            throw fail(.badValue, "tensor '\(name)': 'shape' must be an array of integers, found \(jsonKind(shapeValue))")
        }
        var shape: [Int] = []
        var elements = 1
        for d in shapeArray {
            guard let dim = jsonInt(d), dim >= 0 else {
                throw fail(.badValue, "tensor '\(name)': 'shape' entries must be non-negative integers, found \(jsonKind(d))")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw fail(.badValue, "tensor '\(name)': the element count of 'shape' \(shape + [dim]) overflows")
            }
            elements = product
            shape.append(dim)
        }
        guard let byteCount = dtype.byteCount(elements: elements) else {
            throw fail(.badValue, "tensor '\(name)': the byte size of 'shape' \(shape) overflows")
        }

        let offsetsValue = try field("data_offsets")
        guard let offsets = offsetsValue as? [Any], offsets.count == 2,
              let begin = jsonInt(offsets[0]), let end = jsonInt(offsets[1]), begin >= 0, begin <= end else {
            throw fail(.badValue, "tensor '\(name)': 'data_offsets' must be two non-negative integers [begin, end] with begin <= end")
        }
        guard end <= dataLength else {
            throw fail(.outOfRange, "tensor '\(name)': 'data_offsets' [\(begin), \(end)] extend past the end of the data section (\(max(0, dataLength)) bytes; truncated file?)")
        }
        guard end - begin == byteCount else {
            throw fail(.shapeMismatch, "tensor '\(name)': 'data_offsets' [\(begin), \(end)] cover \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(byteCount)")
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataOffsets: begin ..< end)
    }

    public func info(_ name: String) -> TensorInfo? { tensors[name]?.info }

    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let t = tensors[name] else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return try file.slice(at: dataOffset + t.dataOffsets.lowerBound, length: t.dataOffsets.count,
                              what: "tensor '\(name)'")
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        return dequantize(try rawBytes(name), as: t.dtype)
    }
}
