// Driver of the prefill chunk design (Kernels/decode/prefill.py, issue 13): one run, every layer, C prompt rows, moving data exactly as its fifos and runtime sequence do — decode's weight channels into 16 GEMM cores, the row core's U-value objects, the attention cores over the bucket's blocks — and counting every DDR byte per argument and shim channel.
//
// The cores run concurrently on the NPU; here each task group of the runtime sequence (README "Prefill": A–J per
// layer) runs to completion before the next, which is what its awaited drains enforce on the device. Every offset
// and size comes from `npuk_prefill_layout` (Swift's PrefillLayout fills it). Each core's buffers and fifo objects
// live in its own 63 KB arena, each memory tile's in a 512 KB one, so the budgets are checked, not claimed.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "emu_core.h"
#include "kernels.h"

namespace {

using emu::CoreArena;

constexpr int kHeader = 16;   // the chunk header: int32[8] in bf16 slots
constexpr int kAttnRows = 8;  // an attention output object: 8 query rows of one head

struct GemmCore {
    uint8_t *w[2];
    bfloat16 *xb[2], *scr, *y;
    float *acc;
};

struct AttnCore {
    bfloat16 *pack, *kv[2], *out[2], *p;
    float *o, *ml, *s;
};

class Chunk {
  public:
    Chunk(const npuk_prefill_layout &L, const uint8_t *weights, const uint16_t *kv, uint16_t *kv_blk, uint16_t *pio,
          uint16_t *io, npuk_prefill_traffic &t)
        : L(L), weights(weights), kv(kv), kv_blk(kv_blk), pio(pio), io(io), t(t), exec(L.execute != 0), U(L.unit),
          C(L.chunk) {}

    int32_t run();

  private:
    const npuk_prefill_layout &L;
    const uint8_t *weights;
    const uint16_t *kv;
    uint16_t *kv_blk, *pio, *io;
    npuk_prefill_traffic &t;
    const bool exec;
    const int64_t U, C;
    int32_t start = 0, rows = 0;
    std::vector<std::unique_ptr<CoreArena>> arenas;
    int64_t next_pair[NPUK_DECODE_CHANNELS] = {};
    std::vector<GemmCore> g;
    std::vector<AttnCore> at;
    // memory tiles: the weight pairs (c, 1), the GEMM joins, the activation slices (4, 1), KV groups, packs, joins
    uint8_t *pair[NPUK_DECODE_CHANNELS] = {};
    bfloat16 *gjoin[4] = {}, *xslice = nullptr, *xblk = nullptr;
    std::vector<bfloat16 *> kvobj, packobj, attnjoin;
    // the row core: its fifo objects (depth 2) and Buffers (prefill.py row_buffers)
    bfloat16 *mn[2], *sc[2], *ro[2], *ra[2];
    int mn_slot = 0, sc_slot = 0, ro_slot = 0, ra_slot = 0;
    bfloat16 *wbuf, *xrow, *xfin, *hdrs;   // H, H, H, U values
    float *acc;                            // 32 fp32 lanes: a row's sum of squares (rmsnorm_sum_bf16)
    // issue 17: the family core (Qwen; prefill.py family_core on Tile(7, 2)): pfin, pfout (depth 2), its two rows
    bfloat16 *fi[2] = {}, *fo[2] = {};
    int fi_slot = 0, fo_slot = 0;
    bfloat16 *fw = nullptr, *ft = nullptr;
    void family(int l);

    CoreArena &arena(size_t bytes) {
        arenas.push_back(std::make_unique<CoreArena>(bytes));
        return *arenas.back();
    }
    bool allocate();
    bool stage(const npuk_decode_stage &st, int64_t x_at, int64_t x_stride, int64_t out_at, int64_t out_stride,
               bool f32 = false);
    void attention(int l);

