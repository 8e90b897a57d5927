# lm_head_argmax.py: IRON design of the LM head with greedy argmax on the NPU: gemv row tiles per core, per-core best, one merge.
#
# Decode brings back one int32 token id instead of vocab logits. The logits variant is the plain
# gemv design (gemv_bf16.py / gemv_q4_1.py / gemv_q4_0.py) with M = vocab.
# Usage: python3 lm_head_argmax.py VOCAB K DTYPE [tm=64 tk=64 cores=32]   (DTYPE: bf16 | q4_1 | q4_0)
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

TM = 64
TK = 64
CORES = 32
BLOCK_BYTES = 20
Q4_0_BLOCK_BYTES = 18


def design(M, K, dtype, tm=TM, tk=TK, cores=CORES):
    assert M % tm == 0 and K % tk == 0 and dtype in ("bf16", "q4_1", "q4_0")
    tiles, ktiles = M // tm, K // tk
    cores = min(cores, tiles)
    q4, q40 = dtype == "q4_1", dtype == "q4_0"
    blocks = tm * tk // 32
    block_bytes = Q4_0_BLOCK_BYTES if q40 else BLOCK_BYTES
    row_units = K // 32 * block_bytes if q4 or q40 else K   # bytes (Q4_1, Q4_0) or values (bf16) per row
    slice_units = tk // 32 * block_bytes if q4 or q40 else tk
    w_ty = np.ndarray[(M * row_units,), np.dtype[np.uint8 if q4 or q40 else bfloat16]]
    raw_ty = np.ndarray[(blocks * BLOCK_BYTES,), np.dtype[np.uint8]]
    qs_ty = np.ndarray[(blocks * 16,), np.dtype[np.uint8]]
    dm_ty = np.ndarray[(blocks * 2,), np.dtype[np.uint16]]
    q40_ty = np.ndarray[(blocks * Q4_0_BLOCK_BYTES,), np.dtype[np.uint8]]
    x_ty = np.ndarray[(K,), np.dtype[bfloat16]]
    tok_ty = np.ndarray[(1,), np.dtype[np.int32]]
    wt_ty = np.ndarray[(tm * tk,), np.dtype[bfloat16]]
    xt_ty = np.ndarray[(tk,), np.dtype[bfloat16]]
    acc_ty = np.ndarray[(tm,), np.dtype[np.float32]]
    best_ty = np.ndarray[(2,), np.dtype[np.int32]]         # float bits of the value, index
    all_ty = np.ndarray[(2 * cores,), np.dtype[np.int32]]

    if q4:
        gemv = Kernel("gemv_q4_1", "lm_head.o", [qs_ty, dm_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    elif q40:
        gemv = Kernel("gemv_q4_0", "lm_head.o", [q40_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    else:
        gemv = Kernel("gemv_bf16", "lm_head.o", [wt_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    argmax = Kernel("argmax_f32", "lm_head.o", [acc_ty, np.int32, np.int32, best_ty, np.int32])
    merge = Kernel("argmax_merge_f32", "lm_head.o", [all_ty, np.int32, tok_ty])

    def core_body(c, n):
        def body(of_ws, of_x, of_best, acc, gemv, argmax):
            best = of_best.acquire(1)
            for i, t in enumerate(range(c, tiles, cores)):     # unrolled: base index is per tile
                for kt in range(ktiles):
                    ws, x = [f.acquire(1) for f in of_ws], of_x.acquire(1)
                    gemv(*ws, x, acc, tm, tk, 1 if kt == 0 else 0)
                    for f in of_ws:
                        f.release(1)
                    of_x.release(1)
                argmax(acc, tm, t * tm, best, 1 if i == 0 else 0)
            of_best.release(1)
        return body

    def merge_body(of_all, of_tok, merge):
        a, tok = of_all.acquire(1), of_tok.acquire(1)
        merge(a, cores, tok)
        of_all.release(1)
        of_tok.release(1)

    of_all = ObjectFifo(all_ty, depth=1, name="best_all")
    best_fifos = of_all.prod().join([2 * c for c in range(cores)], obj_types=[best_ty] * cores,
                                    names=[f"best{c}" for c in range(cores)])
    of_tok = ObjectFifo(tok_ty, depth=1, name="token")
    workers, w_fifos, x_fifos, counts = [], [], [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        counts.append(n)
        if q4:   # as gemv_q4_1.py: the memory tile splits each 20-byte block into nibbles and (d, m)
            raw = ObjectFifo(raw_ty, depth=2, name=f"wq{c}")
            ws = [raw.cons().forward(obj_type=qs_ty, name=f"qs{c}",
                                     dims_to_stream=[(blocks, BLOCK_BYTES // 4), (4, 1)], offset=1),
                  raw.cons().forward(obj_type=dm_ty, name=f"dm{c}", dims_to_stream=[(blocks, BLOCK_BYTES // 4), (1, 1)])]
            w_fifos.append(raw)
        elif q40:   # as gemv_q4_0.py: the 18-byte blocks reach the core unsplit
            raw = ObjectFifo(q40_ty, depth=2, name=f"wq{c}")
            ws = [raw.cons().forward(obj_type=q40_ty, name=f"w{c}")]
            w_fifos.append(raw)
        else:
            w_fifos.append(ObjectFifo(wt_ty, depth=2, name=f"w{c}"))
            ws = [w_fifos[c]]
        x_fifos.append(ObjectFifo(xt_ty, depth=2, name=f"x{c}"))
        workers.append(Worker(core_body(c, n), [[f.cons() for f in ws], x_fifos[c].cons(), best_fifos[c].prod(),
                                                Buffer(acc_ty, name=f"acc{c}"), gemv, argmax]))
    workers.append(Worker(merge_body, [of_all.cons(), of_tok.prod(), merge]))

    rt = Runtime()
    with rt.sequence(w_ty, x_ty, tok_ty) as (W, X, T):
        rt.start(*workers)
        for c in range(cores):
            n = counts[c]
            rt.fill(w_fifos[c].prod(), W, TensorAccessPattern((1, M * row_units), c * tm * row_units,
                                                              [n, ktiles, tm, slice_units],
                                                              [cores * tm * row_units, slice_units, row_units, 1]))
            rt.fill(x_fifos[c].prod(), X, TensorAccessPattern((1, K), 0, [1, 1, n, K], [0, 0, 0, 1]))
        rt.drain(of_tok.cons(), T, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), args[2], **tiling))
