#!/usr/bin/env python3
# The MODELLED time to first token of a prompt through the prefill design (issue 13 point 4): exact per-chunk counts from the contract (Kernels/decode/layout.py PrefillLayout) — bytes on every DMA channel, DRAM bytes, MACs per core — priced with sourced rates, phase by phase as DecodeCostModel (Sources/NPUBackend/DecodeBenchmark.swift) prices a decode token.
#
# A chunk is one run of prefill_<w>_b<bucket>; its runtime sequence serializes per layer ten task groups A..J
# (Kernels/decode/README.md "Prefill", the runtime sequence). Per task group (a phase):
#   time = max(busiest channel bytes / CHANNEL_BPS, DRAM bytes / DRAM_BPS, busiest core MACs / MAC_PER_CORE,
#              a single-buffered x slice's broadcast + MACs in series)
#          + awaited drains × WAIT_S
# per chunk + RUN_S (one run) + SYNC_S (the host's pio inputs); the prompt's last chunk adds lm_head's run
# (max(lm_weights / DRAM_BPS, lm_weights / 8 / CHANNEL_BPS) + RUN_S). TTFT = Σ chunks; prefill tok/s = N / TTFT.
# Channels: the 8 weight channels (pairs per channel), xin (the activation slices, once per round; memory tile
# (4, 1) broadcasts the same bytes), the 4 column joins, the row core's rmain / rsecond / rout / raux, the pack,
# KV-group (reps = grp / lanes repeats: once per layer when grp <= 4; memory tiles broadcast each block to the
# group's lanes) and attention-output channels. MACs: a GEMM core C·tm·tk per tile k-slice; an attention core
# (reps·kgk query heads) 2·8·block·hd per (8-row block of valid rows, visible KV block) per query head (QK^T and PV;
# the diagonal block whole); a GEMM core whose activation slice is single-buffered (x_depth 1) takes each slice's
# broadcast and its MACs in series ("x+compute"). Awaited drains: a channel's last drain of a task group only (its tasks run in order). NOT modelled: the row core's compute (vector rmsnorm / RoPE / SwiGLU / copies), the attention core's
# softmax (scalar loops in attn_chunk.cc), the GEMM core's in-core B transposes (gather + 3 unzips per 8x8 block,
# prefill_mm.cc) and Q4 dequantization: the figures are lower bounds on time for those parts.
# Parameters and sources:
#   MAC_PER_CORE = 16.9e12 / 2 / 32 MAC/s: the best public bf16 GEMM on XDNA2, ~16.9 TFLOP/s over 32 cores
#                  (/work/shared/REFERENCE.md §6), per core, 2 FLOP per MAC.
#   DRAM_BPS     = 50e9: issue 12's modelling figure (REFERENCE.md §6: 55–65 GB/s measured over 8 shim columns).
#   CHANNEL_BPS  = 35.7e9 / 4: mlir-air programming_examples/fused_decode README (35.7 GB/s on four channels), as
#                  DecodeCostModel.channelBytesPerSecond.
#   RUN_S = 33e-6 (REFERENCE.md §5, xrt::runlist per run); WAIT_S = 10e-6, SYNC_S = 10e-6: ASSUMED as in
#   DecodeCostModel (no public measurement).
# Usage: prefill_model.py [--preset llama-3.2-1b] [--weights bf16 q4_0] [--prompts 512 2048] [--ctx 2048] [--phases]
import argparse
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import decode_designs  # noqa: E402

MAC_PER_CORE = 16.9e12 / 2 / 32
DRAM_BPS = 50e9
CHANNEL_BPS = 35.7e9 / 4
RUN_S, WAIT_S, SYNC_S = 33e-6, 10e-6, 10e-6


def stage_phase(lay, s):
    """A GEMM stage's task group: (channel bytes, DRAM bytes, MACs of the busiest core, awaited drains, the core's
    serial seconds). With the activation slice single-buffered (x_depth 1: bf16 at head_dim 128) the next slice's
    broadcast cannot start before the core has multiplied the current one: per k-slice the slice's bytes at
    CHANNEL_BPS and the core's MACs add up (the weight tiles stay double-buffered, so their fills still overlap). A Qwen
    family's QKV stage drains fp32 rows (issue 17, qkv_f32): twice the join bytes (PrefillBenchmark.stagePhase)."""
    st, C, tm, tk = lay.stages[s], lay.C, lay.tm, lay.tk
    rho, ks, K = st["rho"], st["ks"], st["K"]
    d = lay.dec
    w = rho * ks * d.pair_bytes                       # each weight channel
    x = rho * C * K * 2                               # xin (and the memory tile's broadcast)
    col = rho * 4 * C * tm * 2 * (2 if s == "QKV" and lay.qkv_f32 else 1)   # each column join
    ch = {f"weights{c}": w for c in range(8)}
    ch.update({"xin": x, "xb": x})
    ch.update({f"pgout{c}": col for c in range(4)})
    dram = 8 * w + x + 4 * col
    macs = rho * ks * C * tm * tk
    serial = rho * ks * (2 * C * tk / CHANNEL_BPS + C * tm * tk / MAC_PER_CORE) if lay.x_depth == 1 else 0.0
    return ch, dram, macs, 4, serial