    // --- the row core's fifos: U-value objects ---
    // n values of a DDR row (pio element offset, or the weights BO's byte offset) through fifo `f` into dst[at ..)
    void take(bfloat16 **f, int &slot, int64_t &channel, const uint16_t *src, int64_t n, bfloat16 *dst, bool from_pio) {
        for (int64_t o = 0; o < n; o += U) {
            bfloat16 *obj = f[slot ^= 1];
            std::memcpy(obj, src + o, 2 * size_t(U));
            if (exec) copy_in_bf16(obj, dst, int32_t(o), int32_t(U));
        }
        channel += 2 * n;
        (from_pio ? t.pio_read : t.weights_read) += 2 * n;
    }
    void take_norm(int64_t byte_at, int64_t n, bfloat16 *dst) {
        take(mn, mn_slot, t.row_main, reinterpret_cast<const uint16_t *>(weights + byte_at), n, dst, false);
    }
    // the next object of fifo `f`, filled from a DDR row (pio element offset) by its shim channel
    bfloat16 *next_in(bfloat16 **f, int &slot, int64_t &channel, int64_t pio_at) {
        bfloat16 *obj = f[slot ^= 1];
        std::memcpy(obj, pio + pio_at, 2 * size_t(U));
        channel += 2 * U;
        t.pio_read += 2 * U;
        return obj;
    }
    // the next object of fifo `f` (the kernel writes it), drained to pio at `pio_at`
    bfloat16 *next_out(bfloat16 **f, int &slot) { return f[slot ^= 1]; }
    void drain_obj(const bfloat16 *obj, int64_t &channel, int64_t pio_at) {
        std::memcpy(pio + pio_at, obj, 2 * size_t(U));
        channel += 2 * U;
        t.pio_written += 2 * U;
    }
    // the scale pass of a row's RMSNorm (xrow, wbuf, acc) as H / U objects of rout, drained to pio at `pio_at`
    void norm_out(int64_t pio_at) {
        for (int64_t o = 0; o < L.hidden; o += U) {
            bfloat16 *obj = next_out(ro, ro_slot);
            if (exec) rmsnorm_scale_bf16(xrow, wbuf, acc, obj, int32_t(o), int32_t(U), L.hidden, L.eps);
            drain_obj(obj, t.row_out, pio_at + o);
        }
    }
    // a linear drain of src[0 .. n) to pio at `at` (the family core's fused rows)
    void give_pio(bfloat16 **f, int &slot, int64_t &channel, const bfloat16 *src, int64_t n, int64_t at);
    // src[0 .. n) as n / U objects of fifo `f`; `place(o, obj)` is the drain's write of object o (values o .. o + U)
    template <typename Place> void give(bfloat16 **f, int &slot, int64_t &channel, const bfloat16 *src, int64_t n, Place place) {
        for (int64_t o = 0; o < n; o += U) {
            bfloat16 *obj = f[slot ^= 1];
            if (exec) copy_out_bf16(src, obj, int32_t(o), int32_t(U));
            else std::memcpy(obj, src + o, 2 * size_t(U));
            place(o, obj);
        }
        channel += 2 * n;
    }
};

void Chunk::give_pio(bfloat16 **f, int &slot, int64_t &channel, const bfloat16 *src, int64_t n, int64_t at) {
    give(f, slot, channel, src, n, [&](int64_t o, const bfloat16 *obj) { std::memcpy(pio + at + o, obj, 2 * size_t(U)); });
    t.pio_written += 2 * n;
}

bool Chunk::allocate() {
    const int64_t tm = L.tm, tk = L.tk, hd = L.head_dim, tile = L.stage[0].tile_bytes;
    const bool q4 = L.stage[0].format != NPUK_WEIGHTS_BF16;
    for (const auto &st : L.stage)
        if (st.tile_bytes != tile || 2 * tile != L.pair_bytes) return false;
    // 16 GEMM cores: the split's tiles (depth 2), xb (depth x_depth: 2, or 1 for bf16 at tm 128), the Q4 scratch,
    // acc, the output object (depth 1)
    if (L.x_depth != 1 && L.x_depth != 2) return false;
    g.resize(NPUK_DECODE_GEMV_CORES);
    for (auto &c : g) {
        CoreArena &a = arena(emu::kCoreDataBytes);
        for (auto &p : c.w) p = a.alloc<uint8_t>(size_t(tile));
        c.xb[0] = a.alloc<bfloat16>(size_t(C * tk));
        c.xb[1] = L.x_depth == 2 ? a.alloc<bfloat16>(size_t(C * tk)) : c.xb[0];
        c.scr = q4 ? a.alloc<bfloat16>(size_t(tm * tk)) : nullptr;
        c.acc = a.alloc<float>(size_t(C * tm));
        c.y = a.alloc<bfloat16>(size_t(C * tm));
        if (a.overflowed()) return false;
    }
    for (int c = 0; c < 4; ++c) {   // memory tiles (c, 1): 2 channels' pairs (depth 2), the join (depth 2)
        CoreArena &a = arena(emu::kMemTileBytes);
        for (int j = 0; j < 2; ++j) {
            pair[2 * c + j] = a.alloc<uint8_t>(size_t(L.pair_bytes));
            a.alloc<uint8_t>(size_t(L.pair_bytes));
        }
        gjoin[c] = a.alloc<bfloat16>(4 * size_t(C * tm));
        a.alloc<bfloat16>(4 * size_t(C * tm));
        if (a.overflowed()) return false;
    }
    // the row core
    {
        CoreArena &a = arena(emu::kCoreDataBytes);
        for (bfloat16 **f : {mn, sc, ro, ra})
            for (int i = 0; i < 2; ++i) f[i] = a.alloc<bfloat16>(size_t(U));
        for (bfloat16 **b : {&wbuf, &xrow, &xfin}) *b = a.alloc<bfloat16>(size_t(L.row_values));
        hdrs = a.alloc<bfloat16>(size_t(U));
        acc = a.alloc<float>(32);
        if (a.overflowed()) return false;
    }
    if (L.family != 0) {   // the family core: pfin, pfout objects (depth 2), pf_w and pf_t (RM values each)
        CoreArena &a = arena(emu::kCoreDataBytes);
        for (bfloat16 **f : {fi, fo})
            for (int i = 0; i < 2; ++i) f[i] = a.alloc<bfloat16>(size_t(U));
        fw = a.alloc<bfloat16>(size_t(L.row_values));
        ft = a.alloc<bfloat16>(size_t(L.row_values));
        if (a.overflowed()) return false;
    }
    // attention cores: pack (depth 1), K||V blocks (depth 2), output pieces (depth 2), o, m||l, scores, probabilities
    at.resize(size_t(L.kv_fill_groups * L.kv_lanes));   // core (g, n) of KV group g, lane n
    for (auto &c : at) {
        CoreArena &a = arena(emu::kCoreDataBytes);
        c.pack = a.alloc<bfloat16>(size_t(L.pack));
        for (auto &p : c.kv) p = a.alloc<bfloat16>(size_t(L.kv_head_block));
        for (auto &p : c.out) p = a.alloc<bfloat16>(size_t(kAttnRows * hd));
        c.o = a.alloc<float>(size_t(C * hd));
        c.ml = a.alloc<float>(size_t(2 * C));
        c.s = a.alloc<float>(size_t(kAttnRows * L.block));
        c.p = a.alloc<bfloat16>(size_t(kAttnRows * L.block));
        if (a.overflowed()) return false;
    }
    // memory tile (4, 1): the activation slice (depth 2, forwarded blocked) and KV group 0's forward (one head's
    // block, depth 2); (7, 1) group 1's
    {
        CoreArena &a = arena(emu::kMemTileBytes);
        xslice = a.alloc<bfloat16>(size_t(C * tk));
        a.alloc<bfloat16>(size_t(C * tk));
        xblk = a.alloc<bfloat16>(size_t(C * tk));
        a.alloc<bfloat16>(size_t(C * tk));
        kvobj.push_back(a.alloc<bfloat16>(size_t(L.kv_head_block)));
        a.alloc<bfloat16>(size_t(L.kv_head_block));
        if (a.overflowed()) return false;
    }
    for (int i = 1; i < L.kv_fill_groups; ++i) {
        CoreArena &a = arena(emu::kMemTileBytes);
        kvobj.push_back(a.alloc<bfloat16>(size_t(L.kv_head_block)));
        a.alloc<bfloat16>(size_t(L.kv_head_block));
        if (a.overflowed()) return false;
    }
    for (int i = 0; i < L.kv_fill_groups; ++i) {   // (5 + i, 1): packs (depth 1), the lanes' join (depth 2)
        const int n = L.kv_lanes;
        CoreArena &a = arena(emu::kMemTileBytes);
        packobj.push_back(a.alloc<bfloat16>(size_t(n) * L.pack));
        attnjoin.push_back(a.alloc<bfloat16>(size_t(n) * kAttnRows * hd));
        a.alloc<bfloat16>(size_t(n) * kAttnRows * hd);
        if (a.overflowed()) return false;
    }
    return true;
}

// A GEMM stage: per round and k-slice, every weight channel's next pair split to its two cores and the C x tk
// activation slice (pio rows at x_stride) blocked 8x8 by memory tile (4, 1) and broadcast; each core accumulates
// prefill_mm over its tile; per round each core's C x tm rows (prefill_mm_out_bf16) joined per column and drained to
// columns (16r + 4c + k)·tm of the output rows (out_stride apart). f32 (issue 17, a Qwen QKV stage): each core's
// round as two objects of C/2 fp32 rows (prefill_mm_out_f32, not rounded), each joined and drained to the fp32 rows
// (out_stride bf16 slots apart, fp32 column n at slots 2n, 2n + 1): [4 (stride 2tm), C/2 (out_stride), 2tm] from
// out_at + (16r + 4c)·2tm + half·(C/2)·out_stride.
bool Chunk::stage(const npuk_decode_stage &st, int64_t x_at, int64_t x_stride, int64_t out_at, int64_t out_stride,
                  bool f32) {
    const int64_t tm = L.tm, tk = L.tk, slices = st.k / tk, ng = NPUK_DECODE_GEMV_CORES;
    int slot = 0;
    for (int64_t r = 0; r < st.rounds; ++r) {
        for (int64_t ks = 0; ks < slices; ++ks, slot ^= 1) {
            for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch) {
                if (next_pair[ch] >= L.pairs) return false;
                const int64_t from = L.streams_offset + (next_pair[ch]++ * NPUK_DECODE_CHANNELS + ch) * L.pair_bytes;
                if (from + L.pair_bytes > L.weights_bytes) return false;
                std::memcpy(pair[ch], weights + from, size_t(L.pair_bytes));
                t.weight_channel[ch] += L.pair_bytes;
                t.weights_read += L.pair_bytes;
                const int c = ch / 2, j = ch % 2;
                for (int h = 0; h < 2; ++h)
                    std::memcpy(g[4 * c + 2 * j + h].w[slot], pair[ch] + h * st.tile_bytes, size_t(st.tile_bytes));
            }
            // xin: [C rows (x_stride), tk] from column ks·tk; the memory tile's 8x8 blocks: element
            // (i·tk/8 + kb)·64 + 8·rr + cc = x[8i + rr, 8kb + cc]
            for (int64_t row = 0; row < C; ++row)
                std::memcpy(xslice + row * tk, pio + x_at + row * x_stride + ks * tk, 2 * size_t(tk));
            t.x_in += 2 * C * tk;
            t.pio_read += 2 * C * tk;
            for (int64_t i = 0; i < C / 8; ++i)
                for (int64_t kb = 0; kb < tk / 8; ++kb)
                    for (int rr = 0; rr < 8; ++rr)
                        std::memcpy(xblk + (i * (tk / 8) + kb) * 64 + 8 * rr, xslice + (8 * i + rr) * tk + 8 * kb, 16);
            t.broadcast += 2 * C * tk;
            for (auto &c : g) {   // (x_depth 1: both slots are the one object, refilled once the core released it)
                std::memcpy(c.xb[slot], xblk, 2 * size_t(C * tk));
                if (!exec) continue;
                const int first = ks == 0;
                switch (st.format) {
                case NPUK_WEIGHTS_Q4_1: prefill_mm_q4_1(c.w[slot], c.xb[slot], c.scr, c.acc, L.tm, L.tk, int32_t(C), first); break;
                case NPUK_WEIGHTS_Q4_0: prefill_mm_q4_0(c.w[slot], c.xb[slot], c.scr, c.acc, L.tm, L.tk, int32_t(C), first); break;
                default:
                    prefill_mm_bf16(reinterpret_cast<const bfloat16 *>(c.w[slot]), c.xb[slot], c.acc, L.tm, L.tk, int32_t(C), first);
                }
            }
        }
        if (f32) {
            for (int half = 0; half < 2; ++half) {
                for (auto &c : g)
                    if (exec) prefill_mm_out_f32(c.acc, c.y, L.tm, int32_t(C), half);
                for (int col = 0; col < 4; ++col) {
                    for (int k = 0; k < 4; ++k) std::memcpy(gjoin[col] + k * C * tm, g[4 * col + k].y, 2 * size_t(C * tm));
                    const int64_t base = out_at + (r * ng + 4 * col) * 2 * tm + half * (C / 2) * out_stride;
                    for (int k = 0; k < 4; ++k)
                        for (int64_t row = 0; row < C / 2; ++row)
                            std::memcpy(pio + base + k * 2 * tm + row * out_stride, gjoin[col] + k * C * tm + row * 2 * tm,
                                        4 * size_t(tm));
                    t.gemm_drain[col] += 8 * C * tm;
                    t.pio_written += 8 * C * tm;
                }
            }
            continue;
        }
        for (auto &c : g)
            if (exec) prefill_mm_out_bf16(c.acc, c.y, L.tm, int32_t(C));
        // pgout{c}: core k's C x tm at k·C·tm; drained [4 (stride tm), C (stride out_stride), tm]
        for (int col = 0; col < 4; ++col) {
            for (int k = 0; k < 4; ++k) std::memcpy(gjoin[col] + k * C * tm, g[4 * col + k].y, 2 * size_t(C * tm));
            const int64_t base = out_at + (r * ng + 4 * col) * tm;
            for (int k = 0; k < 4; ++k)
                for (int64_t row = 0; row < C; ++row)
                    std::memcpy(pio + base + k * tm + row * out_stride, gjoin[col] + (k * C + row) * tm, 2 * size_t(tm));
            t.gemm_drain[col] += 8 * C * tm;
            t.pio_written += 8 * C * tm;
        }
    }
    return true;
}

