// add_bf16: residual add out = a + b, summed in fp32 and rounded once to nearest even.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

extern "C" {

// n % 32 == 0.
void add_bf16(const bfloat16 *__restrict a, const bfloat16 *__restrict b, bfloat16 *__restrict out, int32_t n) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    for (int j = 0; j < n; j += kVec) {
        aie::accum<accfloat, kVec> s;
        s.from_vector(aie::load_v<kVec>(a + j));
        aie::store_v(out + j, aie::add(s, aie::load_v<kVec>(b + j)).to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
