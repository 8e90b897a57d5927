// add_bf16: residual add out = a + b, summed in fp32 and rounded once to nearest even; bias_add_bf16: the same sum
// for a projection's bias (Qwen2's q/k/v, issue 17) — its own symbol because an IRON design declares each symbol
// once with one buffer type (add_bf16: hidden values; the bias: a q/k/v row). bias_add_f32_bf16 / round_f32_bf16:
// the decode hub's Qwen step on one head of fp32 rows (Kernels/decode/README.md "Qwen fp32 rows"): the bias added to
// the fp32 product and the sum rounded ONCE, as llama.cpp and HF add it (a Qwen3 v head: rounded once, no bias).
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

// row: n fp32 values (one head's gemv accumulators, 2n bf16-typed slots: fp32 i in slots 2i, 2i + 1); b, y: the
// q ‖ k ‖ v row (bf16). With at = head·n: y[at + i] = bf16(row[i] + b[at + i]), nearest even, for i < n (n % 16 == 0).
void bias_add_f32_bf16(const bfloat16 *__restrict row, const bfloat16 *__restrict b, bfloat16 *__restrict y,
                       int32_t head, int32_t n) {
    event0();
    const int at = head * n;
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float *x = reinterpret_cast<const float *>(row);
    for (int j = 0; j < n; j += 16) {
        aie::accum<accfloat, 16> s;
        s.from_vector(aie::load_v<16>(x + j));
        aie::store_v(y + at + j, aie::add(s, aie::load_v<16>(b + at + j)).template to_vector<bfloat16>());
    }
    event1();
}

// With at = head·n: y[at + i] = bf16(row[i]), nearest even, for i < n (row: n fp32 values as above; n % 16 == 0).
void round_f32_bf16(const bfloat16 *__restrict row, bfloat16 *__restrict y, int32_t head, int32_t n) {
    event0();
    const int at = head * n;
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float *x = reinterpret_cast<const float *>(row);
    for (int j = 0; j < n; j += 16) {
        aie::accum<accfloat, 16> s;
        s.from_vector(aie::load_v<16>(x + j));
        aie::store_v(y + at + j, s.template to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