// Group D, per repeat r and head k of a group in turn (every group g at once): the packs of the lanes' query
// indices j = r·lanes + n of head h = g·kgk + k (ppacks{g} split at (5 + g, 1)); per block that head's K||V block
// (pkvg{g} forwarded by (4, 1) / (7, 1), broadcast to the lanes) — the chunk's own block read through kv_blk, which
// aliases kv there (its drain was awaited in group C); attn_chunk per block; the C/8 output pieces of the lanes
// joined and drained to kqv (query head h·grp + j at columns (h·grp + j)·hd).
void Chunk::attention(int l) {
    const int64_t hd = L.head_dim, grp = L.q_per_kv, Q = L.q_dim, nkv = L.kv_heads, PQ = L.pack, kvb = L.kv_head_block;
    const int64_t nl = L.kv_lanes, reps = grp / nl, kgk = L.kv_fill_heads, groups = L.kv_fill_groups;
    const npuk_prefill_io_layer &pl = L.pio_layer[l];
    const int64_t own = start / L.block;
    for (int64_t r = 0; r < reps; ++r)
        for (int64_t k = 0; k < kgk; ++k) {
            for (int64_t g = 0; g < groups; ++g) {
                const int64_t h = g * kgk + k;
                for (int64_t n = 0; n < nl; ++n)
                    std::memcpy(packobj[g] + n * PQ, pio + pl.qpack + ((r * nl + n) * nkv + h) * PQ, 2 * size_t(PQ));
                t.pack_channel[g] += 2 * nl * PQ;
                t.pio_read += 2 * nl * PQ;
                for (int64_t n = 0; n < nl; ++n) std::memcpy(at[g * nl + n].pack, packobj[g] + n * PQ, 2 * size_t(PQ));
            }
            for (auto &c : at)
                if (exec) attn_chunk_init_f32(c.o, c.ml, int32_t(C), int32_t(hd));
            for (int b = 0; b < L.bucket; ++b) {
                const int slot = b & 1;
                for (int64_t g = 0; g < groups; ++g) {
                    const int64_t within = (int64_t(l) * nkv + g * kgk + k) * kvb;
                    const uint16_t *src = b == own ? kv_blk + within : kv + b * L.kv_slab + within;
                    std::memcpy(kvobj[g], src, 2 * size_t(kvb));
                    t.kv_channel[g] += 2 * kvb;
                    t.kv_read += 2 * kvb;
                    for (int64_t n = 0; n < nl; ++n) std::memcpy(at[g * nl + n].kv[slot], kvobj[g], 2 * size_t(kvb));
                }
                if (!exec) continue;
                for (auto &c : at)
                    attn_chunk_bf16(c.pack, c.kv[slot], c.o, c.ml, c.s, c.p, b, L.block, int32_t(C), int32_t(hd));
            }
            for (int64_t i = 0; i < C / kAttnRows; ++i) {
                for (int64_t g = 0; g < groups; ++g) {
                    for (int64_t n = 0; n < nl; ++n) {
                        AttnCore &c = at[g * nl + n];
                        bfloat16 *out = c.out[i & 1];
                        if (exec) attn_chunk_out_bf16(c.o, c.ml, out, int32_t(i), int32_t(C), int32_t(hd));
                        std::memcpy(attnjoin[g] + n * kAttnRows * hd, out, 2 * size_t(kAttnRows * hd));
                    }
                    // [lanes (stride hd), 8 rows (stride Q), hd] from kqv + (h·grp + r·lanes)·hd + 8i·Q
                    const int64_t base = pl.kqv + ((g * kgk + k) * grp + r * nl) * hd + i * kAttnRows * Q;
                    for (int64_t n = 0; n < nl; ++n)
                        for (int rr = 0; rr < kAttnRows; ++rr)
                            std::memcpy(pio + base + n * hd + rr * Q, attnjoin[g] + (n * kAttnRows + rr) * hd, 2 * size_t(hd));
                    t.attn_drain[g] += 2 * nl * kAttnRows * hd;
                    t.pio_written += 2 * nl * kAttnRows * hd;
                }
            }
        }
}

