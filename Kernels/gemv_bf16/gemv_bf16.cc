// gemv_bf16: a (rows x k) bf16 weight tile times a k-slice of x, accumulated in fp32; bf16 output on the last slice
// (gemv_out_bf16), or the fp32 accumulators themselves for a Qwen QKV stage (gemv_out_f32, issue 17: rounded once, later).
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 32; // bf16 lanes per multiply

extern "C" {

// acc[r] = (first ? 0 : acc[r]) + sum_j w[r*k + j] * x[j], for r < rows. k % 32 == 0.
// Products of bf16 are exact in fp32; each row's lanes are summed as a tree once per tile. (No
// AIE_PREPARE_FOR_PIPELINING: that hint is mlir-aie's aie_kernel_utils.h, not the AIE API, and is empty
// under Peano anyway; aieApi.macros.kernelUtils.)
void gemv_bf16(const bfloat16 *__restrict w, const bfloat16 *__restrict x, float *__restrict acc,
               int32_t rows, int32_t k, int32_t first) {
    event0();
    for (int r = 0; r < rows; ++r) {
        const bfloat16 *wr = w + r * k;
        aie::accum<accfloat, kVec> a = aie::zeros<accfloat, kVec>();
        for (int j = 0; j < k; j += kVec)
            a = aie::mac(a, aie::load_v<kVec>(wr + j), aie::load_v<kVec>(x + j));
        float s = aie::reduce_add(a.to_vector<float>());
        acc[r] = first ? s : acc[r] + s;
    }
    event1();
}

// y[r] = bf16(acc[r]), round to nearest even. rows % 16 == 0 (a 16-row tile, or a 16-row tail of
// a 48-row one, takes the half-width vector).
void gemv_out_bf16(const float *__restrict acc, bfloat16 *__restrict y, int32_t rows) {
    aie::set_rounding(aie::rounding_mode::conv_even);
    int r = 0;
    for (; r + int(kVec) <= rows; r += kVec) {
        aie::accum<accfloat, kVec> a;
        a.from_vector(aie::load_v<kVec>(acc + r));
        aie::store_v(y + r, a.to_vector<bfloat16>());
    }
    if (r < rows) {
        aie::accum<accfloat, kVec / 2> a;
        a.from_vector(aie::load_v<kVec / 2>(acc + r));
        aie::store_v(y + r, a.to_vector<bfloat16>());
    }
}

// Issue 17 (Qwen's QKV stage, Kernels/decode/README.md "Qwen fp32 rows"): half `half` (0, 1) of the fp32
// accumulators, acc[half·rows/2, +rows/2), as their own bytes into y's rows bf16-typed slots (fp32 value i in slots
// 2i, 2i + 1: low, high 16 bits) — no rounding; the hub rounds once after the bias or the q/k norm. rows % 16 == 0.
void gemv_out_f32(const float *__restrict acc, bfloat16 *__restrict y, int32_t rows, int32_t half) {
    const int n = rows / 2;
    const float *src = acc + half * n;
    float *dst = reinterpret_cast<float *>(y);
    for (int r = 0; r < n; r += 8) aie::store_v(dst + r, aie::load_v<8>(src + r));
}

} // extern "C"
