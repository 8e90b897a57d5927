// rmsnorm_bf16: y = x * w / sqrt(mean(x^2) + eps) for one row, statistics in fp32, output rounded to nearest even.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

extern "C" {

// x, w, y: n bf16 values (n % 32 == 0). eps is the model's rms_norm_eps.
void rmsnorm_bf16(const bfloat16 *__restrict x, const bfloat16 *__restrict w, bfloat16 *__restrict y,
                  int32_t n, float eps) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    aie::accum<accfloat, kVec> ss = aie::zeros<accfloat, kVec>();
    for (int j = 0; j < n; j += kVec) {
        aie::vector<bfloat16, kVec> xv = aie::load_v<kVec>(x + j);
        ss = aie::mac(ss, xv, xv);
    }
    const float scale = aie::invsqrt(aie::reduce_add(ss.to_vector<float>()) / float(n) + eps);
    // x·w first: bfloat16×bfloat16, exact in fp32; then ·scale as fp32×fp32 (aie2p's FP32 emulation). aie2p has
    // no bfloat16×float multiply (aieApi.mul.typePairs).
    for (int j = 0; j < n; j += kVec) {
        aie::accum<accfloat, kVec> xw = aie::mul(aie::load_v<kVec>(x + j), aie::load_v<kVec>(w + j));
        aie::store_v(y + j, aie::mul(xw.to_vector<float>(), scale).to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
