// Driver of the LM head design (lm_head_<h>, issue 12's addendum): the run after the decode token in the same runlist — output norm, the LM stage on the 16 gemv cores and 8 weight channels in the LM head's own format and tiling, argmax per core, the merge on the hub — moving data as its fifos do.
//
// Every offset and size comes from `npuk_lm_layout` (Swift's LMHeadLayout and DecodeLayout's io regions). The hub:
// hub_in ← output_norm_w (lm_weights), x_final (io); y = rmsnorm(x)·w; hub_out → io result_norm; x_bcast ← y. The
// gemv cores: the LM stage, argmax_f32 over each tile's valid rows (< vocab), one best object each after the last
// round; the column joins drain the logits (padded rows too) and the bests. The hub: hub_in ← io bests (the whole
// region, 16·tm values in S-value objects) → each core's 4 slots → argmax_merge_f32 in core order → hub_out → io
// token. Counted per argument and shim channel.
#include <cstring>

#include "decode_array.h"

namespace {

using decode_emu::Array;
using emu::CoreArena;

class LMHead : Array {
  public:
    LMHead(const npuk_lm_layout &L, const uint8_t *lm_weights, uint16_t *io, npuk_decode_traffic &t)
        : Array(io, t, L.execute != 0,
                decode_emu::Streams{lm_weights, L.streams_offset, L.pair_bytes, L.pairs, L.weights_bytes}, L.hub_slice,
                L.tm, L.tk),
          L(L) {}

    int32_t run();

  private:
    const npuk_lm_layout &L;
    // the hub core's Buffers (lm_head.py hub_buffers): the norm weight, x, y, the bests region, the 16 bests (4 bf16
    // slots each)
    bfloat16 *tb, *xa, *yb, *all_bests, *bests;

    bool allocate() {
        if (!allocate_gemv(L.hidden, L.stage.tile_bytes, true)) return false;
        CoreArena &a = arena(emu::kCoreDataBytes);
        allocate_hub_fifos(a);
        tb = a.alloc<bfloat16>(size_t(L.hidden));
        xa = a.alloc<bfloat16>(size_t(L.hidden));
        yb = a.alloc<bfloat16>(size_t(L.hidden));
        all_bests = a.alloc<bfloat16>(size_t(NPUK_DECODE_GEMV_CORES) * size_t(L.tm));
        bests = a.alloc<bfloat16>(4 * size_t(NPUK_DECODE_GEMV_CORES));
        return !a.overflowed();
    }
};

int32_t LMHead::run() {
    if (!allocate()) return NPUK_CORE_MEMORY;
    emu::power_on();
    const int64_t H = L.hidden, ng = NPUK_DECODE_GEMV_CORES;
    // result_norm → io and the LM stage's x
    take_weights(tb, L.output_norm, H);
    take_io(xa, L.io_x_final, H);
    if (exec) rmsnorm_bf16(xa, tb, yb, int32_t(H), L.eps);
    begin_x();
    give_and_broadcast(L.io_result_norm, yb, H);
    // the logits and each core's best
    if (!gemv_stage(L.stage, L.io_logits, L.io_bests)) return NPUK_BAD_LAYOUT;
    // the bests region back through hub_in (S-value objects); core g's best in slots g·tm .. +3 (column c's object
    // at 4c·tm)
    take_io(all_bests, L.io_bests, ng * tm);
    for (int core = 0; core < ng; ++core) std::memcpy(bests + 4 * core, all_bests + int64_t(core) * tm, 8);
    // the merge in core order (the lower row on ties) → the token object
    bfloat16 *tok = hout[hout_slot ^= 1];
    std::memset(tok, 0, 2 * size_t(S));
    if (exec) argmax_merge_f32(reinterpret_cast<const int32_t *>(bests), int32_t(ng), reinterpret_cast<int32_t *>(tok));
    std::memcpy(io + L.io_token, tok, 2 * size_t(S));
    t.io_written += 2 * S;
    t.hub_out += 2 * S;
    if (!streams_consumed()) return NPUK_BAD_LAYOUT;
    return NPUK_OK;
}

} // namespace

extern "C" int32_t npuk_lm_head(const npuk_lm_layout *layout, const uint8_t *lm_weights, uint16_t *io,
                                npuk_decode_traffic *traffic) {
    if (!layout || !lm_weights || !io) return NPUK_BAD_SHAPE;
    const npuk_lm_layout &L = *layout;
    const int64_t ng = NPUK_DECODE_GEMV_CORES;
    if (L.hub_slice <= 0 || L.tm <= 0 || L.tk <= 0 || L.hidden <= 0 || L.hidden % L.hub_slice != 0 ||
        (ng * L.tm) % L.hub_slice != 0 || L.pair_bytes <= 0 || L.stage.k != L.hidden || L.stage.rows != L.vocab ||
        L.stage.rows < ng * L.tm)
        return NPUK_BAD_SHAPE;
    npuk_decode_traffic local{};
    npuk_decode_traffic &t = traffic ? *traffic : local;
    t = npuk_decode_traffic{};
    LMHead head(L, lm_weights, io, t);
    return head.run();
}
