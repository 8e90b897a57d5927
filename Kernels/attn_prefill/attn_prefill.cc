// attn_prefill: causal attention of a chunk's query rows (one head) over one KV block, online softmax in fp32.
//
// Uses the decode kernel's state layout per query row ([m, l, 14 unused, acc[head_dim]], see attn_decode.cc),
// so attn_decode_init_f32 and attn_decode_out_bf16 start and finish it. Row r of the chunk sits at
// position params[1] + r (chunk start, from the step params buffer) and sees cache positions up to
// its own; rows at or past params[2] (the step's row count) are padding and skipped.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 16;
// State header per head: m, l, then padding so acc starts 64-byte aligned (load_v of 16 floats is
// a 512-bit access and needs 512-bit alignment on XDNA 2).
static constexpr int kStateHeader = 16;
static constexpr float kLog2e = 1.4426950408889634f;

// 2^x for one value, in bf16 precision: aie2p's exp2 returns bfloat16 only (aieApi.exp2.resultType).
static inline float exp2_scalar(float x) { return float(aie::exp2<bfloat16>(aie::broadcast<float, kVec>(x)).get(0)); }

extern "C" {

// q: rows x head_dim (query rows row0.. of the chunk for one head); k, v: KV block `block_index`
// (block x head_dim); state: rows x (head_dim + kStateHeader); scores: block floats.
void attn_prefill_bf16(const bfloat16 *__restrict q, const bfloat16 *__restrict k, const bfloat16 *__restrict v,
                       float *__restrict state, float *__restrict scores, const int32_t *__restrict params,
                       int32_t row0, int32_t rows, int32_t block_index, int32_t block, int32_t head_dim) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float scale_log2 = kLog2e * aie::invsqrt(float(head_dim));
    const int stride = head_dim + kStateHeader;
    for (int r = 0; r < rows; ++r) {
        if (row0 + r >= params[2]) break;                       // padding rows of a short step
        const int32_t pos = params[1] + row0 + r;
        const int32_t remaining = pos + 1 - block_index * block;  // causal mask
        const int valid = remaining < block ? remaining : block;
        if (valid <= 0) continue;
        const bfloat16 *qr = q + r * head_dim;
        float *st = state + r * stride;
        float block_max = -__builtin_inff();
        for (int j = 0; j < valid; ++j) {
            aie::accum<accfloat, kVec> a = aie::zeros<accfloat, kVec>();
            for (int d = 0; d < head_dim; d += kVec)
                a = aie::mac(a, aie::load_v<kVec>(qr + d), aie::load_v<kVec>(k + j * head_dim + d));
            const float s = aie::reduce_add(a.to_vector<float>()) * scale_log2;
            scores[j] = s;
            block_max = s > block_max ? s : block_max;
        }
        const float m_new = block_max > st[0] ? block_max : st[0];
        const float corr = exp2_scalar(st[0] - m_new);
        float l = st[1] * corr;
        for (int d = 0; d < head_dim; d += kVec)
            aie::store_v(st + kStateHeader + d, aie::mul(aie::load_v<kVec>(st + kStateHeader + d), corr).to_vector<float>());
        for (int j = 0; j < valid; ++j) {
            const bfloat16 p = aie::exp2<bfloat16>(aie::broadcast<float, kVec>(scores[j] - m_new)).get(0);
            l += float(p);
            for (int d = 0; d < head_dim; d += kVec) {
                aie::accum<accfloat, kVec> a;
                a.from_vector(aie::load_v<kVec>(st + kStateHeader + d));
                aie::store_v(st + kStateHeader + d, aie::mac(a, aie::load_v<kVec>(v + j * head_dim + d), p).to_vector<float>());
            }
        }
        st[0] = m_new;
        st[1] = l;
    }
    event1();
}

} // extern "C"
