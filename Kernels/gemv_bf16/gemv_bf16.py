# gemv_bf16.py: IRON design of y = W.x for decode: W's row tiles dealt round-robin over up to 32 cores, fp32 accumulation in each core.
#
# W stays row-major as in the model file; the shim DMA cuts it into TM x TK tiles (4-D pattern).
# Usage: python3 gemv_bf16.py M K [tm=64 tk=64 cores=32] > gemv_bf16_MxK.mlir
# (module constants: the default tiling; the plan may pick a smaller tm per instance, e.g. K/V rows of a small model)
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

TM = 64      # weight rows per tile (manifest tiling.tm)
TK = 64      # columns per tile (manifest tiling.tk)
CORES = 32   # at most; fewer when there are fewer row tiles


def design(M, K, weight_obj="gemv_bf16.o", tm=TM, tk=TK, cores=CORES):
    assert M % tm == 0 and K % tk == 0, "KernelPlan rejects these shapes"
    tiles, ktiles = M // tm, K // tk
    cores = min(cores, tiles)
    w_ty = np.ndarray[(M * K,), np.dtype[bfloat16]]
    x_ty = np.ndarray[(K,), np.dtype[bfloat16]]
    y_ty = np.ndarray[(M,), np.dtype[bfloat16]]
    wt_ty = np.ndarray[(tm * tk,), np.dtype[bfloat16]]
    xt_ty = np.ndarray[(tk,), np.dtype[bfloat16]]
    acc_ty = np.ndarray[(tm,), np.dtype[np.float32]]
    yt_ty = np.ndarray[(tm,), np.dtype[bfloat16]]

    gemv = Kernel("gemv_bf16", weight_obj, [wt_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    gemv_out = Kernel("gemv_out_bf16", weight_obj, [acc_ty, yt_ty, np.int32])

    def core_body(n_tiles):
        def body(of_w, of_x, of_y, acc, gemv, gemv_out):
            for _ in range_(n_tiles):
                w, x = of_w.acquire(1), of_x.acquire(1)
                gemv(w, x, acc, tm, tk, 1)           # first k slice starts the sums
                of_w.release(1)
                of_x.release(1)
                for _ in range_(ktiles - 1):
                    w, x = of_w.acquire(1), of_x.acquire(1)
                    gemv(w, x, acc, tm, tk, 0)
                    of_w.release(1)
                    of_x.release(1)
                y = of_y.acquire(1)
                gemv_out(acc, y, tm)
                of_y.release(1)
        return body

    w_fifos, x_fifos, y_fifos, workers, counts = [], [], [], [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        counts.append(n)
        w_fifos.append(ObjectFifo(wt_ty, depth=2, name=f"w{c}"))
        x_fifos.append(ObjectFifo(xt_ty, depth=2, name=f"x{c}"))
        y_fifos.append(ObjectFifo(yt_ty, depth=2, name=f"y{c}"))
        acc = Buffer(acc_ty, name=f"acc{c}")
        workers.append(Worker(core_body(n), [w_fifos[c].cons(), x_fifos[c].cons(), y_fifos[c].prod(), acc,
                                             gemv, gemv_out]))

    rt = Runtime()
    with rt.sequence(w_ty, x_ty, y_ty) as (W, X, Y):
        rt.start(*workers)
        for c in range(cores):
            n = counts[c]
            # core c: row tiles c, c+cores, ...; per row tile the k slices in order, each tm rows of tk
            rt.fill(w_fifos[c].prod(), W, TensorAccessPattern((1, M * K), c * tm * K, [n, ktiles, tm, tk],
                                                              [cores * tm * K, tk, K, 1]))
            rt.fill(x_fifos[c].prod(), X, TensorAccessPattern((1, K), 0, [1, 1, n, K], [0, 0, 0, 1]))
            rt.drain(y_fifos[c].cons(), Y, TensorAccessPattern((1, M), c * tm, [1, 1, n, tm], [0, 0, cores * tm, 1]),
                     wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), **tiling))
