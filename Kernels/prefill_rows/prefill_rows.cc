// prefill_rows: the prefill row core's data movement and bookkeeping — its U-value fifo objects into and out of its row buffers, the K||V rows of every head, the chunk header rows of the packs, the last prompt row, the rows past the prompt.
//
// The row core (Kernels/decode/prefill.py) moves every row of the chunk through fifo objects of U values (the
// contract's row-core unit) and computes on whole rows with decode's kernels (rmsnorm, rope, add) and
// swiglu_tiles_bf16. A chunk header is 16 bf16 slots holding int32 [start, rows, 1, bucket, 0...]. Copies use
// 32-value vectors where offset and count allow (64-byte aligned: aieApi.vectorAlignment), else values one by one.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

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

// The chunk row r's K||V row of every KV head into kv (2·heads·hd values: head h's roped K row at 2h·hd, its V row at
// (2h + 1)·hd, the block's layout order): roped K from y[qdim + h·hd ..) (rope's output), V from t[qdim + heads·hd
// + h·hd ..) (the qkv row as the GEMM wrote it). A row at or past the chunk's prompt rows (header field 1 in
// hdr[0 .. 16)) is written as zeros.
void kv_rows_bf16(const bfloat16 *__restrict y, const bfloat16 *__restrict t, bfloat16 *__restrict kv,
                  const bfloat16 *__restrict hdr, int32_t r, int32_t heads, int32_t qdim, int32_t hd) {
    if (r >= header_field(hdr, 1)) {
        for (int j = 0; j < 2 * heads * hd; ++j) kv[j] = bfloat16::from_bits(0);
        return;
    }
    for (int h = 0; h < heads; ++h) {
        copy_values(y + qdim + h * hd, kv + 2 * h * hd, hd);
        copy_values(t + qdim + heads * hd + h * hd, kv + (2 * h + 1) * hd, hd);
    }
}

// hdrs[0 .. 16) holds the chunk header; every head h of `heads` gets a header row hdrs[h·hd .. (h + 1)·hd): the
// header, then zeros (the packs' last row, read by the attention cores).
void prefill_headers_bf16(bfloat16 *__restrict hdrs, int32_t heads, int32_t hd) {
    for (int h = heads - 1; h >= 0; --h)
        for (int j = hd - 1; j >= 0; --j) hdrs[h * hd + j] = j < 16 ? hdrs[j] : bfloat16::from_bits(0);
}

// dst = src (n values) when r is the chunk's last prompt row (rows - 1 of the header in hdr[0 .. 16)).
void keep_last_row_bf16(const bfloat16 *__restrict src, bfloat16 *__restrict dst, const bfloat16 *__restrict hdr,
                        int32_t r, int32_t n) {
    if (r == header_field(hdr, 1) - 1) copy_values(src, dst, n);
}

} // extern "C"
