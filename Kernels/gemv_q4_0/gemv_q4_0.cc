// gemv_q4_0: a tile of GGUF Q4_0 weight rows times a k-slice of x, dequantized in the core, fp32 accumulation.
//
// A Q4_0 block is 18 bytes: f16 d, then 16 bytes of nibbles (element j < 16 is the low nibble of byte
// j, j >= 16 the high nibble of byte j - 16); w_j = d*(q_j - 8). The tile reaches the core as the GGUF
// bytes themselves, rows * k/32 blocks, row-major (an 18-byte block cannot be split into aligned planes
// by a DMA that moves 4-byte words; see README). Every block starts at an even offset: d is one 16-bit
// load, the nibbles one unaligned 16-byte vector load. The dot product uses
// sum_j w_j x_j = d * sum_j (q_j - 8) x_j: q_j - 8 (-8..7) is exact in bf16 and (q_j - 8)*x_j exact
// in fp32, so no rounded weight is ever formed; d is converted f16 -> fp32 exactly.
#include <aie_api/aie.hpp>

#include "../common/f16.h"
#include <stdint.h>

static constexpr unsigned kBlock = 32;
static constexpr unsigned kBlockBytes = 18;

extern "C" {

// acc[r] = (first ? 0 : acc[r]) + sum over the k-slice of w[r, j] * x[j]. w: rows * k/32 Q4_0 blocks,
// k % 32 == 0.
void gemv_q4_0(const uint8_t *__restrict w, const bfloat16 *__restrict x, float *__restrict acc, int32_t rows,
               int32_t k, int32_t first) {
    event0();
    const int blocks = k / kBlock;
    const aie::vector<bfloat16, kBlock> eight = aie::broadcast<bfloat16, kBlock>(8.0f);
    for (int r = 0; r < rows; ++r) {
        float s = 0.0f;
        for (int b = 0; b < blocks; ++b) {
            const uint8_t *blk = w + (r * blocks + b) * kBlockBytes;
            uint16_t d;
            __builtin_memcpy(&d, blk, 2); // little-endian f16, 2-byte aligned
            aie::vector<uint8_t, 16> packed = aie::load_unaligned_v<16>(blk + 2, 2);
            aie::vector<uint8_t, 32> q8 = aie::concat(aie::bit_and(uint8_t(0x0F), packed), aie::downshift(packed, 4));
            aie::vector<bfloat16, kBlock> q = aie::sub(aie::to_float<bfloat16>(q8), eight); // exact: -8..7
            float dot = aie::reduce_add(aie::mul(q, aie::load_v<kBlock>(x + b * kBlock)).to_vector<float>());
            s += f16_to_f32(d) * dot;
        }
        acc[r] = first ? s : acc[r] + s;
    }
    event1();
}

} // extern "C"
