# gemv_q4_0.py: IRON design of y = W.x with GGUF Q4_0 weights (18-byte blocks), dequantized in the cores; tiling as gemv_q4_1.
#
# The weight bytes stay exactly as GGUF stores them and reach each core unsplit: a row's k-slice is
# TK/32 consecutive 18-byte blocks (TK = 64: 36 bytes = 9 words), so the shim fill is one 4-byte-granular
# strided pattern and the memory tile forwards the tile as is (an 18-byte block has no 4-byte-aligned
# split into a d plane and a nibble plane, unlike Q4_1's 20 bytes). Usage: python3 gemv_q4_0.py M K [tm=64 tk=64 cores=32]
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
BLOCK_BYTES = 18


def design(M, K, tm=TM, tk=TK, cores=CORES):
    assert M % tm == 0 and K % tk == 0 and tk % 64 == 0   # tk/32 blocks of 18 bytes: whole words only when even
    tiles, ktiles = M // tm, K // tk
    cores = min(cores, tiles)
    row_bytes = K // 32 * BLOCK_BYTES
    slice_bytes = tk // 32 * BLOCK_BYTES
    w_ty = np.ndarray[(M * row_bytes,), np.dtype[np.uint8]]
    x_ty = np.ndarray[(K,), np.dtype[bfloat16]]
    y_ty = np.ndarray[(M,), np.dtype[bfloat16]]
    wt_ty = np.ndarray[(tm * slice_bytes,), np.dtype[np.uint8]]
    xt_ty = np.ndarray[(tk,), np.dtype[bfloat16]]
    acc_ty = np.ndarray[(tm,), np.dtype[np.float32]]
    yt_ty = np.ndarray[(tm,), np.dtype[bfloat16]]

    gemv = Kernel("gemv_q4_0", "gemv_q4_0.o", [wt_ty, xt_ty, acc_ty, np.int32, np.int32, np.int32])
    gemv_out = Kernel("gemv_out_bf16", "gemv_q4_0.o", [acc_ty, yt_ty, np.int32])

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

    w_fifos, x_fifos, y_fifos, workers, counts = [], [], [], [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        counts.append(n)
        raw = ObjectFifo(wt_ty, depth=2, name=f"wq{c}")
        w_fifos.append(raw)
        w_fifo = raw.cons().forward(obj_type=wt_ty, name=f"w{c}")   # memory tile -> core, bytes unchanged
        x_fifos.append(ObjectFifo(xt_ty, depth=2, name=f"x{c}"))
        y_fifos.append(ObjectFifo(yt_ty, depth=2, name=f"y{c}"))
        acc = Buffer(acc_ty, name=f"acc{c}")
        workers.append(Worker(core_body(n), [w_fifo.cons(), x_fifos[c].cons(), y_fifos[c].prod(), acc, gemv, gemv_out]))

    rt = Runtime()
    with rt.sequence(w_ty, x_ty, y_ty) as (W, X, Y):
        rt.start(*workers)
        for c in range(cores):
            n = counts[c]
            rt.fill(w_fifos[c].prod(), W, TensorAccessPattern((1, M * row_bytes), c * tm * row_bytes,
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
