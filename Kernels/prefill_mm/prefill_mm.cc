// prefill_mm: a prefill GEMM core's work on one weight tile of decode's channel streams: acc (C x tm, fp32) (+)= X (C x tk) . W^T with aie::mmul<8, 8, 8> (bf16 in, fp32 accumulate); W bf16, GGUF Q4_1 or Q4_0 as the decode token's gemv cores receive it. Qwen: the QKV stage also writes fp32 rows unrounded (prefill_mm_out_f32, issue 17).
//
// Layouts (the prefill contract, Kernels/decode/README.md "Prefill"):
//   w    the tile as decode streams it: tm rows x tk values row-major (bf16), or tm rows x tk/32 GGUF blocks
//        (Q4_1 20 bytes, Q4_0 18 bytes) row by row;
//   x    the chunk's activation slice, C rows x tk, in 8x8 blocks (memory tile (4, 1) blocks it): block (i, kb) of
//        rows 8i.., columns 8kb.. at (i·tk/8 + kb)·64, each row-major;
//   acc  C x tm fp32 in 8x8 blocks: block (i, j) of rows 8i.., output rows (n) 8j.. at (i·tm/8 + j)·64, row-major.
// The mmul's B operand is W^T (k x n): each 8x8 piece of the row-major tile is gathered (8 rows of 8 values) and
// transposed in the core (three unzip rounds), since a DMA moves 4-byte words and cannot transpose bf16 values.
// Numerics: bf16 mmul as aie2p's AIE API computes it without AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16 (exact
// products, fp32 sums in k order: aieApi.mmul.bfp16Emulation); fp32 accumulation across all of K; Q4 tiles are
// dequantized to bf16 first (nearest even), as matmul.cc does.
#include <aie_api/aie.hpp>

#include "../common/f16.h"
#include <stdint.h>

static constexpr unsigned kM = 8;   // aie::mmul<8, 8, 8> (aieApi.mmul.bf16Shapes)
using Mmul = aie::mmul<kM, kM, kM, bfloat16, bfloat16, accauto>;

// An 8x8 row-major matrix transposed: each unzip (even elements, then odd) rotates the 6 index bits right by one;
// three rotations swap row and column bits.
static inline aie::vector<bfloat16, 64> transpose8x8(aie::vector<bfloat16, 64> v) {
    for (int r = 0; r < 3; ++r) v = aie::concat(aie::filter_even(v, 1), aie::filter_odd(v, 1));
    return v;
}

// Rows 8j.. and columns 8kb.. of a row-major matrix with `stride` values per row, as an 8x8 row-major vector.
static inline aie::vector<bfloat16, 64> gather8x8(const bfloat16 *m, int stride) {
    aie::vector<bfloat16, 64> v;
    for (int r = 0; r < 8; ++r) v.insert(r, aie::load_v<8>(m + r * stride));
    return v;
}

// acc (+)= x . w^T for the row-major bf16 tile w (tm x tk); rows = C (the chunk), all multiples of 8.
static inline void mm_tile(const bfloat16 *__restrict w, const bfloat16 *__restrict x, float *__restrict acc, int tm,
                           int tk, int rows, int first) {
    const int kbs = tk / kM, jbs = tm / kM;
    for (int i = 0; i < rows / int(kM); ++i)
        for (int j = 0; j < jbs; ++j) {
            float *c = acc + (i * jbs + j) * 64;
            Mmul m;
            if (first) {
                m = Mmul(aie::zeros<accfloat, 64>());
            } else {
                aie::accum<accfloat, 64> prior;
                prior.from_vector(aie::load_v<64>(c));
                m = Mmul(prior);
            }
            for (int kb = 0; kb < kbs; ++kb)
                m.mac(aie::load_v<64>(x + (i * kbs + kb) * 64), transpose8x8(gather8x8(w + (j * kM) * tk + kb * kM, tk)));
            aie::store_v(c, m.to_accum().to_vector<float>());
        }
}

