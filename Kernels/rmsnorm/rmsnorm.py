# rmsnorm.py: IRON design of RMSNorm with weight: one core, weight resident, one row per transfer.
#
# Decode normalises one row of `hidden` values; the work is ~0.1% of the projection after it, so a
# single core serves it and the fused layer designs place it next to the first projection's cores.
# Usage: python3 rmsnorm.py N ROWS EPS [cores=1]
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer

CORES = 1
VECTOR = 32


def design(N, rows, eps, cores=CORES):
    assert N % VECTOR == 0 and cores == 1, "one core normalises every row"
    row_ty = np.ndarray[(N,), np.dtype[bfloat16]]
    all_ty = np.ndarray[(rows * N,), np.dtype[bfloat16]]
    norm = Kernel("rmsnorm_bf16", "rmsnorm.o", [row_ty, row_ty, row_ty, np.int32, np.float32])

    of_w = ObjectFifo(row_ty, depth=1, name="w")
    of_x = ObjectFifo(row_ty, depth=2, name="x")
    of_y = ObjectFifo(row_ty, depth=2, name="y")

    def body(of_w, of_x, of_y, norm):
        w = of_w.acquire(1)
        for _ in range_(rows):
            x, y = of_x.acquire(1), of_y.acquire(1)
            norm(x, w, y, N, eps)
            of_x.release(1)
            of_y.release(1)
        of_w.release(1)

    worker = Worker(body, [of_w.cons(), of_x.cons(), of_y.prod(), norm])
    rt = Runtime()
    with rt.sequence(all_ty, row_ty, all_ty) as (X, W, Y):
        rt.start(worker)
        rt.fill(of_w.prod(), W)
        rt.fill(of_x.prod(), X)
        rt.drain(of_y.cons(), Y, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), int(args[1]), float(args[2]), **tiling))
