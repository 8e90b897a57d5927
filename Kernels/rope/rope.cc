// rope: rotary embedding of every head of one token row, both pairings, with the position's cos/sin row from the step params.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 16;

// cs: the position's table row, cos[half] then sin[half], bf16 (written by the host per step).
extern "C" {

// Half-split ("rotate_half", HF): dimension i pairs with i + head_dim/2. head_dim % 32 == 0.
void rope_halfsplit_bf16(const bfloat16 *__restrict x, const bfloat16 *__restrict cs, bfloat16 *__restrict y,
                         int32_t heads, int32_t head_dim) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int half = head_dim / 2;
    for (int h = 0; h < heads; ++h) {
        const bfloat16 *xh = x + h * head_dim;
        bfloat16 *yh = y + h * head_dim;
        for (int i = 0; i < half; i += kVec) {
            aie::vector<bfloat16, kVec> a = aie::load_v<kVec>(xh + i), b = aie::load_v<kVec>(xh + half + i);
            aie::vector<bfloat16, kVec> c = aie::load_v<kVec>(cs + i), s = aie::load_v<kVec>(cs + half + i);
            aie::store_v(yh + i, aie::msc(aie::mul(a, c), b, s).to_vector<bfloat16>());
            aie::store_v(yh + half + i, aie::mac(aie::mul(b, c), a, s).to_vector<bfloat16>());
        }
    }
    event1();
}

// Adjacent (GGUF, Meta): dimension 2i pairs with 2i + 1. head_dim % 32 == 0.
void rope_adjacent_bf16(const bfloat16 *__restrict x, const bfloat16 *__restrict cs, bfloat16 *__restrict y,
                        int32_t heads, int32_t head_dim) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int half = head_dim / 2;
    for (int h = 0; h < heads; ++h) {
        const bfloat16 *xh = x + h * head_dim;
        bfloat16 *yh = y + h * head_dim;
        for (int i = 0; i < half; i += kVec) {
            aie::vector<bfloat16, 2 * kVec> pair = aie::load_v<2 * kVec>(xh + 2 * i);
            aie::vector<bfloat16, kVec> a = aie::filter_even(pair, 1), b = aie::filter_odd(pair, 1);
            aie::vector<bfloat16, kVec> c = aie::load_v<kVec>(cs + i), s = aie::load_v<kVec>(cs + half + i);
            aie::vector<bfloat16, kVec> ya = aie::msc(aie::mul(a, c), b, s).to_vector<bfloat16>();
            aie::vector<bfloat16, kVec> yb = aie::mac(aie::mul(b, c), a, s).to_vector<bfloat16>();
            auto [lo, hi] = aie::interleave_zip(ya, yb, 1);
            aie::store_v(yh + 2 * i, aie::concat(lo, hi));
        }
    }
    event1();
}

} // extern "C"