def chunk_phases(lay, start, rows, bucket):
    """[(name, channels {name: bytes}, DRAM bytes, busiest core MACs, awaited drains, serial core seconds)] of one
    chunk's run."""
    C, H, Q, KV, F, U, hd = lay.C, lay.H, lay.Q, lay.KV, lay.F, lay.U, lay.hd
    grp, PQ, kvb, block = lay.grp, lay.PQ, lay.kvb, lay.block
    out = []
    for l in range(lay.L):
        a = {"rmain": 2 * H + 2 * C * H + (2 * U if l == 0 else 0), "rout": 2 * C * H}
        out.append(("A", a, sum(a.values()), 0, 1, 0.0))
        out.append(("QKV",) + stage_phase(lay, "QKV"))
        if lay.fused:   # issue 17 (Qwen): group Q, the family core's weights and fp32 qkv rows in, fused rows out
            q = {"family_in": 2 * (lay.extra * lay.extra_repeats + 2 * C * lay.fused), "family_out": 2 * C * lay.fused}
            out.append(("Q", q, sum(q.values()), 0, 1, 0.0))
        c = {"rmain": 2 * C * (Q + 2 * KV), "rsecond": 2 * C * U, "rout": 2 * (C * Q + Q), "raux": 4 * C * KV}
        out.append(("C", c, sum(c.values()), 0, 2, 0.0))    # rout's first drain is awaited by its second
        dch = {}
        for i, hs in enumerate(lay.kv_heads):
            dch[f"ppacks{i}"] = 2 * grp * len(hs) * PQ
            dch[f"pattnj{i}"] = 2 * grp * C * len(hs) * hd
            dch[f"pkvg{i}"] = 2 * lay.reps * bucket * len(hs) * kvb   # broadcast to the group's lanes
        visible = start // block + 1                  # KV blocks a row block of the chunk sees (its own included)
        macs = lay.reps * lay.kgk * (-(-rows // 8)) * visible * 2 * 8 * block * hd   # a core: reps·kgk query heads
        out.append(("D", dch, sum(dch.values()), macs, lay.KG, 0.0))   # one awaited drain per output channel
        out.append(("O",) + stage_phase(lay, "O"))
        f = {"rmain": 2 * H + 2 * C * H, "rsecond": 2 * C * H, "raux": 2 * C * H, "rout": 2 * C * H}
        out.append(("F", f, sum(f.values()), 0, 2, 0.0))
        out.append(("GU",) + stage_phase(lay, "GU"))
        h = {"rmain": 2 * C * F, "rsecond": 2 * C * F, "rout": 2 * C * F}   # even / odd gu objects
        out.append(("H", h, sum(h.values()), 0, 1, 0.0))
        out.append(("D_",) + stage_phase(lay, "D"))
        j = {"rmain": 2 * C * H, "rsecond": 2 * C * H, "rout": 2 * C * H + (2 * H if l == lay.L - 1 else 0)}
        out.append(("J", j, sum(j.values()), 0, 1 + (l == lay.L - 1), 0.0))
    return out


def phase_seconds(ch, dram, macs, waits, serial=0.0):
    times = {"channel": max(ch.values()) / CHANNEL_BPS, "DRAM": dram / DRAM_BPS, "compute": macs / MAC_PER_CORE,
             "x+compute": serial}
    bound = max(times, key=times.get)
    return times[bound] + waits * WAIT_S, bound


def ttft(designs, n):
    """(seconds, per-bound seconds, chunks) of an n-token prompt from position 0, the first token included."""
    lay = designs.prefill
    total, bounds, chunks = 0.0, {}, 0
    for start in range(0, n, lay.C):
        rows = min(lay.C, n - start)
        for name, ch, dram, macs, waits, serial in chunk_phases(lay, start, rows, lay.bucket_for(start)):
            s, b = phase_seconds(ch, dram, macs, waits, serial)
            total += s
            bounds[b] = bounds.get(b, 0.0) + s
        total += RUN_S + SYNC_S
        chunks += 1
    lm = designs.layout.lm.weights_bytes
    total += max(lm / DRAM_BPS, lm / 8 / CHANNEL_BPS) + RUN_S
    return total, bounds, chunks


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", default="llama-3.2-1b")
    ap.add_argument("--config")
    ap.add_argument("--weights", nargs="+", default=["bf16", "q4_0"])
    ap.add_argument("--prompts", nargs="+", type=int, default=[512, 2048])
    ap.add_argument("--ctx", type=int, default=2048)
    a = ap.parse_args()
    print(f"MODELLED prefill (Tools/prefill_model.py): {MAC_PER_CORE / 1e9:.0f} GMAC/s per core (16.9 TFLOP/s bf16 "
          f"GEMM / 32 cores, REFERENCE §6), DRAM {DRAM_BPS / 1e9:.0f} GB/s, {CHANNEL_BPS / 1e9:.2f} GB/s per DMA "
          f"channel (mlir-air fused_decode), {RUN_S * 1e6:.0f} µs per run, {WAIT_S * 1e6:.0f} µs per awaited drain "
          f"and {SYNC_S * 1e6:.0f} µs per chunk sync (assumed); row-core compute, softmax, in-core transposes and "
          f"Q4 dequantization not modelled")
    for w in a.weights:
        d = decode_designs.load(a.preset, a.config, w, w, max(a.ctx, max(a.prompts)))
        if d.prefill is None:     # no prefill design for these shapes: prompts run as decode steps
            print(f"{a.config or a.preset} {w}: no prefill design ({d.prefill_unsupported}); prompts run as decode steps")
            continue
        for n in a.prompts:
            s, bounds, chunks = ttft(d, n)
            parts = ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in sorted(bounds.items(), key=lambda kv: -kv[1]))
            print(f"{a.config or a.preset} {w} pp{n}: TTFT {s:.3f} s, {n / s:.0f} tok/s prefill ({chunks} chunks of "
                  f"{d.prefill.C}; phases bound by {parts}; + lm_head_{w} once)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
