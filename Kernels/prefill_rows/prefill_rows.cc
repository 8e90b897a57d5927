// prefill_rows: the prefill row core's data movement and bookkeeping — weights into and rows out of its row buffers, RoPE and the K||V rows of each streamed q ‖ k ‖ v object, the chunk header rows of the packs, the last prompt row, the rows past the prompt.
//
// The row core (Kernels/decode/prefill.py) moves every row of the chunk through fifo objects of U values (the
// contract's row-core unit) and works on them object by object (issue 17: a row of hidden 3072 / 4096 no longer fits
// the core seven times): RMSNorm in two passes (rmsnorm_sum_bf16 / rmsnorm_scale_bf16 over one H-value row buffer),
// RoPE per object (qkv_rope_bf16), the residual adds and swiglu_tiles_bf16 object to object. A chunk header is 16
// bf16 slots holding int32 [start, rows, 1, bucket, 0...]. Copies use 32-value vectors where offset and count allow
// (64-byte aligned: aieApi.vectorAlignment), else values one by one.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

extern "C" {   // rope.cc, linked into the same object (prefill_rows.o)
void rope_halfsplit_bf16(const bfloat16 *x, const bfloat16 *cs, bfloat16 *y, int32_t heads, int32_t head_dim);
void rope_adjacent_bf16(const bfloat16 *x, const bfloat16 *cs, bfloat16 *y, int32_t heads, int32_t head_dim);
}

static inline void copy_values(const bfloat16 *__restrict src, bfloat16 *__restrict dst, int n) {
    const bool vec = (reinterpret_cast<uintptr_t>(src) % 64 == 0) && (reinterpret_cast<uintptr_t>(dst) % 64 == 0);
    int j = 0;
    if (vec)
        for (; j + int(kVec) <= n; j += kVec) aie::store_v(dst + j, aie::load_v<kVec>(src + j));
    for (; j < n; ++j) dst[j] = src[j];
}

static inline int32_t header_field(const bfloat16 *hdr, int field) {
    int32_t v;
    __builtin_memcpy(&v, hdr + 2 * field, 4);
    return v;
}

extern "C" {

// row[at .. at + n) = obj[0 .. n): a fifo object into a row buffer.
void copy_in_bf16(const bfloat16 *__restrict obj, bfloat16 *__restrict row, int32_t at, int32_t n) {
    copy_values(obj, row + at, n);
}

// obj[0 .. n) = row[at .. at + n): a row buffer's values into a fifo object.
void copy_out_bf16(const bfloat16 *__restrict row, bfloat16 *__restrict obj, int32_t at, int32_t n) {
    copy_values(row + at, obj, n);
}

// One U-value object of chunk row r's q ‖ k ‖ v (the row's values at .. at + n) into out: the heads before rope_end
// (q ‖ k) rotated with the row's cs (rope.cc; adjacent: 1 adjacent pairing, 0 half-split), the values past it (v)
// copied. An object at or past kv_at (the K‖V part, bound for kv_blk) of a row at or past the chunk's prompt rows
// (header field 1 of hdr[0 .. 16)) is written as zeros. at, rope_end, kv_at and n are multiples of hd.
void qkv_rope_bf16(const bfloat16 *__restrict obj, const bfloat16 *__restrict cs, bfloat16 *__restrict out,
                   const bfloat16 *__restrict hdr, int32_t r, int32_t at, int32_t n, int32_t rope_end, int32_t kv_at,
                   int32_t hd, int32_t adjacent) {
    if (at >= kv_at && r >= header_field(hdr, 1)) {
        for (int j = 0; j < n; ++j) out[j] = bfloat16::from_bits(0);
        return;
    }
    const int roped = rope_end <= at ? 0 : (rope_end - at >= n ? n : rope_end - at);
    if (roped > 0) {
        if (adjacent) rope_adjacent_bf16(obj, cs, out, roped / hd, hd);
        else rope_halfsplit_bf16(obj, cs, out, roped / hd, hd);
    }
    if (roped < n) copy_values(obj + roped, out + roped, n - roped);
}

// hdrs[0 .. heads·hd): `heads` header rows of hd values, each the chunk header hdr[0 .. 16) then zeros (the packs'
// last row, read by the attention cores). hdr may be the header object itself or a header row made earlier.
void prefill_headers_bf16(const bfloat16 *__restrict hdr, bfloat16 *__restrict hdrs, int32_t heads, int32_t hd) {
    for (int h = 0; h < heads; ++h)
        for (int j = 0; j < hd; ++j) hdrs[h * hd + j] = j < 16 ? hdr[j] : bfloat16::from_bits(0);
}

// dst[at .. at + n) = obj[0 .. n) when r is the chunk's last prompt row (rows - 1 of the header in hdr[0 .. 16)).
void keep_last_row_bf16(const bfloat16 *__restrict obj, bfloat16 *__restrict dst, const bfloat16 *__restrict hdr,
                        int32_t r, int32_t at, int32_t n) {
    if (r == header_field(hdr, 1) - 1) copy_values(obj, dst + at, n);
}

} // extern "C"
