// matmul: prefill projection C = X.W^T for a chunk of tokens with aie::mmul 4x8x8 (bf16 in, fp32 accumulate); bf16, GGUF Q4_1 or Q4_0 weights.
//
// Tiles arrive blocked by the DMA (as mlir-aie GEMM designs do): X tile (tr x tk) as 4x8 blocks
// (row block i, k block kb: index i*(tk/8)+kb, each row-major); W tile (tn output rows x tk) as
// 8x8 blocks of W^T (k block kb, column block j: index kb*(tn/8)+j, each row-major in (k, n));
// the fp32 accumulator tile (tr x tn) as 4x8 blocks (index i*(tn/8)+j).
#include <aie_api/aie.hpp>

#include "../common/f16.h"
#include <stdint.h>

static constexpr unsigned kR = 4, kS = 8, kT = 8; // mmul shape: (4 x 8) . (8 x 8)
using Mmul = aie::mmul<kR, kS, kT, bfloat16, bfloat16, accauto>;

static inline void mmul_tile(const bfloat16 *__restrict a, const bfloat16 *__restrict b, float *__restrict acc,
                             int tr, int tk, int tn, int first) {
    const int kb_count = tk / kS, jb_count = tn / kT;
    for (int i = 0; i < tr / int(kR); ++i)
        for (int j = 0; j < jb_count; ++j) {
            float *c = acc + (i * jb_count + j) * kR * kT;
            Mmul m;
            if (first) {
                m = Mmul(aie::zeros<accfloat, kR * kT>());
            } else {
                aie::accum<accfloat, kR * kT> prior;
                prior.from_vector(aie::load_v<kR * kT>(c));
                m = Mmul(prior);
            }
            for (int kb = 0; kb < kb_count; ++kb)
                m.mac(aie::load_v<kR * kS>(a + (i * kb_count + kb) * kR * kS),
                      aie::load_v<kS * kT>(b + (kb * jb_count + j) * kS * kT));
            aie::store_v(c, m.to_accum().to_vector<float>());
        }
}

extern "C" {

// acc (+)= X tile . W tile^T, all blocked as above. tr % 4, tk % 8, tn % 8 == 0.
void matmul_bf16(const bfloat16 *__restrict a, const bfloat16 *__restrict b, float *__restrict acc, int32_t tr,
                 int32_t tk, int32_t tn, int32_t first) {
    event0();
    mmul_tile(a, b, acc, tr, tk, tn, first);
    event1();
}

// The same with the Q4_1 tile as GGUF stores it (tn rows x tk/32 blocks of 20 bytes, row-major): one
// input DMA channel for weights, the file's bytes unchanged; nibbles read with unaligned loads.
void matmul_q4_1_blocks(const bfloat16 *__restrict a, const uint8_t *__restrict blocks, bfloat16 *__restrict b,
                        float *__restrict acc, int32_t tr, int32_t tk, int32_t tn, int32_t first) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int bpr = tk / 32, jb_count = tn / kT;
    for (int n = 0; n < tn; ++n)
        for (int blk = 0; blk < bpr; ++blk) {
            const uint8_t *p = blocks + long(n * bpr + blk) * 20;
            uint16_t dh, mh;
            __builtin_memcpy(&dh, p, 2);
            __builtin_memcpy(&mh, p + 2, 2);
            const float d = f16_to_f32(dh), m = f16_to_f32(mh);
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(p + 4, 4);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            // q·d + m in fp32: q (0..15) converted straight to float, as aie2p multiplies float×float only
            // (aieApi.mul.typePairs); q·d is exact (4 × 11 significant bits) through the FP32 emulation.
            aie::accum<accfloat, 32> w = aie::mul(aie::to_float<float>(q8), d);
            w = aie::add(w, aie::broadcast<float, 32>(m));
            aie::vector<bfloat16, 32> wv = w.to_vector<bfloat16>();
            for (int e = 0; e < 32; ++e) {
                const int k = blk * 32 + e;
                b[((k / kS) * jb_count + n / kT) * kS * kT + (k % kS) * kT + n % kT] = wv[e];
            }
        }
    mmul_tile(a, b, acc, tr, tk, tn, first);
    event1();
}

// The same with a Q4_0 weight tile: tn rows x tk/32 blocks of 18 bytes (f16 d, 16 bytes of nibbles) as GGUF
// stores them, row-major by (row, block), every block at an even offset. Dequantized in the core into
// the blocked bf16 scratch b (tk x tn), w = bf16(d*(q - 8)) with nearest-even rounding ((q - 8)*d is
// exact in fp32), then the same mmul.
void matmul_q4_0(const bfloat16 *__restrict a, const uint8_t *__restrict w, bfloat16 *__restrict b,
                 float *__restrict acc, int32_t tr, int32_t tk, int32_t tn, int32_t first) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int bpr = tk / 32, jb_count = tn / kT;
    const aie::vector<float, 32> eight = aie::broadcast<float, 32>(8.0f);
    for (int n = 0; n < tn; ++n)
        for (int blk = 0; blk < bpr; ++blk) {
            const uint8_t *p = w + (n * bpr + blk) * 18;
            uint16_t dbits;
            __builtin_memcpy(&dbits, p, 2);
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(p + 2, 2);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            // (q - 8)·d in fp32 (aie2p multiplies float×float only, aieApi.mul.typePairs): q - 8 (-8..7) and the
            // product (4 × 11 significant bits) are exact; then one rounding to bf16.
            aie::vector<float, 32> q = aie::sub(aie::to_float<float>(q8), eight); // exact: -8..7
            aie::vector<bfloat16, 32> wv = aie::mul(q, f16_to_f32(dbits)).to_vector<bfloat16>();
            for (int e = 0; e < 32; ++e) { // scatter row n, k = blk*32+e into the 8x8 blocks of W^T
                const int k = blk * 32 + e;
                b[((k / kS) * jb_count + n / kT) * kS * kT + (k % kS) * kT + n % kT] = wv[e];
            }
        }
    mmul_tile(a, b, acc, tr, tk, tn, first);
    event1();
}

// out = bf16(acc), nearest even, count % 32 == 0 (blocked order preserved; the DMA un-blocks).
void matmul_out_bf16(const float *__restrict acc, bfloat16 *__restrict out, int32_t count) {
    aie::set_rounding(aie::rounding_mode::conv_even);
    for (int i = 0; i < count; i += 32) {
        aie::accum<accfloat, 32> t;
        t.from_vector(aie::load_v<32>(acc + i));
        aie::store_v(out + i, t.to_vector<bfloat16>());
    }
}

} // extern "C"
