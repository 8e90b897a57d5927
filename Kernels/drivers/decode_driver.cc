// Driver of the decode token design (Kernels/decode/decode_token.py): one run, every layer, moving data exactly as its fifos and runtime sequence do; the final residual drained to io x_final for the LM head run (lm_head_driver.cc).
//
// The cores run concurrently on the NPU; here they run in the order their data dependencies force (the hub's
// order, issue 12's contract): each phase completes before the next, which is what the runtime sequence's task
// groups and waits enforce on the device. Every offset and size comes from `npuk_decode_layout` (Swift's DecodeLayout
// fills it): nothing of the layout is derived here. Each core's buffers (the design's Buffers and its fifo objects)
// live in its own 63 KB arena and each memory tile's in a 512 KB one (IRON allocates them statically), so the
// budgets are checked, not claimed. Every DDR transfer is counted per argument and per shim channel.
#include <algorithm>
#include <cstring>
#include <vector>

#include "decode_array.h"

namespace {

using decode_emu::Array;
using emu::CoreArena;

constexpr int kParamHeader = 16;   // int32[8] in bf16 slots
constexpr int kStateHeader = 16;   // attention state per head: m, l, 14 unused, acc[hd]

struct AttnCore {
    bfloat16 *pack, *kv[2], *out;
    float *state, *scores;
};

class Token : Array {
  public:
    Token(const npuk_decode_layout &L, const uint8_t *weights, const uint16_t *kv, uint16_t *kv_row, uint16_t *io,
          npuk_decode_traffic &t)
        : Array(io, t, L.execute != 0,
                decode_emu::Streams{weights, L.streams_offset, L.pair_bytes, L.pairs, L.weights_bytes}, L.hub_slice,
                L.tm, L.tk),
          L(L), kv(kv), kv_row(kv_row) {}

    int32_t run();

  private:
    const npuk_decode_layout &L;
    const uint16_t *kv;
    uint16_t *kv_row;
    std::vector<AttnCore> at;
    // memory tiles of the KV groups', packs' and attention joins' objects
    std::vector<bfloat16 *> kvobj, packobj, attnjoin;
    // the hub core's Buffers (decode_token.py hub_buffers)
    bfloat16 *prm, *cs, *xa, *xr, *tb, *yb, *qk, *qr, *vb, *pk, *gate, *up, *act;
    // issue 17 (decode_token.py qwen_step's Buffers): Qwen2 hub_qkvb, hub_bias; Qwen3 hub_qkn; both hub_row (one
    // head of fp32 q/k/v rows: hd fp32 values in 2·hd bf16-typed slots)
    bfloat16 *qkvb = nullptr, *bias = nullptr, *qkn = nullptr, *row = nullptr;
    void qwen_step(int l);

