// Tile drivers of the gemv designs (bf16, Q4_1 and Q4_0 weights, logits or on-NPU argmax), in the order their DMAs move tiles.
#include <algorithm>
#include <vector>

#include "emu_core.h"
#include "gemv_tiles.h"
#include "kernels.h"

using emu::Bf16Tiles;
using emu::Q4Tiles;
using emu::Q4_0Tiles;
using emu::run_gemv;

namespace {

template <class Tiles> int32_t gemv_logits(Tiles tiles, const uint16_t *x, uint16_t *y, int m, int k, int cores) {
    const int tm = tiles.tm;
    return run_gemv(tiles, x, m, k, cores, [&](int, int t, const float *acc, bool, bfloat16 *ybuf) {
        gemv_out_bf16(acc, ybuf, tm);
        std::memcpy(y + long(t) * tm, ybuf, sizeof(uint16_t) * tm);
    });
}

template <class Tiles> int32_t gemv_argmax(Tiles tiles, const uint16_t *x, int32_t *token, int m, int k, int cores) {
    const int tm = tiles.tm;
    const int used = std::max(1, std::min(cores, m / std::max(tm, 1)));
    std::vector<int32_t> bests(2 * size_t(used)); // the memory tile joins the cores' (value, index) pairs
    int32_t status = run_gemv(tiles, x, m, k, cores, [&](int core, int t, const float *acc, bool first, bfloat16 *) {
        argmax_f32(acc, tm, t * tm, &bests[2 * size_t(core)], first);
    });
    if (status != NPUK_OK) return status;
    argmax_merge_f32(bests.data(), used, token);
    return NPUK_OK;
}

} // namespace

extern "C" {

void npuk_set_power_on_rounding(int32_t conv_even) { emu::power_on_conv_even.store(conv_even ? 1 : 0); }
int64_t npuk_take_misaligned(int32_t *access_bytes, int32_t *remainder) {
    long first = aie_emu::first_misaligned.exchange(0);
    if (access_bytes) *access_bytes = int32_t(first >> 8);
    if (remainder) *remainder = int32_t(first & 0xff);
    return aie_emu::misaligned_accesses.exchange(0);
}

int32_t npuk_probe_vector_load(int32_t offset_bytes) {
    emu::CoreArena arena;
    float *base = arena.alloc<float>(64);
    if (!base || offset_bytes < 0 || offset_bytes > 128 || offset_bytes % 4) return NPUK_BAD_SHAPE;
    const float *p = reinterpret_cast<const float *>(reinterpret_cast<const unsigned char *>(base) + offset_bytes);
    volatile float sink = aie::load_v<16>(p).get(0);
    (void)sink;
    return NPUK_OK;
}

int32_t npuk_gemv_bf16(const uint16_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k, int32_t tm,
                       int32_t tk, int32_t cores) {
    return gemv_logits(Bf16Tiles{w, k, tm, tk, {}}, x, y, m, k, cores);
}

int32_t npuk_gemv_q4_1(const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k, int32_t tm,
                       int32_t tk, int32_t cores) {
    if (tk > 512) return NPUK_BAD_SHAPE;
    return gemv_logits(Q4Tiles{w, k, tm, tk, {}}, x, y, m, k, cores);
}

int32_t npuk_gemv_q4_0(const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k, int32_t tm,
                       int32_t tk, int32_t cores) {
    if (tk > 512 || tk % 64) return NPUK_BAD_SHAPE;
    return gemv_logits(Q4_0Tiles{w, k, tm, tk, {}}, x, y, m, k, cores);
}

int32_t npuk_lm_head_argmax_bf16(const uint16_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores) {
    return gemv_argmax(Bf16Tiles{w, k, tm, tk, {}}, x, token, vocab, k, cores);
}

int32_t npuk_lm_head_argmax_q4_1(const uint8_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores) {
    if (tk > 512) return NPUK_BAD_SHAPE;
    return gemv_argmax(Q4Tiles{w, k, tm, tk, {}}, x, token, vocab, k, cores);
}

int32_t npuk_lm_head_argmax_q4_0(const uint8_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores) {
    if (tk > 512 || tk % 64) return NPUK_BAD_SHAPE;
    return gemv_argmax(Q4_0Tiles{w, k, tm, tk, {}}, x, token, vocab, k, cores);
}

} // extern "C"
