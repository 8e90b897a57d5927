// Tile drivers of the per-op prefill kernels (before issue 13's fused prefill run, prefill_driver.cc): blocked mmul matmul (bf16 / Q4_1 / Q4_0 weights) and causal chunk attention with KV append.
#include <algorithm>
#include <vector>

#include "emu_core.h"
#include "kernels.h"

namespace {

// X rows r0.. (tr x tk at column k0) into 4x8 blocks; rows past `rows` are the host's zero padding.
void dma_blocks_a(bfloat16 *dst, const uint16_t *x, int rows, int k, int r0, int k0, int tr, int tk) {
    const int kbs = tk / 8;
    for (int i = 0; i < tr / 4; ++i)
        for (int kb = 0; kb < kbs; ++kb)
            for (int rr = 0; rr < 4; ++rr)
                for (int c = 0; c < 8; ++c) {
                    const int row = r0 + i * 4 + rr, col = k0 + kb * 8 + c;
                    dst[((i * kbs + kb) * 4 + rr) * 8 + c] =
                        bfloat16::from_bits(row < rows ? x[long(row) * k + col] : 0);
                }
}

// W rows n0.. (tn x tk at column k0) into 8x8 blocks of W^T.
void dma_blocks_b(bfloat16 *dst, const uint16_t *w, int k, int n0, int k0, int tk, int tn) {
    const int jbs = tn / 8;
    for (int kb = 0; kb < tk / 8; ++kb)
        for (int j = 0; j < jbs; ++j)
            for (int kk = 0; kk < 8; ++kk)
                for (int nn = 0; nn < 8; ++nn)
                    dst[((kb * jbs + j) * 8 + kk) * 8 + nn] =
                        bfloat16::from_bits(w[long(n0 + j * 8 + nn) * k + k0 + kb * 8 + kk]);
}

// Q4: NPUK_WEIGHTS_BF16 (0), _Q4_1 (20-byte blocks) or _Q4_0 (18-byte blocks), the blocks as stored.
template <int Q4>
int32_t run_matmul(const uint16_t *x, const void *wv, uint16_t *y, int rows, int chunk, int m, int k, int tr, int tk,
                   int tn, int cores) {
    if (rows <= 0 || rows > chunk || chunk % tr || m % tn || k % tk || tr % 4 || tk % 32 || tn % 8 || cores <= 0 ||
        (tr * tn) % 32)
        return NPUK_BAD_SHAPE;
    const int row_tiles = chunk / tr, col_tiles = m / tn, tiles = row_tiles * col_tiles;
    for (int core = 0; core < cores; ++core) {
        emu::power_on();
        emu::CoreArena arena;
        bfloat16 *abuf[2] = {arena.alloc<bfloat16>(size_t(tr) * tk), arena.alloc<bfloat16>(size_t(tr) * tk)};
        bfloat16 *bbuf[2] = {nullptr, nullptr};
        uint8_t *qb[2] = {nullptr, nullptr};   // Q4 tile as GGUF stores it: tn rows x tk/32 blocks (20 or 18 bytes)
        if (Q4) {
            const size_t block_bytes = Q4 == NPUK_WEIGHTS_Q4_0 ? 18 : 20;
            for (auto &q : qb) q = arena.alloc<uint8_t>(size_t(tn) * tk / 32 * block_bytes);
            bbuf[0] = arena.alloc<bfloat16>(size_t(tk) * tn); // dequantized scratch, single
        } else {
            for (auto &b : bbuf) b = arena.alloc<bfloat16>(size_t(tk) * tn);
        }
        float *acc = arena.alloc<float>(size_t(tr) * tn);
        bfloat16 *cbuf = arena.alloc<bfloat16>(size_t(tr) * tn);
        if (arena.overflowed()) return NPUK_CORE_MEMORY;
        int s = 0;
        for (int t = core; t < tiles; t += cores) {
            const int r0 = (t / col_tiles) * tr, n0 = (t % col_tiles) * tn;
            if (r0 >= rows) continue; // all-padding row tile: the host never reads it back
            for (int kt = 0; kt < k / tk; ++kt, s ^= 1) {
                dma_blocks_a(abuf[s], x, rows, k, r0, kt * tk, tr, tk);
                if (Q4 == NPUK_WEIGHTS_Q4_0) { // tn rows' k-slices of 18-byte blocks, row-major, unsplit
                    const long row_bytes = long(k / 32) * 18, slice = long(tk / 32) * 18;
                    emu::dma_2d(qb[s], static_cast<const uint8_t *>(wv) + long(n0) * row_bytes + long(kt) * slice, tn,
                                int(slice), row_bytes);
                    matmul_q4_0(abuf[s], qb[s], bbuf[0], acc, tr, tk, tn, kt == 0);
                } else if (Q4) {
                    const uint8_t *w = static_cast<const uint8_t *>(wv);
                    const long row_bytes = long(k / 32) * 20;
                    emu::dma_2d(qb[s], w + long(n0) * row_bytes + long(kt) * (tk / 32) * 20, tn, (tk / 32) * 20, row_bytes);
                    matmul_q4_1_blocks(abuf[s], qb[s], bbuf[0], acc, tr, tk, tn, kt == 0);
                } else {
                    dma_blocks_b(bbuf[s], static_cast<const uint16_t *>(wv), k, n0, kt * tk, tk, tn);
                    matmul_bf16(abuf[s], bbuf[s], acc, tr, tk, tn, kt == 0);
                }
            }
            matmul_out_bf16(acc, cbuf, tr * tn);
            const int jbs = tn / 8; // un-block 4x8 blocks into row-major Y
            for (int i = 0; i < tr / 4; ++i)
                for (int j = 0; j < jbs; ++j)
                    for (int rr = 0; rr < 4; ++rr) {
                        const int row = r0 + i * 4 + rr;
                        if (row < rows)
                            std::memcpy(y + long(row) * m + n0 + j * 8, cbuf + ((i * jbs + j) * 4 + rr) * 8, 16);
                    }
        }
    }
    return NPUK_OK;
}

} // namespace

