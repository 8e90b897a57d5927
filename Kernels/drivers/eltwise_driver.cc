// Tile drivers of the row-wise designs: rmsnorm, rope (with the step params buffer), swiglu and residual add.
#include <cmath>

#include "emu_core.h"
#include "kernels.h"

extern "C" {

int32_t npuk_rmsnorm_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t n, float eps) {
    if (rows <= 0 || n <= 0 || n % 32) return NPUK_BAD_SHAPE;
    emu::power_on();
    emu::CoreArena arena;
    bfloat16 *wbuf = arena.alloc<bfloat16>(n); // resident for the whole run
    bfloat16 *xbuf[2] = {arena.alloc<bfloat16>(n), arena.alloc<bfloat16>(n)};
    bfloat16 *ybuf[2] = {arena.alloc<bfloat16>(n), arena.alloc<bfloat16>(n)};
    if (arena.overflowed()) return NPUK_CORE_MEMORY;
    emu::dma_2d(wbuf, emu::bf(w), 1, n, 0);
    for (int r = 0; r < rows; ++r) {
        const int s = r & 1;
        emu::dma_2d(xbuf[s], emu::bf(x) + long(r) * n, 1, n, 0);
        rmsnorm_bf16(xbuf[s], wbuf, ybuf[s], n, eps);
        std::memcpy(y + long(r) * n, ybuf[s], sizeof(uint16_t) * n);
    }
    return NPUK_OK;
}

// Issue 17: the hub's Qwen steps, in place on the row buffer as the hub applies them before RoPE.
int32_t npuk_head_rmsnorm_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t heads,
                               int32_t head_dim, float eps) {
    if (rows <= 0 || heads <= 0 || head_dim <= 0 || head_dim % 16) return NPUK_BAD_SHAPE;
    const long n = long(heads) * head_dim;
    emu::power_on();
    emu::CoreArena arena;
    bfloat16 *wbuf = arena.alloc<bfloat16>(size_t(head_dim));
    bfloat16 *row[2] = {arena.alloc<bfloat16>(size_t(n)), arena.alloc<bfloat16>(size_t(n))};
    if (arena.overflowed()) return NPUK_CORE_MEMORY;
    emu::dma_2d(wbuf, emu::bf(w), 1, head_dim, 0);
    for (int r = 0; r < rows; ++r) {
        const int s = r & 1;
        emu::dma_2d(row[s], emu::bf(x) + r * n, 1, int(n), 0);
        qk_norm_bf16(row[s], wbuf, row[s], heads, 0, head_dim, eps);   // the hub's entry, q heads only
        std::memcpy(y + r * n, row[s], sizeof(uint16_t) * size_t(n));
    }
    return NPUK_OK;
}

int32_t npuk_bias_add_bf16(const uint16_t *x, const uint16_t *b, uint16_t *y, int32_t rows, int32_t n) {
    if (rows <= 0 || n <= 0 || n % 16) return NPUK_BAD_SHAPE;
    emu::power_on();
    emu::CoreArena arena;
    bfloat16 *bbuf = arena.alloc<bfloat16>(size_t(n));
    bfloat16 *row[2] = {arena.alloc<bfloat16>(size_t(n)), arena.alloc<bfloat16>(size_t(n))};
    if (arena.overflowed()) return NPUK_CORE_MEMORY;
    emu::dma_2d(bbuf, emu::bf(b), 1, n, 0);
    for (int r = 0; r < rows; ++r) {
        const int s = r & 1;
        emu::dma_2d(row[s], emu::bf(x) + long(r) * n, 1, n, 0);
        bias_add_bf16(row[s], bbuf, row[s], n);
        std::memcpy(y + long(r) * n, row[s], sizeof(uint16_t) * size_t(n));
    }
    return NPUK_OK;
}

// Issue 17, single rounding: the hub's Qwen step on fp32 rows (decode_driver.cc Token::qwen_step's kernel calls).
int32_t npuk_qwen_hub_f32(const float *x, const uint16_t *w, uint16_t *y, int32_t family, int32_t q_heads,
                          int32_t kv_heads, int32_t head_dim, float eps) {
    if ((family != 1 && family != 2) || q_heads <= 0 || kv_heads <= 0 || head_dim <= 0 || head_dim % 16)
        return NPUK_BAD_SHAPE;
    const long heads = long(q_heads) + 2L * kv_heads, n = heads * head_dim;
    const long wn = family == 1 ? n : 2L * head_dim;
    emu::power_on();
    emu::CoreArena arena;
    bfloat16 *wbuf = arena.alloc<bfloat16>(size_t(wn));
    bfloat16 *row = arena.alloc<bfloat16>(2 * size_t(head_dim));   // one head: head_dim fp32 values
    bfloat16 *out = arena.alloc<bfloat16>(size_t(n));
    if (arena.overflowed()) return NPUK_CORE_MEMORY;
    emu::dma_2d(wbuf, emu::bf(w), 1, int(wn), 0);
    for (long j = 0; j < heads; ++j) {
        std::memcpy(row, x + j * head_dim, 4 * size_t(head_dim));
        if (family == 1) bias_add_f32_bf16(row, wbuf, out, int32_t(j), head_dim);
        else if (j < q_heads + kv_heads) qk_norm_f32_bf16(row, wbuf, out, int32_t(j), q_heads, head_dim, eps);
        else round_f32_bf16(row, out + (q_heads + kv_heads) * long(head_dim), int32_t(j - q_heads - kv_heads), head_dim);
    }
    std::memcpy(y, out, sizeof(uint16_t) * size_t(n));
    return NPUK_OK;
}