extern "C" {

// acc (+)= x . w^T, w a bf16 tile (tm x tk row-major); first = 1 starts the accumulator (the tile's first k-slice).
void prefill_mm_bf16(const bfloat16 *__restrict w, const bfloat16 *__restrict x, float *__restrict acc, int32_t tm,
                     int32_t tk, int32_t rows, int32_t first) {
    event0();
    mm_tile(w, x, acc, tm, tk, rows, first);
    event1();
}

// The same with a Q4_1 tile as GGUF stores it (tm rows x tk/32 blocks of 20 bytes: f16 d, f16 m, 16 bytes of
// nibbles): dequantized into scr (tm x tk bf16 row-major) as bf16(d·q + m) in fp32, nearest even, then the mmul.
void prefill_mm_q4_1(const uint8_t *__restrict w, const bfloat16 *__restrict x, bfloat16 *__restrict scr,
                     float *__restrict acc, int32_t tm, int32_t tk, int32_t rows, int32_t first) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int bpr = tk / 32;
    for (int n = 0; n < tm; ++n)
        for (int blk = 0; blk < bpr; ++blk) {
            const uint8_t *p = w + long(n * bpr + blk) * 20;
            uint16_t dh, mh;
            __builtin_memcpy(&dh, p, 2);
            __builtin_memcpy(&mh, p + 2, 2);
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(p + 4, 4);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            // q·d + m in fp32 (aie2p multiplies float×float only, aieApi.mul.typePairs); q·d is exact
            aie::accum<accfloat, 32> v = aie::mul(aie::to_float<float>(q8), f16_to_f32(dh));
            v = aie::add(v, aie::broadcast<float, 32>(f16_to_f32(mh)));
            aie::store_v(scr + n * tk + blk * 32, v.to_vector<bfloat16>());
        }
    mm_tile(scr, x, acc, tm, tk, rows, first);
    event1();
}

// The same with a Q4_0 tile (tm rows x tk/32 blocks of 18 bytes: f16 d, 16 bytes of nibbles): bf16(d·(q - 8)),
// the product exact in fp32, one rounding to nearest even.
void prefill_mm_q4_0(const uint8_t *__restrict w, const bfloat16 *__restrict x, bfloat16 *__restrict scr,
                     float *__restrict acc, int32_t tm, int32_t tk, int32_t rows, int32_t first) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int bpr = tk / 32;
    const aie::vector<float, 32> eight = aie::broadcast<float, 32>(8.0f);
    for (int n = 0; n < tm; ++n)
        for (int blk = 0; blk < bpr; ++blk) {
            const uint8_t *p = w + long(n * bpr + blk) * 18;
            uint16_t dbits;
            __builtin_memcpy(&dbits, p, 2);
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(p + 2, 2);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            aie::vector<float, 32> q = aie::sub(aie::to_float<float>(q8), eight);   // exact: -8..7
            aie::store_v(scr + n * tk + blk * 32, aie::mul(q, f16_to_f32(dbits)).to_vector<bfloat16>());
        }
    mm_tile(scr, x, acc, tm, tk, rows, first);
    event1();
}

// y = bf16(acc) (nearest even), un-blocked: C rows x tm row-major, the rows the GEMM core sends per round.
void prefill_mm_out_bf16(const float *__restrict acc, bfloat16 *__restrict y, int32_t tm, int32_t rows) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int jbs = tm / kM;
    for (int i = 0; i < rows / int(kM); ++i)
        for (int j = 0; j < jbs; ++j) {
            aie::accum<accfloat, 64> t;
            t.from_vector(aie::load_v<64>(acc + (i * jbs + j) * 64));
            const aie::vector<bfloat16, 64> b = t.to_vector<bfloat16>();
            for (int r = 0; r < 8; ++r) aie::store_v(y + (i * kM + r) * tm + j * kM, b.extract<8>(r));
        }
    event1();
}

// Issue 17 (Qwen's QKV stage, rounded once later): rows [half·rows/2, (half + 1)·rows/2) of acc, un-blocked and NOT
// rounded, as fp32 row-major (rows/2 x tm) in y's rows·tm bf16-typed slots (fp32 i in slots 2i, 2i + 1: its own bytes)
// — the GEMM core sends a round as two such objects; the family core rounds once after the bias or the q/k norm.
void prefill_mm_out_f32(const float *__restrict acc, bfloat16 *__restrict y, int32_t tm, int32_t rows, int32_t half) {
    event0();
    const int jbs = tm / kM, i0 = half * rows / (2 * int(kM));
    float *dst = reinterpret_cast<float *>(y);
    for (int i = 0; i < rows / (2 * int(kM)); ++i)
        for (int j = 0; j < jbs; ++j)
            for (int r = 0; r < 8; ++r)
                aie::store_v(dst + (i * kM + r) * tm + j * kM, aie::load_v<8>(acc + ((i0 + i) * jbs + j) * 64 + 8 * r));
    event1();
}

} // extern "C"
