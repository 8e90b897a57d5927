// gemv_q4_1: a tile of GGUF Q4_1 weight rows times a k-slice of x, dequantized in the core, fp32 accumulation.
//
// A Q4_1 block is 32 weights: f16 d, f16 m, 16 bytes of nibbles (element j < 16 is the low nibble of
// byte j, j >= 16 the high nibble of byte j - 16); w_j = d*q_j + m. The tile reaches the core as the
// file's bytes (one DMA channel; earlier designs split it into two planes, which cost a core a third
// input channel). The dot product uses  sum_j w_j x_j = d * sum_j q_j x_j + m * sum_j x_j:
// q_j (0..15) is exact in bf16, q_j*x_j exact in fp32, so no rounded weight is ever formed.
#include <aie_api/aie.hpp>

#include "../common/f16.h"
#include <stdint.h>

static constexpr unsigned kBlock = 32;
static constexpr int kMaxBlocks = 16; // k <= 512 per tile

extern "C" {

// acc[r] = (first ? 0 : acc[r]) + sum over the k-slice of w[r, j] * x[j]. k % 32 == 0, k <= 512. The
// tile is as GGUF stores it: rows x k/32 blocks of 20 bytes, row-major, so the DMA moves the file's
// bytes unchanged and a core needs ONE input channel for weights. The nibbles sit 4 bytes into each
// block: unaligned (4-byte aligned) vector loads.
void gemv_q4_1_blocks(const uint8_t *__restrict blocks, const bfloat16 *__restrict x, float *__restrict acc,
                      int32_t rows, int32_t k, int32_t first) {
    event0();
    const int nb = k / kBlock;
    float xsum[kMaxBlocks];
    for (int b = 0; b < nb; ++b) {
        aie::accum<accfloat, kBlock> a;
        a.from_vector(aie::load_v<kBlock>(x + b * kBlock));
        xsum[b] = aie::reduce_add(a.to_vector<float>());
    }
    for (int r = 0; r < rows; ++r) {
        float s = 0.0f;
        for (int b = 0; b < nb; ++b) {
            const uint8_t *blk = blocks + (long(r) * nb + b) * 20;
            uint16_t d, m;
            __builtin_memcpy(&d, blk, 2);
            __builtin_memcpy(&m, blk + 2, 2);
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(blk + 4, 4);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            aie::vector<bfloat16, kBlock> q = aie::to_float<bfloat16>(q8);
            float dot = aie::reduce_add(aie::mul(q, aie::load_v<kBlock>(x + b * kBlock)).to_vector<float>());
            s += f16_to_f32(d) * dot + f16_to_f32(m) * xsum[b];
        }
        acc[r] = first ? s : acc[r] + s;
    }
    event1();
}

} // extern "C"
