// Driver of the decode token design (Kernels/decode/decode_token.py): one run, every layer and the LM head, moving data exactly as its fifos and runtime sequence do.
//
// The cores run concurrently on the NPU; here they run in the order their data dependencies force (the hub's
// order, issue 12's contract): each phase completes before the next, which is what the runtime sequence's task
// groups and waits enforce on the device. Every offset and size comes from `npuk_decode_layout` (Swift's DecodeLayout
// fills it): nothing of the layout is derived here. Each core's buffers (the design's Buffers and its fifo objects)
// live in its own 63 KB arena and each memory tile's in a 512 KB one (IRON allocates them statically), so the
// budgets are checked, not claimed. Every DDR transfer is counted per argument and per shim channel.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "emu_core.h"
#include "kernels.h"

namespace {

using emu::CoreArena;

constexpr int kParamHeader = 16;   // int32[8] in bf16 slots
constexpr int kStateHeader = 16;   // attention state per head: m, l, 14 unused, acc[hd]

// A gemv core: the x_bcast objects it receives, its local x and k-slice, the split's weight tiles, its
// accumulator, its output objects, its LM best (fp32 value bits, row: 4 bf16 slots).
struct GemvCore {
    bfloat16 *xin[2], *x, *xs;
    uint8_t *w[2];
    float *acc;
    bfloat16 *y[2];
    int32_t *best;
    int xfill;
};

struct AttnCore {
    bfloat16 *pack, *kv[2], *out;
    float *state, *scores;
};

class Token {
  public:
    Token(const npuk_decode_layout &L, const uint8_t *weights, const uint16_t *kv, uint16_t *kv_row, uint16_t *io,
          npuk_decode_traffic &t)
        : L(L), weights(weights), kv(kv), kv_row(kv_row), io(io), t(t), exec(L.execute != 0) {}

    int32_t run();

  private:
    const npuk_decode_layout &L;
    const uint8_t *weights;
    const uint16_t *kv;
    uint16_t *kv_row, *io;
    npuk_decode_traffic &t;
    const bool exec;
    std::vector<std::unique_ptr<CoreArena>> arenas;
    int64_t next_pair[NPUK_DECODE_CHANNELS] = {};
    std::vector<GemvCore> g;
    std::vector<AttnCore> at;
    // memory tiles: column c's weight channels (one pair object each) and output join; the KV groups', packs' and
    // attention joins' objects
    uint8_t *pair[NPUK_DECODE_CHANNELS];
    bfloat16 *join[4];
    std::vector<bfloat16 *> kvobj, packobj, attnjoin;
    // the hub core: its fifo objects and Buffers (decode_token.py hub_buffers)
    bfloat16 *hin[2], *hout[2], *xb[2];
    bfloat16 *prm, *cs, *xa, *xr, *tb, *yb, *qk, *qr, *vb, *pk, *gate, *up, *act, *bests;
    int hin_slot = 0, hout_slot = 0, xb_slot = 0;
    int64_t S = 0;

    CoreArena &arena(size_t bytes) {
        arenas.push_back(std::make_unique<CoreArena>(bytes));
        return *arenas.back();
    }
    bool allocate();

