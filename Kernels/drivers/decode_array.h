// The parts the decode token run and the LM head run share (Kernels/decode/roles.py places both the same way): 16 gemv cores fed by 8 weight channels split at 4 memory tiles, the column joins drained to io, and the hub's hub_in / hub_out / x_bcast objects — moving data as the designs' fifos do and counting every DDR byte per argument and shim channel.
#pragma once
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "emu_core.h"
#include "kernels.h"

namespace decode_emu {

using emu::CoreArena;

// A gemv core: the x_bcast objects it receives, its local x and k-slice, the split's weight tiles, its
// accumulator, its output objects, its LM best (fp32 value bits, row: 4 bf16 slots; the LM head run only).
struct GemvCore {
    bfloat16 *xin[2], *x, *xs;
    uint8_t *w[2];
    float *acc;
    bfloat16 *y[2];
    int32_t *best;
    int xfill;
};

// A run's weight channels: its weights BO and the pair-interleaved streams in it (pair p of channel ch at
// offset + (8p + ch) * pair_bytes; `pairs` per channel per run).
struct Streams {
    const uint8_t *bo;
    int64_t offset, pair_bytes, pairs, bytes;
};

class Array {
  public:
    Array(uint16_t *io, npuk_decode_traffic &t, bool exec, Streams w, int64_t S, int tm, int tk)
        : io(io), t(t), exec(exec), w(w), S(S), tm(tm), tk(tk) {}

  protected:
    uint16_t *io;
    npuk_decode_traffic &t;
    const bool exec;
    const Streams w;
    const int64_t S;
    const int tm, tk;
    std::vector<std::unique_ptr<CoreArena>> arenas;
    int64_t next_pair[NPUK_DECODE_CHANNELS] = {};
    std::vector<GemvCore> g;
    // memory tiles 0-3: each column's two weight channels (one pair object each) and its output join
    uint8_t *pair[NPUK_DECODE_CHANNELS] = {};
    bfloat16 *join[4] = {};
    // the hub's fifo objects (depth 2 each)
    bfloat16 *hin[2] = {}, *hout[2] = {}, *xb[2] = {};
    int hin_slot = 0, hout_slot = 0, xb_slot = 0;

    CoreArena &arena(size_t bytes) {
        arenas.push_back(std::make_unique<CoreArena>(bytes));
        return *arenas.back();
    }

    // 16 gemv cores (x_bcast consumer depth 2, x of kmax, xs, the split's tiles depth 2, acc, outputs depth 2, the
    // best when `with_best`) and the 4 weight memory tiles (2 channels' pairs depth 2, the join depth 2).
    bool allocate_gemv(int64_t kmax, int64_t tile, bool with_best) {
        if (2 * tile != w.pair_bytes) return false;
        g.resize(NPUK_DECODE_GEMV_CORES);
        for (auto &c : g) {
            CoreArena &a = arena(emu::kCoreDataBytes);
            for (auto &p : c.xin) p = a.alloc<bfloat16>(size_t(S));
            c.x = a.alloc<bfloat16>(size_t(kmax));
            c.xs = a.alloc<bfloat16>(size_t(tk));
            for (auto &p : c.w) p = a.alloc<uint8_t>(size_t(tile));
            c.acc = a.alloc<float>(size_t(tm));
            for (auto &p : c.y) p = a.alloc<bfloat16>(size_t(tm));
            c.best = with_best ? reinterpret_cast<int32_t *>(a.alloc<bfloat16>(4)) : nullptr;
            if (a.overflowed()) return false;
        }
        for (int c = 0; c < 4; ++c) {
            CoreArena &a = arena(emu::kMemTileBytes);
            for (int j = 0; j < 2; ++j) {
                pair[2 * c + j] = a.alloc<uint8_t>(size_t(w.pair_bytes));
                a.alloc<uint8_t>(size_t(w.pair_bytes));   // depth 2
            }
            join[c] = a.alloc<bfloat16>(4 * size_t(tm));
            a.alloc<bfloat16>(4 * size_t(tm));
            if (a.overflowed()) return false;
        }
        return true;
    }

    // The hub's hub_in (consumer), hub_out and x_bcast (producer) objects in its arena.
    void allocate_hub_fifos(CoreArena &a) {
        for (auto &p : hin) p = a.alloc<bfloat16>(size_t(S));
        for (auto &p : hout) p = a.alloc<bfloat16>(size_t(S));
        for (auto &p : xb) p = a.alloc<bfloat16>(size_t(S));
    }

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
            std::memcpy(obj, w.bo + byte_offset + 2 * o, 2 * size_t(S));
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

