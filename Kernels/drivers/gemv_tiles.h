// Weight-tile streams and the row-tile loop of the gemv designs, shared by the gemv, LM head and fused layer drivers.
#pragma once
#include <algorithm>
#include <cstring>

#include "emu_core.h"
#include "kernels.h"

namespace emu {

// bf16 weights (m x k row-major in DDR); one (tm x tk) tile per transfer.
struct Bf16Tiles {
    const uint16_t *w;
    int k, tm, tk;
    bfloat16 *buf[2];
    bool alloc(emu::CoreArena &a) {
        for (auto &b : buf) b = a.alloc<bfloat16>(size_t(tm) * tk);
        return !a.overflowed();
    }
    void load(int slot, int row0, int k0) { emu::dma_2d(buf[slot], emu::bf(w) + long(row0) * k + k0, tm, tk, k); }
    void run(int slot, const bfloat16 *x, float *acc, int first) { gemv_bf16(buf[slot], x, acc, tm, tk, first); }
};

// GGUF Q4_1 weights: row r is k/32 blocks of 20 bytes. A tile reaches the core as the file stores
// it (tm rows x tk/32 blocks, row-major; one input DMA channel) and gemv_q4_1_blocks reads the blocks.
struct Q4Tiles {
    const uint8_t *w;
    int k, tm, tk;
    uint8_t *buf[2];
    bool alloc(emu::CoreArena &a) {
        for (auto &b : buf) b = a.alloc<uint8_t>(size_t(tm) * (tk / 32) * 20);
        return !a.overflowed();
    }
    void load(int slot, int row0, int k0) {
        const long row_bytes = long(k / 32) * 20;
        emu::dma_2d(buf[slot], w + long(row0) * row_bytes + long(k0 / 32) * 20, tm, (tk / 32) * 20, row_bytes);
    }
    void run(int slot, const bfloat16 *x, float *acc, int first) { gemv_q4_1_blocks(buf[slot], x, acc, tm, tk, first); }
};

// GGUF Q4_0 weights: row r is k/32 blocks of 18 bytes. The tile moves as the GGUF bytes themselves:
// a row's k-slice is tk/32 consecutive blocks (tk % 64 == 0, so whole 4-byte words), one strided
// transfer per tile, no split and no change to any value.
struct Q4_0Tiles {
    const uint8_t *w;
    int k, tm, tk;
    uint8_t *buf[2];
    bool alloc(emu::CoreArena &a) {
        for (auto &b : buf) b = a.alloc<uint8_t>(size_t(tm) * (tk / 32) * 18);
        return !a.overflowed();
    }
    void load(int slot, int row0, int k0) {
        const long row_bytes = long(k / 32) * 18, slice = long(tk / 32) * 18;
        emu::dma_2d(buf[slot], w + long(row0) * row_bytes + long(k0 / 32) * 18, tm, int(slice), row_bytes);
    }
    void run(int slot, const bfloat16 *x, float *acc, int first) { gemv_q4_0(buf[slot], x, acc, tm, tk, first); }
};

// Runs every row tile: core c takes tiles c, c + cores, ...; per tile, k slices stream through a
// double-buffered weight fifo and x fifo; `done(core, tile, acc, first_tile_of_core, scratch)`
// consumes the fp32 accumulators.
template <class Tiles, class Done>
int32_t run_gemv(Tiles tiles, const uint16_t *x, int m, int k, int cores, Done done) {
    const int tm = tiles.tm, tk = tiles.tk;
    if (m <= 0 || k <= 0 || tm <= 0 || tk <= 0 || cores <= 0 || m % tm || k % tk || tk % 32 || tm % 16)
        return NPUK_BAD_SHAPE;
    for (int core = 0; core < cores; ++core) {
        emu::power_on();
        emu::CoreArena arena;
        if (!tiles.alloc(arena)) return NPUK_CORE_MEMORY;
        bfloat16 *xbuf[2] = {arena.alloc<bfloat16>(tk), arena.alloc<bfloat16>(tk)};
        float *acc = arena.alloc<float>(tm);
        bfloat16 *ybuf = arena.alloc<bfloat16>(2 * size_t(tm));
        if (arena.overflowed()) return NPUK_CORE_MEMORY;
        int slot = 0;
        bool first_tile = true;
        for (int t = core; t < m / tm; t += cores) {
            for (int kt = 0; kt < k / tk; ++kt, slot ^= 1) {
                tiles.load(slot, t * tm, kt * tk);
                emu::dma_2d(xbuf[slot], emu::bf(x) + kt * tk, 1, tk, 0);
                tiles.run(slot, xbuf[slot], acc, kt == 0);
            }
            done(core, t, acc, first_tile, ybuf);
            first_tile = false;
        }
    }
    return NPUK_OK;
}

} // namespace emu
