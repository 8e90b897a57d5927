# matmul.py: IRON design of the prefill projection Y = X.W^T for a chunk of tokens: (TR x TN) output tiles over 32 cores, mmul 4x8x8.
#
# The memory tiles block the operands as the kernel expects (X in 4x8 blocks, W^T in 8x8 blocks,
# Y un-blocked from 4x8 on the way out); Q4_1 weights keep their GGUF bytes (one input channel) and
# are dequantized to bf16 in the core (matmul_q4_1_blocks).
# Usage: python3 matmul.py M K ROWS DTYPE   (DTYPE: bf16 | q4_1; ROWS = the prefill chunk)
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

TR = 32      # chunk rows per tile
TK = 64
TN = 64      # output columns (weight rows) per tile
CORES = 32
R, S, T = 4, 8, 8   # mmul shape
BLOCK_BYTES = 20


def design(M, K, rows, dtype):
    assert rows % TR == 0 and M % TN == 0 and K % TK == 0
    q4 = dtype == "q4_1"
    row_tiles, col_tiles, ktiles = rows // TR, M // TN, K // TK
    tiles = row_tiles * col_tiles
    cores = min(CORES, tiles)
    row_units = K // 32 * BLOCK_BYTES if q4 else K
    slice_units = TK // 32 * BLOCK_BYTES if q4 else TK
    x_ty = np.ndarray[(rows * K,), np.dtype[bfloat16]]
    w_ty = np.ndarray[(M * row_units,), np.dtype[np.uint8 if q4 else bfloat16]]
    y_ty = np.ndarray[(rows * M,), np.dtype[bfloat16]]
    a_ty = np.ndarray[(TR * TK,), np.dtype[bfloat16]]
    b_ty = np.ndarray[(TK * TN,), np.dtype[bfloat16]]
    raw_ty = np.ndarray[(TN * TK // 32 * BLOCK_BYTES,), np.dtype[np.uint8]]
    acc_ty = np.ndarray[(TR * TN,), np.dtype[np.float32]]
    c_ty = np.ndarray[(TR * TN,), np.dtype[bfloat16]]

    if q4:
        mm = Kernel("matmul_q4_1_blocks", "matmul.o", [a_ty, raw_ty, b_ty, acc_ty, np.int32, np.int32, np.int32, np.int32])
    else:
        mm = Kernel("matmul_bf16", "matmul.o", [a_ty, b_ty, acc_ty, np.int32, np.int32, np.int32, np.int32])
    out = Kernel("matmul_out_bf16", "matmul.o", [acc_ty, c_ty, np.int32])

    def core_body(n):
        def body(of_a, of_ws, of_c, acc, scratch, mm, out):
            for _ in range_(n):
                for kt in range(ktiles):
                    a, ws = of_a.acquire(1), [f.acquire(1) for f in of_ws]
                    first = 1 if kt == 0 else 0
                    if q4:
                        mm(a, ws[0], scratch, acc, TR, TK, TN, first)
                    else:
                        mm(a, ws[0], acc, TR, TK, TN, first)
                    of_a.release(1)
                    for f in of_ws:
                        f.release(1)
                c = of_c.acquire(1)
                out(acc, c, TR * TN)
                of_c.release(1)
        return body

    workers, feeds = [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        a_l3 = ObjectFifo(a_ty, depth=2, name=f"a{c}")
        a_l1 = a_l3.cons().forward(name=f"a{c}_blocked", dims_to_stream=[(TR // R, R * TK), (TK // S, S), (R, TK), (S, 1)])
        if q4:
            w_l3 = ObjectFifo(raw_ty, depth=2, name=f"w{c}")
            ws = [w_l3.cons().forward(name=f"wq{c}_l1")]   # the blocks as stored, through the memory tile
        else:
            w_l3 = ObjectFifo(b_ty, depth=2, name=f"w{c}")
            # W tile (TN rows x TK) -> 8x8 blocks of W^T: k blocks outer, column blocks, then (k, n)
            ws = [w_l3.cons().forward(name=f"w{c}_blocked", dims_to_stream=[(TK // S, S), (TN // T, T * TK), (S, 1), (T, TK)])]
        c_l1 = ObjectFifo(c_ty, depth=2, name=f"c{c}")
        c_l3 = c_l1.cons().forward(name=f"c{c}_rows", dims_to_stream=[(TR // R, R * TN), (R, T), (TN // T, R * T), (T, 1)])
        scratch = Buffer(b_ty, name=f"wdq{c}") if q4 else None
        workers.append(Worker(core_body(n), [a_l1.cons(), [f.cons() for f in ws], c_l1.prod(), Buffer(acc_ty, name=f"acc{c}"),
                                             scratch, mm, out]))
        feeds.append((c, n, a_l3, w_l3, c_l3))

    rt = Runtime()
    with rt.sequence(x_ty, w_ty, y_ty) as (X, W, Y):
        rt.start(*workers)
        for c, n, a_l3, w_l3, c_l3 in feeds:
            for t in range(c, tiles, cores):       # tile t = (row tile, column tile)
                r0, n0 = (t // col_tiles) * TR, (t % col_tiles) * TN
                rt.fill(a_l3.prod(), X, TensorAccessPattern((1, rows * K), r0 * K, [1, ktiles, TR, TK], [0, TK, K, 1]))
                rt.fill(w_l3.prod(), W, TensorAccessPattern((1, M * row_units), n0 * row_units, [1, ktiles, TN, slice_units],
                                                            [0, slice_units, row_units, 1]))
                rt.drain(c_l3.cons(), Y, TensorAccessPattern((1, rows * M), r0 * M + n0, [1, 1, TR, TN], [0, 0, M, 1]),
                         wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
