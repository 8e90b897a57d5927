# gemv_q4_1.py: IRON design of y = W.x with GGUF Q4_1 weights (20-byte blocks), dequantized in the cores; tiling as gemv_bf16.
#
# The weight bytes stay exactly as GGUF stores them: each core's weight fifo carries tiles of tm rows x
# tk/32 blocks of 20 bytes, read by gemv_q4_1_blocks (one input channel for weights, one for x).
# Usage: python3 gemv_q4_1.py M K [tm=64 tk=64 cores=32]
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


def design(M, K, tm=TM, tk=TK, cores=CORES):
    assert M % tm == 0 and K % tk == 0 and tk % 32 == 0
    tiles, ktiles = M // tm, K // tk
    cores = min(cores, tiles)
    blocks = tm * tk // 32
    w_ty = np.ndarray[(M * K // 32 * BLOCK_BYTES,), np.dtype[np.uint8]]
    x_ty = np.ndarray[(K,), np.dtype[bfloat16]]
    y_ty = np.ndarray[(M,), np.dtype[bfloat16]]
    raw_ty = np.ndarray[(blocks * BLOCK_BYTES,), np.dtype[np.uint8]]
    xt_ty = np.ndarray[(tk,), np.dtype[bfloat16]]
    acc_ty = np.ndarray[(tm,), np.dtype[np.float32]]
    yt_ty = np.ndarray[(tm,), np.dtype[bfloat16]]

    gemv = Kernel("gemv_q4_1_blocks", "gemv_q4_1.o", [raw_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    gemv_out = Kernel("gemv_out_bf16", "gemv_q4_1.o", [acc_ty, yt_ty, np.int32])

    def core_body(n_tiles):
        def body(of_w, of_x, of_y, acc, gemv, gemv_out):
            for _ in range_(n_tiles):
                for kt in range(ktiles):                      # unrolled: the first slice starts the sums
                    w, x = of_w.acquire(1), of_x.acquire(1)
                    gemv(w, x, acc, tm, tk, 1 if kt == 0 else 0)
                    of_w.release(1)
                    of_x.release(1)
                y = of_y.acquire(1)
                gemv_out(acc, y, tm)
                of_y.release(1)
        return body

    raw_fifos, x_fifos, y_fifos, workers, counts = [], [], [], [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        counts.append(n)
        raw = ObjectFifo(raw_ty, depth=2, name=f"wq{c}")
        raw_fifos.append(raw)
        x_fifos.append(ObjectFifo(xt_ty, depth=2, name=f"x{c}"))
        y_fifos.append(ObjectFifo(yt_ty, depth=2, name=f"y{c}"))
        acc = Buffer(acc_ty, name=f"acc{c}")
        workers.append(Worker(core_body(n), [raw.cons(), x_fifos[c].cons(), y_fifos[c].prod(),
                                             acc, gemv, gemv_out]))

    row_bytes = K // 32 * BLOCK_BYTES
    rt = Runtime()
    with rt.sequence(w_ty, x_ty, y_ty) as (W, X, Y):
        rt.start(*workers)
        for c in range(cores):
            n = counts[c]
            slice_bytes = tk // 32 * BLOCK_BYTES
            rt.fill(raw_fifos[c].prod(), W, TensorAccessPattern((1, M * row_bytes), c * tm * row_bytes,
                                                                [n, ktiles, tm, slice_bytes],
                                                                [cores * tm * row_bytes, slice_bytes, row_bytes, 1]))
            rt.fill(x_fifos[c].prod(), X, TensorAccessPattern((1, K), 0, [1, 1, n, K], [0, 0, 0, 1]))
            rt.drain(y_fifos[c].cons(), Y, TensorAccessPattern((1, M), c * tm, [1, 1, n, tm], [0, 0, cores * tm, 1]),
                     wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), **tiling))