// Group Q (issue 17, Qwen): the layer's family weights (Qwen3's q_norm ‖ k_norm filled extra_repeats times over into
// one U-value object) into pf_w, then per row the QKV stage's fp32 row (its first q + 2 kv fp32 values: 2·(q + 2 kv)
// bf16-typed slots) through pfin, worked on object by object as it arrives — rounded ONCE into pf_t: Qwen2
// bias_add_f32_bf16 (U/2 values at object o: the bias added to the fp32 product), Qwen3 qk_norm_f32_heads_bf16 on the
// q ‖ k objects (U/(2·hd) heads each), round_f32_bf16 on the v objects — then the fused row through pfout to pio
// qkv_fused (row stride q + 2 kv).
void Chunk::family(int l) {
    const int64_t n = L.q_dim + 2 * int64_t(L.kv_dim), ew = int64_t(L.extra_values) * L.extra_repeats;
    const int64_t hd = L.head_dim, qk = 2 * (L.q_dim + int64_t(L.kv_dim)), half = U / 2;
    const npuk_prefill_io_layer &pl = L.pio_layer[l];
    const uint16_t *w = reinterpret_cast<const uint16_t *>(weights + L.extra[l]);
    for (int64_t o = 0; o < ew; o += U) {
        bfloat16 *obj = fi[fi_slot ^= 1];
        for (int64_t v = 0; v < U; ++v) std::memcpy(obj + v, w + (o + v) % L.extra_values, 2);
        if (exec) copy_in_bf16(obj, fw, int32_t(o), int32_t(U));
    }
    t.family_in += 2 * ew;
    t.weights_read += 2 * ew;
    for (int64_t r = 0; r < C; ++r) {
        for (int64_t o = 0; o < 2 * n; o += U) {   // slot o: fp32 values o/2 .. o/2 + U/2
            bfloat16 *obj = next_in(fi, fi_slot, t.family_in, pl.qkv + r * L.row_qkv + o);
            if (!exec) continue;
            const int32_t j = int32_t(o / U);
            if (L.family == 1) bias_add_f32_bf16(obj, fw, ft, j, int32_t(half));
            else if (o < qk) qk_norm_f32_heads_bf16(obj, fw, ft, int32_t(o / 2 / hd), int32_t(half / hd), L.heads, int32_t(hd), L.eps);
            else round_f32_bf16(obj, ft, j, int32_t(half));
        }
        give_pio(fo, fo_slot, t.family_out, ft, n, pl.qkv_fused + r * n);
    }
}