    // One gemv stage on the 16 cores. Per round and k-slice each weight channel delivers its next pair object (the
    // memory tile splits it to its two cores) and every core accumulates gemv(tile, xs = x[ks·tk, +tk)); per round
    // each core writes gemv_out of its tile and each column joins its 4 objects and drains them to
    // io_out + (r·16 + 4c)·tm. With `io_bests` ≥ 0 (the LM stage) each core folds argmax_f32 over its tiles' valid
    // rows (< st.rows) and after the last round emits its best object (its best in slots 0–3, the rest 0), drained
    // by the columns to io_bests + c·4·tm.
    // With `f32` (a Qwen QKV stage, issue 17: Kernels/decode/README.md "Qwen fp32 rows") each core writes its fp32
    // accumulators as two objects per round (gemv_out_f32 halves 0, 1; no rounding) and each column's joins drain to
    // the fp32 rows of io_out (row n at slots 2n, 2n + 1), `[rho, 2 halves, 4 cores, tm]` (drain_f32).
    bool gemv_stage(const npuk_decode_stage &st, int64_t io_out, int64_t io_bests = -1, bool f32 = false) {
        const int slices = int(st.k / tk), ng = NPUK_DECODE_GEMV_CORES;
        const bool lm = io_bests >= 0;
        int slot = 0, oslot = 0;
        for (int64_t r = 0; r < st.rounds; ++r) {
            for (int ks = 0; ks < slices; ++ks, slot ^= 1) {
                for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch) {
                    if (next_pair[ch] >= w.pairs) return false;
                    const int64_t at = w.offset + (next_pair[ch]++ * NPUK_DECODE_CHANNELS + ch) * w.pair_bytes;
                    if (at + w.pair_bytes > w.bytes) return false;
                    std::memcpy(pair[ch], w.bo + at, size_t(w.pair_bytes));   // shim (c, 0) MM2S j → memory tile c
                    t.weight_channel[ch] += w.pair_bytes;
                    t.weights_read += w.pair_bytes;
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
            if (f32) {
                for (int half = 0; half < 2; ++half, oslot ^= 1) {
                    if (exec)
                        for (auto &c : g) gemv_out_f32(c.acc, c.y[oslot], tm, half);
                    drain_f32(io_out, r, half, oslot);
                }
                continue;
            }
            for (int core = 0; core < ng; ++core) {
                GemvCore &c = g[core];
                const int64_t base = (r * ng + core) * tm;
                if (!exec) continue;
                gemv_out_bf16(c.acc, c.y[oslot], tm);
                const int64_t valid = std::min<int64_t>(tm, st.rows - base);
                if (lm && valid > 0) argmax_f32(c.acc, int32_t(valid), int32_t(base), c.best, r == 0);
            }
            drain(io_out + r * ng * tm, oslot);
            oslot ^= 1;
        }
        if (lm) {
            for (auto &c : g) {
                bfloat16 *o = c.y[oslot];
                std::memset(o, 0, 2 * size_t(tm));
                std::memcpy(o, c.best, 8);
            }
            drain(io_bests, oslot);
        }
        return true;
    }

    // The 4 column joins of the cores' output objects `slot`, each drained by shim (col, 0) S2MM to at + 4·col·tm.
    void drain(int64_t at, int slot) {
        for (int col = 0; col < 4; ++col) {
            for (int k = 0; k < 4; ++k) std::memcpy(join[col] + k * tm, g[4 * col + k].y[slot], 2 * size_t(tm));
            std::memcpy(io + at + int64_t(4 * col) * tm, join[col], 8 * size_t(tm));
            t.gemv_drain[col] += 8 * tm;
            t.io_written += 8 * tm;
        }
    }

    // The f32 stage's joins of half `half` of round r (objects `slot`): core 4·col + k's tm slots (fp32 rows
    // [half·tm/2, +tm/2) of its tile t = 16r + 4·col + k) drained by shim (col, 0) S2MM to at + 2·t·tm + half·tm.
    void drain_f32(int64_t at, int64_t r, int half, int slot) {
        for (int col = 0; col < 4; ++col) {
            for (int k = 0; k < 4; ++k) std::memcpy(join[col] + k * tm, g[4 * col + k].y[slot], 2 * size_t(tm));
            for (int k = 0; k < 4; ++k) {
                const int64_t t16 = r * NPUK_DECODE_GEMV_CORES + 4 * col + k;
                std::memcpy(io + at + 2 * t16 * tm + half * tm, join[col] + k * tm, 2 * size_t(tm));
            }
            t.gemv_drain[col] += 8 * tm;
            t.io_written += 8 * tm;
        }
    }

    // Every pair of every channel consumed exactly once.
    bool streams_consumed() const {
        for (int ch = 0; ch < NPUK_DECODE_CHANNELS; ++ch)
            if (next_pair[ch] != w.pairs) return false;
        return true;
    }
};

} // namespace decode_emu
