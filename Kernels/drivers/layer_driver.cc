// Drivers of the fused per-layer decode designs (attention half, MLP half): per-op kernel entries in the designs' order, each core's buffers in one 63 KB arena.
//
// Unlike the single-op drivers, a core here keeps the buffers of every stage it takes part in (IRON
// allocates fifos statically), so the arenas check the per-core budget of Kernels/README.md.
#include <algorithm>
#include <memory>
#include <vector>

#include "emu_core.h"
#include "gemv_tiles.h"
#include "kernels.h"

namespace {

using Arenas = std::vector<std::unique_ptr<emu::CoreArena>>;

Arenas make_arenas(int cores) {
    Arenas a;
    for (int c = 0; c < cores; ++c) a.push_back(std::make_unique<emu::CoreArena>());
    return a;
}

// The gemv stage buffers of one core: weight tile fifo (bf16, or Q4_1 / Q4_0 blocks as stored), x fifo, two
// fp32 accumulators and three bf16 row tiles; reused by every gemv of the design. Each stage keeps its
// plan instance's tile height tm (K/V rows of a small model: 32 or 16); the buffers are sized for
// the largest, and a smaller tile fills the first rows of each object.
struct GemvCore {
    emu::Bf16Tiles bf;
    emu::Q4Tiles q4;
    emu::Q4_0Tiles q40;
    int format; // NPUK_WEIGHTS_*
    bfloat16 *x[2];
    float *acc[2];
    bfloat16 *tile[3];

    bool alloc(emu::CoreArena &a, int weights, int tm, int tk) {   // tm: the largest stage's
        format = weights;
        bf = emu::Bf16Tiles{nullptr, 0, tm, tk, {}};
        q4 = emu::Q4Tiles{nullptr, 0, tm, tk, {}};
        q40 = emu::Q4_0Tiles{nullptr, 0, tm, tk, {}};
        const bool ok = format == NPUK_WEIGHTS_Q4_1 ? q4.alloc(a) : format == NPUK_WEIGHTS_Q4_0 ? q40.alloc(a) : bf.alloc(a);
        if (!ok) return false;
        for (auto &p : x) p = a.alloc<bfloat16>(tk);
        for (auto &p : acc) p = a.alloc<float>(tm);
        for (auto &p : tile) p = a.alloc<bfloat16>(tm);
        return !a.overflowed();
    }
    // acc[which] = rows row0..row0+tm-1 of W (m x k) times x (k), streamed in tk slices.
    void rows(const void *w, int k, const uint16_t *xv, int row0, int which, int tm) {
        const int tk = bf.tk;
        bf.tm = q4.tm = q40.tm = tm;
        for (int kt = 0, s = 0; kt < k / tk; ++kt, s ^= 1) {
            emu::dma_2d(x[s], emu::bf(xv) + kt * tk, 1, tk, 0);
            if (format == NPUK_WEIGHTS_Q4_1) {
                q4.w = static_cast<const uint8_t *>(w);
                q4.k = k;
                q4.load(s, row0, kt * tk);
                gemv_q4_1_blocks(q4.buf[s], x[s], acc[which], q4.tm, tk, kt == 0);
            } else if (format == NPUK_WEIGHTS_Q4_0) {
                q40.w = static_cast<const uint8_t *>(w);
                q40.k = k;
                q40.load(s, row0, kt * tk);
                gemv_q4_0(q40.buf[s], x[s], acc[which], q40.tm, tk, kt == 0);
            } else {
                bf.w = static_cast<const uint16_t *>(w);
                bf.k = k;
                bf.load(s, row0, kt * tk);
                gemv_bf16(bf.buf[s], x[s], acc[which], bf.tm, tk, kt == 0);
            }
        }
    }
};

// y (m) = W.x over `cores` gemv cores, tiles dealt round-robin; `epilogue(core, t, acc)` writes.
template <class Epilogue>
void gemv_stage(std::vector<GemvCore> &g, const void *w, int m, int k, const uint16_t *x, int tm, Epilogue epilogue) {
    const int cores = int(g.size());
    for (int c = 0; c < cores; ++c)
        for (int t = c; t < m / tm; t += cores) {
            g[c].rows(w, k, x, t * tm, 0, tm);
            epilogue(c, t);
        }
}

bool valid_gemv(int m, int k, int tm, int tk) {
    return m > 0 && k > 0 && tm > 0 && tk > 0 && m % tm == 0 && k % tk == 0 && tk % 32 == 0 && tm % 16 == 0;
}

// rope serves head_dim a multiple of 32, or 16 (two heads per vector)
bool valid_head_dim(int head_dim) { return head_dim > 0 && (head_dim % 32 == 0 || head_dim == 16); }

// The weight formats the halves take; Q4_0 k-slices must be whole 4-byte words (an even block count).
bool valid_weights(int q4, int tk) {
    return q4 == NPUK_WEIGHTS_BF16 || q4 == NPUK_WEIGHTS_Q4_1 || (q4 == NPUK_WEIGHTS_Q4_0 && tk % 64 == 0);
}

} // namespace