int32_t npuk_rope_bf16(const uint16_t *x, uint16_t *y, int32_t rows, int32_t heads, int32_t head_dim, int32_t start,
                       int32_t adjacent, const float *cos_table, const float *sin_table, int32_t table_positions) {
    if (rows <= 0 || heads <= 0 || head_dim <= 0 || (head_dim % 32 && head_dim != 16) || start < 0 ||
        start + rows > table_positions)
        return NPUK_BAD_SHAPE;
    const int half = head_dim / 2, width = heads * head_dim;
    // Host side: the step params buffer carries each row's cos/sin (bf16, nearest even) after the
    // int32 header; the host copies them from its fp32 tables once per step.
    aie::set_rounding(aie::rounding_mode::conv_even);
    std::unique_ptr<bfloat16[]> params(new bfloat16[size_t(rows) * head_dim]);
    for (int r = 0; r < rows; ++r)
        for (int i = 0; i < half; ++i) {
            params[size_t(r) * head_dim + i] = bfloat16(cos_table[size_t(start + r) * half + i]);
            params[size_t(r) * head_dim + half + i] = bfloat16(sin_table[size_t(start + r) * half + i]);
        }
    emu::power_on();
    emu::CoreArena arena;
    bfloat16 *csbuf[2] = {arena.alloc<bfloat16>(head_dim), arena.alloc<bfloat16>(head_dim)};
    bfloat16 *xbuf[2] = {arena.alloc<bfloat16>(width), arena.alloc<bfloat16>(width)};
    bfloat16 *ybuf[2] = {arena.alloc<bfloat16>(width), arena.alloc<bfloat16>(width)};
    if (arena.overflowed()) return NPUK_CORE_MEMORY;
    for (int r = 0; r < rows; ++r) {
        const int s = r & 1;
        emu::dma_2d(csbuf[s], params.get() + size_t(r) * head_dim, 1, head_dim, 0);
        emu::dma_2d(xbuf[s], emu::bf(x) + long(r) * width, 1, width, 0);
        if (adjacent) rope_adjacent_bf16(xbuf[s], csbuf[s], ybuf[s], heads, head_dim);
        else rope_halfsplit_bf16(xbuf[s], csbuf[s], ybuf[s], heads, head_dim);
        std::memcpy(y + long(r) * width, ybuf[s], sizeof(uint16_t) * width);
    }
    return NPUK_OK;
}

} // extern "C"

namespace {
// Element-wise binary op: tiles of `tile` values dealt round-robin to `cores` cores.
template <class Kernel>
int32_t run_binary(const uint16_t *a, const uint16_t *b, uint16_t *out, int n, int tile, int cores, Kernel kernel) {
    if (n <= 0 || tile <= 0 || cores <= 0 || tile % 16 || n % tile) return NPUK_BAD_SHAPE;
    for (int core = 0; core < cores; ++core) {
        emu::power_on();
        emu::CoreArena arena;
        bfloat16 *abuf[2] = {arena.alloc<bfloat16>(tile), arena.alloc<bfloat16>(tile)};
        bfloat16 *bbuf[2] = {arena.alloc<bfloat16>(tile), arena.alloc<bfloat16>(tile)};
        bfloat16 *obuf[2] = {arena.alloc<bfloat16>(tile), arena.alloc<bfloat16>(tile)};
        if (arena.overflowed()) return NPUK_CORE_MEMORY;
        int s = 0;
        for (int t = core; t < n / tile; t += cores, s ^= 1) {
            emu::dma_2d(abuf[s], emu::bf(a) + long(t) * tile, 1, tile, 0);
            emu::dma_2d(bbuf[s], emu::bf(b) + long(t) * tile, 1, tile, 0);
            kernel(abuf[s], bbuf[s], obuf[s], tile);
            std::memcpy(out + long(t) * tile, obuf[s], sizeof(uint16_t) * tile);
        }
    }
    return NPUK_OK;
}
} // namespace

extern "C" {

int32_t npuk_swiglu_bf16(const uint16_t *gate, const uint16_t *up, uint16_t *out, int32_t n, int32_t tile,
                         int32_t cores) {
    return run_binary(gate, up, out, n, tile, cores, swiglu_bf16);
}

int32_t npuk_add_bf16(const uint16_t *a, const uint16_t *b, uint16_t *out, int32_t n, int32_t tile, int32_t cores) {
    return run_binary(a, b, out, n, tile, cores, add_bf16);
}

} // extern "C"
