// add_bf16: residual add out = a + b, summed in fp32 and rounded once to nearest even; bias_add_bf16: the same sum
// for a projection's bias (Qwen2's q/k/v, issue 17) — its own symbol because an IRON design declares each symbol
// once with one buffer type (add_bf16: hidden values; the bias: a q/k/v row).
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

template <unsigned N> static inline void add_lanes(const bfloat16 *a, const bfloat16 *b, bfloat16 *out) {
    aie::accum<accfloat, N> s;
    s.from_vector(aie::load_v<N>(a));
    aie::store_v(out, aie::add(s, aie::load_v<N>(b)).template to_vector<bfloat16>());
}

extern "C" {

// n % 16 == 0 (a 16-value tail, e.g. a 16-row gemv tile's epilogue, takes the half-width vector).
void add_bf16(const bfloat16 *__restrict a, const bfloat16 *__restrict b, bfloat16 *__restrict out, int32_t n) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    int j = 0;
    for (; j + int(kVec) <= n; j += kVec) add_lanes<kVec>(a + j, b + j, out + j);
    if (j < n) add_lanes<kVec / 2>(a + j, b + j, out + j);
    event1();
}

// y = x + b over n values (n % 16 == 0), y may alias x: one token's projection row plus its bias.
void bias_add_bf16(const bfloat16 *x, const bfloat16 *__restrict b, bfloat16 *y, int32_t n) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    int j = 0;
    for (; j + int(kVec) <= n; j += kVec) add_lanes<kVec>(x + j, b + j, y + j);
    if (j < n) add_lanes<kVec / 2>(x + j, b + j, y + j);
    event1();
}

} // extern "C"
