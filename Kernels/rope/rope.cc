// rope: rotary embedding of every head of one token row, both pairings, with the position's cos/sin row from the step params.
//
// head_dim a multiple of 32: each head's pairs in 16-lane halves. head_dim 16 (8 pairs per head,
// half a vector): two heads per 32-lane load, the pair members gathered by filter_even/filter_odd
// in runs of 8 (half-split) or 1 (adjacent); an odd last head rides in the low half of a vector
// whose high half is zero and is not stored. Same products, same fp32 accumulation, same rounding.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 16;

// head_dim 16: rotates heads h, h + 1 (or h alone when `pair` is false). `run` is the distance
// between pair members: 8 (half-split) or 1 (adjacent), so one gather serves both pairings.
static inline void rope_two_heads16(const bfloat16 *__restrict xh, bfloat16 *__restrict yh,
                                    const aie::vector<bfloat16, kVec> &c, const aie::vector<bfloat16, kVec> &s,
                                    unsigned run, bool pair) {
    aie::vector<bfloat16, 2 * kVec> v =
        pair ? aie::load_v<2 * kVec>(xh) : aie::concat(aie::load_v<kVec>(xh), aie::zeros<bfloat16, kVec>());
    aie::vector<bfloat16, kVec> a = aie::filter_even(v, run), b = aie::filter_odd(v, run);
    aie::vector<bfloat16, kVec> ya = aie::msc(aie::mul(a, c), b, s).to_vector<bfloat16>();
    aie::vector<bfloat16, kVec> yb = aie::mac(aie::mul(b, c), a, s).to_vector<bfloat16>();
    auto [lo, hi] = aie::interleave_zip(ya, yb, run);   // lo: head h, hi: head h + 1
    aie::store_v(yh, lo);
    if (pair) aie::store_v(yh + kVec, hi);
}

static inline void rope_heads16(const bfloat16 *__restrict x, const bfloat16 *__restrict cs, bfloat16 *__restrict y,
                                int32_t heads, unsigned run) {
    // cs = cos[8] || sin[8]; both heads of a vector share them: (cos, cos) and (sin, sin)
    aie::vector<bfloat16, kVec> t = aie::load_v<kVec>(cs);
    aie::vector<bfloat16, 2 * kVec> twice = aie::concat(t, t);
    aie::vector<bfloat16, kVec> c = aie::filter_even(twice, 8), s = aie::filter_odd(twice, 8);
    int h = 0;
    for (; h + 1 < heads; h += 2) rope_two_heads16(x + h * 16, y + h * 16, c, s, run, true);
    if (h < heads) rope_two_heads16(x + h * 16, y + h * 16, c, s, run, false);
}

// cs: the position's table row, cos[half] then sin[half], bf16 (written by the host per step).
extern "C" {

// Half-split ("rotate_half", HF): dimension i pairs with i + head_dim/2. head_dim % 32 == 0 or 16.
void rope_halfsplit_bf16(const bfloat16 *__restrict x, const bfloat16 *__restrict cs, bfloat16 *__restrict y,
                         int32_t heads, int32_t head_dim) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    if (head_dim == 16) {
        rope_heads16(x, cs, y, heads, 8);
        event1();
        return;
    }
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

// Adjacent (GGUF, Meta): dimension 2i pairs with 2i + 1. head_dim % 32 == 0 or 16.
void rope_adjacent_bf16(const bfloat16 *__restrict x, const bfloat16 *__restrict cs, bfloat16 *__restrict y,
                        int32_t heads, int32_t head_dim) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    if (head_dim == 16) {
        rope_heads16(x, cs, y, heads, 1);
        event1();
        return;
    }
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