int32_t Chunk::run() {
    if (!allocate()) return NPUK_CORE_MEMORY;
    emu::power_on();
    const int64_t H = L.hidden, F = L.ffn, Q = L.q_dim, KV = L.kv_dim, hd = L.head_dim, grp = L.q_per_kv;
    const int64_t nkv = L.kv_heads, PQ = L.pack, block = L.block, kvb = L.kv_head_block;
    // A (layer 0): the header object → hdrs[0 .. 16) → one header row per query head
    {
        bfloat16 *obj = mn[mn_slot ^= 1];
        std::memcpy(obj, pio + L.pio_hdr, 2 * size_t(U));
        t.row_main += 2 * U;
        t.pio_read += 2 * U;
        int32_t h[8];   // the driver's own checks read the header from the object
        std::memcpy(h, obj, 32);
        start = h[0];
        rows = h[1];
        if (start < 0 || start % C || rows < 1 || rows > C || h[3] != L.bucket || start / block >= L.bucket ||
            start + C > int64_t(L.blocks) * block)
            return NPUK_BAD_SHAPE;
        if (exec) prefill_headers_bf16(obj, hdrs, int32_t(U / hd), int32_t(hd));
    }
    for (int l = 0; l < L.layers; ++l) {
        const npuk_prefill_io_layer &pl = L.pio_layer[l];
        const int64_t resid = l == 0 ? L.pio_x : L.pio_layer[l - 1].l_out;
        // A: attn_norm of the residual rows: each row's objects summed into xrow, then scaled out
        take_norm(L.attn_norm[l], H, wbuf);
        for (int64_t r = 0; r < C; ++r) {
            for (int64_t o = 0; o < H; o += U) {
                bfloat16 *obj = next_in(mn, mn_slot, t.row_main, resid + r * H + o);
                if (exec) rmsnorm_sum_bf16(obj, xrow, acc, int32_t(o), int32_t(U));
            }
            norm_out(pl.attn_norm + r * H);
        }
        // B: QKV
        if (!stage(L.stage[NPUK_STAGE_QKV], pl.attn_norm, H, pl.qkv, L.row_qkv, L.family != 0)) return NPUK_BAD_LAYOUT;
        // Q (issue 17, Qwen): the family core's fused rows; C then reads them instead of qkv
        if (L.family != 0) family(l);
        const int64_t qkv_at = L.family != 0 ? pl.qkv_fused : pl.qkv, qkv_stride = L.family != 0 ? Q + 2 * KV : L.row_qkv;
        // C: RoPE object by object; Q objects scattered to the packs ([C (hd), kvHeads (PQ), grp (kvHeads·PQ), hd]),
        // the K‖V objects (every head's roped K, then every head's V) to kv_blk ([C (hd), 2 (block·hd), kvHeads (kvb),
        // hd]); then the header rows of the packs (Q / U copies of the hdrs object)
        for (int64_t r = 0; r < C; ++r) {
            bfloat16 *cs = next_in(sc, sc_slot, t.row_second, L.pio_cs + r * U);
            for (int64_t o = 0; o < Q + 2 * KV; o += U) {
                bfloat16 *obj = next_in(mn, mn_slot, t.row_main, qkv_at + r * qkv_stride + o);
                const bool q = o < Q;
                bfloat16 *out = q ? next_out(ro, ro_slot) : next_out(ra, ra_slot);
                if (exec)
                    qkv_rope_bf16(obj, cs, out, hdrs, int32_t(r), int32_t(o), int32_t(U), L.q_dim + L.kv_dim, L.q_dim,
                                  int32_t(hd), L.adjacent);
                for (int64_t v = 0; v < U; v += hd) {
                    if (q) {
                        const int64_t n = (o + v) / hd, h = n / grp, j = n % grp;   // query head h·grp + j
                        std::memcpy(pio + pl.qpack + (j * nkv + h) * PQ + r * hd, out + v, 2 * size_t(hd));
                    } else {
                        const int64_t n = (o - Q + v) / hd, half = n / nkv, h = n % nkv;   // K (0) or V (1) of head h
                        std::memcpy(kv_blk + (int64_t(l) * nkv + h) * kvb + half * block * hd + r * hd, out + v, 2 * size_t(hd));
                    }
                }
                if (q) {
                    t.row_out += 2 * U;
                    t.pio_written += 2 * U;
                } else {
                    t.row_aux += 2 * U;
                    t.kv_blk_written += 2 * U;
                }
            }
        }
        for (int64_t o = 0; o < Q; o += U) {
            bfloat16 *obj = next_out(ro, ro_slot);
            if (exec) prefill_headers_bf16(hdrs, obj, int32_t(U / hd), int32_t(hd));
            for (int64_t v = 0; v < U; v += hd) {
                const int64_t n = (o + v) / hd, h = n / grp, j = n % grp;
                std::memcpy(pio + pl.qpack + (j * nkv + h) * PQ + C * hd, obj + v, 2 * size_t(hd));
            }
            t.row_out += 2 * U;
        }
        t.pio_written += 2 * Q;
        // D: attention
        attention(l);
        // E: O
        if (!stage(L.stage[NPUK_STAGE_O], pl.kqv, Q, pl.o, L.row_o)) return NPUK_BAD_LAYOUT;
        // F: ffn_inp = residual + attn_out object by object (raux), summed into xrow; ffn_norm scaled out (rout)
        take_norm(L.ffn_norm[l], H, wbuf);
        for (int64_t r = 0; r < C; ++r) {
            for (int64_t o = 0; o < H; o += U) {
                bfloat16 *ob = next_in(mn, mn_slot, t.row_main, pl.o + r * L.row_o + o);
                bfloat16 *res = next_in(sc, sc_slot, t.row_second, resid + r * H + o);
                bfloat16 *out = next_out(ra, ra_slot);
                if (exec) {
                    add_bf16(res, ob, out, int32_t(U));
                    rmsnorm_sum_bf16(out, xrow, acc, int32_t(o), int32_t(U));
                }
                drain_obj(out, t.row_aux, pl.ffn_inp + r * H + o);
            }
            norm_out(pl.ffn_norm + r * H);
        }
        // G: GU
        if (!stage(L.stage[NPUK_STAGE_GU], pl.ffn_norm, H, pl.gu, L.row_gu)) return NPUK_BAD_LAYOUT;
        // H: SwiGLU, two gu objects (a row's first 2F values, in order: the even one on rmain, the odd one on
        // rsecond) → one act object
        int64_t act_at = pl.act;
        for (int64_t r = 0; r < C; ++r)
            for (int64_t o = 0; o < 2 * F; o += 2 * U) {
                bfloat16 *g0 = mn[mn_slot ^= 1];
                std::memcpy(g0, pio + pl.gu + r * L.row_gu + o, 2 * size_t(U));
                bfloat16 *g1 = sc[sc_slot ^= 1];
                std::memcpy(g1, pio + pl.gu + r * L.row_gu + o + U, 2 * size_t(U));
                t.row_main += 2 * U;
                t.row_second += 2 * U;
                t.pio_read += 4 * U;
                bfloat16 *a = ro[ro_slot ^= 1];
                if (exec) swiglu_tiles_bf16(g0, g1, a, L.tm, int32_t(U));
                std::memcpy(pio + act_at, a, 2 * size_t(U));
                act_at += U;
                t.row_out += 2 * U;
                t.pio_written += 2 * U;
            }
        // I: D
        if (!stage(L.stage[NPUK_STAGE_D], pl.act, F, pl.d, L.row_d)) return NPUK_BAD_LAYOUT;
        // J: l_out = ffn_inp + ffn_out object by object; the last prompt row's objects kept
        for (int64_t r = 0; r < C; ++r)
            for (int64_t o = 0; o < H; o += U) {
                bfloat16 *d = next_in(mn, mn_slot, t.row_main, pl.d + r * L.row_d + o);
                bfloat16 *fi = next_in(sc, sc_slot, t.row_second, pl.ffn_inp + r * H + o);
                bfloat16 *out = next_out(ro, ro_slot);
                if (exec) {
                    add_bf16(fi, d, out, int32_t(U));
                    keep_last_row_bf16(out, xfin, hdrs, int32_t(r), int32_t(o), int32_t(U));
                }
                drain_obj(out, t.row_out, pl.l_out + r * H + o);
            }
    }
    // x_final (io) ← rout
    give(ro, ro_slot, t.row_out, xfin, H, [&](int64_t o, const bfloat16 *obj) {
        std::memcpy(io + L.io_x_final + o, obj, 2 * size_t(U));
    });
    t.io_written += 2 * H;
    for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch)
        if (next_pair[ch] != L.pairs) return NPUK_BAD_LAYOUT;
    return NPUK_OK;
}

} // namespace

