// The fp32 CPU reference of every op: the single source of truth that kernel tests compare to.
import COpenBLAS
import CReferenceKernels
import Foundation
import LlamaCore

/// fp32 reference implementations on raw row-major buffers. Each function states its shapes.
public enum ReferenceOps {
    /// Rows per causal block in prefill attention (trades masked work against call count).
    static let attentionBlock = 64

    /// y = x · Wᵀ. x (rows, inDim), W (outDim, inDim), y (rows, outDim).
    /// One row (decode) uses the row-parallel GEMV of CReferenceKernels: decode only streams W, and
    /// that kernel keeps both cores streaming (measured ~25 GB/s vs ~18 GB/s for OpenBLAS 0.3.21 sgemv
    /// on this 2-core machine). Several rows (prefill) use OpenBLAS sgemm, single-threaded, on slices
    /// of W's rows spread over the same thread pool: two pools spinning on two cores starve each other.
    public static func matmul(_ x: UnsafePointer<Float>, rows: Int, inDim: Int,
                              weight: UnsafePointer<Float>, outDim: Int, into y: UnsafeMutablePointer<Float>) {
        if rows == 1 {
            nl_gemv_f32(weight, x, y, outDim, inDim)
            return
        }
        parallelFor(outDim, grain: 64) { begin, end in
            var b = begin
            while b < end {
                let e = min(b + gemmBlockRows, end)
                gemmBlock(x, rows: rows, inDim: inDim, weightRows: weight + b * inDim, outRows: b..<e, outDim: outDim, into: y)
                b = e
            }
        }
    }

    /// Rows of W one sgemm call covers (several rows of x): the fp32 and the packed matrix take the same blocks, so
    /// OpenBLAS sums every output of both the same way whatever its blocking does with N.
    static let gemmBlockRows = 256
    /// Rows of a packed W dequantized at a time for one row of x (16 × 14336 fp32 = 0.9 MB of scratch: cache-sized).
    static let gemvBlockRows = 16

