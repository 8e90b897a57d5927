# lm_head.py: IRON design of the second of a decode token's two runs — result_norm, the LM head in its own weight format and tiling, the greedy token — on the same 16 gemv cores, 8 weight channels and hub as decode_token.py (issue 12's LM-head addendum; Kernels/decode/README.md).
#
# Runs right after decode_<w>_b<bucket> in the same runlist (one chained driver command per token): it reads the
# final residual decode_token drained into io.x_final. Arguments (aiecc: opcode, instr, ninstr, then these 2 of
# its 5 buffer arguments), laid out by layout.py (LMHeadLayout, IOLayout):
#   lm_weights  output_norm_w, then the 8 channel streams of the LM stage interleaved pair by pair
#   io          the io BO decode_token writes: x_final in; result_norm, logits, bests, token out
# Cores: 16 gemv cores g on Tile(g div 4, 2 + g mod 4) (tile t of the padded vocab rows -> core t mod 16, round
# t div 16; argmax_f32 over each round's valid rows, then one best object), fed by 2 MM2S channels per shim of
# columns 0-3 split by memory tiles 0-3; their rows joined per column and drained to io.logits, then io.bests;
# the hub (rmsnorm of x_final, the x broadcast, argmax_merge_f32 of the 16 bests into the token).
# Build with aiecc --dynamic-objFifos (AIECC_FLAGS), as decode_token.
# Usage: python3 lm_head.py KEY=VALUE ...   (the keyword arguments of design(); Tools/build-kernels.py)
import os
import sys

import numpy as np

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2, Tile
from aie.iron.placers import SequentialPlacer
from aie.helpers.util import np_dtype_to_mlir_type
from aie.extras.dialects.arith import index_cast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layout import GEMV_ENTRIES, NG, IOLayout, LMHeadLayout  # noqa: E402
import roles  # noqa: E402
from roles import (HUB_IN_SHIM, HUB_OUT_SHIM, HUB_TILE, cli_kwargs, copy, drain_rows, fill_channels,  # noqa: E402
                   gemv_outputs, gemv_round, gemv_tile, give, linear, once, take, vec, weight_channels, zero)

AIECC_FLAGS = ["--dynamic-objFifos"]


