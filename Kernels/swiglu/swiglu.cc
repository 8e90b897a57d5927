// swiglu_bf16: out = silu(gate) * up element-wise, in fp32 with aie2p's bf16 exp2, rounded to nearest even.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;
static constexpr float kLog2e = 1.4426950408889634f;

// aie2p multiplies float×float or bfloat16×bfloat16 only (aieApi.mul.typePairs): gate and up are widened to fp32
// exactly (through an accumulator), the products of fp32 vectors run through aie2p's FP32 emulation, and exp2
// gives bfloat16 only (aieApi.exp2.resultType), so e = 2^(-g·log2 e) carries bf16 precision.
template <unsigned N> static inline aie::vector<float, N> widen(const aie::vector<bfloat16, N> &v) {
    return aie::accum<accfloat, N>(v).template to_vector<float>();
}

template <unsigned N> static inline void swiglu_lanes(const bfloat16 *gate, const bfloat16 *up, bfloat16 *out) {
    const aie::vector<float, N> g = widen(aie::load_v<N>(gate));
    const aie::vector<bfloat16, N> e = aie::exp2<bfloat16>(aie::mul(g, -kLog2e).template to_vector<float>());
    aie::accum<accfloat, N> den(e);
    den = aie::add(den, aie::broadcast<float, N>(1.0f));
    const aie::vector<float, N> sig = aie::inv(den.template to_vector<float>());
    const aie::vector<float, N> silu = aie::mul(g, sig).template to_vector<float>();
    aie::store_v(out, aie::mul(silu, widen(aie::load_v<N>(up))).template to_vector<bfloat16>());
}

extern "C" {

// silu(g) = g / (1 + 2^(-g*log2 e)). n % 16 == 0 (a 16-value tail, e.g. a 16-row gemv tile, takes
// the half-width vector). For g < -88 the exponential overflows to +inf and silu is exactly -0, as
// the limit; for g > 88 it underflows to 0 and silu is g.
void swiglu_bf16(const bfloat16 *__restrict gate, const bfloat16 *__restrict up, bfloat16 *__restrict out,
                 int32_t n) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    int j = 0;
    for (; j + int(kVec) <= n; j += kVec) swiglu_lanes<kVec>(gate + j, up + j, out + j);
    if (j < n) swiglu_lanes<kVec / 2>(gate + j, up + j, out + j);
    event1();
}

} // extern "C"

extern "C" {

// The prefill row core's SwiGLU over two fifo objects of n values each, taken as one run of 2n values of (gate, up)
// tile pairs of tm values (the GU stage's tile order: tile t even a gate tile, odd its up tile): act[p·tm ..) =
// silu(gate_p) * up_p for the n / tm pairs. tm | n and tm % 16 == 0 (a tile never straddles the two objects).
void swiglu_tiles_bf16(const bfloat16 *__restrict gu0, const bfloat16 *__restrict gu1, bfloat16 *__restrict act,
                       int32_t tm, int32_t n) {
    for (int pr = 0; pr < n / tm; ++pr) {
        const int g = 2 * pr * tm, u = g + tm;
        const bfloat16 *gate = g < n ? gu0 + g : gu1 + (g - n);
        const bfloat16 *up = u < n ? gu0 + u : gu1 + (u - n);
        swiglu_bf16(gate, up, act + pr * tm, tm);
    }
}

} // extern "C"
