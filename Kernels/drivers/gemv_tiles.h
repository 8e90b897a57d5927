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

// GGUF Q4_1 weights: row r is k/32 blocks of 20 bytes. The DMA splits each tile into an aligned
// nibble plane (16 bytes per block) and a (d, m) plane (two f16 per block): 4-byte-granular
// strided transfers, no change to any value.
struct Q4Tiles {
    const uint8_t *w;
    int k, tm, tk;
    uint8_t *qs[2];
    uint16_t *dm[2];
    bool alloc(emu::CoreArena &a) {
        const size_t blocks = size_t(tm) * (tk / 32);
        for (int s = 0; s < 2; ++s) {   // one buffer per tile: nibble plane, then (d, m) plane
            qs[s] = a.alloc<uint8_t>(blocks * 20);
            dm[s] = qs[s] ? reinterpret_cast<uint16_t *>(qs[s] + blocks * 16) : nullptr;
        }
        return !a.overflowed();
    }
    void load(int slot, int row0, int k0) {
        const long row_bytes = long(k / 32) * 20;
        const int bpr = tk / 32;
        for (int r = 0; r < tm; ++r)
            for (int b = 0; b < bpr; ++b) {
                const uint8_t *src = w + long(row0 + r) * row_bytes + long(k0 / 32 + b) * 20;
                const int i = r * bpr + b;
                std::memcpy(qs[slot] + i * 16, src + 4, 16);
                std::memcpy(dm[slot] + 2 * i, src, 4);
            }
    }
    void run(int slot, const bfloat16 *x, float *acc, int first) { gemv_q4_1_tile(qs[slot], x, acc, tm, tk, first); }
};

// Runs every row tile: core c takes tiles c, c + cores, ...; per tile, k slices stream through a
// double-buffered weight fifo and x fifo; `done(core, tile, acc, first_tile_of_core, scratch)`
// consumes the fp32 accumulators.
template <class Tiles, class Done>
int32_t run_gemv(Tiles tiles, const uint16_t *x, int m, int k, int cores, Done done) {
    const int tm = tiles.tm, tk = tiles.tk;
    if (m <= 0 || k <= 0 || tm <= 0 || tk <= 0 || cores <= 0 || m % tm || k % tk || tk % 32 || tm % 32)
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
