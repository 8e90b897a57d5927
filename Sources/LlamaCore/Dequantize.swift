// Conversion of stored tensor bytes (plain or ggml block-quantized) to fp32, exactly as ggml does it.

/// Converts the whole blocks of `raw` that fit in `out` to fp32, in storage order, and returns the
/// number of floats written. Bytes are little-endian. Quantized formats follow ggml's reference
/// dequantization: Q8_0 `d·q`; Q4_0 `d·(nibble − 8)`; Q4_1 `d·nibble + m`, where the low nibbles of
/// a block's 16 bytes are elements 0–15 and the high nibbles elements 16–31 (d, m are f16); Q5_0, Q4_K and Q6_K as
/// ggml's `dequantize_row_q5_0`, `dequantize_row_q4_K` and `dequantize_row_q6_K` (ggml/src/ggml-quants.c; block
/// layouts in ggml-common.h), each product and difference rounded on its own (no fused multiply-add).
@discardableResult
public func dequantize(_ raw: UnsafeRawBufferPointer, as dtype: DType,
                       into out: UnsafeMutableBufferPointer<Float>) -> Int {
    let blocks = min(raw.count / dtype.blockBytes, out.count / dtype.blockSize)
    guard blocks > 0, let src = raw.baseAddress, let dst = out.baseAddress else { return 0 }
    switch dtype {
    case .f32:
        for i in 0 ..< blocks {
            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
    case .f16:
        for i in 0 ..< blocks {
            dst[i] = f16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    case .bf16:
        for i in 0 ..< blocks {
            dst[i] = bf16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    case .q8_0:
        for b in 0 ..< blocks {
            let p = src + b * 34
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let o = dst + b * 32
            for j in 0 ..< 32 {
                o[j] = Float(Int8(bitPattern: p.load(fromByteOffset: 2 + j, as: UInt8.self))) * d
            }
        }
    case .q4_0:
        for b in 0 ..< blocks {
            let p = src + b * 18
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let o = dst + b * 32
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                o[j] = Float(Int(q & 0x0F) - 8) * d
                o[j + 16] = Float(Int(q >> 4) - 8) * d
            }
        }
    case .q4_1:
        for b in 0 ..< blocks {
            let p = src + b * 20
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let m = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let o = dst + b * 32
            for j in 0 ..< 16 {
                let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                // Two roundings (product, then sum), as ggml and numpy compute it: no fused multiply-add.
                let lo = d * Float(q & 0x0F)
                let hi = d * Float(q >> 4)
                o[j] = lo + m
                o[j + 16] = hi + m
            }
        }
    case .q5_0:
        for b in 0 ..< blocks {
            let p = src + b * 22
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let o = dst + b * 32
            for j in 0 ..< 16 {
                let q = UInt32(p.load(fromByteOffset: 6 + j, as: UInt8.self))
                let h0 = ((qh >> UInt32(j)) << 4) & 0x10      // element j's fifth bit: bit j of qh
                let h1 = (qh >> UInt32(j + 12)) & 0x10        // element j + 16's: bit j + 16
                o[j] = Float(Int32((q & 0x0F) | h0) - 16) * d
                o[j + 16] = Float(Int32((q >> 4) | h1) - 16) * d
            }
        }
    case .q4_K:
        for b in 0 ..< blocks {
            let p = src + b * 144
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let dmin = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            let scales = p + 4     // 12 bytes: 8 (scale, min) pairs of 6 bits (get_scale_min_k4)
            func scaleMin(_ j: Int) -> (Float, Float) {
                let q = { (i: Int) in scales.load(fromByteOffset: i, as: UInt8.self) }
                if j < 4 { return (Float(q(j) & 63), Float(q(j + 4) & 63)) }
                return (Float((q(j + 4) & 0x0F) | ((q(j - 4) >> 6) << 4)), Float((q(j + 4) >> 4) | ((q(j) >> 6) << 4)))
            }
            let qs = p + 16
            let o = dst + b * 256
            for g in 0 ..< 4 {     // 64 elements: 32 low nibbles, then 32 high nibbles of the same 32 bytes
                let (s1, m1) = scaleMin(2 * g), (s2, m2) = scaleMin(2 * g + 1)
                let d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2
                for l in 0 ..< 32 {
                    let q = qs.load(fromByteOffset: 32 * g + l, as: UInt8.self)
                    let lo = d1 * Float(q & 0x0F), hi = d2 * Float(q >> 4)
                    o[64 * g + l] = lo - dm1
                    o[64 * g + 32 + l] = hi - dm2
                }
            }
        }
    case .q6_K:
        for b in 0 ..< blocks {
            let p = src + b * 210
            let ql = p, qh = p + 128, sc = p + 192
            let d = f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
            let o = dst + b * 256
            for n in 0 ..< 2 {     // 128 elements from 64 ql bytes, 32 qh bytes, 8 scales
                for l in 0 ..< 32 {
                    let lo0 = ql.load(fromByteOffset: 64 * n + l, as: UInt8.self)
                    let lo1 = ql.load(fromByteOffset: 64 * n + l + 32, as: UInt8.self)
                    let h = qh.load(fromByteOffset: 32 * n + l, as: UInt8.self)
                    let q = [Int((lo0 & 0x0F) | ((h & 3) << 4)) - 32, Int((lo1 & 0x0F) | (((h >> 2) & 3) << 4)) - 32,
                             Int((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32, Int((lo1 >> 4) | (((h >> 6) & 3) << 4)) - 32]
                    let s = l / 16
                    for k in 0 ..< 4 {
                        let scale = Float(Int8(bitPattern: sc.load(fromByteOffset: 8 * n + s + 2 * k, as: UInt8.self)))
                        o[128 * n + 32 * k + l] = (d * scale) * Float(q[k])
                    }
                }
            }
        }
    }
    return blocks * dtype.blockSize
}

/// All whole blocks of `raw` converted to fp32.
public func dequantize(_ raw: UnsafeRawBufferPointer, as dtype: DType) -> [Float] {
    let n = raw.count / dtype.blockBytes * dtype.blockSize
    return [Float](unsafeUninitializedCapacity: n) { buf, initialized in
        initialized = dequantize(raw, as: dtype, into: buf)
    }
}

extension TensorSource {
    /// Rows `rows` of a tensor as fp32, where a row is the innermost dimension (`shape.last`):
    /// row r of an embedding (vocab, hidden) is token r's vector. Only those rows are converted.
    public func floats(_ name: String, rows: Range<Int>) throws -> [Float] {
        guard let info = info(name) else {
            throw ModelFileError(.missingTensor, file: path, "no tensor named '\(name)'")
        }
        let rowLength = info.shape.last ?? 1
        let rowCount = rowLength == 0 ? 0 : info.elementCount / rowLength
        guard rows.lowerBound >= 0, rows.upperBound <= rowCount,
              let rowBytes = info.dtype.byteCount(elements: rowLength) else {
            throw ModelFileError(.outOfRange, file: path,
                                 "rows \(rows) of tensor '\(name)' (shape \(info.shape)) do not exist")
        }
        let raw = try rawBytes(name)
        guard raw.count >= rows.upperBound * rowBytes else {
            throw ModelFileError(.truncated, file: path,
                                 "tensor '\(name)' has \(raw.count) bytes, fewer than its shape \(info.shape) needs")
        }
        let part = UnsafeRawBufferPointer(rebasing: raw[rows.lowerBound * rowBytes ..< rows.upperBound * rowBytes])
        return dequantize(part, as: info.dtype)
    }
}
