# roles.py: building blocks of decode_token.py and lm_head.py — explicit placement of every core, memory-tile link and shim endpoint, the gemv cores' weight channels, output joins and rounds, array types, the copy loops the cores run, the command line.
#
# Placement (Kernels/decode/README.md): 16 gemv cores on columns 0-3 (Tile(c, 2 + k), g = 4c + k) fed by the
# two MM2S channels of shims 0-3 through memory tiles 0-3; the hub on Tile(4, 2); one attention core per KV
# head on columns 5-6 (decode_token); KV, pack and attention-output links on memory tiles 4-7; every other
# runtime endpoint on shims 4-7. Everything is placed explicitly, so mlir-aie's SequentialPlacer has nothing to
# search. Both designs build their gemv cores' fifos and runtime transfers with the same functions below.
import numpy as np
from ml_dtypes import bfloat16

from aie.iron import ObjectFifo
from aie.iron.controlflow import range_
from aie.iron.device import Tile
from aie.helpers.taplib import TensorAccessPattern


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


# --- the gemv cores' fifos and runtime transfers (shared by decode_token and lm_head) ---------------------
def weight_channels(pair_ty, tile_ty, tile_n):
    """The 8 weight channels: wch{c}{j} (one object = a pair of tiles) from shim (c, 0) MM2S j, split at memory
    tile (c, 1) into w{g} for cores g = 4c+2j, 4c+2j+1. Returns ({ch = 2c + j: wch}, {g: w{g}})."""
    wch, w_in = {}, {}
    for c in range(4):
        for j in range(2):
            f = ObjectFifo(pair_ty, depth=2, name=f"wch{c}{j}")
            g0 = 4 * c + 2 * j
            subs = f.cons().split([0, tile_n], placement=Tile(c, 1), obj_types=[tile_ty] * 2, depths=[2, 2],
                                  names=[f"w{g0}", f"w{g0 + 1}"])
            wch[2 * c + j] = f
            w_in[g0], w_in[g0 + 1] = subs
    return wch, w_in


def gemv_outputs(tm):
    """The gemv outputs: y{g} (tm rows per object) of column c's 4 cores joined at memory tile (c, 1) into gout{c}
    (drained by shim (c, 0) S2MM). Returns ({c: gout}, {g: y{g}})."""
    gout, y_out = {}, {}
    for c in range(4):
        f = ObjectFifo(vec(4 * tm), depth=2, name=f"gout{c}")
        subs = f.prod().join([k * tm for k in range(4)], placement=Tile(c, 1), obj_types=[vec(tm)] * 4,
                             depths=[2] * 4, names=[f"y{4 * c + k}" for k in range(4)])
        gout[c] = f
        for k in range(4):
            y_out[4 * c + k] = subs[k]
    return gout, y_out


def gemv_round(wf, out, x, xs, acc, k_gemv, k_out, tm, tk, ks, f32=False):
    """One round of a gemv core: its tile's ks k-slices (one weight object each, first with first = 1) over the
    local x, then tm rows out — bf16 (k_out = gemv_out_bf16), or with f32 (a Qwen QKV stage, issue 17: README "Qwen
    fp32 rows") the fp32 accumulators as two objects of tm slots (k_out = gemv_out_f32, halves 0 and 1)."""
    copy(xs, 0, x, 0, tk)
    w = wf.acquire(1)
    k_gemv(w, xs, acc, tm, tk, 1)
    wf.release(1)
    if ks > 1:
        for k in range_(1, ks):
            copy(xs, 0, x, k * tk, tk)
            w = wf.acquire(1)
            k_gemv(w, xs, acc, tm, tk, 0)
            wf.release(1)
    if f32:
        for half in range(2):
            y = out.acquire(1)
            k_out(acc, y, tm, half)
            out.release(1)
        return
    y = out.acquire(1)
    k_out(acc, y, tm)
    out.release(1)


def fill_channels(rt, wch, W, lay, tg):
    """The weights: one 3-D transfer per channel for the whole run, [pairs (stride 8 pairs), d1, pairBytes/d1]
    from the channel's first pair (lay: DecodeLayout or LMHeadLayout)."""
    d1 = lay.pair_d1
    for ch in range(len(wch)):
        tap = TensorAccessPattern((1, lay.weights_bytes), lay.stream_offset(ch), [1, lay.pairs, d1, lay.pair_bytes // d1],
                                  [0, len(wch) * lay.pair_bytes, lay.pair_bytes // d1, 1])
        rt.fill(wch[ch].prod(), W, tap, task_group=tg, placement=Tile(ch // 2, 0))


def drain_rows(rt, gout_c, X, total, start, rho, tm, tg):
    """Column c's joined rounds -> rows [start + (r·16 + 4c)·tm, +4·tm) of an io region, r < rho (awaited)."""
    for c in range(4):
        tap = TensorAccessPattern((1, total), start + 4 * c * tm, [1, 1, rho, 4 * tm], [0, 0, 16 * tm, 1])
        rt.drain(gout_c[c], X, tap, task_group=tg, wait=True, placement=Tile(c, 0))


def drain_rows_f32(rt, gout_c, X, total, start, rho, tm, tg):
    """A Qwen QKV stage's fp32 rows (issue 17): column c's joined objects (per round, half 0 then half 1 of its 4
    cores' tiles) -> core 4c + k's half h of round r at start + 2·(r·16 + 4c + k)·tm + h·tm, r < rho (awaited)."""
    for c in range(4):
        tap = TensorAccessPattern((1, total), start + 8 * c * tm, [rho, 2, 4, tm], [32 * tm, tm, 2 * tm, 1])
        rt.drain(gout_c[c], X, tap, task_group=tg, wait=True, placement=Tile(c, 0))


def linear(total, start, n):
    return TensorAccessPattern((1, total), start, [1, 1, 1, n], [0, 0, 0, 1])


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
