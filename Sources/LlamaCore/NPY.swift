// Reading and writing numpy .npy files (little-endian float32/int32, C order) for goldens and dumps.
import Foundation

/// A float32 array with its shape, as stored in a .npy file.
public struct NPYArray: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]
    public init(shape: [Int], values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

public enum NPY {
    /// Serialises float32 values as an .npy (format 1.0) file.
    public static func encode(_ array: NPYArray) -> Data {
        let shapeText = array.shape.count == 1 ? "(\(array.shape[0]),)"
            : "(" + array.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so that magic(6) + version(2) + length(2) + header + '\n' is a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        array.values.withUnsafeBufferPointer { data.append(Data(buffer: $0)) }
        return data
    }

    public static func write(_ array: NPYArray, to path: String) throws {
        try encode(array).write(to: URL(fileURLWithPath: path))
    }

    public static func read(path: String) throws -> NPYArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(.notFound, file: path, "cannot be read")
        }
        return try decode(data, file: path)
    }

    /// Parses an .npy holding little-endian float32 (`<f4`) or int32 (`<i4`, converted), C order.
    public static func decode(_ data: Data, file: String) throws -> NPYArray {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw ModelFileError(.badMagic, file: file, "is not a .npy file (bad magic)")
        }
        let major = bytes[6]
        var headerLength: Int
        var offset: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            offset = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw ModelFileError(.truncated, file: file, "ends inside the .npy preamble") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            offset = 12
        default:
            throw ModelFileError(.unsupportedVersion, file: file, ".npy format version \(major) is not supported")
        }
        guard offset + headerLength <= bytes.count else {
            throw ModelFileError(.truncated, file: file, "header length \(headerLength) runs past the end of the file")
        }
        guard let header = String(bytes: bytes[offset..<offset + headerLength], encoding: .utf8) else {
            throw ModelFileError(.badHeader, file: file, "header is not text")
        }
        func field(_ key: String) -> Substring? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return header[r.upperBound...].drop(while: { $0 == " " })
        }
        guard let descr = field("descr"), let order = field("fortran_order"), let shapeField = field("shape") else {
            throw ModelFileError(.badHeader, file: file, "header lacks descr, fortran_order or shape")
        }
        let isFloat = descr.hasPrefix("'<f4'")
        guard isFloat || descr.hasPrefix("'<i4'") else {
            throw ModelFileError(.unknownDType, file: file, "dtype \(descr.prefix(6)) is not <f4 or <i4")
        }
        guard order.hasPrefix("False") else {
            throw ModelFileError(.badHeader, file: file, "Fortran-ordered arrays are not supported")
        }
        guard shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else {
            throw ModelFileError(.badHeader, file: file, "shape is not a tuple")
        }
        var shape: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let n = Int(text), n >= 0, n < 1 << 40 else {
                throw ModelFileError(.badHeader, file: file, "shape entry \"\(text)\" is not a size")
            }
            shape.append(n)
        }
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw ModelFileError(.badHeader, file: file, "shape \(shape) overflows") }
            count = product
        }
        let start = offset + headerLength
        guard bytes.count - start == count * 4 else {
            throw ModelFileError(.shapeMismatch, file: file,
                "holds \(bytes.count - start) data bytes; shape \(shape) needs \(count * 4)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                let bits = raw.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self).littleEndian
                values[i] = isFloat ? Float(bitPattern: bits) : Float(Int32(bitPattern: bits))
            }
        }
        return NPYArray(shape: shape, values: values)
    }
}
