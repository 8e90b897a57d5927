# Building blocks of the fused decode designs: core placement, weight-tile types (bf16 / Q4_1 blocks) and the gemv core's round loop.
#
# Every core has at most two input and two output DMA channels, so a core takes ONE role: the norm /
# broadcast core, the rope core, the epilogue core, attention cores, or gemv cores (Kernels/layer_decode/README.md).
import numpy as np
from ml_dtypes import bfloat16

from aie.iron.controlflow import range_
from aie.iron.device import Tile

Q4_BLOCK_BYTES = 20    # GGUF Q4_1 block: f16 d, f16 m, 16 bytes of nibbles (32 weights)


def core_tiles():
    """The 32 compute tiles in placement order: column by column, rows 2-5 (NPU2)."""
    return [Tile(col, row) for col in range(8) for row in range(2, 6)]


def mem_tile(i):
    return Tile(i % 8, 1)


def vec(n, dtype=bfloat16):
    return np.ndarray[(n,), np.dtype[dtype]]


class Weights:
    """The weight tile a gemv core receives: bf16 (tm x tk), or Q4_1 as GGUF stores it (tm rows x tk/32
    blocks of 20 bytes, read by gemv_q4_1_blocks): one input DMA channel either way."""

    def __init__(self, dtype, tm, tk):
        assert dtype in ("bf16", "q4_1") and tk % 32 == 0
        self.dtype, self.tm, self.tk = dtype, tm, tk
        self.q4 = dtype == "q4_1"
        self.entry = "gemv_q4_1_blocks" if self.q4 else "gemv_bf16"
        self.tile_ty = vec(tm * tk // 32 * Q4_BLOCK_BYTES, np.uint8) if self.q4 else vec(tm * tk)

    def row_units(self, k):
        """Elements of the DDR argument per weight row (bytes for Q4_1, bf16 values otherwise)."""
        return k // 32 * Q4_BLOCK_BYTES if self.q4 else k

    def matrix_ty(self, m, k):
        return vec(m * self.row_units(k), np.uint8 if self.q4 else bfloat16)

    def tap(self, m, k, core, cores, TensorAccessPattern):
        """Core `core` of `cores`: its row tiles (core, core + cores, ...), each as k/tk slices of tm rows."""
        tiles, ktiles, ru = m // self.tm, k // self.tk, self.row_units(k)
        n = len(range(core, tiles, cores))
        if n == 0:
            return 0, None
        su = self.row_units(self.tk)
        return n, TensorAccessPattern((1, m * ru), core * self.tm * ru, [n, ktiles, self.tm, su],
                                      [cores * self.tm * ru, su, ru, 1])


def gemv_rounds(m, tm, cores):
    """Row tiles are dealt round-robin; every gemv core takes part in every round (the x broadcast
    reaches all of them), and a core without a tile in the last round only consumes x."""
    return -(-(m // tm) // cores)


def gemv_stage(of_w, of_x, acc, gemv, m, k, tm, tk, core, cores, epilogue):
    """One gemv stage on one core: per round its tile's k slices, then `epilogue(tile)`; x slices of
    rounds without a tile are consumed and dropped."""
    tiles, ktiles = m // tm, k // tk
    for r in range(gemv_rounds(m, tm, cores)):
        t = r * cores + core
        if t < tiles:
            w, x = of_w.acquire(1), of_x.acquire(1)
            gemv(w, x, acc, tm, tk, 1)
            of_w.release(1)
            of_x.release(1)
            for _ in range_(ktiles - 1):
                w, x = of_w.acquire(1), of_x.acquire(1)
                gemv(w, x, acc, tm, tk, 0)
                of_w.release(1)
                of_x.release(1)
            epilogue(t)
        else:
            for _ in range_(ktiles):
                of_x.acquire(1)
                of_x.release(1)


def broadcast(of_out, src, k, tk, rounds):
    """The norm core's x broadcast: `rounds` times the k/tk slices of `src` (a core-local vector)."""
    for _ in range_(rounds):
        for s in range(k // tk):
            o = of_out.acquire(1)
            for i in range_(tk):
                o[i] = src[s * tk + i]
            of_out.release(1)
