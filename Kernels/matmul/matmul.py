# matmul.py: IRON design of the prefill projection Y = X.W^T for a chunk of tokens: (tr x tn) output tiles over up to 32 cores, mmul 4x8x8.
#
# The memory tiles block the operands as the kernel expects (X in 4x8 blocks, W^T in 8x8 blocks,
# Y un-blocked from 4x8 on the way out); GGUF Q4_1 (20-byte) and Q4_0 (18-byte) weights keep their
# bytes and reach the core as stored, unsplit (one input channel), to be dequantized to bf16 there
# (matmul_q4_1_blocks, matmul_q4_0).
# Usage: python3 matmul.py M K ROWS DTYPE [tr=32 tk=64 tn=64 cores=32]   (DTYPE: bf16 | q4_1 | q4_0; ROWS = the prefill chunk)
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
Q4_0_BLOCK_BYTES = 18


def design(M, K, rows, dtype, tr=TR, tk=TK, tn=TN, cores=CORES):
    assert rows % tr == 0 and M % tn == 0 and K % tk == 0
    q4, q40 = dtype == "q4_1", dtype == "q4_0"
    assert dtype in ("bf16", "q4_1", "q4_0") and (not q40 or tk % 64 == 0)
    row_tiles, col_tiles, ktiles = rows // tr, M // tn, K // tk
    tiles = row_tiles * col_tiles
    cores = min(cores, tiles)
    block_bytes = Q4_0_BLOCK_BYTES if q40 else BLOCK_BYTES
    row_units = K // 32 * block_bytes if q4 or q40 else K
    slice_units = tk // 32 * block_bytes if q4 or q40 else tk
    x_ty = np.ndarray[(rows * K,), np.dtype[bfloat16]]
    w_ty = np.ndarray[(M * row_units,), np.dtype[np.uint8 if q4 or q40 else bfloat16]]
    y_ty = np.ndarray[(rows * M,), np.dtype[bfloat16]]
    a_ty = np.ndarray[(tr * tk,), np.dtype[bfloat16]]
    b_ty = np.ndarray[(tk * tn,), np.dtype[bfloat16]]
    raw_ty = np.ndarray[(tn * tk // 32 * block_bytes,), np.dtype[np.uint8]]   # tn rows' k-slices of GGUF blocks
    acc_ty = np.ndarray[(tr * tn,), np.dtype[np.float32]]
    c_ty = np.ndarray[(tr * tn,), np.dtype[bfloat16]]

    if q4 or q40:
        mm = Kernel("matmul_q4_1_blocks" if q4 else "matmul_q4_0", "matmul.o",
                    [a_ty, raw_ty, b_ty, acc_ty, np.int32, np.int32, np.int32, np.int32])
    else:
        mm = Kernel("matmul_bf16", "matmul.o", [a_ty, b_ty, acc_ty, np.int32, np.int32, np.int32, np.int32])
    out = Kernel("matmul_out_bf16", "matmul.o", [acc_ty, c_ty, np.int32])

    def core_body(n):
        def body(of_a, of_ws, of_c, acc, scratch, mm, out):
            for _ in range_(n):
                for kt in range(ktiles):
                    a, ws = of_a.acquire(1), [f.acquire(1) for f in of_ws]
                    first = 1 if kt == 0 else 0
                    if q4 or q40:
                        mm(a, ws[0], scratch, acc, tr, tk, tn, first)
                    else:
                        mm(a, ws[0], acc, tr, tk, tn, first)
                    of_a.release(1)
                    for f in of_ws:
                        f.release(1)
                c = of_c.acquire(1)
                out(acc, c, tr * tn)
                of_c.release(1)
        return body

    workers, feeds = [], []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        a_l3 = ObjectFifo(a_ty, depth=2, name=f"a{c}")
        a_l1 = a_l3.cons().forward(name=f"a{c}_blocked", dims_to_stream=[(tr // R, R * tk), (tk // S, S), (R, tk), (S, 1)])
        if q4 or q40:   # the blocks as stored, through the memory tile unchanged
            w_l3 = ObjectFifo(raw_ty, depth=2, name=f"w{c}")
            ws = [w_l3.cons().forward(name=f"wq{c}_l1")]
        else:
            w_l3 = ObjectFifo(b_ty, depth=2, name=f"w{c}")
            # W tile (tn rows x tk) -> 8x8 blocks of W^T: k blocks outer, column blocks, then (k, n)
            ws = [w_l3.cons().forward(name=f"w{c}_blocked", dims_to_stream=[(tk // S, S), (tn // T, T * tk), (S, 1), (T, tk)])]
        c_l1 = ObjectFifo(c_ty, depth=2, name=f"c{c}")
        c_l3 = c_l1.cons().forward(name=f"c{c}_rows", dims_to_stream=[(tr // R, R * tn), (R, T), (tn // T, R * T), (T, 1)])
        scratch = Buffer(b_ty, name=f"wdq{c}") if q4 or q40 else None
        workers.append(Worker(core_body(n), [a_l1.cons(), [f.cons() for f in ws], c_l1.prod(), Buffer(acc_ty, name=f"acc{c}"),
                                             scratch, mm, out]))
        feeds.append((c, n, a_l3, w_l3, c_l3))

    rt = Runtime()
    with rt.sequence(x_ty, w_ty, y_ty) as (X, W, Y):
        rt.start(*workers)
        for c, n, a_l3, w_l3, c_l3 in feeds:
            for t in range(c, tiles, cores):       # tile t = (row tile, column tile)
                r0, n0 = (t // col_tiles) * tr, (t % col_tiles) * tn
                rt.fill(a_l3.prod(), X, TensorAccessPattern((1, rows * K), r0 * K, [1, ktiles, tr, tk], [0, tk, K, 1]))
                rt.fill(w_l3.prod(), W, TensorAccessPattern((1, M * row_units), n0 * row_units, [1, ktiles, tn, slice_units],
                                                            [0, slice_units, row_units, 1]))
                rt.drain(c_l3.cons(), Y, TensorAccessPattern((1, rows * M), r0 * M + n0, [1, 1, tr, tn], [0, 0, M, 1]),
                         wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), int(args[2]), args[3], **tiling))
