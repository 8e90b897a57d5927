# Building blocks of the fused decode designs: core placement, weight-tile types (bf16 / Q4_1 / Q4_0 blocks), the gemv core's round loop, the command line.
#
# Every core has at most two input and two output DMA channels, so a core takes ONE role: the norm /
# broadcast core, the rope core, the epilogue core, attention cores, or gemv cores (Kernels/layer_decode/README.md).
import numpy as np
from ml_dtypes import bfloat16

from aie.iron.controlflow import range_
from aie.iron.device import Tile

BLOCK_BYTES = {"q4_1": 20, "q4_0": 18}   # GGUF blocks of 32 weights: Q4_1 f16 d, f16 m, 16 B nibbles; Q4_0 f16 d, 16 B
ENTRIES = {"bf16": "gemv_bf16", "q4_1": "gemv_q4_1_blocks", "q4_0": "gemv_q4_0"}


def core_tiles():
    """The 32 compute tiles in placement order: column by column, rows 2-5 (NPU2)."""
    return [Tile(col, row) for col in range(8) for row in range(2, 6)]


def mem_tile(i):
    return Tile(i % 8, 1)


def vec(n, dtype=bfloat16):
    return np.ndarray[(n,), np.dtype[dtype]]


class Weights:
    """The weight tile a gemv core receives: bf16 (tm x tk), or GGUF Q4_1 / Q4_0 as the file stores them
    (tm rows x tk/32 blocks of 20 / 18 bytes, read by gemv_q4_1_blocks / gemv_q4_0): one input DMA
    channel either way. `tm` is the object's row count: the largest stage's tile height. A stage with a
    smaller tile (the plan's per-stage tiling, e.g. a small model's K/V rows) fills each object with its
    tile repeated tm / stage_tm times (a stride-0 DMA dimension) and the kernel reads the first rows, as
    the emulated driver's buffers are sized for the largest stage."""

    def __init__(self, dtype, tm, tk):
        assert dtype in ENTRIES and tk % 32 == 0, (dtype, tk)
        # an 18-byte block count must be even for a k-slice to be whole 4-byte DMA words
        assert dtype != "q4_0" or tk % 64 == 0, f"Q4_0 tiles need tk % 64 == 0 (tk={tk})"
        self.dtype, self.tm, self.tk = dtype, tm, tk
        self.block = BLOCK_BYTES.get(dtype)
        self.entry = ENTRIES[dtype]
        self.tile_ty = vec(tm * self.row_units(tk), np.uint8) if self.block else vec(tm * tk)

    def row_units(self, k):
        """Elements of the DDR argument per weight row (bytes for the GGUF blocks, bf16 values otherwise)."""
        return k // 32 * self.block if self.block else k

    def matrix_ty(self, m, k):
        return vec(m * self.row_units(k), np.uint8 if self.block else bfloat16)

    def taps(self, m, k, core, cores, TensorAccessPattern, tm=None):
        """Core `core` of `cores`: its row tiles (core, core + cores, ...) of a stage with tile height `tm`
        (default: the object's), each as k/tk slices of tm rows: (tile count, [fills]), 4-D patterns."""
        tm = tm or self.tm
        assert self.tm % tm == 0, f"stage tile {tm} does not divide the weight object's {self.tm} rows"
        tiles, ktiles, ru = m // tm, k // self.tk, self.row_units(k)
        n = len(range(core, tiles, cores))
        if n == 0:
            return 0, []
        su, rep = self.row_units(self.tk), self.tm // tm
        if rep == 1:
            return n, [TensorAccessPattern((1, m * ru), core * tm * ru, [n, ktiles, tm, su],
                                           [cores * tm * ru, su, ru, 1])]
        return n, [TensorAccessPattern((1, m * ru), t * tm * ru, [ktiles, rep, tm, su], [su, 0, ru, 1])
                   for t in range(core, tiles, cores)]


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


def cli_value(v):
    """A design's key=value command-line value: int, float, bool, a comma list of ints (per-stage tiles) or a string."""
    if "," in v:
        return tuple(int(x) for x in v.split(","))
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(v, v)


def cli_kwargs(argv):
    return {k: cli_value(v) for k, v in (a.split("=", 1) for a in argv)}
