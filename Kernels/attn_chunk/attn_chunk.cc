// attn_chunk: causal attention of a prefill chunk's C query rows of ONE query head over one K||V block of the cache, with aie::mmul<8, 8, 8> for Q.K^T and P.V and an fp32 online softmax per row (the prefill attention core).
//
// Layouts (the prefill contract, Kernels/decode/README.md "Prefill"):
//   pack   the query head's C rows (row-major, headDim values each, roped), then one header row whose first 16
//          bf16 slots hold int32 [start, rows, 1, bucket, 0...]: row r of the chunk is at position start + r and
//          rows at or past `rows` are padding (skipped: never computed, their outputs 0);
//   kv     one head's K block (block x headDim, row-major) then its V block (the block-major cache's layout);
//   o      C x headDim fp32 in 8x8 blocks: block (i, d) of rows 8i.., dims 8d.. at (i·hd/8 + d)·64, row-major;
//   ml     m[C] (the running maximum of the base-2 scores) then l[C] (the running sum of the bf16 probabilities);
//   s, p   scratch of one 8-row block: the scores (8 x block fp32, row-major) and the probabilities (bf16, as
//          mmul A blocks: key block kb at kb·64, 8 rows x 8 keys row-major).
// Key t of block b is at position b·block + t; row r sees positions <= start + r (a prefix of each block). A block
// past every row's position is skipped whole. Numerics as attn_decode: scores s·log2(e)/sqrt(hd) in fp32 (the
// mmul's products exact, fp32 sums), probabilities bf16 from aie2p's exp2, P.V with exact products into fp32.
#include <aie_api/aie.hpp>
#include <stdint.h>

static constexpr unsigned kM = 8;   // aie::mmul<8, 8, 8> (aieApi.mmul.bf16Shapes)
using Mmul = aie::mmul<kM, kM, kM, bfloat16, bfloat16, accauto>;
static constexpr float kLog2e = 1.4426950408889634f;

static inline aie::vector<bfloat16, 64> transpose8x8(aie::vector<bfloat16, 64> v) {
    for (int r = 0; r < 3; ++r) v = aie::concat(aie::filter_even(v, 1), aie::filter_odd(v, 1));
    return v;
}

static inline aie::vector<bfloat16, 64> gather8x8(const bfloat16 *m, int stride) {
    aie::vector<bfloat16, 64> v;
    for (int r = 0; r < 8; ++r) v.insert(r, aie::load_v<8>(m + r * stride));
    return v;
}

static inline int32_t header(const bfloat16 *pack, int rows, int hd, int field) {
    int32_t v;
    __builtin_memcpy(&v, pack + rows * hd + 2 * field, 4);
    return v;
}