    // hub_in: n values of io (element offset) or of the weights BO (byte offset) into dst, S per object
    void take_io(bfloat16 *dst, int64_t at, int64_t n) {
        for (int64_t o = 0; o < n; o += S) {
            bfloat16 *obj = hin[hin_slot ^= 1];
            std::memcpy(obj, io + at + o, 2 * size_t(S));
            std::memcpy(dst + o, obj, 2 * size_t(S));
        }
        t.io_read += 2 * n;
        t.hub_in += 2 * n;
    }
    void take_weights(bfloat16 *dst, int64_t byte_offset, int64_t n) {
        for (int64_t o = 0; o < n; o += S) {
            bfloat16 *obj = hin[hin_slot ^= 1];
            std::memcpy(obj, weights + byte_offset + 2 * o, 2 * size_t(S));
            std::memcpy(dst + o, obj, 2 * size_t(S));
        }
        t.weights_read += 2 * n;
        t.hub_in += 2 * n;
    }
    // hub_out: n values of src through the hub's output objects to io or kv_row (element offsets)
    void give(uint16_t *base, int64_t at, const bfloat16 *src, int64_t n, bool to_kv) {
        for (int64_t o = 0; o < n; o += S) {
            bfloat16 *obj = hout[hout_slot ^= 1];
            std::memcpy(obj, src + o, 2 * size_t(S));
            std::memcpy(base + at + o, obj, 2 * size_t(S));
        }
        (to_kv ? t.kv_row_written : t.io_written) += 2 * n;
        t.hub_out += 2 * n;
    }
    void give_io(int64_t at, const bfloat16 *src, int64_t n) { give(io, at, src, n, false); }
    // x_bcast: the hub's objects to every gemv core's local x, in order
    void begin_x() {
        for (auto &c : g) c.xfill = 0;
    }
    void broadcast(const bfloat16 *src, int64_t n) {
        for (int64_t o = 0; o < n; o += S) {
            bfloat16 *obj = xb[xb_slot ^= 1];
            std::memcpy(obj, src + o, 2 * size_t(S));
            for (auto &c : g) {
                bfloat16 *in = c.xin[(c.xfill / S) & 1];
                std::memcpy(in, obj, 2 * size_t(S));
                std::memcpy(c.x + c.xfill, in, 2 * size_t(S));
                c.xfill += int(S);
            }
        }
        t.broadcast += 2 * n;
    }
    // give to hub_out (io) and x_bcast, object by object
    void give_and_broadcast(int64_t at, const bfloat16 *src, int64_t n) {
        give_io(at, src, n);
        broadcast(src, n);
    }