def design(hidden, ffn, heads, kv_heads, head_dim, vocab, layers, eps, lm_head, tm, tm_lm, tk_lm, family="llama"):
    """tm: decode_token's tile height (it sizes the io BO's per-layer regions); tm_lm, tk_lm: the LM stage's tiling;
    family: the model family, whose per-layer io regions (issue 17: Qwen's qkv_fused) the shared io BO holds."""
    model = dict(hidden=hidden, ffn=ffn, heads=heads, kvHeads=kv_heads, headDim=head_dim, vocab=vocab, layers=layers,
                 family=family)
    io = IOLayout(model, tm, tm_lm)
    lay = LMHeadLayout(model, lm_head, tm_lm, tk_lm, io)
    H, V, S = lay.H, lay.V, lay.S
    st = lay.stage
    rho, ks = st["rho"], st["ks"]
    tmv, tkv = tm_lm, tk_lm
    i32, f32 = np.int32, np.float32

    # --- types ---
    q4 = lm_head != "bf16"
    tile_n = st["tileBytes"] if q4 else tmv * tkv
    tile_ty = vec(tile_n, np.uint8) if q4 else vec(tile_n)
    pair_ty = vec(2 * tile_n, np.uint8) if q4 else vec(2 * tile_n)
    s_ty, h_ty, tm_ty, acc_ty = vec(S), vec(H), vec(tmv), vec(tmv, f32)
    nb = NG * tmv                              # the bests region: core g's best in slots g·tm_lm .. +4

    # --- kernels: one declaration (func.func) per symbol; each role links its own object ---
    gobj, hobj = f"lm_gemv_{lm_head}.o", "lm_hub.o"
    k_gemv = Kernel(GEMV_ENTRIES[lm_head], gobj, [tile_ty, vec(tkv), acc_ty, i32, i32, i32])
    k_out = Kernel("gemv_out_bf16", gobj, [acc_ty, tm_ty, i32])
    k_argmax = Kernel("argmax_f32", gobj, [acc_ty, i32, i32, vec(4), i32])
    k_norm = Kernel("rmsnorm_bf16", hobj, [h_ty, h_ty, h_ty, i32, f32])
    k_merge = Kernel("argmax_merge_f32", hobj, [vec(4 * NG), i32, s_ty])

    # --- fifos: the same weight channels, output joins and hub fifos as decode_token ---
    wch, w_in = weight_channels(pair_ty, tile_ty, tile_n)
    gout, y_out = gemv_outputs(tmv)
    x_bcast = ObjectFifo(s_ty, depth=2, name="x_bcast")
    hub_in = ObjectFifo(s_ty, depth=2, name="hub_in")
    hub_out = ObjectFifo(s_ty, depth=2, name="hub_out")

    # --- gemv cores: the LM stage's rounds, argmax over the valid rows (< vocab), then one best object ---
    def gemv_body(g):
        def gemv_core(wf, xb, out, x, xs, acc, best, k_gemv, k_out, k_argmax):
            roles.expect(wf, f"weights{g // 2}")      # channel (c, j) = g div 2 feeds cores 4c+2j, 4c+2j+1
            take(xb, H // S, x, 0, S, "result_norm")
            roles.expect(out, "logits")
            for _ in once():                      # round 0: every core's tile is whole (vocab >= NG·tm_lm)
                gemv_round(wf, out, x, xs, acc, k_gemv, k_out, tmv, tkv, ks)
                k_argmax(acc, tmv, g * tmv, best, 1)
            if rho > 2:
                for r in range_(1, rho - 1):
                    gemv_round(wf, out, x, xs, acc, k_gemv, k_out, tmv, tkv, ks)
                    r32 = index_cast(r, to=np_dtype_to_mlir_type(np.int32))
                    k_argmax(acc, tmv, r32 * nb + g * tmv, best, 0)
            if rho > 1:
                base = ((rho - 1) * NG + g) * tmv
                valid = max(0, min(tmv, V - base))
                for _ in once():
                    gemv_round(wf, out, x, xs, acc, k_gemv, k_out, tmv, tkv, ks)
                    if valid:
                        k_argmax(acc, valid, base, best, 0)
            roles.expect(out, "bests")
            for _ in once():
                o = out.acquire(1)
                copy(o, 0, best, 0, 4)
                zero(o, 4, tmv - 4)
                out.release(1)
        return gemv_core

    gemv_workers = []
    for g in range(NG):
        fn_args = [w_in[g].cons(), x_bcast.cons(), y_out[g].prod(), Buffer(h_ty, name=f"gx{g}"),
                   Buffer(vec(tkv), name=f"gxs{g}"), Buffer(acc_ty, name=f"gacc{g}"), Buffer(vec(4), name=f"gbest{g}"),
                   k_gemv, k_out, k_argmax]
        gemv_workers.append(Worker(gemv_body(g), fn_args, placement=gemv_tile(g)))

    # --- hub: result_norm -> io and the gemv cores' x; then the token from the 16 bests ---
    def hub_core(hin, hout, xb, t, xa, y, all_bests, bests, k_norm, k_merge):
        take(hin, H // S, t, 0, S, "output_norm_w")
        take(hin, H // S, xa, 0, S, "x_final")
        k_norm(xa, t, y, H, eps)
        give([hout, xb], H // S, y, 0, S, "result_norm")
        take(hin, nb // S, all_bests, 0, S, "bests")     # the whole region: headDim need not divide tm_lm
        for gi in range_(NG):
            for j in range_(4):
                bests[gi * 4 + j] = all_bests[gi * tmv + j]
        roles.expect(hout, "token")
        for _ in once():
            tok = hout.acquire(1)
            k_merge(bests, NG, tok)
            zero(tok, 2, S - 2)
            hout.release(1)

    hub_buffers = [Buffer(h_ty, name="hub_t"), Buffer(h_ty, name="hub_xa"), Buffer(h_ty, name="hub_y"),
                   Buffer(vec(nb), name="hub_allbests"), Buffer(vec(4 * NG), name="hub_bests")]
    hub = Worker(hub_core, [hub_in.cons(), hub_out.prod(), x_bcast.prod(), *hub_buffers, k_norm, k_merge],
                 placement=HUB_TILE)

    # --- runtime sequence: the weight fills (their group finishes last), the LM group, the token group ---
    IO, LWB = io.elements, lay.weights_bytes
    hub_out_c, gout_c = hub_out.cons(), {c: gout[c].cons() for c in range(4)}
    rt = Runtime()
    with rt.sequence(vec(LWB, np.uint8), vec(IO)) as (W, X):
        rt.start(*gemv_workers, hub)

        def fill_hub(tg, arg, total, start, n):
            rt.fill(hub_in.prod(), arg, linear(total, start, n), task_group=tg, placement=HUB_IN_SHIM)

        def drain_hub(tg, arg, total, start, n):
            rt.drain(hub_out_c, arg, linear(total, start, n), task_group=tg, wait=True, placement=HUB_OUT_SHIM)

        wg = rt.task_group()
        fill_channels(rt, wch, W, lay, wg)
        # result_norm, the logits and every core's best
        tg = rt.task_group()
        fill_hub(tg, W, LWB, lay.norm_offset, 2 * H)
        fill_hub(tg, X, IO, io.io("x_final"), H)
        drain_hub(tg, X, IO, io.io("result_norm"), H)
        drain_rows(rt, gout_c, X, IO, io.io("logits"), rho, tmv, tg)
        for c in range(4):                       # column c's 4 bests: io.bests[4c·tm_lm, +4·tm_lm)
            rt.drain(gout_c[c], X, linear(IO, io.io("bests") + 4 * c * tmv, 4 * tmv), task_group=tg, wait=True,
                     placement=Tile(c, 0))
        rt.finish_task_group(tg)
        # the token from the bests
        tg = rt.task_group()
        fill_hub(tg, X, IO, io.io("bests"), nb)
        drain_hub(tg, X, IO, io.io("token"), S)
        rt.finish_task_group(tg)
        rt.finish_task_group(wg)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
