// Test-only GGUF writer: builds valid (or deliberately broken) GGUF files byte by byte.

@testable import LlamaCore

/// One tensor to write. `ne` is in GGUF order (innermost first); `offset` overrides the computed
/// data offset; `nDims` overrides the stored dimension count.
struct GGUFTensorSpec {
    var name: String
    var typeID: UInt32
    var ne: [UInt64]
    var data: [UInt8]
    var offset: UInt64? = nil
    var nDims: UInt32? = nil
}

struct GGUFBuilder {
    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    /// Alignment the writer uses (write `general.alignment` yourself when it is not 32).
    var alignment = 32
    var metadata: [(String, GGUFValue)] = []
    var tensors: [GGUFTensorSpec] = []
    /// Overrides of the stored counts.
    var tensorCountOverride: UInt64? = nil
    var kvCountOverride: UInt64? = nil

    /// The GGUF value type id of a value.
    static func typeID(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    static func encode(_ v: GGUFValue, into b: inout LEBytes) {
        switch v {
        case .uint8(let x): b.u8(x)
        case .int8(let x): b.u8(UInt8(bitPattern: x))
        case .uint16(let x): b.u16(x)
        case .int16(let x): b.u16(UInt16(bitPattern: x))
        case .uint32(let x): b.u32(x)
        case .int32(let x): b.u32(UInt32(bitPattern: x))
        case .float32(let x): b.f32(x)
        case .bool(let x): b.u8(x ? 1 : 0)
        case .string(let s): string(s, into: &b)
        case .array(let a):
            b.u32(a.first.map(typeID) ?? 0)
            b.u64(UInt64(a.count))
            for e in a { encode(e, into: &b) }
        case .uint64(let x): b.u64(x)
        case .int64(let x): b.u64(UInt64(bitPattern: x))
        case .float64(let x): b.f64(x)
        }
    }

    static func string(_ s: String, into b: inout LEBytes) {
        let u = Array(s.utf8)
        b.u64(UInt64(u.count))
        b.raw(u)
    }

    /// Offset of the end of the tensor infos (the unpadded header length), for prefix tests.
    var headerEnd: Int { layout().headerEnd }

    func bytes() -> [UInt8] { layout().bytes }

    private func layout() -> (bytes: [UInt8], headerEnd: Int) {
        var b = LEBytes()
        b.raw(magic)
        b.u32(version)
        b.u64(tensorCountOverride ?? UInt64(tensors.count))
        b.u64(kvCountOverride ?? UInt64(metadata.count))
        for (k, v) in metadata {
            Self.string(k, into: &b)
            b.u32(Self.typeID(v))
            Self.encode(v, into: &b)
        }
        var next: UInt64 = 0
        var offsets: [UInt64] = []
        for t in tensors {
            let off = t.offset ?? next
            offsets.append(off)
            next = max(next, off &+ UInt64(t.data.count))
            next = (next &+ UInt64(alignment - 1)) / UInt64(alignment) * UInt64(alignment)
            Self.string(t.name, into: &b)
            b.u32(t.nDims ?? UInt32(t.ne.count))
            for d in t.ne { b.u64(d) }
            b.u32(t.typeID)
            b.u64(off)
        }
        let headerEnd = b.bytes.count
        b.pad(to: alignment)
        let dataStart = b.bytes.count
        // Data at its offset (tensors whose offset is absurd are simply not written).
        for (t, off) in zip(tensors, offsets) where !t.data.isEmpty && off < 1 << 20 {
            let start = dataStart + Int(off)
            if b.bytes.count < start + t.data.count {
                b.raw([UInt8](repeating: 0, count: start + t.data.count - b.bytes.count))
            }
            b.bytes.replaceSubrange(start ..< start + t.data.count, with: t.data)
        }
        return (b.bytes, headerEnd)
    }
}
