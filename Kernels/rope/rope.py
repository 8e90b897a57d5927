# rope.py: IRON design of RoPE over one step's rows; each row's cos/sin arrive in the step params buffer the host writes per step.
#
# The params buffer (int32 header [pos, start, rows, bucket, 0, 0, 0, 0], then per row cos[half] and
# sin[half] as bf16) is the only position-dependent input: no rebuild per position.
# Usage: python3 rope.py HEADS HEAD_DIM ROWS PAIRING [cores=1]   (PAIRING: half-split | adjacent)
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

CORES = 1
HEADER_WORDS = 8
ENTRY = {"half-split": "rope_halfsplit_bf16", "adjacent": "rope_adjacent_bf16"}


def design(heads, head_dim, rows, pairing, cores=CORES):
    # head_dim 16: rope.cc rotates two heads per 32-lane vector (an odd last head alone)
    assert (head_dim % 32 == 0 or head_dim == 16) and cores == 1, "one core rotates every row"
    width = heads * head_dim
    x_ty = np.ndarray[(rows * width,), np.dtype[bfloat16]]
    params_ty = np.ndarray[(2 * HEADER_WORDS + rows * head_dim,), np.dtype[bfloat16]]
    row_ty = np.ndarray[(width,), np.dtype[bfloat16]]
    cs_ty = np.ndarray[(head_dim,), np.dtype[bfloat16]]
    rope = Kernel(ENTRY[pairing], "rope.o", [row_ty, cs_ty, row_ty, np.int32, np.int32])

    of_x = ObjectFifo(row_ty, depth=2, name="x")
    of_cs = ObjectFifo(cs_ty, depth=2, name="cs")
    of_y = ObjectFifo(row_ty, depth=2, name="y")

    def body(of_x, of_cs, of_y, rope):
        for _ in range_(rows):
            x, cs, y = of_x.acquire(1), of_cs.acquire(1), of_y.acquire(1)
            rope(x, cs, y, heads, head_dim)
            of_x.release(1)
            of_cs.release(1)
            of_y.release(1)

    worker = Worker(body, [of_x.cons(), of_cs.cons(), of_y.prod(), rope])
    rt = Runtime()
    with rt.sequence(x_ty, params_ty, x_ty) as (X, P, Y):
        rt.start(worker)
        rt.fill(of_x.prod(), X)
        # skip the int32 header (8 words = 16 bf16), then one cos/sin row per token row
        rt.fill(of_cs.prod(), P, TensorAccessPattern((1, 2 * HEADER_WORDS + rows * head_dim), 2 * HEADER_WORDS,
                                                     [1, 1, rows, head_dim], [0, 0, head_dim, 1]))
        rt.drain(of_y.cons(), Y, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), int(args[2]), args[3], **tiling))