    bool allocate();
    void rope_and_packs(int l);
    void attention(int l);
};

bool Token::allocate() {
    const int64_t hd = L.head_dim, tm = L.tm;
    int64_t kmax = 0;
    for (const auto &st : L.stage) {
        kmax = std::max(kmax, st.k);
        if (st.tile_bytes != L.stage[0].tile_bytes) return false;
    }
    if (!allocate_gemv(kmax, L.stage[0].tile_bytes, false)) return false;
    // the hub: its fifo objects and Buffers
    {
        CoreArena &a = arena(emu::kCoreDataBytes);
        allocate_hub_fifos(a);
        prm = a.alloc<bfloat16>(size_t(L.params));
        cs = a.alloc<bfloat16>(size_t(hd));
        xa = a.alloc<bfloat16>(size_t(L.hidden));
        xr = a.alloc<bfloat16>(size_t(L.hidden));
        tb = a.alloc<bfloat16>(size_t(L.hidden));
        yb = a.alloc<bfloat16>(size_t(L.hidden));
        qk = a.alloc<bfloat16>(size_t(L.q_dim + L.kv_dim));
        qr = a.alloc<bfloat16>(size_t(L.q_dim + L.kv_dim));
        vb = a.alloc<bfloat16>(size_t(L.kv_dim));
        pk = a.alloc<bfloat16>(size_t(L.pack));
        gate = a.alloc<bfloat16>(size_t(tm));
        up = a.alloc<bfloat16>(size_t(tm));
        act = a.alloc<bfloat16>(size_t(tm));
        if (L.family == 1) {
            qkvb = a.alloc<bfloat16>(size_t(L.extra_values));
            bias = a.alloc<bfloat16>(size_t(L.extra_values));
        } else if (L.family == 2) {
            qkn = a.alloc<bfloat16>(size_t(L.extra_values));
        }
        if (L.family != 0) row = a.alloc<bfloat16>(2 * size_t(hd));
        if (a.overflowed()) return false;
    }
    // one attention core per KV head: pack (depth 1), K ‖ V blocks (depth 2), output (depth 1), state, scores
    const int64_t grp = L.q_per_kv;
    at.resize(size_t(L.kv_heads));
    for (auto &c : at) {
        CoreArena &a = arena(emu::kCoreDataBytes);
        c.pack = a.alloc<bfloat16>(size_t(L.pack));
        for (auto &p : c.kv) p = a.alloc<bfloat16>(size_t(L.kv_head_stride));
        c.out = a.alloc<bfloat16>(size_t(grp * hd));
        c.state = a.alloc<float>(size_t(grp * (hd + kStateHeader)));
        c.scores = a.alloc<float>(size_t(L.block));
        if (a.overflowed()) return false;
    }
    // memory tiles of the KV groups (depth 2), packs and attention joins (depth 1)
    for (int i = 0; i < L.kv_groups; ++i) {
        CoreArena &a = arena(emu::kMemTileBytes);
        kvobj.push_back(a.alloc<bfloat16>(size_t(L.kv_chunk)));
        a.alloc<bfloat16>(size_t(L.kv_chunk));
        if (a.overflowed()) return false;
    }
    for (int i = 0; i < (L.kv_heads + 3) / 4; ++i) {
        CoreArena &a = arena(emu::kMemTileBytes);
        packobj.push_back(a.alloc<bfloat16>(4 * size_t(L.pack)));
        attnjoin.push_back(a.alloc<bfloat16>(4 * size_t(grp * hd)));
        if (a.overflowed()) return false;
    }
    return true;
}

// Step 2 of a layer: q and k rows, then v, back from io; RoPE over the heads + KV heads rows in one call; a pack per
// KV head (q of its query heads ‖ k ‖ v ‖ params header, zero to PN) to io; each head's new K and V rows to kv_row
// at the layout's static offsets (per group: [gk heads, K|V, hd]).
void Token::rope_and_packs(int l) {
    const int64_t hd = L.head_dim, q = L.q_dim, kvd = L.kv_dim, grp = L.q_per_kv;
    const npuk_decode_io_layer &io_l = L.io_layer[l];
    if (L.family != 0) {
        qwen_step(l);
    } else {
        take_io(qk, io_l.qkv, q + kvd);
        take_io(vb, io_l.qkv + q + kvd, kvd);
    }
    if (exec) {
        if (L.adjacent) rope_adjacent_bf16(qk, cs, qr, L.heads + L.kv_heads, int32_t(hd));
        else rope_halfsplit_bf16(qk, cs, qr, L.heads + L.kv_heads, int32_t(hd));
    }
    for (int h = 0; h < L.kv_heads; ++h) {
        std::memcpy(pk, qr + h * grp * hd, 2 * size_t(grp * hd));
        std::memcpy(pk + grp * hd, qr + q + h * hd, 2 * size_t(hd));
        std::memcpy(pk + (grp + 1) * hd, vb + h * hd, 2 * size_t(hd));
        std::memcpy(pk + (grp + 2) * hd, prm, 2 * kParamHeader);
        give_io(io_l.packs + h * L.pack, pk, L.pack);
    }
    for (int h = 0; h < L.kv_heads; ++h) {
        const int grp_i = h / L.heads_per_group, i = h % L.heads_per_group;
        const int64_t base = L.kv_group[int64_t(l) * L.kv_groups + grp_i] + i * L.kv_head_stride;
        give(kv_row, base, qr + q + h * hd, hd, true);
        give(kv_row, base + L.kv_half_stride, vb + h * hd, hd, true);
    }
}

// Issue 17, decode_token.py qwen_step: the family's step on the hub between the q/k/v rows and RoPE, rounding ONCE
// (Kernels/decode/README.md "Qwen fp32 rows"): io qkv holds the QKV stage's fp32 rows. The family's weights first,
// then the rows one head (hd fp32 = 2·hd slots) at a time. Qwen2: the biases, bias_add_f32_bf16 per head of q ‖ k ‖ v
// into hub_qkvb, the biased rows to io qkv_fused, then q ‖ k and v to the hub's buffers. Qwen3: q_norm ‖ k_norm,
// qk_norm_f32_bf16 per q/k head into hub_qk, round_f32_bf16 per v head into hub_v, the normed rows to qkv_fused.
void Token::qwen_step(int l) {
    const int64_t q = L.q_dim, kvd = L.kv_dim, hd = L.head_dim;
    const npuk_decode_io_layer &io_l = L.io_layer[l];
    if (L.family == 1) {
        const int64_t n = q + 2 * kvd;
        take_weights(bias, L.extra[l], n);
        for (int64_t j = 0; j < n / hd; ++j) {
            take_io(row, io_l.qkv + 2 * j * hd, 2 * hd);
            if (exec) bias_add_f32_bf16(row, bias, qkvb, int32_t(j), int32_t(hd));
        }
        give_io(io_l.qkv_fused, qkvb, n);
        std::memcpy(qk, qkvb, 2 * size_t(q + kvd));
        std::memcpy(vb, qkvb + q + kvd, 2 * size_t(kvd));
    } else {
        take_weights(qkn, L.extra[l], L.extra_values);
        for (int j = 0; j < L.heads + L.kv_heads; ++j) {
            take_io(row, io_l.qkv + 2 * j * hd, 2 * hd);
            if (exec) qk_norm_f32_bf16(row, qkn, qk, j, L.heads, int32_t(hd), L.eps);
        }
        for (int h = 0; h < L.kv_heads; ++h) {
            take_io(row, io_l.qkv + 2 * (q + kvd + h * hd), 2 * hd);
            if (exec) round_f32_bf16(row, vb, h, int32_t(hd));
        }
        give_io(io_l.qkv_fused, qk, q + kvd);
    }
}

// Step 3 (attention cores): each pack fifo fills its ≤ 4 packs (split at a memory tile); per block, each KV group's
// fill of gk (K block ‖ V block) objects is split to the group's cores (the group's blocks are a slab apart);
// attn_decode_packed_bf16 per block in order, one state per head; the outputs join (≤ 4) and drain to kqv.
void Token::attention(int l) {
    const int64_t hd = L.head_dim, grp = L.q_per_kv;
    const npuk_decode_io_layer &io_l = L.io_layer[l];
    const int packs = int(packobj.size());
    for (int p = 0; p < packs; ++p) {
        const int n = std::min(4, L.kv_heads - 4 * p);
        std::memcpy(packobj[p], io + io_l.packs + int64_t(4 * p) * L.pack, 2 * size_t(n) * L.pack);
        t.pack_channel[p] += 2 * int64_t(n) * L.pack;
        t.io_read += 2 * int64_t(n) * L.pack;
        for (int i = 0; i < n; ++i) std::memcpy(at[4 * p + i].pack, packobj[p] + int64_t(i) * L.pack, 2 * size_t(L.pack));
    }
    for (auto &c : at)
        if (exec) attn_decode_init_f32(c.state, int32_t(grp), int32_t(hd));
    for (int b = 0; b < L.bucket; ++b) {
        const int slot = b & 1;
        for (int gi = 0; gi < L.kv_groups; ++gi) {
            const int64_t from = L.kv_group[int64_t(l) * L.kv_groups + gi] + int64_t(b) * L.kv_slab;
            std::memcpy(kvobj[gi], kv + from, 2 * size_t(L.kv_chunk));
            t.kv_channel[gi] += 2 * L.kv_chunk;
            t.kv_read += 2 * L.kv_chunk;
            for (int i = 0; i < L.heads_per_group; ++i)
                std::memcpy(at[gi * L.heads_per_group + i].kv[slot], kvobj[gi] + i * L.kv_head_stride, 2 * size_t(L.kv_head_stride));
        }
        if (!exec) continue;
        for (auto &c : at)
            attn_decode_packed_bf16(c.pack, c.kv[slot], c.state, c.scores, b, L.block, int32_t(grp), int32_t(hd));
    }
    for (int p = 0; p < packs; ++p) {
        const int n = std::min(4, L.kv_heads - 4 * p);
        for (int i = 0; i < n; ++i) {
            AttnCore &c = at[4 * p + i];
            if (exec) attn_decode_out_bf16(c.state, c.out, int32_t(grp), int32_t(hd));
            std::memcpy(attnjoin[p] + int64_t(i) * grp * hd, c.out, 2 * size_t(grp * hd));
        }
        std::memcpy(io + io_l.kqv + int64_t(4 * p) * grp * hd, attnjoin[p], 2 * size_t(n) * grp * hd);
        t.attn_drain[p] += 2 * int64_t(n) * grp * hd;
        t.io_written += 2 * int64_t(n) * grp * hd;
    }
}

int32_t Token::run() {
    if (!allocate()) return NPUK_CORE_MEMORY;
    emu::power_on();
    const int64_t H = L.hidden, F = L.ffn, tm = L.tm, hd = L.head_dim;
    // token start: the params (header, cos ‖ sin) and the embedding row
    take_io(prm, L.io_params, L.params);
    std::memcpy(cs, prm + kParamHeader, 2 * size_t(hd));
    int32_t header[8];
    std::memcpy(header, prm, 32);
    const int64_t pos = header[0];
    if (pos < 0 || pos >= int64_t(L.blocks) * L.block || int64_t(L.bucket) * L.block < pos + 1 || L.bucket > L.blocks)
        return NPUK_BAD_SHAPE;
    take_io(xa, L.io_x, H);
    const int64_t pad_at = (L.q_per_kv + 2) * hd + kParamHeader;
    std::memset(pk + pad_at, 0, 2 * size_t(L.pack - pad_at));
    for (int l = 0; l < L.layers; ++l) {
        const npuk_decode_io_layer &io_l = L.io_layer[l];
        // 1. attn_norm → io and the QKV stage's x
        take_weights(tb, L.attn_norm[l], H);
        if (exec) rmsnorm_bf16(xa, tb, yb, int32_t(H), L.eps);
        begin_x();
        give_and_broadcast(io_l.attn_norm, yb, H);
        if (!gemv_stage(L.stage[NPUK_STAGE_QKV], io_l.qkv, -1, L.family != 0)) return NPUK_BAD_LAYOUT;
        // 2. RoPE, packs, K/V rows; the attention cores
        rope_and_packs(l);
        attention(l);
        // 3. kqv_out → the O stage's x (forwarded object by object)
        begin_x();
        for (int64_t o = 0; o < L.q_dim; o += S) {
            bfloat16 *in = hin[hin_slot ^= 1];
            std::memcpy(in, io + io_l.kqv + o, 2 * size_t(S));
            t.io_read += 2 * S;
            t.hub_in += 2 * S;
            broadcast(in, S);
        }
        if (!gemv_stage(L.stage[NPUK_STAGE_O], io_l.o)) return NPUK_BAD_LAYOUT;
        // 4. the residual + attn_out → ffn_inp; ffn_norm → io and the GU stage's x
        take_io(tb, io_l.o, H);
        if (exec) add_bf16(xa, tb, xr, int32_t(H));
        give_io(io_l.ffn_inp, xr, H);
        take_weights(tb, L.ffn_norm[l], H);
        if (exec) rmsnorm_bf16(xr, tb, yb, int32_t(H), L.eps);
        begin_x();
        give_and_broadcast(io_l.ffn_norm, yb, H);
        if (!gemv_stage(L.stage[NPUK_STAGE_GU], io_l.gu)) return NPUK_BAD_LAYOUT;
        // 5. SwiGLU per (gate tile, up tile) → act to io and the D stage's x, tile by tile
        begin_x();
        for (int64_t p = 0; p < F / tm; ++p) {
            take_io(gate, io_l.gu + 2 * p * tm, tm);
            take_io(up, io_l.gu + (2 * p + 1) * tm, tm);
            if (exec) swiglu_bf16(gate, up, act, int32_t(tm));
            give_and_broadcast(io_l.act + p * tm, act, tm);
        }
        if (!gemv_stage(L.stage[NPUK_STAGE_D], io_l.d)) return NPUK_BAD_LAYOUT;
        // 6. the residual + ffn_out → l_out
        take_io(tb, io_l.d, H);
        if (exec) add_bf16(xr, tb, xa, int32_t(H));
        give_io(io_l.l_out, xa, H);
    }
    // the final residual → io x_final (the LM head run's input)
    give_io(L.io_x_final, xa, H);
    if (!streams_consumed()) return NPUK_BAD_LAYOUT;
    return NPUK_OK;
}

} // namespace

extern "C" int32_t npuk_decode_token(const npuk_decode_layout *layout, const uint8_t *weights, const uint16_t *kv,
                                     uint16_t *kv_row, uint16_t *io, npuk_decode_traffic *traffic) {
    if (!layout || !weights || !kv || !kv_row || !io) return NPUK_BAD_SHAPE;
    const npuk_decode_layout &L = *layout;
    if (L.hub_slice <= 0 || L.tm <= 0 || L.tk <= 0 || L.kv_heads <= 0 || L.kv_heads > 8 || L.kv_groups <= 0 ||
        L.kv_groups > 4 || L.layers <= 0 || L.pair_bytes <= 0 || !L.io_layer || !L.attn_norm || !L.ffn_norm || !L.kv_group)
        return NPUK_BAD_SHAPE;
    npuk_decode_traffic local{};
    npuk_decode_traffic &t = traffic ? *traffic : local;
    t = npuk_decode_traffic{};
    Token token(L, weights, kv, kv_row, io, t);
    return token.run();
}
