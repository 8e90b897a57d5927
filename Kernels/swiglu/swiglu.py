# swiglu.py: IRON design of out = silu(gate) * up over N values, TILE-value tiles dealt to up to 32 cores.
#
# In the fused MLP half this kernel runs on the cores that produced the gate and up rows, on their
# local accumulators' bf16 output, so gate/up never travel to DDR (see Kernels/README.md).
# Usage: python3 swiglu.py N [tile=512 cores=32]
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

TILE = 512
CORES = 32


def design(N, entry="swiglu_bf16", obj="swiglu.o", tile=TILE, cores=CORES):
    assert N % tile == 0
    tiles = N // tile
    cores = min(cores, tiles)
    vec_ty = np.ndarray[(N,), np.dtype[bfloat16]]
    tile_ty = np.ndarray[(tile,), np.dtype[bfloat16]]
    kernel = Kernel(entry, obj, [tile_ty, tile_ty, tile_ty, np.int32])

    def core_body(n):
        def body(of_a, of_b, of_o, kernel):
            for _ in range_(n):
                a, b, o = of_a.acquire(1), of_b.acquire(1), of_o.acquire(1)
                kernel(a, b, o, tile)
                of_a.release(1)
                of_b.release(1)
                of_o.release(1)
        return body

    plan = []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        fifos = [ObjectFifo(tile_ty, depth=2, name=f"{t}{c}") for t in "abo"]
        tap = TensorAccessPattern((1, N), c * tile, [1, 1, n, tile], [0, 0, cores * tile, 1])
        worker = Worker(core_body(n), [fifos[0].cons(), fifos[1].cons(), fifos[2].prod(), kernel])
        plan.append((worker, fifos, tap))

    rt = Runtime()
    with rt.sequence(vec_ty, vec_ty, vec_ty) as (A, B, O):
        rt.start(*[w for w, _, _ in plan])
        for _, (fa, fb, fo), tap in plan:
            rt.fill(fa.prod(), A, tap)
            rt.fill(fb.prod(), B, tap)
            rt.drain(fo.cons(), O, tap, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(int(args[0]), **tiling))
