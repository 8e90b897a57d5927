// rmsnorm_bf16: y = x * w / sqrt(mean(x^2) + eps) for one row, statistics in fp32, output rounded to nearest even;
// head_rmsnorm_bf16: the same per head_dim slice of a row, qk_norm_bf16 over q ‖ k (Qwen3's q_norm / k_norm, issue 17);
// qk_norm_f32_bf16: one head of the decode hub's fp32 q/k rows normed in fp32 and rounded once (Kernels/decode/README.md
// "Qwen fp32 rows").
// rmsnorm_sum_bf16 / rmsnorm_scale_bf16: rmsnorm_bf16's two loops over a row streamed in slices (the prefill row core).
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32;

// One row of n values (n % V == 0) in V-lane vectors: the arithmetic of rmsnorm_bf16.
template <unsigned V>
static inline void rmsnorm_row(const bfloat16 *__restrict x, const bfloat16 *__restrict w, bfloat16 *__restrict y,
                               int32_t n, float eps) {
    aie::accum<accfloat, V> ss = aie::zeros<accfloat, V>();
    for (int j = 0; j < n; j += V) {
        aie::vector<bfloat16, V> xv = aie::load_v<V>(x + j);
        ss = aie::mac(ss, xv, xv);
    }
    const float scale = aie::invsqrt(aie::reduce_add(ss.template to_vector<float>()) / float(n) + eps);
    for (int j = 0; j < n; j += V) {
        aie::accum<accfloat, V> xw = aie::mul(aie::load_v<V>(x + j), aie::load_v<V>(w + j));
        aie::store_v(y + j, aie::mul(xw.template to_vector<float>(), scale).template to_vector<bfloat16>());
    }
}

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

// x, y: heads x head_dim bf16 values (one token's Q or K row), w: head_dim values shared by the heads (llama.cpp
// build_norm over the (head_dim, heads, tokens) view, llm_build_qwen3). head_dim % 16 == 0; y may alias x (each
// head is read whole before it is written).
void head_rmsnorm_bf16(const bfloat16 *x, const bfloat16 *__restrict w, bfloat16 *y, int32_t heads,
                       int32_t head_dim, float eps) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    for (int h = 0; h < heads; ++h) {
        if (head_dim % kVec == 0) rmsnorm_row<kVec>(x + h * head_dim, w, y + h * head_dim, head_dim, eps);
        else rmsnorm_row<kVec / 2>(x + h * head_dim, w, y + h * head_dim, head_dim, eps);
    }
    event1();
}

// The hub's Qwen3 step on its q ‖ k buffer: q_heads heads with w[0, head_dim) (q_norm), then k_heads heads with
// w[head_dim, 2·head_dim) (k_norm) — one call, one buffer type, as IRON declares a symbol once.
void qk_norm_bf16(const bfloat16 *x, const bfloat16 *__restrict w, bfloat16 *y, int32_t q_heads, int32_t k_heads,
                  int32_t head_dim, float eps) {
    head_rmsnorm_bf16(x, w, y, q_heads, head_dim, eps);
    if (k_heads > 0)
        head_rmsnorm_bf16(x + q_heads * head_dim, w + head_dim, y + q_heads * head_dim, k_heads, head_dim, eps);
}

// row: head_dim fp32 values (head `head` of the q ‖ k rows, gemv accumulators: fp32 i in bf16-typed slots 2i, 2i + 1);
// w: q_norm ‖ k_norm (2·head_dim bf16; heads < q_heads take q_norm); y: the q ‖ k row (bf16), head `head` at
// head·head_dim. y = bf16((x·scale)·w), scale = 1/sqrt(mean(x²) + eps), all in fp32 and rounded once (llama.cpp
// rms_norm then mul; HF Qwen3RMSNorm). head_dim % 16 == 0.
void qk_norm_f32_bf16(const bfloat16 *__restrict row, const bfloat16 *__restrict w, bfloat16 *__restrict y, int32_t head,
                      int32_t q_heads, int32_t head_dim, float eps) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float *x = reinterpret_cast<const float *>(row);
    const bfloat16 *wh = w + (head < q_heads ? 0 : head_dim);
    bfloat16 *yh = y + head * head_dim;
    aie::accum<accfloat, 16> ss = aie::zeros<accfloat, 16>();
    for (int j = 0; j < head_dim; j += 16) {
        aie::vector<float, 16> xv = aie::load_v<16>(x + j);
        ss = aie::mac(ss, xv, xv);
    }
    const float scale = aie::invsqrt(aie::reduce_add(ss.to_vector<float>()) / float(head_dim) + eps);
    for (int j = 0; j < head_dim; j += 16) {
        aie::accum<accfloat, 16> wf;
        wf.from_vector(aie::load_v<16>(wh + j));
        aie::accum<accfloat, 16> xs = aie::mul(aie::load_v<16>(x + j), scale);
        aie::store_v(yh + j, aie::mul(xs.to_vector<float>(), wf.to_vector<float>()).to_vector<bfloat16>());
    }
    event1();
}

// rmsnorm_bf16's first loop over one slice of a row that arrives in slices (the prefill row core's U-value fifo
// objects): row[at .. at + n) = obj[0 .. n), and the slice's squares into the 32 fp32 lanes acc (cleared when at is
// 0). The lanes carry across calls, so over a whole row they hold what rmsnorm_bf16's accumulator holds. n % 32 == 0.
void rmsnorm_sum_bf16(const bfloat16 *__restrict obj, bfloat16 *__restrict row, float *__restrict acc, int32_t at,
                      int32_t n) {
    event0();
    aie::accum<accfloat, kVec> ss = aie::zeros<accfloat, kVec>();
    if (at != 0) ss.from_vector(aie::load_v<kVec>(acc));
    for (int j = 0; j < n; j += kVec) {
        aie::vector<bfloat16, kVec> xv = aie::load_v<kVec>(obj + j);
        aie::store_v(row + at + j, xv);
        ss = aie::mac(ss, xv, xv);
    }
    aie::store_v(acc, ss.to_vector<float>());
    event1();
}

// rmsnorm_bf16's second loop over one slice: obj[0 .. n) = row[at ..) · w[at ..) / sqrt(Σ acc / total + eps), acc the
// lanes rmsnorm_sum_bf16 left after the row's last slice, total the row's length; the same products and rounding.
void rmsnorm_scale_bf16(const bfloat16 *__restrict row, const bfloat16 *__restrict w, const float *__restrict acc,
                        bfloat16 *__restrict obj, int32_t at, int32_t n, int32_t total, float eps) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float scale = aie::invsqrt(aie::reduce_add(aie::load_v<kVec>(acc)) / float(total) + eps);
    for (int j = 0; j < n; j += kVec) {
        aie::accum<accfloat, kVec> xw = aie::mul(aie::load_v<kVec>(row + at + j), aie::load_v<kVec>(w + at + j));
        aie::store_v(obj + j, aie::mul(xw.to_vector<float>(), scale).to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
