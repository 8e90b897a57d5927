// Conversion of stored tensor bytes (plain or ggml block-quantized) to fp32, exactly as ggml does it.

/// Converts the whole blocks of `raw` that fit in `out` to fp32, in storage order, and returns the
/// number of floats written. Bytes are little-endian. Quantized formats follow ggml's reference
/// dequantization: Q8_0 `d·q`; Q4_0 `d·(nibble − 8)`; Q4_1 `d·nibble + m`, where the low nibbles of
/// a block's 16 bytes are elements 0–15 and the high nibbles elements 16–31 (d, m are f16).
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