extern "C" {

int32_t npuk_layer_mlp_half(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *w_gate,
                            const void *w_up, const void *w_down, int32_t hidden, int32_t ffn, int32_t tm, int32_t tk,
                            int32_t cores, uint16_t *out) {
    const int32_t tms[2] = {tm, tm};
    return npuk_layer_mlp_half_taps(x, norm_w, eps, q4, w_gate, w_up, w_down, hidden, ffn, tms, tk, cores, nullptr, out);
}

int32_t npuk_layer_mlp_half_taps(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *w_gate,
                                 const void *w_up, const void *w_down, int32_t hidden, int32_t ffn, const int32_t *tms,
                                 int32_t tk, int32_t cores, uint16_t *taps, uint16_t *out) {
    const int tm = tms[0], tm_down = tms[1];   // ffn_gate/ffn_up, ffn_out
    if (!valid_gemv(ffn, hidden, tm, tk) || !valid_gemv(hidden, ffn, tm_down, tk) || cores <= 0 || hidden % 32 ||
        !valid_weights(q4, tk))
        return NPUK_BAD_SHAPE;
    Arenas arena = make_arenas(cores);
    emu::power_on();
    // core 0 also normalises: weight resident, row in, row out
    bfloat16 *nw = arena[0]->alloc<bfloat16>(hidden), *nx = arena[0]->alloc<bfloat16>(hidden);
    bfloat16 *ny = arena[0]->alloc<bfloat16>(hidden);
    std::vector<GemvCore> g(cores);
    std::vector<bfloat16 *> resid(cores);
    for (int c = 0; c < cores; ++c) {
        if (!g[c].alloc(*arena[c], q4, std::max(tm, tm_down), tk)) return NPUK_CORE_MEMORY;
        resid[c] = arena[c]->alloc<bfloat16>(std::max(tm, tm_down));
        if (arena[c]->overflowed()) return NPUK_CORE_MEMORY;
    }
    std::memcpy(nw, norm_w, 2 * size_t(hidden));
    std::memcpy(nx, x, 2 * size_t(hidden));
    rmsnorm_bf16(nx, nw, ny, hidden, eps);
    std::vector<uint16_t> xn(hidden), act(ffn);   // live in the memory tile between stages
    std::memcpy(xn.data(), ny, 2 * size_t(hidden));
    // taps (debug BO): ffn_norm (hidden) | ffn_gate (ffn) | ffn_up (ffn) | ffn_act (ffn) | ffn_out (hidden) | l_out
    // (hidden)
    uint16_t *tap_norm = taps, *tap_gate = taps ? taps + hidden : nullptr, *tap_up = taps ? tap_gate + ffn : nullptr;
    uint16_t *tap_act = taps ? tap_up + ffn : nullptr, *tap_down = taps ? tap_act + ffn : nullptr;
    if (taps) std::memcpy(tap_norm, ny, 2 * size_t(hidden));
    // gate and up rows of the same indices on the same core, then SwiGLU on them in place
    for (int c = 0; c < cores; ++c)
        for (int t = c; t < ffn / tm; t += cores) {
            g[c].rows(w_gate, hidden, xn.data(), t * tm, 0, tm);
            g[c].rows(w_up, hidden, xn.data(), t * tm, 1, tm);
            gemv_out_bf16(g[c].acc[0], g[c].tile[0], tm);
            gemv_out_bf16(g[c].acc[1], g[c].tile[1], tm);
            swiglu_bf16(g[c].tile[0], g[c].tile[1], g[c].tile[2], tm);
            std::memcpy(act.data() + long(t) * tm, g[c].tile[2], 2 * size_t(tm));
            if (taps) {
                std::memcpy(tap_gate + long(t) * tm, g[c].tile[0], 2 * size_t(tm));
                std::memcpy(tap_up + long(t) * tm, g[c].tile[1], 2 * size_t(tm));
                std::memcpy(tap_act + long(t) * tm, g[c].tile[2], 2 * size_t(tm));
            }
        }
    // down projection with the residual add as its epilogue
    gemv_stage(g, w_down, hidden, ffn, act.data(), tm_down, [&](int c, int t) {
        const int tm = tm_down;
        gemv_out_bf16(g[c].acc[0], g[c].tile[0], tm);
        if (tap_down) std::memcpy(tap_down + long(t) * tm, g[c].tile[0], 2 * size_t(tm));
        std::memcpy(resid[c], x + long(t) * tm, 2 * size_t(tm));
        add_bf16(g[c].tile[0], resid[c], g[c].tile[1], tm);
        if (tap_down) std::memcpy(tap_down + hidden + long(t) * tm, g[c].tile[1], 2 * size_t(tm));
        std::memcpy(out + long(t) * tm, g[c].tile[1], 2 * size_t(tm));
    });
    return NPUK_OK;
}

int32_t npuk_layer_attention_half(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *wq,
                                  const void *wk, const void *wv, const void *wo, uint16_t *k_cache, uint16_t *v_cache,
                                  int32_t capacity, int32_t pos, int32_t hidden, int32_t heads, int32_t kv_heads,
                                  int32_t head_dim, int32_t adjacent, const float *cos_table, const float *sin_table,
                                  int32_t table_positions, int32_t tm, int32_t tk, int32_t cores, int32_t block,
                                  int32_t splits, uint16_t *out) {
    if (!valid_head_dim(head_dim) || block <= 0 || capacity <= 0 || pos < 0 || pos >= capacity ||
        pos >= table_positions)
        return NPUK_BAD_SHAPE;
    // the step params buffer as the host writes it: int32[8] header, then cos || sin in bf16 (nearest even)
    std::vector<int32_t> params(8 + head_dim / 2, 0);
    params[0] = pos;
    params[2] = 1;
    uint16_t *cs = reinterpret_cast<uint16_t *>(params.data() + 8);
    aie::set_rounding(aie::rounding_mode::conv_even);
    const int half = head_dim / 2;
    for (int i = 0; i < half; ++i) {
        cs[i] = bfloat16(cos_table[size_t(pos) * half + i]).bits;
        cs[half + i] = bfloat16(sin_table[size_t(pos) * half + i]).bits;
    }
    const int needed = (pos + 1 + block - 1) / block;
    int bucket = 1;
    while (bucket < needed) bucket *= 2;
    bucket = std::min(bucket, capacity / block);
    const int32_t tms[3] = {tm, tm, tm};
    // the row arguments as the host binds them: sub-buffers of the caches at row pos of KV head 0
    return npuk_layer_attention_half_step(x, norm_w, eps, q4, wq, wk, wv, wo, k_cache, v_cache,
                                          k_cache + long(pos) * head_dim, v_cache + long(pos) * head_dim, capacity,
                                          params.data(),
                                          hidden, heads, kv_heads, head_dim, adjacent, tms, tk, cores, block, splits,
                                          bucket, nullptr, out);
}

int32_t npuk_layer_attention_half_step(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *wq,
                                       const void *wk, const void *wv, const void *wo, const uint16_t *k_cache,
                                       const uint16_t *v_cache, uint16_t *k_row, uint16_t *v_row, int32_t capacity,
                                       const int32_t *params, int32_t hidden,
                                       int32_t heads, int32_t kv_heads, int32_t head_dim, int32_t adjacent,
                                       const int32_t *tms, int32_t tk, int32_t cores, int32_t block, int32_t splits,
                                       int32_t bucket, uint16_t *taps, uint16_t *out) {
    const int q_dim = heads * head_dim, kv_dim = kv_heads * head_dim, group = heads / std::max(kv_heads, 1);
    const int tm_q = tms[0], tm_kv = tms[1], tm_o = tms[2], tm = std::max({tm_q, tm_kv, tm_o});
    if (heads <= 0 || kv_heads <= 0 || heads % kv_heads || !valid_head_dim(head_dim) ||
        !valid_gemv(q_dim, hidden, tm_q, tk) || !valid_gemv(kv_dim, hidden, tm_kv, tk) ||
        !valid_gemv(hidden, q_dim, tm_o, tk) || block <= 0 || capacity % block ||
        kv_heads * splits > cores - 1 || hidden % 32 || params == nullptr || !valid_weights(q4, tk) ||
        k_row == nullptr || v_row == nullptr)
        return NPUK_BAD_SHAPE;
    const int pos = params[0];
    // the design instance's length bucket must cover pos + 1 positions and fit the cache
    if (pos < 0 || pos >= capacity || bucket <= 0 || long(bucket) * block < pos + 1 || long(bucket) * block > capacity)
        return NPUK_BAD_SHAPE;
    Arenas arena = make_arenas(cores);
    emu::power_on();
    // core 0: rmsnorm and rope (buffers of both) besides its gemv buffers
    emu::CoreArena &a0 = *arena[0];
    bfloat16 *nw = a0.alloc<bfloat16>(hidden), *nx[2] = {a0.alloc<bfloat16>(hidden), a0.alloc<bfloat16>(hidden)};
    bfloat16 *ny[2] = {a0.alloc<bfloat16>(hidden), a0.alloc<bfloat16>(hidden)};
    bfloat16 *cs[2] = {a0.alloc<bfloat16>(head_dim), a0.alloc<bfloat16>(head_dim)};
    bfloat16 *rin[2] = {a0.alloc<bfloat16>(q_dim), a0.alloc<bfloat16>(q_dim)};
    bfloat16 *rout[2] = {a0.alloc<bfloat16>(q_dim), a0.alloc<bfloat16>(q_dim)};
    std::vector<GemvCore> g(cores);
    std::vector<bfloat16 *> resid(cores);
    for (int c = 0; c < cores; ++c) {
        if (!g[c].alloc(*arena[c], q4, tm, tk)) return NPUK_CORE_MEMORY;
        resid[c] = arena[c]->alloc<bfloat16>(tm);
    }
    // attention cores: the last kv_heads * splits cores. As the IRON design feeds them (two input DMA
    // channels): `pack` = q group | k_new | v_new | params header, `kv` = K block | V block.
    struct AttnCore { bfloat16 *pack, *kv[2]; float *state, *other, *scores; };
    const size_t pack_count = size_t(group) * head_dim + 2 * size_t(head_dim) + 16;
    std::vector<AttnCore> at(size_t(kv_heads) * splits);
    for (int i = 0; i < kv_heads * splits; ++i) {
        emu::CoreArena &a = *arena[cores - kv_heads * splits + i];
        const size_t st = size_t(group) * (head_dim + 16);
        at[i] = AttnCore{a.alloc<bfloat16>(pack_count),
                         {a.alloc<bfloat16>(2 * size_t(block) * head_dim), a.alloc<bfloat16>(2 * size_t(block) * head_dim)},
                         a.alloc<float>(st), a.alloc<float>(st), a.alloc<float>(block)};
    }
    for (auto &a : arena)
        if (a->overflowed()) return NPUK_CORE_MEMORY;

    // 1. rmsnorm on core 0
    std::memcpy(nw, norm_w, 2 * size_t(hidden));
    std::memcpy(nx[0], x, 2 * size_t(hidden));
    rmsnorm_bf16(nx[0], nw, ny[0], hidden, eps);
    std::vector<uint16_t> xn(hidden), q(q_dim), k(kv_dim), v(kv_dim), attn(q_dim);
    std::memcpy(xn.data(), ny[0], 2 * size_t(hidden));
    // taps (debug BO): attn_norm (hidden) | Qcur (q) | Kcur (kv) | Vcur (kv) | Qrope (q) | Krope (kv) | kqv_out (q) |
    // attn_out (hidden) | ffn_inp (hidden)
    uint16_t *tap = taps;
    auto tap_copy = [&](const void *src, size_t count) {
        if (!taps) return;
        std::memcpy(tap, src, 2 * count);
        tap += count;
    };
    tap_copy(ny[0], size_t(hidden));
    // 2. Q, K, V rows through the same gemv fifos
    auto to = [&](std::vector<uint16_t> &dst, int tm) {
        return [&, d = &dst, tm](int c, int t) {
            gemv_out_bf16(g[c].acc[0], g[c].tile[0], tm);
            std::memcpy(d->data() + long(t) * tm, g[c].tile[0], 2 * size_t(tm));
        };
    };
    gemv_stage(g, wq, q_dim, hidden, xn.data(), tm_q, to(q, tm_q));
    gemv_stage(g, wk, kv_dim, hidden, xn.data(), tm_kv, to(k, tm_kv));
    gemv_stage(g, wv, kv_dim, hidden, xn.data(), tm_kv, to(v, tm_kv));
    tap_copy(q.data(), size_t(q_dim));
    tap_copy(k.data(), size_t(kv_dim));
    tap_copy(v.data(), size_t(kv_dim));
    // 3. rope on core 0 with the step params' cos/sin row (host-written bf16, after the int32[8] header)
    std::memcpy(cs[0], params + 8, 2 * size_t(head_dim));
    for (auto [vec, n] : {std::pair<std::vector<uint16_t> *, int>{&q, heads}, {&k, kv_heads}}) {
        std::memcpy(rin[0], vec->data(), 2 * size_t(n) * head_dim);
        if (adjacent) rope_adjacent_bf16(rin[0], cs[0], rout[0], n, head_dim);
        else rope_halfsplit_bf16(rin[0], cs[0], rout[0], n, head_dim);
        std::memcpy(vec->data(), rout[0], 2 * size_t(n) * head_dim);
    }
    tap_copy(q.data(), size_t(q_dim));
    tap_copy(k.data(), size_t(kv_dim));
    // 4-5. attention over the instance's bucket of blocks (positions past pos masked), splits per KV head,
    // merge. The core that holds pos's block patches the new row into its copy (attn_decode_packed_bf16:
    // the DDR row is written in the same run, so the block read may be stale); the new K and V rows of
    // each head reach DDR through the row arguments k_row / v_row (sub-buffers at row pos of KV head 0;
    // head h's row at the static offset h * capacity * head_dim), and nothing else of the cache is written.
    for (int h = 0; h < kv_heads; ++h) {
        for (int s = 0; s < splits; ++s) {
            AttnCore &c = at[h * splits + s];
            bfloat16 *p = c.pack;
            std::memcpy(p, q.data() + size_t(h) * group * head_dim, 2 * size_t(group) * head_dim);
            std::memcpy(p + size_t(group) * head_dim, k.data() + size_t(h) * head_dim, 2 * size_t(head_dim));
            std::memcpy(p + size_t(group + 1) * head_dim, v.data() + size_t(h) * head_dim, 2 * size_t(head_dim));
            std::memcpy(p + size_t(group + 2) * head_dim, params, 32);
            attn_decode_init_f32(c.state, group, head_dim);
            for (int b = s, slot = 0; b < bucket; b += splits, slot ^= 1) {
                const long base = (long(h) * capacity + long(b) * block) * head_dim;
                const size_t n = size_t(block) * head_dim;
                std::memcpy(c.kv[slot], k_cache + base, 2 * n);
                std::memcpy(c.kv[slot] + n, v_cache + base, 2 * n);
                attn_decode_packed_bf16(c.pack, c.kv[slot], c.state, c.scores, b, block, group, head_dim);
            }
            if (s == 0) {   // the head's first attention core drains its pack's k and v rows
                std::memcpy(k_row + long(h) * capacity * head_dim, p + size_t(group) * head_dim, 2 * size_t(head_dim));
                std::memcpy(v_row + long(h) * capacity * head_dim, p + size_t(group + 1) * head_dim, 2 * size_t(head_dim));
            }
        }
        AttnCore &m = at[h * splits];
        const size_t st = size_t(group) * (head_dim + 16);
        for (int s = 1; s < splits; ++s) {
            std::memcpy(m.other, at[h * splits + s].state, 4 * st);
            attn_decode_merge_f32(m.state, m.other, group, head_dim);
        }
        attn_decode_out_bf16(m.state, m.pack, group, head_dim); // the pack's q part reused for the output
        std::memcpy(attn.data() + size_t(h) * group * head_dim, m.pack, 2 * size_t(group) * head_dim);
    }
    tap_copy(attn.data(), size_t(q_dim));
    // 6. o-projection with the residual add as its epilogue
    gemv_stage(g, wo, hidden, q_dim, attn.data(), tm_o, [&](int c, int t) {
        const int tm = tm_o;
        gemv_out_bf16(g[c].acc[0], g[c].tile[0], tm);
        if (taps) std::memcpy(tap + long(t) * tm, g[c].tile[0], 2 * size_t(tm));
        std::memcpy(resid[c], x + long(t) * tm, 2 * size_t(tm));
        add_bf16(g[c].tile[0], resid[c], g[c].tile[1], tm);
        if (taps) std::memcpy(tap + hidden + long(t) * tm, g[c].tile[1], 2 * size_t(tm));
        std::memcpy(out + long(t) * tm, g[c].tile[1], 2 * size_t(tm));
    });
    return NPUK_OK;
}

} // extern "C"
