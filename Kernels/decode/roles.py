# roles.py: building blocks of decode_token.py — explicit placement of every core, memory-tile link and shim endpoint, array types, the copy loops the cores run, the command line.
#
# Placement (Kernels/decode/README.md): 16 gemv cores on columns 0-3 (Tile(c, 2 + k), g = 4c + k) fed by the
# two MM2S channels of shims 0-3 through memory tiles 0-3; the hub on Tile(4, 2); one attention core per KV
# head on columns 5-6; KV, pack and attention-output links on memory tiles 4-7; every other runtime endpoint
# on shims 4-7. Everything is placed explicitly, so mlir-aie's SequentialPlacer has nothing to search.
import numpy as np
from ml_dtypes import bfloat16

from aie.iron.controlflow import range_
from aie.iron.device import Tile


def vec(n, dtype=bfloat16):
    return np.ndarray[(n,), np.dtype[dtype]]


# --- placement -------------------------------------------------------------------------------------------
def gemv_tile(g):
    return Tile(g // 4, 2 + g % 4)


HUB_TILE = Tile(4, 2)
HUB_IN_SHIM = Tile(5, 0)       # hub_in fills (MM2S)
HUB_OUT_SHIM = Tile(4, 0)      # hub_out drains (S2MM)
KVG_COLUMNS = (4, 4, 7, 7)     # KV group i: its shim (MM2S) and memory tile


def attention_tile(h):
    return Tile(5 + h // 4, 2 + h % 4)


def pack_column(i):
    """Pack fifo i (heads 4i..4i+3): its shim (MM2S fill), memory tile (split), and the attention-output join
    of the same heads (memory tile join, shim S2MM drain)."""
    return 5 + i


# --- the design checker's marker -------------------------------------------------------------------------
def expect(handle, what):
    """Marks the objects `handle` moves next as the contract's region `what` (an io / weights / kv region of
    layout.py). A no-op in the real build; Tools/design_check.py records it to compare each fifo's producer and
    consumers, and the runtime transfers (named by their offsets), region by region ([order])."""


# --- copy loops (scalar element copies: one kernel symbol per name forbids per-size copy kernels) --------
def take(fifo, n, dst, at, S, what):
    """Acquires n S-value objects of `fifo` into dst[at:at + n*S]."""
    expect(fifo, what)
    for o in range_(n):
        e = fifo.acquire(1)
        for j in range_(S):
            dst[at + o * S + j] = e[j]
        fifo.release(1)


def give(fifos, n, src, at, S, what):
    """Writes src[at:at + n*S] as n S-value objects into every fifo of `fifos` (same data, same order)."""
    for f in fifos:
        expect(f, what)
    for o in range_(n):
        es = [f.acquire(1) for f in fifos]
        for j in range_(S):
            v = src[at + o * S + j]
            for e in es:
                e[j] = v
        for f in fifos:
            f.release(1)


def forward(src, dst, n, S, what):
    """Passes n S-value objects from one fifo to another."""
    expect(src, what)
    expect(dst, what)
    for _ in range_(n):
        a, b = src.acquire(1), dst.acquire(1)
        for j in range_(S):
            b[j] = a[j]
        src.release(1)
        dst.release(1)


def skip(fifo, n, what):
    """Acquires and releases n objects unread."""
    expect(fifo, what)
    for _ in range_(n):
        fifo.acquire(1)
        fifo.release(1)


def copy(dst, dst_at, src, src_at, n):
    for j in range_(n):
        dst[dst_at + j] = src[src_at + j]


def zero(dst, at, n):
    for j in range_(n):
        dst[at + j] = 0


def once():
    """A one-trip loop around a step that acquires: the step stays out of the body of the loop around it."""
    return range_(1)


# --- command line ----------------------------------------------------------------------------------------
def cli_value(v):
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(v, v)


def cli_kwargs(argv):
    return {k: cli_value(v) for k, v in (a.split("=", 1) for a in argv)}