    bool gemv_stage(int s, int64_t io_out);
    void rope_and_packs(int l);
    void attention(int l);
};

bool Token::allocate() {
    const int64_t hd = L.head_dim, tm = L.tm, grp = L.q_per_kv;
    S = L.hub_slice;
    int64_t kmax = 0, tile = 0;
    for (const auto &st : L.stage) {
        kmax = std::max(kmax, st.k);
        tile = std::max(tile, st.tile_bytes);
    }
    if (2 * tile != L.pair_bytes) return false;
    // 16 gemv cores: x_bcast (consumer, depth 2), x, xs, the split's tiles (depth 2), acc, outputs (depth 2), best
    g.resize(NPUK_DECODE_GEMV_CORES);
    for (auto &c : g) {
        CoreArena &a = arena(emu::kCoreDataBytes);
        for (auto &p : c.xin) p = a.alloc<bfloat16>(size_t(S));
        c.x = a.alloc<bfloat16>(size_t(kmax));
        c.xs = a.alloc<bfloat16>(size_t(L.tk));
        for (auto &p : c.w) p = a.alloc<uint8_t>(size_t(tile));
        c.acc = a.alloc<float>(size_t(tm));
        for (auto &p : c.y) p = a.alloc<bfloat16>(size_t(tm));
        c.best = reinterpret_cast<int32_t *>(a.alloc<bfloat16>(4));
        if (a.overflowed()) return false;
    }
    // the hub: hub_in (consumer), hub_out and x_bcast (producer), depth 2 each; its Buffers
    {
        CoreArena &a = arena(emu::kCoreDataBytes);
        for (auto &p : hin) p = a.alloc<bfloat16>(size_t(S));
        for (auto &p : hout) p = a.alloc<bfloat16>(size_t(S));
        for (auto &p : xb) p = a.alloc<bfloat16>(size_t(S));
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
        bests = a.alloc<bfloat16>(4 * size_t(NPUK_DECODE_GEMV_CORES));
        if (a.overflowed()) return false;
    }
    // one attention core per KV head: pack (depth 1), K ‖ V blocks (depth 2), output (depth 1), state, scores
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
    // memory tiles 0-3: each column's two weight channels and its output join
    for (int c = 0; c < 4; ++c) {
        CoreArena &a = arena(emu::kMemTileBytes);
        for (int j = 0; j < 2; ++j) {
            pair[2 * c + j] = a.alloc<uint8_t>(size_t(L.pair_bytes));
            a.alloc<uint8_t>(size_t(L.pair_bytes));   // depth 2
        }
        join[c] = a.alloc<bfloat16>(4 * size_t(tm));
        a.alloc<bfloat16>(4 * size_t(tm));
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

// One gemv stage on the 16 cores. Per round and k-slice each weight channel delivers its next pair object (the
// memory tile splits it to its two cores) and every core accumulates gemv(tile, xs = x[ks·tk, +tk)); per round each
// core writes gemv_out of its tile and each column joins its 4 objects and drains them to io_out + (r·16 + 4c)·tm.
// The LM stage folds argmax_f32 over each tile's valid rows (< vocab) and after the last round emits each core's
// best object (its best in slots 0–3, the rest 0).
bool Token::gemv_stage(int s, int64_t io_out) {
    const npuk_decode_stage &st = L.stage[s];
    const int tm = L.tm, tk = L.tk, slices = int(st.k / tk), ng = NPUK_DECODE_GEMV_CORES;
    const bool lm = s == NPUK_STAGE_LM;
    int slot = 0, oslot = 0;
    for (int64_t r = 0; r < st.rounds; ++r) {
        for (int ks = 0; ks < slices; ++ks, slot ^= 1) {
            for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch) {
                if (next_pair[ch] >= L.pairs) return false;
                const int64_t at = L.streams_offset + (next_pair[ch]++ * NPUK_DECODE_CHANNELS + ch) * L.pair_bytes;
                if (at + L.pair_bytes > L.weights_bytes) return false;
                std::memcpy(pair[ch], weights + at, size_t(L.pair_bytes));   // shim (c, 0) MM2S j → memory tile c
                t.weight_channel[ch] += L.pair_bytes;
                t.weights_read += L.pair_bytes;
                const int c = ch / 2, j = ch % 2;
                for (int h = 0; h < 2; ++h)   // the split: tile h to core 4c + 2j + h
                    std::memcpy(g[4 * c + 2 * j + h].w[slot], pair[ch] + h * st.tile_bytes, size_t(st.tile_bytes));
            }
            for (auto &c : g) {
                std::memcpy(c.xs, c.x + ks * tk, 2 * size_t(tk));
                if (!exec) continue;
                switch (st.format) {
                case NPUK_WEIGHTS_Q4_1: gemv_q4_1_blocks(c.w[slot], c.xs, c.acc, tm, tk, ks == 0); break;
                case NPUK_WEIGHTS_Q4_0: gemv_q4_0(c.w[slot], c.xs, c.acc, tm, tk, ks == 0); break;
                default: gemv_bf16(reinterpret_cast<const bfloat16 *>(c.w[slot]), c.xs, c.acc, tm, tk, ks == 0);
                }
            }
        }
        for (int core = 0; core < ng; ++core) {
            GemvCore &c = g[core];
            const int64_t base = (r * ng + core) * tm;
            if (!exec) continue;
            gemv_out_bf16(c.acc, c.y[oslot], tm);
            const int64_t valid = std::min<int64_t>(tm, st.rows - base);
            if (lm && valid > 0) argmax_f32(c.acc, int32_t(valid), int32_t(base), c.best, r == 0);
        }
        for (int col = 0; col < 4; ++col) {   // the column's join, drained by shim (col, 0) S2MM
            for (int k = 0; k < 4; ++k) std::memcpy(join[col] + k * tm, g[4 * col + k].y[oslot], 2 * size_t(tm));
            std::memcpy(io + io_out + (r * ng + 4 * col) * tm, join[col], 8 * size_t(tm));
            t.gemv_drain[col] += 8 * tm;
            t.io_written += 8 * tm;
        }
        oslot ^= 1;
    }
    if (lm) {
        for (auto &c : g) {
            bfloat16 *o = c.y[oslot];
            std::memset(o, 0, 2 * size_t(tm));
            std::memcpy(o, c.best, 8);
        }
        for (int col = 0; col < 4; ++col) {
            for (int k = 0; k < 4; ++k) std::memcpy(join[col] + k * tm, g[4 * col + k].y[oslot], 2 * size_t(tm));
            std::memcpy(io + L.io_bests + int64_t(col) * 4 * tm, join[col], 8 * size_t(tm));
            t.gemv_drain[col] += 8 * tm;
            t.io_written += 8 * tm;
        }
    }
    return true;
}

// Step 2 of a layer: q and k rows, then v, back from io; RoPE over the heads + KV heads rows in one call; a pack per
// KV head (q of its query heads ‖ k ‖ v ‖ params header, zero to PN) to io; each head's new K and V rows to kv_row
// at the layout's static offsets (per group: [gk heads, K|V, hd]).
void Token::rope_and_packs(int l) {
    const int64_t hd = L.head_dim, q = L.q_dim, kvd = L.kv_dim, grp = L.q_per_kv;
    const npuk_decode_io_layer &io_l = L.io_layer[l];
    take_io(qk, io_l.qkv, q + kvd);
    take_io(vb, io_l.qkv + q + kvd, kvd);
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
        if (!gemv_stage(NPUK_STAGE_QKV, io_l.qkv)) return NPUK_BAD_LAYOUT;
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
        if (!gemv_stage(NPUK_STAGE_O, io_l.o)) return NPUK_BAD_LAYOUT;
        // 4. the residual + attn_out → ffn_inp; ffn_norm → io and the GU stage's x
        take_io(tb, io_l.o, H);
        if (exec) add_bf16(xa, tb, xr, int32_t(H));
        give_io(io_l.ffn_inp, xr, H);
        take_weights(tb, L.ffn_norm[l], H);
        if (exec) rmsnorm_bf16(xr, tb, yb, int32_t(H), L.eps);
        begin_x();
        give_and_broadcast(io_l.ffn_norm, yb, H);
        if (!gemv_stage(NPUK_STAGE_GU, io_l.gu)) return NPUK_BAD_LAYOUT;
        // 5. SwiGLU per (gate tile, up tile) → act to io and the D stage's x, tile by tile
        begin_x();
        for (int64_t p = 0; p < F / tm; ++p) {
            take_io(gate, io_l.gu + 2 * p * tm, tm);
            take_io(up, io_l.gu + (2 * p + 1) * tm, tm);
            if (exec) swiglu_bf16(gate, up, act, int32_t(tm));
            give_and_broadcast(io_l.act + p * tm, act, tm);
        }
        if (!gemv_stage(NPUK_STAGE_D, io_l.d)) return NPUK_BAD_LAYOUT;
        // 6. the residual + ffn_out → l_out
        take_io(tb, io_l.d, H);
        if (exec) add_bf16(xr, tb, xa, int32_t(H));
        give_io(io_l.l_out, xa, H);
    }
    // the LM head: result_norm → io and the LM stage's x; the logits and bests; the merge in core order
    take_weights(tb, L.output_norm, H);
    if (exec) rmsnorm_bf16(xa, tb, yb, int32_t(H), L.eps);
    begin_x();
    give_and_broadcast(L.io_result_norm, yb, H);
    if (!gemv_stage(NPUK_STAGE_LM, L.io_logits)) return NPUK_BAD_LAYOUT;
    for (int core = 0; core < NPUK_DECODE_GEMV_CORES; ++core) {   // each core's first object: its best; the rest unread
        for (int64_t o = 0; o < tm; o += S) {
            bfloat16 *in = hin[hin_slot ^= 1];
            std::memcpy(in, io + L.io_bests + core * tm + o, 2 * size_t(S));
            if (o == 0) std::memcpy(bests + 4 * core, in, 8);
        }
        t.io_read += 2 * tm;
        t.hub_in += 2 * tm;
    }
    bfloat16 *tok = hout[hout_slot ^= 1];
    std::memset(tok, 0, 2 * size_t(S));
    if (exec) argmax_merge_f32(reinterpret_cast<const int32_t *>(bests), NPUK_DECODE_GEMV_CORES, reinterpret_cast<int32_t *>(tok));
    std::memcpy(io + L.io_token, tok, 2 * size_t(S));
    t.io_written += 2 * S;
    t.hub_out += 2 * S;
    for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch)
        if (next_pair[ch] != L.pairs) return NPUK_BAD_LAYOUT;   // every pair of every channel consumed exactly once
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
