# mlp_half.py: IRON design of the fused decode MLP half: ffn_norm -> gate/up gemv (same rows, same core) -> SwiGLU -> down gemv -> residual add.
#
# Arguments exactly as DecodeDesigns.mlpHalf: x, norm_w, w_gate, w_up, w_down, out [, taps].
# Placement and dataflow: README.md. Usage: python3 mlp_half.py KEY=VALUE ...   (tms=64,64 per stage)
import sys

import numpy as np

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

from roles import Weights, broadcast, cli_kwargs, core_tiles, gemv_rounds, gemv_stage, mem_tile, vec


def design(hidden, ffn, weights, taps, eps, tms, tk, cores):
    """tms: the gemv tile heights of the stages (ffn_gate/ffn_up, ffn_out), each its plan instance's
    tiling (DecodeDesigns.mlpTM); tk and cores are shared by the stages."""
    tm_up, tm_down = tms
    tm = max(tms)       # the gemv cores' weight, accumulator and row objects: the largest stage's
    assert hidden % tm_down == 0 and hidden % tk == 0 and ffn % tm_up == 0 and ffn % tk == 0
    W = Weights(weights, tm, tk)
    tiles = core_tiles()[:cores]
    # gemv cores: the most that divide the ffn row tiles, so every gate/up round is full and the taps
    # variant's act rows drain in one 4-D pattern
    g = max(d for d in range(1, cores - 1) if (ffn // tm_up) % d == 0)
    assert g >= 1
    norm_tile, epi_tile, gemv_tiles = tiles[0], tiles[1], tiles[2:2 + g]
    obj = f"mlp_half_{weights}.o"   # rmsnorm + gemv + swiglu + add, linked as one object
    hid_ty, ffn_ty = vec(hidden), vec(ffn)
    tm_ty, tk_ty, acc_ty, td_ty = vec(tm), vec(tk), vec(tm, np.float32), vec(tm_down)
    per_tile = 3 if taps else 1      # act tile, or gate | up | act tiles in the taps variant
    # a core's part of the act rows object: tm (core to core; the first tm_up valid), or exactly tm_up
    # in the taps variant, whose act rows the runtime also drains to DDR
    part = tm_up if taps else tm

    k_norm = Kernel("rmsnorm_bf16", obj, [hid_ty, hid_ty, hid_ty, np.int32, np.float32])
    k_gemv = Kernel(W.entry, obj, [W.tile_ty, tk_ty, acc_ty, np.int32, np.int32, np.int32])
    k_out = Kernel("gemv_out_bf16", obj, [acc_ty, tm_ty, np.int32])
    k_swiglu = Kernel("swiglu_bf16", obj, [tm_ty, tm_ty, tm_ty, np.int32])
    k_add = Kernel("add_bf16", obj, [td_ty, td_ty, td_ty, np.int32])

    of_nx = ObjectFifo(hid_ty, depth=2, name="norm_in")
    of_xb = ObjectFifo(tk_ty, depth=2, name="x_bcast")
    of_act = ObjectFifo(vec(g * per_tile * part), depth=1, name="act_rows")
    act_subs = of_act.prod().join([c * per_tile * part for c in range(g)], placement=mem_tile(0),
                                  obj_types=[vec(per_tile * part)] * g, names=[f"act{c}" for c in range(g)])
    of_d = ObjectFifo(vec(g * tm), depth=1, name="down_rows")
    d_subs = of_d.prod().join([c * tm for c in range(g)], placement=mem_tile(1), obj_types=[tm_ty] * g,
                              names=[f"down{c}" for c in range(g)])
    of_res = ObjectFifo(hid_ty, depth=1, name="residual")
    of_out = ObjectFifo(td_ty, depth=2, name="out")        # l_out rows reach DDR: exactly tm_down per object
    of_tn = ObjectFifo(tk_ty, depth=2, name="taps_norm") if taps else None
    of_te = ObjectFifo(td_ty, depth=2, name="taps_epi") if taps else None
    r_up, r_down = gemv_rounds(ffn, tm_up, g), gemv_rounds(hidden, tm_down, g)

    def norm_core(of_nx, of_xb, of_act, of_tap, y, act, k_norm):
        w, x = of_nx.acquire(2)
        k_norm(x, w, y, hidden, eps)
        of_nx.release(2)
        if of_tap is not None:
            broadcast(of_tap, y, hidden, tk, 1)
        broadcast(of_xb, y, hidden, tk, 2 * r_up)        # gate rows, then up rows of every round
        for r in range(r_up):
            rows = of_act.acquire(1)
            for c in range(g):
                t = r * g + c
                if t < ffn // tm_up:
                    for i in range_(tm_up):
                        act[t * tm_up + i] = rows[c * per_tile * part + (per_tile - 1) * part + i]
            of_act.release(1)
        broadcast(of_xb, act, ffn, tk, r_down)

    def gemv_body(c):
        def gemv_core(of_w, of_x, of_a, of_d, acc, gate, up, act, k_gemv, k_out, k_swiglu):
            for r in range(r_up):
                t = r * g + c
                if t < ffn // tm_up:
                    for dst in (gate, up):
                        w, x = of_w.acquire(1), of_x.acquire(1)
                        k_gemv(w, x, acc, tm_up, tk, 1)
                        of_w.release(1)
                        of_x.release(1)
                        for _ in range_(hidden // tk - 1):
                            w, x = of_w.acquire(1), of_x.acquire(1)
                            k_gemv(w, x, acc, tm_up, tk, 0)
                            of_w.release(1)
                            of_x.release(1)
                        k_out(acc, dst, tm_up)
                    a = of_a.acquire(1)
                    if taps:                               # gate | up | act tiles, tm_up each
                        for i in range_(tm_up):
                            a[i] = gate[i]
                            a[tm_up + i] = up[i]
                        k_swiglu(gate, up, act, tm_up)
                        for i in range_(tm_up):
                            a[2 * tm_up + i] = act[i]
                    else:
                        k_swiglu(gate, up, a, tm_up)
                    of_a.release(1)
                else:
                    for _ in range_(2 * (hidden // tk)):
                        of_x.acquire(1)
                        of_x.release(1)
                    of_a.acquire(1)
                    of_a.release(1)

            def epilogue(t):
                y = of_d.acquire(1)
                k_out(acc, y, tm_down)
                of_d.release(1)
            gemv_stage(of_w, of_x, acc, k_gemv, hidden, ffn, tm_down, tk, c, g, epilogue)
            for r in range(r_down):
                if r * g + c >= hidden // tm_down:
                    of_d.acquire(1)
                    of_d.release(1)
        return gemv_core

    w_fifos = [ObjectFifo(W.tile_ty, depth=2, name=f"w{c}") for c in range(g)]
    gemv_workers = [Worker(gemv_body(c), [w_fifos[c].cons(), of_xb.cons(), act_subs[c].prod(), d_subs[c].prod(),
                                          Buffer(acc_ty, name=f"acc{c}"), Buffer(tm_ty, name=f"gate{c}"),
                                          Buffer(tm_ty, name=f"up{c}"), Buffer(tm_ty, name=f"act{c}") if taps else None,
                                          k_gemv, k_out, k_swiglu],
                           placement=gemv_tiles[c]) for c in range(g)]
    norm_worker = Worker(norm_core, [of_nx.cons(), of_xb.prod(), of_act.cons(), of_tn.prod() if taps else None,
                                     Buffer(hid_ty, name="y"), Buffer(ffn_ty, name="act"), k_norm], placement=norm_tile)

    def epilogue_core(of_res, of_d, of_out, of_tap, ot, rt, k_add):
        x = of_res.acquire(1)
        for r in range(r_down):
            rows = of_d.acquire(1)
            for c in range(g):
                t = r * g + c
                if t < hidden // tm_down:
                    for i in range_(tm_down):
                        ot[i] = rows[c * tm + i]
                        rt[i] = x[t * tm_down + i]
                    y = of_out.acquire(1)
                    k_add(ot, rt, y, tm_down)
                    if of_tap is not None:
                        a, f = of_tap.acquire(2)
                        for i in range_(tm_down):
                            a[i] = ot[i]
                            f[i] = y[i]
                        of_tap.release(2)
                    of_out.release(1)
            of_d.release(1)
        of_res.release(1)

    epi_worker = Worker(epilogue_core, [of_res.cons(), of_d.cons(), of_out.prod(), of_te.prod() if taps else None,
                                   Buffer(td_ty, name="ot"), Buffer(td_ty, name="rt"), k_add], placement=epi_tile)

    # taps (DecodeDesigns.mlpTaps): ffn_norm | ffn_gate | ffn_up | ffn_act | ffn_out | l_out
    tn = 3 * hidden + 3 * ffn
    types = [hid_ty, hid_ty, W.matrix_ty(ffn, hidden), W.matrix_ty(ffn, hidden), W.matrix_ty(hidden, ffn), hid_ty]
    if taps:
        types.append(vec(tn))
    rt = Runtime()
    with rt.sequence(*types) as args:
        X, NW, WG, WU, WD, OUT = args[:6]
        rt.start(norm_worker, epi_worker, *gemv_workers)
        rt.fill(of_nx.prod(), NW)
        rt.fill(of_nx.prod(), X)
        rt.fill(of_res.prod(), X)
        for c in range(g):
            # gate and up tiles of the same rows alternate: per tile, its k slices of W_gate then of W_up
            for t in range(len(range(c, ffn // tm_up, g))):
                for mat in (WG, WU):
                    for one in W.taps(ffn, hidden, c + t * g, ffn // tm_up, TensorAccessPattern, tm_up)[1]:
                        rt.fill(w_fifos[c].prod(), mat, one)
            for td in W.taps(hidden, ffn, c, g, TensorAccessPattern, tm_down)[1]:
                rt.fill(w_fifos[c].prod(), WD, td)
        rt.drain(of_out.cons(), OUT, wait=True)
        if taps:
            T = args[6]
            rt.drain(of_tn.cons(), T, TensorAccessPattern((1, tn), 0, [1, 1, 1, hidden], [0, 0, 0, 1]))
            # the act rows' objects hold, per round and core, its gate | up | act tiles
            rt.drain(of_act.cons(), T, TensorAccessPattern((1, tn), hidden, [r_up, g, 3, tm_up],
                                                           [g * tm_up, tm_up, ffn, 1]))
            rt.drain(of_te.cons(), T, TensorAccessPattern((1, tn), hidden + 3 * ffn, [1, hidden // tm_down, 2, tm_down],
                                                          [0, tm_down, hidden, 1]), wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
