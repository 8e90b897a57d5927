# lm_head_argmax.py: IRON design of the LM head: result_norm (rmsnorm) -> gemv over the vocabulary -> greedy argmax on the NPU, or the logits.
#
# Arguments exactly as DecodeDesigns.lmHead: x, norm_w, w, token (argmax) or x, norm_w, w, logits
# [, taps = result_norm]; w bf16, or GGUF Q4_1 / Q4_0 blocks as stored. Placement: core 0 normalises,
# broadcasts x slices and merges the per-core best (argmax variant); the other cores run gemv row tiles
# round-robin (Kernels/layer_decode/README.md). The tiling (tm, tk, cores) is the plan instance's.
# Usage: python3 lm_head_argmax.py KEY=VALUE ...  (vocab hidden weights argmax taps eps [tm=64 tk=64 cores=32])
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "layer_decode"))

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker  # noqa: E402
from aie.iron.controlflow import range_  # noqa: E402
from aie.iron.device import NPU2  # noqa: E402
from aie.iron.placers import SequentialPlacer  # noqa: E402
from aie.helpers.taplib import TensorAccessPattern  # noqa: E402

from roles import Weights, broadcast, cli_kwargs, core_tiles, gemv_rounds, gemv_stage, mem_tile, vec  # noqa: E402

TM = 64
TK = 64
CORES = 32
WEIGHT_ENTRIES = ("gemv_bf16", "gemv_q4_1_blocks", "gemv_q4_0")   # roles.Weights.entry, by weight type


def design(vocab, hidden, weights, argmax, taps, eps, tm=TM, tk=TK, cores=CORES):
    assert vocab % tm == 0 and hidden % tk == 0
    W = Weights(weights, tm, tk)
    tiles = core_tiles()[:cores]
    g = min(cores - 1, vocab // tm)
    norm_tile, gemv_tiles = tiles[0], tiles[1:1 + g]
    obj = f"lm_head_{weights}.o"     # rmsnorm + gemv + argmax, linked as one object
    hid_ty, tm_ty, tk_ty, acc_ty = vec(hidden), vec(tm), vec(tk), vec(tm, np.float32)
    best_ty, tok_ty = vec(2, np.int32), vec(1, np.int32)

    k_norm = Kernel("rmsnorm_bf16", obj, [hid_ty, hid_ty, hid_ty, np.int32, np.float32])
    k_gemv = Kernel(W.entry, obj, [W.tile_ty, tk_ty, acc_ty, np.int32, np.int32, np.int32])
    k_out = Kernel("gemv_out_bf16", obj, [acc_ty, tm_ty, np.int32])
    k_argmax = Kernel("argmax_f32", obj, [acc_ty, np.int32, np.int32, best_ty, np.int32])
    k_merge = Kernel("argmax_merge_f32", obj, [vec(2 * g, np.int32), np.int32, tok_ty])

    of_nx = ObjectFifo(hid_ty, depth=2, name="norm_in")
    of_xb = ObjectFifo(tk_ty, depth=2, name="x_bcast")
    of_tap = ObjectFifo(tk_ty, depth=2, name="taps_norm") if taps else None
    rounds = gemv_rounds(vocab, tm, g)
    w_fifos = [ObjectFifo(W.tile_ty, depth=2, name=f"w{c}") for c in range(g)]
    if argmax:
        of_best = ObjectFifo(vec(2 * g, np.int32), depth=1, name="bests")
        best_subs = of_best.prod().join([2 * c for c in range(g)], placement=mem_tile(0), obj_types=[best_ty] * g,
                                        depths=[1] * g, names=[f"best{c}" for c in range(g)])
        of_tok = ObjectFifo(tok_ty, depth=1, name="token")
    else:
        out_fifos = [ObjectFifo(tm_ty, depth=2, name=f"logits{c}") for c in range(g)]

    def norm_core(of_nx, of_xb, of_tap, of_best, of_tok, y, k_norm, k_merge):
        w, x = of_nx.acquire(2)
        k_norm(x, w, y, hidden, eps)
        of_nx.release(2)
        if of_tap is not None:
            broadcast(of_tap, y, hidden, tk, 1)
        broadcast(of_xb, y, hidden, tk, rounds)
        if of_best is not None:
            b, t = of_best.acquire(1), of_tok.acquire(1)
            k_merge(b, g, t)
            of_best.release(1)
            of_tok.release(1)

    def gemv_body(c):
        def gemv_core(of_w, of_x, of_out, acc, k_gemv, k_out, k_argmax):
            if argmax:
                best = of_out.acquire(1)
                first = [1]

                def epilogue(t):                     # unrolled: the base row of each tile is a constant
                    k_argmax(acc, tm, t * tm, best, first[0])
                    first[0] = 0
            else:
                def epilogue(t):
                    y = of_out.acquire(1)
                    k_out(acc, y, tm)
                    of_out.release(1)
            gemv_stage(of_w, of_x, acc, k_gemv, vocab, hidden, tm, tk, c, g, epilogue)
            if argmax:
                of_out.release(1)
        return gemv_core

    gemv_workers = [Worker(gemv_body(c), [w_fifos[c].cons(), of_xb.cons(),
                                          best_subs[c].prod() if argmax else out_fifos[c].prod(),
                                          Buffer(acc_ty, name=f"acc{c}"), k_gemv,
                                          None if argmax else k_out, k_argmax if argmax else None],
                           placement=gemv_tiles[c]) for c in range(g)]
    norm_worker = Worker(norm_core, [of_nx.cons(), of_xb.prod(), of_tap.prod() if taps else None,
                                     of_best.cons() if argmax else None, of_tok.prod() if argmax else None,
                                     Buffer(hid_ty, name="y"), k_norm, k_merge if argmax else None],
                         placement=norm_tile)

    types = [hid_ty, hid_ty, W.matrix_ty(vocab, hidden), tok_ty if argmax else vec(vocab)]
    if taps:
        types.append(hid_ty)
    rt = Runtime()
    with rt.sequence(*types) as args:
        X, NW, WM, OUT = args[:4]
        rt.start(norm_worker, *gemv_workers)
        rt.fill(of_nx.prod(), NW)
        rt.fill(of_nx.prod(), X)
        for c in range(g):
            n, taps_w = W.taps(vocab, hidden, c, g, TensorAccessPattern)
            for tap in taps_w:
                rt.fill(w_fifos[c].prod(), WM, tap)
            if not argmax:
                rt.drain(out_fifos[c].cons(), OUT, TensorAccessPattern((1, vocab), c * tm, [1, 1, n, tm],
                                                                       [0, 0, g * tm, 1]), wait=True)
        if argmax:
            rt.drain(of_tok.cons(), OUT, wait=True)
        if taps:
            rt.drain(of_tap.cons(), args[4], wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