    /// y[:, outRows] = x · W[outRows]ᵀ. x (rows, inDim), weightRows (outRows.count, inDim), y (rows, outDim).
    private static func gemmBlock(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, weightRows: UnsafePointer<Float>,
                                  outRows: Range<Int>, outDim: Int, into y: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outRows.count), Int32(inDim),
                    1, x, Int32(inDim), weightRows, Int32(inDim), 0, y + outRows.lowerBound, Int32(outDim))
    }

    /// y = x · Wᵀ with W packed (`FloatWeights.Storage.packed`): x (rows, inDim), W (w.rows, inDim), y (rows, w.rows).
    /// Each block of W's rows is dequantized into scratch and summed by the kernel `matmul` uses on fp32 rows, in the
    /// same blocks (a GEMV row's sum depends on that row alone; GEMM takes `gemmBlockRows` blocks of the same pool
    /// chunks): bit for bit the fp32 storage's result. Q4_0 holds 4.5 bits a weight, 1/7 of fp32; each use pays a dequantization.
    public static func matmul(_ x: UnsafePointer<Float>, rows: Int, inDim: Int, packed w: PackedMatrix,
                              into y: UnsafeMutablePointer<Float>) {
        precondition(w.cols == inDim)
        let blockRows = rows == 1 ? gemvBlockRows : gemmBlockRows
        parallelFor(w.rows, grain: rows == 1 ? gemvBlockRows : 64) { begin, end in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(blockRows, end - begin) * inDim)  // (block, inDim)
            defer { scratch.deallocate() }
            var b = begin
            while b < end {
                let e = min(b + blockRows, end)
                w.dequantize(rows: b..<e, into: scratch)
                if rows == 1 {
                    nl_gemv_f32(scratch, x, y + b, e - b, inDim)
                } else {
                    gemmBlock(x, rows: rows, inDim: inDim, weightRows: scratch, outRows: b..<e, outDim: w.rows, into: y)
                }
                b = e
            }
        }
    }

    /// yᵢ = Wᵢ · x for one row x (inDim) and several matrices Wᵢ (outDimᵢ, inDim) into yᵢ (outDimᵢ) (decode's Q, K, V
    /// and gate, up), each row summed exactly as `matmul` sums it.
    public static func gemvs(_ x: UnsafePointer<Float>, inDim: Int,
                             _ products: [(weight: UnsafePointer<Float>, outDim: Int, y: UnsafeMutablePointer<Float>)]) {
        let jobs = products.map { nl_gemv(w: $0.weight, x: x, y: $0.y, rows: $0.outDim, cols: inDim) }
        jobs.withUnsafeBufferPointer { nl_gemv_f32_many($0.baseAddress, Int32($0.count)) }
    }

    /// OpenBLAS runs single-threaded: the reference's parallelism is its own pool's (see `matmul`).
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// y = x / sqrt(mean(x²) + eps) · w, per row. x, y (rows, dim); w (dim). Sum in Double.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, dim: Int, weight: UnsafePointer<Float>,
                               eps: Float, into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * dim, yr = y + r * dim
            var sum: Double = 0
            for i in 0..<dim { sum += Double(xr[i]) * Double(xr[i]) }
            let scale = Float(1 / (sum / Double(dim) + Double(eps)).squareRoot())
            for i in 0..<dim { yr[i] = weight[i] * (xr[i] * scale) }
        }
    }

    /// y = x + b per row. x, y (rows, width); b (width). fp32.
    public static func addBias(_ x: UnsafePointer<Float>, rows: Int, width: Int, bias: UnsafePointer<Float>,
                               into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            for i in 0..<width { yr[i] = xr[i] + bias[i] }
        }
    }

    /// Rotates every head of x in place. x (rows, heads, headDim); row r is at position
    /// `start + r`; `cos`/`sin` are (position, headDim/2) tables.
    public static func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int,
                            start: Int, pairing: RopePairing, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = headDim / 2
        for r in 0..<rows {
            let c = cos + (start + r) * half, s = sin + (start + r) * half
            for h in 0..<heads {
                let v = x + (r * heads + h) * headDim
                switch pairing {
                case .halfSplit:
                    for i in 0..<half {
                        let a = v[i], b = v[i + half]
                        v[i] = a * c[i] - b * s[i]
                        v[i + half] = b * c[i] + a * s[i]
                    }
                case .adjacent:
                    for i in 0..<half {
                        let a = v[2 * i], b = v[2 * i + 1]
                        v[2 * i] = a * c[i] - b * s[i]
                        v[2 * i + 1] = b * c[i] + a * s[i]
                    }
                }
            }
        }
    }

    /// In-place softmax of x[0..<count], max-subtracted, fp32.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var maxValue = -Float.infinity
        for i in 0..<count where x[i] > maxValue { maxValue = x[i] }
        var sum: Float = 0
        for i in 0..<count {
            let e = Foundation.exp(x[i] - maxValue)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }

    /// out = silu(gate) · up, element-wise over n values.
    public static func swiglu(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, count n: Int,
                              into out: UnsafeMutablePointer<Float>) {
        parallelFor(n, grain: 8192) { begin, end in
            for i in begin..<end {
                let g = gate[i]
                out[i] = g / (1 + Foundation.exp(-g)) * up[i]
            }
        }
    }

    /// out = a + b over n values.
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int,
                           into out: UnsafeMutablePointer<Float>) {
        for i in 0..<n { out[i] = a[i] + b[i] }
    }

    /// Causal GQA attention for `rows` queries at positions start..<start+rows over a cache that
    /// already holds positions 0..<start+rows.
    /// q (rows, heads, headDim); kCache/vCache (kvHeads, capacity, headDim) of this layer;
    /// out (rows, heads, headDim); scratch (decode) holds at least heads/kvHeads × (start + 1) floats, and decode spreads
    /// KV heads over the pool when `scratchCount` says it holds heads × (start + 1).
    public static func attention(q: UnsafePointer<Float>, rows: Int, start: Int, heads: Int, kvHeads: Int,
                                 headDim: Int, kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                 capacity: Int, out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                 scratchCount: Int = 0) {
        let total = start + rows
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        let qStride = heads * headDim
        if rows == 1 {
            // Decode: a group's query heads are contiguous; one product for all of them per KV head, KV heads
            // spread over the pool (each with its own part of scratch) once the cache is long enough to pay for it.
            let parallel = scratchCount >= heads * total && total * headDim * group >= 16384
            parallelFor(kvHeads, grain: parallel ? 1 : kvHeads) { kvBegin, kvEnd in
                for kv in kvBegin..<kvEnd {
                    let k = kCache + kv * capacity * headDim, v = vCache + kv * capacity * headDim
                    let scores = scratch + (parallel ? kv * group * total : 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(group), Int32(total), Int32(headDim),
                                scale, q + kv * group * headDim, Int32(headDim), k, Int32(headDim), 0, scores, Int32(total))
                    for g in 0..<group { softmax(scores + g * total, count: total) }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(group), Int32(headDim), Int32(total),
                                1, scores, Int32(total), v, Int32(headDim), 0, out + kv * group * headDim, Int32(headDim))
                }
            }
            return
        }
        // Prefill: heads spread over the pool (each chunk with its own scores buffer); causal blocks
        // of rows, each block attending only to the positions its last row sees.
        parallelFor(heads, grain: 1) { hBegin, hEnd in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: min(rows, attentionBlock) * total)
            defer { scores.deallocate() }
            for h in hBegin..<hEnd {
                let kv = h / group
                let k = kCache + kv * capacity * headDim, v = vCache + kv * capacity * headDim
                var r0 = 0
                while r0 < rows {
                    let r1 = min(r0 + attentionBlock, rows)
                    let cols = start + r1
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r1 - r0), Int32(cols), Int32(headDim),
                                scale, q + r0 * qStride + h * headDim, Int32(qStride), k, Int32(headDim), 0, scores, Int32(cols))
                    for r in 0..<(r1 - r0) {
                        let row = scores + r * cols
                        let visible = start + r0 + r + 1
                        softmax(row, count: visible)
                        for j in visible..<cols { row[j] = 0 }
                    }
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(r1 - r0), Int32(headDim), Int32(cols),
                                1, scores, Int32(cols), v, Int32(headDim), 0, out + r0 * qStride + h * headDim, Int32(qStride))
                    r0 = r1
                }
            }
        }
    }
}
