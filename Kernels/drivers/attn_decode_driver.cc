// Tile driver of the decode attention design: KV append at pos, then per KV head and split, KV blocks through online softmax.
#include <algorithm>
#include <cmath>
#include <vector>

#include "emu_core.h"
#include "kernels.h"

extern "C" {

int32_t npuk_attn_decode_bf16(const uint16_t *q, const uint16_t *k_new, const uint16_t *v_new, uint16_t *k_cache,
                              uint16_t *v_cache, int32_t capacity, int32_t pos, int32_t heads, int32_t kv_heads,
                              int32_t head_dim, int32_t block, int32_t splits, uint16_t *out) {
    if (heads <= 0 || kv_heads <= 0 || heads % kv_heads || head_dim <= 0 || head_dim % 16 || block <= 0 ||
        splits <= 0 || capacity <= 0 || capacity % block || pos < 0 || pos >= capacity)
        return NPUK_BAD_SHAPE;
    const int group = heads / kv_heads;
    const long hd = head_dim;
    // KV append: the step's K/V rows are drained into row `pos` of each KV head's cache (the
    // position reaches the DMA through the kv_row sub-buffer the host binds each step, README).
    for (int h = 0; h < kv_heads; ++h) {
        std::memcpy(k_cache + (long(h) * capacity + pos) * hd, k_new + h * hd, sizeof(uint16_t) * hd);
        std::memcpy(v_cache + (long(h) * capacity + pos) * hd, v_new + h * hd, sizeof(uint16_t) * hd);
    }
    // Length bucket: the smallest power-of-two block count covering pos + 1 positions (one design
    // instance per bucket, chosen by the host per step); blocks past pos are masked by `valid`.
    const int needed = (pos + 1 + block - 1) / block;
    int bucket = 1;
    while (bucket < needed) bucket *= 2;
    bucket = std::min(bucket, capacity / block);
    const size_t state_floats = size_t(group) * (head_dim + 16);
    for (int h = 0; h < kv_heads; ++h) {
        std::vector<std::vector<float>> partial(splits, std::vector<float>(state_floats));
        for (int s = 0; s < splits; ++s) { // core (h, s) takes blocks s, s + splits, ...
            emu::power_on();
            emu::CoreArena arena;
            bfloat16 *qbuf = arena.alloc<bfloat16>(size_t(group) * hd);
            bfloat16 *kbuf[2] = {arena.alloc<bfloat16>(size_t(block) * hd), arena.alloc<bfloat16>(size_t(block) * hd)};
            bfloat16 *vbuf[2] = {arena.alloc<bfloat16>(size_t(block) * hd), arena.alloc<bfloat16>(size_t(block) * hd)};
            float *state = arena.alloc<float>(state_floats);
            float *scores = arena.alloc<float>(block);
            int32_t *params = arena.alloc<int32_t>(8);
            if (arena.overflowed()) return NPUK_CORE_MEMORY;
            params[0] = pos; // the step params header every consumer reads
            emu::dma_2d(qbuf, emu::bf(q) + long(h) * group * hd, 1, int(group * hd), 0);
            attn_decode_init_f32(state, group, head_dim);
            int slot = 0;
            for (int b = s; b < bucket; b += splits, slot ^= 1) {
                const long row0 = long(h) * capacity + long(b) * block;
                emu::dma_2d(kbuf[slot], emu::bf(k_cache) + row0 * hd, 1, int(block * hd), 0);
                emu::dma_2d(vbuf[slot], emu::bf(v_cache) + row0 * hd, 1, int(block * hd), 0);
                attn_decode_bf16(qbuf, kbuf[slot], vbuf[slot], state, scores, params, b, block, group, head_dim);
            }
            std::memcpy(partial[s].data(), state, sizeof(float) * state_floats);
        }
        // Split 0's core gathers the other splits' states and writes the heads' outputs.
        emu::power_on();
        emu::CoreArena arena;
        float *acc = arena.alloc<float>(state_floats);
        float *other = arena.alloc<float>(state_floats);
        bfloat16 *obuf = arena.alloc<bfloat16>(size_t(group) * hd);
        if (arena.overflowed()) return NPUK_CORE_MEMORY;
        std::memcpy(acc, partial[0].data(), sizeof(float) * state_floats);
        for (int s = 1; s < splits; ++s) {
            std::memcpy(other, partial[s].data(), sizeof(float) * state_floats);
            attn_decode_merge_f32(acc, other, group, head_dim);
        }
        attn_decode_out_bf16(acc, obuf, group, head_dim);
        std::memcpy(out + long(h) * group * hd, obuf, sizeof(uint16_t) * group * hd);
    }
    return NPUK_OK;
}

} // extern "C"