extern "C" {

int32_t npuk_matmul_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t chunk, int32_t m,
                         int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores) {
    return run_matmul<NPUK_WEIGHTS_BF16>(x, w, y, rows, chunk, m, k, tr, tk, tn, cores);
}

int32_t npuk_matmul_q4_1(const uint16_t *x, const uint8_t *w, uint16_t *y, int32_t rows, int32_t chunk, int32_t m,
                         int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores) {
    if (tk > 512) return NPUK_BAD_SHAPE;
    return run_matmul<NPUK_WEIGHTS_Q4_1>(x, w, y, rows, chunk, m, k, tr, tk, tn, cores);
}

int32_t npuk_matmul_q4_0(const uint16_t *x, const uint8_t *w, uint16_t *y, int32_t rows, int32_t chunk, int32_t m,
                         int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores) {
    if (tk > 512 || tk % 64) return NPUK_BAD_SHAPE;
    return run_matmul<NPUK_WEIGHTS_Q4_0>(x, w, y, rows, chunk, m, k, tr, tk, tn, cores);
}

int32_t npuk_attn_prefill_bf16(const uint16_t *q, const uint16_t *k_new, const uint16_t *v_new, uint16_t *k_cache,
                               uint16_t *v_cache, int32_t capacity, int32_t start, int32_t rows, int32_t heads,
                               int32_t kv_heads, int32_t head_dim, int32_t block, int32_t qrows, uint16_t *out) {
    if (heads <= 0 || kv_heads <= 0 || heads % kv_heads || head_dim <= 0 || head_dim % 16 || block <= 0 ||
        qrows <= 0 || capacity % block || start < 0 || rows <= 0 || start + rows > capacity)
        return NPUK_BAD_SHAPE;
    const int group = heads / kv_heads;
    const long hd = head_dim;
    for (int r = 0; r < rows; ++r) // append the chunk's K/V rows at start..start+rows-1
        for (int h = 0; h < kv_heads; ++h) {
            std::memcpy(k_cache + (long(h) * capacity + start + r) * hd, k_new + (long(r) * kv_heads + h) * hd, 2 * hd);
            std::memcpy(v_cache + (long(h) * capacity + start + r) * hd, v_new + (long(r) * kv_heads + h) * hd, 2 * hd);
        }
    const int blocks = (start + rows + block - 1) / block;
    for (int head = 0; head < heads; ++head) {
        const int kv = head / group;
        for (int row0 = 0; row0 < rows; row0 += qrows) { // one core per (head, row group)
            emu::power_on();
            emu::CoreArena arena;
            bfloat16 *qbuf = arena.alloc<bfloat16>(size_t(qrows) * hd);
            bfloat16 *kbuf[2] = {arena.alloc<bfloat16>(size_t(block) * hd), arena.alloc<bfloat16>(size_t(block) * hd)};
            bfloat16 *vbuf[2] = {arena.alloc<bfloat16>(size_t(block) * hd), arena.alloc<bfloat16>(size_t(block) * hd)};
            float *state = arena.alloc<float>(size_t(qrows) * (hd + 16));
            float *scores = arena.alloc<float>(block);
            int32_t *params = arena.alloc<int32_t>(8);
            bfloat16 *obuf = arena.alloc<bfloat16>(size_t(qrows) * hd);
            if (arena.overflowed()) return NPUK_CORE_MEMORY;
            params[0] = start + rows - 1;
            params[1] = start;
            params[2] = rows;
            const int n = std::min(qrows, rows - row0);
            for (int r = 0; r < qrows; ++r) // q rows of this head, strided by heads*head_dim in DDR
                std::memcpy(qbuf + r * hd, r < n ? q + (long(row0 + r) * heads + head) * hd : q, 2 * hd);
            attn_decode_init_f32(state, qrows, head_dim);
            // the causal limit of this core's last row bounds the blocks it needs
            const int last = std::min(blocks, (start + row0 + n - 1) / block + 1);
            for (int b = 0, s = 0; b < last; ++b, s ^= 1) {
                const long base = (long(kv) * capacity + long(b) * block) * hd;
                std::memcpy(kbuf[s], k_cache + base, 2 * block * hd);
                std::memcpy(vbuf[s], v_cache + base, 2 * block * hd);
                attn_prefill_bf16(qbuf, kbuf[s], vbuf[s], state, scores, params, row0, qrows, b, block, head_dim);
            }
            attn_decode_out_bf16(state, obuf, n, head_dim);
            for (int r = 0; r < n; ++r)
                std::memcpy(out + (long(row0 + r) * heads + head) * hd, obuf + r * hd, 2 * hd);
        }
    }
    return NPUK_OK;
}

} // extern "C"
