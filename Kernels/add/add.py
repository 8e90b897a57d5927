# add.py: IRON design of the residual add out = a + b over N values, TILE-value tiles dealt to up to 8 cores.
#
# Same data movement as swiglu.py with its own tile: hidden sizes (576, 2048) share only 64.
# Usage: python3 add.py N [tile=64 cores=8]
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

TILE = 64
CORES = 8


def design(N, tile=TILE, cores=CORES):
    assert N % tile == 0
    tiles = N // tile
    cores = min(cores, tiles)
    vec_ty = np.ndarray[(N,), np.dtype[bfloat16]]
    tile_ty = np.ndarray[(tile,), np.dtype[bfloat16]]
    add = Kernel("add_bf16", "add.o", [tile_ty, tile_ty, tile_ty, np.int32])

    def core_body(n):
        def body(of_a, of_b, of_o, add):
            for _ in range_(n):
                a, b, o = of_a.acquire(1), of_b.acquire(1), of_o.acquire(1)
                add(a, b, o, tile)
                of_a.release(1)
                of_b.release(1)
                of_o.release(1)
        return body

    plan = []
    for c in range(cores):
        n = len(range(c, tiles, cores))
        fifos = [ObjectFifo(tile_ty, depth=2, name=f"{t}{c}") for t in "abo"]
        tap = TensorAccessPattern((1, N), c * tile, [1, 1, n, tile], [0, 0, cores * tile, 1])
        plan.append((Worker(core_body(n), [fifos[0].cons(), fifos[1].cons(), fifos[2].prod(), add]), fifos, tap))

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
