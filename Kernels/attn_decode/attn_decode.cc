// attn_decode: one query token's GQA attention over one block of the KV cache, online softmax in fp32 (flash-decoding state).
//
// State per query head of the group, fp32: [m, l, 14 unused, acc[head_dim]] where m is the running maximum of
// the scaled scores in log2 units, l the running sum of 2^(s - m), acc the running sum of
// 2^(s - m) * v. Blocks arrive in any order; a block with valid <= 0 (past the current position) is
// skipped, so one design serves every position up to its block count without recompiling.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kVec = 16;
// State header per head: m, l, then padding so acc starts 64-byte aligned (load_v of 16 floats is
// a 512-bit access and needs 512-bit alignment on XDNA 2).
static constexpr int kStateHeader = 16;
static constexpr float kLog2e = 1.4426950408889634f;

// 2^x for one value. aie2p's exp2 returns bfloat16 only (aieApi.exp2.resultType), so a correction factor
// carries bf16 precision; exp2(0) = 1 and exp2(-inf) = 0 exactly, so an unchanged maximum costs nothing.
static inline float exp2_scalar(float x) {
    return float(aie::exp2<bfloat16>(aie::broadcast<float, kVec>(x)).get(0));
}

extern "C" {

// Sets the group's state to empty (m = -inf, l = 0, acc = 0).
void attn_decode_init_f32(float *__restrict state, int32_t group, int32_t head_dim) {
    const int stride = head_dim + kStateHeader;
    for (int h = 0; h < group; ++h) {
        state[h * stride] = -__builtin_inff();
        state[h * stride + 1] = 0.0f;
        for (int d = 0; d < head_dim; d += kVec) aie::store_v(state + h * stride + kStateHeader + d, aie::zeros<float, kVec>());
    }
}

// q: group x head_dim (the query heads sharing this KV head); k, v: KV block `block_index` of
// `block` positions x head_dim. params[0] is the current position (step params buffer): positions
// up to it are attended, later ones (and whole later blocks) are masked. scores: block floats.
// Probabilities are rounded to bf16 (nearest even) before the P*V product; l sums the same values.
void attn_decode_bf16(const bfloat16 *__restrict q, const bfloat16 *__restrict k, const bfloat16 *__restrict v,
                      float *__restrict state, float *__restrict scores, const int32_t *__restrict params,
                      int32_t block_index, int32_t block, int32_t group, int32_t head_dim) {
    const int32_t remaining = params[0] + 1 - block_index * block;
    const int valid = remaining < block ? remaining : block;
    if (valid <= 0) return;
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const float scale_log2 = kLog2e * aie::invsqrt(float(head_dim));
    const int stride = head_dim + kStateHeader;
    for (int h = 0; h < group; ++h) {
        const bfloat16 *qh = q + h * head_dim;
        float *st = state + h * stride;
        float block_max = -__builtin_inff();
        for (int j = 0; j < valid; ++j) {
            aie::accum<accfloat, kVec> a = aie::zeros<accfloat, kVec>();
            for (int d = 0; d < head_dim; d += kVec)
                a = aie::mac(a, aie::load_v<kVec>(qh + d), aie::load_v<kVec>(k + j * head_dim + d));
            float s = aie::reduce_add(a.to_vector<float>()) * scale_log2;
            scores[j] = s;
            block_max = s > block_max ? s : block_max;
        }
        const float m_old = st[0];
        const float m_new = block_max > m_old ? block_max : m_old;
        const float corr = exp2_scalar(m_old - m_new); // 0 when m_old is -inf
        float l = st[1] * corr;
        for (int d = 0; d < head_dim; d += kVec)
            aie::store_v(st + kStateHeader + d, aie::mul(aie::load_v<kVec>(st + kStateHeader + d), corr).to_vector<float>());
        for (int j = 0; j < valid; ++j) {
            bfloat16 p = aie::exp2<bfloat16>(aie::broadcast<float, kVec>(scores[j] - m_new)).get(0);
            l += float(p);
            for (int d = 0; d < head_dim; d += kVec) {
                aie::accum<accfloat, kVec> a;
                a.from_vector(aie::load_v<kVec>(st + kStateHeader + d));
                a = aie::mac(a, aie::load_v<kVec>(v + j * head_dim + d), p);
                aie::store_v(st + kStateHeader + d, a.to_vector<float>());
            }
        }
        st[0] = m_new;
        st[1] = l;
    }
    event1();
}

// Merges state b into state a (two cores' partial results over disjoint positions).
void attn_decode_merge_f32(float *__restrict a, const float *__restrict b, int32_t group, int32_t head_dim) {
    const int stride = head_dim + kStateHeader;
    for (int h = 0; h < group; ++h) {
        float *sa = a + h * stride;
        const float *sb = b + h * stride;
        if (sb[0] == -__builtin_inff()) continue;
        const float m = sa[0] > sb[0] ? sa[0] : sb[0];
        const float ca = exp2_scalar(sa[0] - m), cb = exp2_scalar(sb[0] - m);
        sa[0] = m;
        sa[1] = sa[1] * ca + sb[1] * cb;
        for (int d = 0; d < head_dim; d += kVec) {
            aie::accum<accfloat, kVec> t = aie::mul(aie::load_v<kVec>(sa + kStateHeader + d), ca);
            t = aie::mac(t, aie::load_v<kVec>(sb + kStateHeader + d), cb);
            aie::store_v(sa + kStateHeader + d, t.to_vector<float>());
        }
    }
}

// out (group x head_dim, bf16 nearest even) = acc / l.
void attn_decode_out_bf16(const float *__restrict state, bfloat16 *__restrict out, int32_t group, int32_t head_dim) {
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int stride = head_dim + kStateHeader;
    for (int h = 0; h < group; ++h) {
        const float inv_l = aie::inv(state[h * stride + 1]);
        for (int d = 0; d < head_dim; d += kVec)
            aie::store_v(out + h * head_dim + d,
                         aie::mul(aie::load_v<kVec>(state + h * stride + kStateHeader + d), inv_l).to_vector<bfloat16>());
    }
}

// The fused attention half's step on packed buffers (a core has two input DMA channels: one brings
// `kv`, the other `pack`). pack: q (group x head_dim) | k_new (head_dim) | v_new (head_dim) | the step
// params header int32[8]; kv: K block | V block (block x head_dim each). When the block holds position
// params[0], the token's k/v row is first written into it (the KV append: the design writes the block
// back to the cache), then the block is attended as attn_decode_bf16 does.
void attn_decode_packed_bf16(const bfloat16 *__restrict pack, bfloat16 *__restrict kv, float *__restrict state,
                             float *__restrict scores, int32_t block_index, int32_t block, int32_t group,
                             int32_t head_dim) {
    const bfloat16 *k_new = pack + group * head_dim, *v_new = k_new + head_dim;
    const int32_t *params = reinterpret_cast<const int32_t *>(v_new + head_dim);
    bfloat16 *k = kv, *v = kv + block * head_dim;
    const int32_t row = params[0] - block_index * block;
    if (row >= 0 && row < block)
        for (int d = 0; d < head_dim; d += kVec) {
            aie::store_v(k + row * head_dim + d, aie::load_v<kVec>(k_new + d));
            aie::store_v(v + row * head_dim + d, aie::load_v<kVec>(v_new + d));
        }
    attn_decode_bf16(pack, k, v, state, scores, params, block_index, block, group, head_dim);
}

} // extern "C"
