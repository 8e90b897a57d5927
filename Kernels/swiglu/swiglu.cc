// swiglu_bf16: out = silu(gate) * up element-wise, in fp32 with exp2, rounded to nearest even.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;
static constexpr float kLog2e = 1.4426950408889634f;

extern "C" {

// silu(g) = g / (1 + 2^(-g*log2 e)). n % 32 == 0. For g < -88 the exponential overflows to +inf
// and silu is exactly -0, as the limit.
void swiglu_bf16(const bfloat16 *__restrict gate, const bfloat16 *__restrict up, bfloat16 *__restrict out,
                 int32_t n) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    for (int j = 0; j < n; j += kVec) {
        aie::vector<bfloat16, kVec> g = aie::load_v<kVec>(gate + j);
        aie::vector<float, kVec> e = aie::exp2<float>(aie::mul(g, -kLog2e).to_vector<float>());
        aie::accum<accfloat, kVec> den;
        den.from_vector(e);
        aie::vector<float, kVec> sig = aie::inv(aie::add(den, aie::broadcast<float, kVec>(1.0f)).to_vector<float>());
        aie::vector<float, kVec> silu = aie::mul(g, sig).to_vector<float>();
        aie::store_v(out + j, aie::mul(silu, aie::load_v<kVec>(up + j)).to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