extern "C" {

int32_t npuk_prefill_chunk(const npuk_prefill_layout *layout, const uint8_t *weights, const uint16_t *kv,
                           uint16_t *kv_blk, uint16_t *pio, uint16_t *io, npuk_prefill_traffic *traffic) {
    if (!layout || !weights || !kv || !kv_blk || !pio || !io) return NPUK_BAD_SHAPE;
    const npuk_prefill_layout &L = *layout;
    if (L.tm <= 0 || L.tk <= 0 || L.tm % 8 || L.tk % 8 || L.chunk <= 0 || L.chunk % 8 || L.chunk != L.block ||
        L.unit <= 0 || L.unit % L.head_dim || L.hidden % L.unit || L.q_dim % L.unit || (2 * L.kv_dim) % L.unit ||
        L.ffn % L.unit || L.unit % L.tm || L.kv_heads <= 0 || L.kv_heads > 8 || L.kv_fill_groups <= 0 ||
        L.kv_fill_groups > 2 || L.kv_fill_groups * L.kv_fill_heads != L.kv_heads ||
        L.kv_lanes < 1 || L.kv_lanes > 4 || L.q_per_kv % L.kv_lanes || L.layers <= 0 ||
        L.pair_bytes <= 0 || L.row_values < L.hidden || !L.pio_layer ||
        !L.attn_norm || !L.ffn_norm || L.bucket <= 0 || L.bucket > L.blocks)
        return NPUK_BAD_SHAPE;
    if (L.family < 0 || L.family > 2 ||
        (L.family != 0 && (!L.extra || L.extra_values <= 0 || L.extra_repeats < 1 ||
                           (int64_t(L.extra_values) * L.extra_repeats) % L.unit ||
                           int64_t(L.extra_values) * L.extra_repeats > L.row_values ||
                           L.row_values < L.q_dim + 2 * int64_t(L.kv_dim) ||
                           (L.family == 1 && L.extra_values != L.q_dim + 2 * L.kv_dim) ||
                           (L.family == 2 && L.extra_values != 2 * L.head_dim) ||
                           L.unit % 32 || (L.family == 2 && L.unit % (2 * L.head_dim)) ||
                           L.row_qkv < 2 * (L.q_dim + 2 * int64_t(L.kv_dim)))))
        return NPUK_BAD_SHAPE;
    npuk_prefill_traffic local{};
    npuk_prefill_traffic &t = traffic ? *traffic : local;
    t = npuk_prefill_traffic{};
    Chunk chunk(L, weights, kv, kv_blk, pio, io, t);
    return chunk.run();
}

// One prefill_mm tile over k (k / tk slices of the row-major tm x k weight rows given as k / tk tiles in the
// format's bytes, back to back) and C = rows rows: the GEMM core's calls, x blocked as memory tile (4, 1) does.
int32_t npuk_prefill_mm_tile(int32_t format, const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t tm, int32_t tk,
                             int32_t k, int32_t rows) {
    if (tm <= 0 || tk <= 0 || tm % 8 || tk % 32 || rows <= 0 || rows % 8 || k % tk || (format == NPUK_WEIGHTS_Q4_0 && tk % 64))
        return NPUK_BAD_SHAPE;
    const int64_t tile = format == NPUK_WEIGHTS_Q4_1 ? int64_t(tm) * (tk / 32) * 20
                         : format == NPUK_WEIGHTS_Q4_0 ? int64_t(tm) * (tk / 32) * 18 : int64_t(tm) * tk * 2;
    emu::power_on();
    CoreArena a;
    uint8_t *wt = a.alloc<uint8_t>(size_t(tile));
    bfloat16 *xb = a.alloc<bfloat16>(size_t(rows) * tk);
    bfloat16 *scr = format == NPUK_WEIGHTS_BF16 ? nullptr : a.alloc<bfloat16>(size_t(tm) * tk);
    float *acc = a.alloc<float>(size_t(rows) * tm);
    bfloat16 *out = a.alloc<bfloat16>(size_t(rows) * tm);
    if (a.overflowed()) return NPUK_CORE_MEMORY;
    for (int ks = 0; ks < k / tk; ++ks) {
        std::memcpy(wt, w + ks * tile, size_t(tile));
        for (int i = 0; i < rows / 8; ++i)
            for (int kb = 0; kb < tk / 8; ++kb)
                for (int rr = 0; rr < 8; ++rr)
                    std::memcpy(xb + (i * (tk / 8) + kb) * 64 + 8 * rr, x + int64_t(8 * i + rr) * k + ks * tk + 8 * kb, 16);
        switch (format) {
        case NPUK_WEIGHTS_Q4_1: prefill_mm_q4_1(wt, xb, scr, acc, tm, tk, rows, ks == 0); break;
        case NPUK_WEIGHTS_Q4_0: prefill_mm_q4_0(wt, xb, scr, acc, tm, tk, rows, ks == 0); break;
        default: prefill_mm_bf16(reinterpret_cast<const bfloat16 *>(wt), xb, acc, tm, tk, rows, ks == 0);
        }
    }
    prefill_mm_out_bf16(acc, out, tm, rows);
    std::memcpy(y, out, 2 * size_t(rows) * tm);
    return NPUK_OK;
}

// One attention core's work for one query head: init, every block in order, the C/8 output pieces.
int32_t npuk_attn_chunk_head(const uint16_t *pack, const uint16_t *kv, uint16_t *out, int32_t blocks, int32_t block,
                             int32_t rows, int32_t hd) {
    if (blocks <= 0 || block <= 0 || block % 16 || rows <= 0 || rows % 8 || hd <= 0 || hd % 16) return NPUK_BAD_SHAPE;
    emu::power_on();
    CoreArena a;
    bfloat16 *pk = a.alloc<bfloat16>(size_t(rows + 1) * hd);
    bfloat16 *kvb = a.alloc<bfloat16>(2 * size_t(block) * hd);
    float *o = a.alloc<float>(size_t(rows) * hd), *ml = a.alloc<float>(2 * size_t(rows)), *s = a.alloc<float>(8 * size_t(block));
    bfloat16 *p = a.alloc<bfloat16>(8 * size_t(block)), *piece = a.alloc<bfloat16>(8 * size_t(hd));
    if (a.overflowed()) return NPUK_CORE_MEMORY;
    std::memcpy(pk, pack, 2 * size_t(rows + 1) * hd);
    attn_chunk_init_f32(o, ml, rows, hd);
    for (int b = 0; b < blocks; ++b) {
        std::memcpy(kvb, kv + int64_t(b) * 2 * block * hd, 4 * size_t(block) * hd);
        attn_chunk_bf16(pk, kvb, o, ml, s, p, b, block, rows, hd);
    }
    for (int i = 0; i < rows / 8; ++i) {
        attn_chunk_out_bf16(o, ml, piece, i, rows, hd);
        std::memcpy(out + int64_t(i) * 8 * hd, piece, 16 * size_t(hd));
    }
    return NPUK_OK;
}

int32_t npuk_swiglu_tiles(const uint16_t *gu0, const uint16_t *gu1, uint16_t *act, int32_t tm, int32_t n) {
    if (tm <= 0 || tm % 16 || n <= 0 || n % tm) return NPUK_BAD_SHAPE;
    emu::power_on();
    CoreArena a;
    bfloat16 *g0 = a.alloc<bfloat16>(size_t(n)), *g1 = a.alloc<bfloat16>(size_t(n)), *out = a.alloc<bfloat16>(size_t(n));
    if (a.overflowed()) return NPUK_CORE_MEMORY;
    std::memcpy(g0, gu0, 2 * size_t(n));
    std::memcpy(g1, gu1, 2 * size_t(n));
    swiglu_tiles_bf16(g0, g1, out, tm, n);
    std::memcpy(act, out, 2 * size_t(n));
    return NPUK_OK;
}

int32_t npuk_qkv_rope(const uint16_t *obj, const uint16_t *cs, uint16_t *out, int32_t r, int32_t valid, int32_t at,
                      int32_t n, int32_t rope_end, int32_t kv_at, int32_t hd, int32_t adjacent) {
    if (hd <= 0 || hd % 16 || n <= 0 || n % hd || at < 0 || at % hd || rope_end % hd || kv_at % hd || r < 0)
        return NPUK_BAD_SHAPE;
    emu::power_on();
    CoreArena a;
    bfloat16 *ob = a.alloc<bfloat16>(size_t(n)), *cb = a.alloc<bfloat16>(size_t(hd)), *yb = a.alloc<bfloat16>(size_t(n));
    bfloat16 *hdr = a.alloc<bfloat16>(kHeader);
    if (a.overflowed()) return NPUK_CORE_MEMORY;
    std::memcpy(ob, obj, 2 * size_t(n));
    std::memcpy(cb, cs, 2 * size_t(hd));
    const int32_t h[8] = {0, valid, 1, 1, 0, 0, 0, 0};
    std::memcpy(hdr, h, 32);
    qkv_rope_bf16(ob, cb, yb, hdr, r, at, n, rope_end, kv_at, hd, adjacent);
    std::memcpy(out, yb, 2 * size_t(n));
    return NPUK_OK;
}

int32_t npuk_rmsnorm_slices(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t n, int32_t slice, float eps) {
    if (slice <= 0 || slice % 32 || n <= 0 || n % slice) return NPUK_BAD_SHAPE;
    emu::power_on();
    CoreArena a;
    bfloat16 *obj = a.alloc<bfloat16>(size_t(slice)), *row = a.alloc<bfloat16>(size_t(n)), *wb = a.alloc<bfloat16>(size_t(n));
    float *acc = a.alloc<float>(32);
    if (a.overflowed()) return NPUK_CORE_MEMORY;
    std::memcpy(wb, w, 2 * size_t(n));
    for (int32_t at = 0; at < n; at += slice) {
        std::memcpy(obj, x + at, 2 * size_t(slice));
        rmsnorm_sum_bf16(obj, row, acc, at, slice);
    }
    for (int32_t at = 0; at < n; at += slice) {
        rmsnorm_scale_bf16(row, wb, acc, obj, at, slice, n, eps);
        std::memcpy(y + at, obj, 2 * size_t(slice));
    }
    return NPUK_OK;
}

} // extern "C"
