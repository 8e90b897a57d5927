// add_bf16: residual add out = a + b, summed in fp32 and rounded once to nearest even.
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

} // extern "C"