extern "C" {

// o = 0, m = -inf, l = 0 for the C rows.
void attn_chunk_init_f32(float *__restrict o, float *__restrict ml, int32_t rows, int32_t hd) {
    for (int e = 0; e < rows * hd; e += 16) aie::store_v(o + e, aie::zeros<float, 16>());
    for (int r = 0; r < rows; ++r) {
        ml[r] = -__builtin_inff();
        ml[rows + r] = 0.0f;
    }
}

// One K||V block (index b) for the C rows of one query head.
void attn_chunk_bf16(const bfloat16 *__restrict pack, const bfloat16 *__restrict kv, float *__restrict o,
                     float *__restrict ml, float *__restrict s, bfloat16 *__restrict p, int32_t b, int32_t block,
                     int32_t rows, int32_t hd) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int32_t start = header(pack, rows, hd, 0), valid = header(pack, rows, hd, 1);
    const bfloat16 *k = kv, *v = kv + block * hd;
    const float scale_log2 = kLog2e * aie::invsqrt(float(hd));
    const int dbs = hd / kM, tbs = block / kM;
    for (int i = 0; i < rows / int(kM); ++i) {
        const int r0 = i * kM;
        if (r0 >= valid) break;                              // padding rows: nothing past the prompt
        if (b * block > start + r0 + int(kM) - 1) continue;  // the block is past every row of this row block
        // S = Q_i . K^T (8 rows x block keys)
        for (int t = 0; t < tbs; ++t) {
            Mmul m(aie::zeros<accfloat, 64>());
            for (int d = 0; d < dbs; ++d)
                m.mac(gather8x8(pack + r0 * hd + d * kM, hd), transpose8x8(gather8x8(k + t * kM * hd + d * kM, hd)));
            const aie::vector<float, 64> sv = m.to_accum().to_vector<float>();
            for (int r = 0; r < 8; ++r) aie::store_v(s + r * block + t * kM, sv.extract<8>(r));
        }
        // online softmax per row over its visible keys (a prefix of the block)
        float corr[kM];
        for (int r = 0; r < int(kM); ++r) {
            const int row = r0 + r;
            int nv = start + row - b * block + 1;
            nv = nv > block ? block : nv;
            float *sr = s + r * block;
            if (row >= valid || nv <= 0) {                    // nothing visible: probabilities 0, state unchanged
                corr[r] = 1.0f;
                for (int t = 0; t < block; ++t) p[(t / kM) * 64 + r * kM + t % kM] = bfloat16(0.0f);
                continue;
            }
            float mx = -__builtin_inff();
            for (int t = 0; t < block; t += 16)
                aie::store_v(sr + t, aie::mul(aie::load_v<16>(sr + t), scale_log2).to_vector<float>());
            for (int t = 0; t < nv; ++t) mx = sr[t] > mx ? sr[t] : mx;
            const float m_old = ml[row], m_new = mx > m_old ? mx : m_old;
            corr[r] = float(aie::exp2<bfloat16>(aie::broadcast<float, 16>(m_old - m_new)).get(0));
            float sum = 0.0f;
            for (int t = 0; t < block; t += 16) {
                aie::vector<bfloat16, 16> e =
                    aie::exp2<bfloat16>(aie::sub(aie::accum<accfloat, 16>(aie::load_v<16>(sr + t)),
                                                 aie::broadcast<float, 16>(m_new)).to_vector<float>());
                for (int q = 0; q < 16; ++q) {
                    const int key = t + q;
                    const bfloat16 pv = key < nv ? e.get(q) : bfloat16(0.0f);
                    p[(key / kM) * 64 + r * kM + key % kM] = pv;
                    sum += float(pv);
                }
            }
            ml[row] = m_new;
            ml[rows + row] = ml[rows + row] * corr[r] + sum;
        }
        // O_i = O_i·corr + P_i . V
        for (int d = 0; d < dbs; ++d) {
            float *c = o + (i * dbs + d) * 64;
            for (int r = 0; r < int(kM); ++r)
                aie::store_v(c + r * kM, aie::mul(aie::load_v<8>(c + r * kM), corr[r]).to_vector<float>());
            aie::accum<accfloat, 64> prior;
            prior.from_vector(aie::load_v<64>(c));
            Mmul m(prior);
            for (int t = 0; t < tbs; ++t) m.mac(aie::load_v<64>(p + t * 64), gather8x8(v + t * kM * hd + d * kM, hd));
            aie::store_v(c, m.to_accum().to_vector<float>());
        }
    }
    event1();
}

// out (8 rows x hd, row-major bf16, nearest even) = rows 8i .. 8i+7 of o / l (ml: m[rows] then l[rows]); a row
// that saw no key (padding past the prompt) is 0.
void attn_chunk_out_bf16(const float *__restrict o, const float *__restrict ml, bfloat16 *__restrict out, int32_t i,
                         int32_t rows, int32_t hd) {
    event0();
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int dbs = hd / kM;
    for (int r = 0; r < int(kM); ++r) {
        const float l = ml[rows + i * kM + r];
        const float inv = l > 0.0f ? aie::inv(l) : 0.0f;
        for (int d = 0; d < dbs; ++d)
            aie::store_v(out + r * hd + d * kM,
                         aie::mul(aie::load_v<8>(o + (i * dbs + d) * 64 + r * kM), inv).to_vector<bfloat16>());
    }
    event1();
}

} // extern "C"
