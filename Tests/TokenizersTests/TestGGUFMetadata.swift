// TEMPORARY test-only GGUF metadata parser; to be replaced by LlamaCore.GGUFFile when that lands.
import Foundation
import LlamaCore

/// Reads only the key/value metadata of a GGUF v2/v3 file (no tensors), to feed the tokenizer tests.
enum TestGGUFMetadata {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func read(_ path: String) throws -> [String: GGUFValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return try data.withUnsafeBytes { raw -> [String: GGUFValue] in
            var r = Reader(raw: raw, offset: 0)
            guard try r.u32() == 0x4655_4747 else { throw Failure(description: "\(path): not GGUF") }
            let version = try r.u32()
            guard version == 2 || version == 3 else { throw Failure(description: "\(path): GGUF v\(version)") }
            _ = try r.u64()
            let count = try r.u64()
            var out: [String: GGUFValue] = [:]
            for _ in 0..<count {
                let key = try r.string()
                out[key] = try r.value(type: try r.u32())
            }
            return out
        }
    }

    struct Reader {
        let raw: UnsafeRawBufferPointer
        var offset: Int

        mutating func take<T>(_: T.Type) throws -> T {
            let n = MemoryLayout<T>.size
            guard offset + n <= raw.count else { throw Failure(description: "truncated at \(offset)") }
            defer { offset += n }
            return raw.loadUnaligned(fromByteOffset: offset, as: T.self)
        }
        mutating func u32() throws -> UInt32 { try take(UInt32.self) }
        mutating func u64() throws -> UInt64 { try take(UInt64.self) }
        mutating func string() throws -> String {
            let n = Int(try u64())
            guard offset + n <= raw.count else { throw Failure(description: "truncated string at \(offset)") }
            defer { offset += n }
            return String(decoding: raw[offset..<(offset + n)], as: UTF8.self)
        }
        mutating func value(type: UInt32) throws -> GGUFValue {
            switch type {
            case 0: return .uint8(try take(UInt8.self))
            case 1: return .int8(try take(Int8.self))
            case 2: return .uint16(try take(UInt16.self))
            case 3: return .int16(try take(Int16.self))
            case 4: return .uint32(try take(UInt32.self))
            case 5: return .int32(try take(Int32.self))
            case 6: return .float32(try take(Float.self))
            case 7: return .bool(try take(UInt8.self) != 0)
            case 8: return .string(try string())
            case 9:
                let elementType = try u32()
                let n = Int(try u64())
                var items: [GGUFValue] = []
                items.reserveCapacity(n)
                for _ in 0..<n { items.append(try value(type: elementType)) }
                return .array(items)
            case 10: return .uint64(try take(UInt64.self))
            case 11: return .int64(try take(Int64.self))
            case 12: return .float64(try take(Double.self))
            default: throw Failure(description: "unknown GGUF value type \(type) at \(offset)")
            }
        }
    }
}
