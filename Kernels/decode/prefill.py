# prefill.py: IRON design of one prompt chunk — every layer for C = block rows at positions start .. start + C - 1 (start a multiple of the block), one KV length bucket — that fits NPU2 (issue 13; contract and placement: Kernels/decode/README.md "Prefill").
#
# One run per chunk (prefill_<w>_b<bucket>); the chunk with the prompt's last row is followed in the same runlist by
# lm_head_<h> (decode's LM head run), which reads the final residual of that row from io.x_final. Arguments (aiecc:
# opcode, instr, ninstr, then these 5 buffer arguments), laid out by layout.py (PrefillLayout):
#   weights  decode's weights BO, read the same way: the layers' norms, the 8 channel streams (no second copy)
#   kv       decode's block-major K|V cache: the bucket's blocks per layer and KV head, once per repeat (grp / lanes)
#   kv_blk   a sub-buffer of kv at the chunk's block (the host re-binds it per chunk): the chunk's K and V rows
#   pio      the prefill io: header, RoPE rows, embeddings (host-written); every intermediate of the C rows
#   io       decode's io: x_final (the last prompt row's final residual), lm_head's input
# Cores: 16 GEMM cores (decode's gemv tiles; the same weight channels and memory-tile splits; each multiplies its
# tiles by the chunk's activations with aie::mmul<8, 8, 8> into C x tm fp32 accumulators), the activations of each
# stage streamed from pio per round and k-slice (shim (4, 0) -> memory tile (4, 1), blocked 8x8, broadcast to the
# 16), one row core (norms, RoPE, residual adds, SwiGLU, the KV append, the chunk's last row; rows streamed in U-value
# objects through H-value row buffers, so the 3B / 8B widths fit: issue 17), `lanes` attention cores per
# KV group (core n: query index r·lanes + n of each head of the group in turn, over the bucket's blocks broadcast to
# the lanes; mmul for Q.K^T and P.V, causal inside the chunk).
# Every intermediate goes through pio (a DDR round trip per stage, verify reads it there); the runtime sequence
# awaits a drain (its task group's finish) before a fill reads what it wrote.
# Build with aiecc --dynamic-objFifos (AIECC_FLAGS), as decode_token.
# Usage: python3 prefill.py KEY=VALUE ...   (the keyword arguments of design(); Tools/build-kernels.py)
import os
import sys

import numpy as np

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2, Tile
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern
from aie.helpers.util import np_dtype_to_mlir_type
from aie.extras.dialects.arith import index_cast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layout import ATTN_ROWS, NG, STAGES, DecodeLayout, PrefillLayout  # noqa: E402
import roles  # noqa: E402
from roles import (HUB_TILE, KVG_COLUMNS, attention_tile, cli_kwargs, fill_channels, gemv_tile, linear,  # noqa: E402
                   once, pack_column, vec, weight_channels)

AIECC_FLAGS = ["--dynamic-objFifos"]
PREFILL_MM = {"bf16": "prefill_mm_bf16", "q4_1": "prefill_mm_q4_1", "q4_0": "prefill_mm_q4_0"}
ADJACENT = {"half-split": 0, "adjacent": 1}   # qkv_rope_bf16's pairing argument
X_SHIM = Tile(4, 0)        # the activation stream's fill (MM2S) ...
X_MEMTILE = Tile(4, 1)     # ... and its memory tile (8x8 blocking, broadcast to the 16 GEMM cores)
MAIN_SHIM, SECOND_SHIM = Tile(5, 0), Tile(6, 0)   # the row core's two inputs
OUT_SHIM, AUX_SHIM = Tile(4, 0), Tile(7, 0)       # the row core's two outputs
FAMILY_TILE, FAMILY_SHIM = Tile(7, 2), Tile(7, 0)  # issue 17: the Qwen family core, its in and out (shim (7, 0)'s
#                                                    second MM2S and S2MM: the only shim with a free MM2S)


def i32(v):
    return index_cast(v, to=np_dtype_to_mlir_type(np.int32))


def inner(n):
    """The inner size (bf16 values) of a transfer of n values split as [n / m, m]: the largest divisor m of n that is
    a whole number of 4-byte words and at most 1023 of them (the shim BD's d0 wrap, AIEXDialect.cpp
    verifyStridesWraps)."""
    return next(m for m in range(min(n, 2046), 0, -1) if n % m == 0 and m % 2 == 0)


def design(hidden, ffn, heads, kv_heads, head_dim, vocab, layers, pairing, eps, weights, lm_head, ctx, bucket,
           tm, tk, block, tm_lm, tk_lm, family="llama", x_depth=2):
    """lm_head, tm_lm, tk_lm size decode's io BO (its x_final region); tm, tk, block are decode's tiling. family
    (issue 17): "qwen2" adds the q/k/v biases, "qwen3" the per-head q/k RMSNorm, as a row-core pass (group Q) between
    the QKV stage and RoPE (decode's weights BO and io BO carry the family's regions, so they must be the same).
    x_depth (task G): the GEMM cores' activation slice objects, 1 where 2 would exceed a core (Tools/decode_designs.py
    passes it then: bf16 at head_dim 128)."""
    model = dict(hidden=hidden, ffn=ffn, heads=heads, kvHeads=kv_heads, headDim=head_dim, vocab=vocab, layers=layers,
                 family=family)
    dec = DecodeLayout(model, weights, lm_head, ctx, tm, tk, block, tm_lm, tk_lm)
    lay = PrefillLayout(dec, x_depth=x_depth)
    assert bucket in dec.buckets, f"bucket {bucket} is not one of {dec.buckets}"
    H, Q, KV, F, L, hd, C, U, RM = lay.H, lay.Q, lay.KV, lay.F, lay.L, lay.hd, lay.C, lay.U, lay.RM
    adjacent = ADJACENT[pairing]
    nh, nkv, grp, PQ, kvb = lay.nh, lay.nkv, lay.grp, lay.PQ, lay.kvb
    st = lay.stages
    I32, F32 = np.int32, np.float32

    # --- types ---
    q4 = weights != "bf16"
    tile_n = st["QKV"]["tileBytes"] if q4 else tm * tk
    tile_ty = vec(tile_n, np.uint8) if q4 else vec(tile_n)
    pair_ty = vec(2 * tile_n, np.uint8) if q4 else vec(2 * tile_n)
    xs_ty, y_ty, acc_ty, scr_ty = vec(C * tk), vec(C * tm), vec(C * tm, F32), vec(tm * tk)
    u_ty, rm_ty, lanes_ty = vec(U), vec(RM), vec(lay.NORM_LANES, F32)
    pq_ty, kv_ty, ao_ty = vec(PQ), vec(kvb), vec(ATTN_ROWS * hd)
    o_ty, ml_ty, s_ty, p_ty = vec(C * hd, F32), vec(2 * C, F32), vec(ATTN_ROWS * block, F32), vec(ATTN_ROWS * block)

    # --- kernels: one declaration (func.func) per symbol; each role links its own object ---
    gobj, robj, aobj = f"prefill_gemm_{weights}.o", "prefill_rows.o", "prefill_attn.o"
    if q4:
        k_mm = Kernel(PREFILL_MM[weights], gobj, [tile_ty, xs_ty, scr_ty, acc_ty, I32, I32, I32, I32])
    else:
        k_mm = Kernel(PREFILL_MM[weights], gobj, [tile_ty, xs_ty, acc_ty, I32, I32, I32, I32])
    k_mo = Kernel("prefill_mm_out_bf16", gobj, [acc_ty, y_ty, I32, I32])
    # issue 17 (Qwen, single rounding): the QKV stage's fp32 rows, a round as two C/2-row objects (y_ty: C·tm slots)
    k_mo32 = Kernel("prefill_mm_out_f32", gobj, [acc_ty, y_ty, I32, I32, I32]) if lay.qkv_f32 else None
    k_hdrs = Kernel("prefill_headers_bf16", robj, [u_ty, u_ty, I32, I32])
    k_in = Kernel("copy_in_bf16", robj, [u_ty, rm_ty, I32, I32])
    k_sum = Kernel("rmsnorm_sum_bf16", robj, [u_ty, rm_ty, lanes_ty, I32, I32])
    k_scale = Kernel("rmsnorm_scale_bf16", robj, [rm_ty, rm_ty, lanes_ty, u_ty, I32, I32, I32, F32])
    k_qkv = Kernel("qkv_rope_bf16", robj, [u_ty, u_ty, u_ty, u_ty, I32, I32, I32, I32, I32, I32, I32])
    k_add = Kernel("add_bf16", robj, [u_ty, u_ty, u_ty, I32])
    k_swiglu = Kernel("swiglu_tiles_bf16", robj, [u_ty, u_ty, u_ty, I32, I32])
    k_keep = Kernel("keep_last_row_bf16", robj, [u_ty, rm_ty, u_ty, I32, I32, I32])
    k_out = Kernel("copy_out_bf16", robj, [rm_ty, u_ty, I32, I32])
    k_ainit = Kernel("attn_chunk_init_f32", aobj, [o_ty, ml_ty, I32, I32])
    k_astep = Kernel("attn_chunk_bf16", aobj, [pq_ty, kv_ty, o_ty, ml_ty, s_ty, p_ty, I32, I32, I32, I32])
    k_aout = Kernel("attn_chunk_out_bf16", aobj, [o_ty, ml_ty, ao_ty, I32, I32, I32])
    # issue 17: the family core's step on the QKV stage's fp32 rows, rounded ONCE (add.cc bias_add_f32_bf16 /
    # round_f32_bf16, rmsnorm.cc qk_norm_f32_heads_bf16, linked into prefill_rows.o), each called on a pfin object as
    # it arrives (U slots: U/2 fp32 values) into the fused row pf_t; its two buffers are RM-value rows like the row
    # core's, so copy_in_bf16 / copy_out_bf16 keep their one signature
    FU = lay.fused                                          # a fused row: q ‖ k ‖ v (Q + 2·KV values), 0 for llama
    if family == "qwen2":
        k_fam = [Kernel("bias_add_f32_bf16", robj, [u_ty, rm_ty, rm_ty, I32, I32])]
    elif family == "qwen3":
        k_fam = [Kernel("qk_norm_f32_heads_bf16", robj, [u_ty, rm_ty, rm_ty, I32, I32, I32, I32, F32]),
                 Kernel("round_f32_bf16", robj, [u_ty, rm_ty, I32, I32])]
    else:
        k_fam = []

    # --- fifos ---
    # weights: decode's 8 channels, split per pair at memory tiles (c, 1) into w{g}
    wch, w_in = weight_channels(pair_ty, tile_ty, tile_n)
    # GEMM outputs: C x tm rows per round per core, column c's 4 cores joined at (c, 1) -> shim (c, 0)
    gout, y_out = {}, {}
    for c in range(4):
        f = ObjectFifo(vec(4 * C * tm), depth=2, name=f"pgout{c}")
        subs = f.prod().join([k * C * tm for k in range(4)], placement=Tile(c, 1), obj_types=[y_ty] * 4,
                             depths=[1] * 4, names=[f"py{4 * c + k}" for k in range(4)])
        gout[c] = f
        for k in range(4):
            y_out[4 * c + k] = subs[k]
    # the activations: C x tk slices from pio, blocked 8x8 by memory tile (4, 1), broadcast to the 16 GEMM cores
    xin = ObjectFifo(xs_ty, depth=2, name="xin")
    xb = xin.cons().forward(placement=X_MEMTILE, name="xb",
                            dims_to_stream=[(C // 8, 8 * tk), (tk // 8, 8), (8, tk), (8, 1)])
    # the row core: two inputs, two outputs, U-value objects
    main = ObjectFifo(u_ty, depth=2, name="rmain")
    second = ObjectFifo(u_ty, depth=2, name="rsecond")
    rout = ObjectFifo(u_ty, depth=2, name="rout")
    raux = ObjectFifo(u_ty, depth=2, name="raux")
    # issue 17 (Qwen): the family core's input (weights, qkv rows) and output (fused rows), U-value objects
    if lay.fused:
        fin = ObjectFifo(u_ty, depth=2, name="pfin")
        fout = ObjectFifo(u_ty, depth=2, name="pfout")
    # attention: per KV group g (its heads = pack fifo g's), `lanes` cores (g, n); the group's K||V blocks, one
    # head's block an object, forwarded by (4, 1) / (7, 1) and broadcast to its lanes; packs (per head of the group
    # in turn, the lanes' query heads) split at (5 + g, 1), the lanes' outputs joined there
    nl = lay.lanes
    kvg, kv_in = {}, {}
    for g in range(lay.KG):
        f = ObjectFifo(kv_ty, depth=2, name=f"pkvg{g}")
        kvg[g] = f
        kv_in[g] = f.cons().forward(placement=Tile(KVG_COLUMNS[2 * g], 1), name=f"pkv{g}")
    packs, pack_in, attnj, attn_out = {}, {}, {}, {}
    for i in range(lay.KG):
        col = pack_column(i)
        f = ObjectFifo(vec(nl * PQ), depth=1, name=f"ppacks{i}")
        subs = f.cons().split([n * PQ for n in range(nl)], placement=Tile(col, 1), obj_types=[pq_ty] * nl,
                              depths=[1] * nl, names=[f"ppack{i}_{n}" for n in range(nl)])
        packs[i] = f
        a = ObjectFifo(vec(nl * ATTN_ROWS * hd), depth=2, name=f"pattnj{i}")
        asubs = a.prod().join([n * ATTN_ROWS * hd for n in range(nl)], placement=Tile(col, 1),
                              obj_types=[ao_ty] * nl, depths=[2] * nl, names=[f"pattn{i}_{n}" for n in range(nl)])
        attnj[i] = a
        for n in range(nl):
            pack_in[i, n], attn_out[i, n] = subs[n], asubs[n]

    # --- GEMM cores: per stage and round, the tile's k-slices against the chunk's activation slices ---
    def gemm_body(g):
        def gemm_core(wf, xf, out, acc, *rest):
            scr = rest[0] if q4 else None
            k_mm_, k_mo_, *k_mo32_ = rest[1:] if q4 else rest      # k_mo32_: [prefill_mm_out_f32] for a Qwen family
            k_mo32_ = k_mo32_[0] if k_mo32_ else None

            def mm(w, x, first):
                if q4:
                    k_mm_(w, x, scr, acc, tm, tk, C, first)
                else:
                    k_mm_(w, x, acc, tm, tk, C, first)

            roles.expect(wf, f"weights{g // 2}")
            for _ in range_(L):
                for s in STAGES:
                    roles.expect(xf, lay.X_FROM[s])
                    roles.expect(out, lay.OUT[s])
                    f32 = s == "QKV" and lay.qkv_f32
                    for _ in range_(st[s]["rho"]):
                        w, x = wf.acquire(1), xf.acquire(1)
                        mm(w, x, 1)
                        wf.release(1)
                        xf.release(1)
                        if st[s]["ks"] > 1:
                            for _ in range_(1, st[s]["ks"]):
                                w, x = wf.acquire(1), xf.acquire(1)
                                mm(w, x, 0)
                                wf.release(1)
                                xf.release(1)
                        if f32:      # the fp32 rows, not rounded: rows [0, C/2) then [C/2, C), one object each
                            for half in range(2):
                                y = out.acquire(1)
                                k_mo32_(acc, y, tm, C, half)
                                out.release(1)
                        else:
                            y = out.acquire(1)
                            k_mo_(acc, y, tm, C)
                            out.release(1)
        return gemm_core

    gemm_workers = []
    for g in range(NG):
        extra = [Buffer(scr_ty, name=f"pscr{g}")] if q4 else []
        # xb at depth lay.x_depth: 2, or 1 where a double-buffered slice would not fit the core (bf16 at head_dim 128)
        fn_args = [w_in[g].cons(), xb.cons(depth=lay.x_depth), y_out[g].prod(), Buffer(acc_ty, name=f"pacc{g}"), *extra, k_mm, k_mo,
                   *([k_mo32] if lay.qkv_f32 else [])]
        gemm_workers.append(Worker(gemm_body(g), fn_args, placement=gemv_tile(g)))

    # --- the row core: every row as U-value objects; RMSNorm in two passes over one H-value row buffer (the sum of
    # squares as the objects arrive, then the scaled objects out), RoPE, the adds and SwiGLU object to object ---
    def take(f, n, dst, what):
        """n values of fifo f (whole U-value objects) into dst[0:n]."""
        roles.expect(f, what)
        for o in range_(n // U):
            e = f.acquire(1)
            k_in(e, dst, i32(o * U), U)
            f.release(1)

    def give(f, n, src, what):
        """src[0:n] as n / U objects into fifo f."""
        roles.expect(f, what)
        for o in range_(n // U):
            e = f.acquire(1)
            k_out(src, e, i32(o * U), U)
            f.release(1)

    def row_core(mn, sc, ro, ra, wbuf, xrow, xfin, hdrs, acc, *kernels):   # kernels: resolved as fn_args, called below
        # the chunk's header object -> U / hd header rows in hdrs (the first also the header the kernels read)
        roles.expect(mn, "hdr")
        for _ in once():
            e = mn.acquire(1)
            k_hdrs(e, hdrs, U // hd, hd)
            mn.release(1)

        def norm_sum(f, what):
            """One row's H / U objects of f into xrow, their squares into acc."""
            roles.expect(f, what)
            for o in range_(H // U):
                e = f.acquire(1)
                k_sum(e, xrow, acc, i32(o * U), U)
                f.release(1)

        def norm_out(f, what):
            """The row in xrow normed with wbuf, as H / U objects of f."""
            roles.expect(f, what)
            for o in range_(H // U):
                e = f.acquire(1)
                k_scale(xrow, wbuf, acc, e, i32(o * U), U, H, eps)
                f.release(1)

        def layer(resid):
            # R1: attn_norm of the residual stream -> pio
            take(mn, H, wbuf, "attn_norm_w")
            for _ in range_(C):
                norm_sum(mn, resid)
                norm_out(ro, "attn_norm")
            # R2: RoPE of each row's q ‖ k ‖ v objects: the Q objects -> rout (the qpack drain scatters them to the
            # packs), the K‖V objects (every head's roped K, then every head's V; zeros past the prompt) -> kv_blk
            roles.expect(mn, "qkv_fused" if FU else "qkv")
            roles.expect(sc, "cs")
            roles.expect(ro, "qpack")
            roles.expect(ra, "kv_blk")
            for r in range_(C):
                cs = sc.acquire(1)
                for o in range_(Q // U):
                    e, y = mn.acquire(1), ro.acquire(1)
                    k_qkv(e, cs, y, hdrs, i32(r), i32(o * U), U, Q + KV, Q, hd, adjacent)
                    ro.release(1)
                    mn.release(1)
                for o in range_(2 * KV // U):
                    e, y = mn.acquire(1), ra.acquire(1)
                    k_qkv(e, cs, y, hdrs, i32(r), i32(Q + o * U), U, Q + KV, Q, hd, adjacent)
                    ra.release(1)
                    mn.release(1)
                sc.release(1)
            for _ in range_(Q // U):      # the packs' header rows: Q / hd of them
                y = ro.acquire(1)
                k_hdrs(hdrs, y, U // hd, hd)
                ro.release(1)
            # R3: ffn_inp = residual + attn_out -> pio (raux), summed as it goes; ffn_norm -> pio (rout)
            take(mn, H, wbuf, "ffn_norm_w")
            roles.expect(mn, "o")
            roles.expect(sc, resid)
            roles.expect(ra, "ffn_inp")
            for _ in range_(C):
                for o in range_(H // U):
                    e, x, y = mn.acquire(1), sc.acquire(1), ra.acquire(1)
                    k_add(x, e, y, U)
                    k_sum(y, xrow, acc, i32(o * U), U)
                    ra.release(1)
                    sc.release(1)
                    mn.release(1)
                norm_out(ro, "ffn_norm")
            # R4: SwiGLU of each row's (gate, up) tile pairs: a row's even gu objects on the main input, its odd
            # ones on the second -> one act object
            roles.expect(mn, "gu")
            roles.expect(sc, "gu")
            roles.expect(ro, "act")
            for _ in range_(C * F // U):
                g0, g1 = mn.acquire(1), sc.acquire(1)
                a = ro.acquire(1)
                k_swiglu(g0, g1, a, tm, U)
                ro.release(1)
                mn.release(1)
                sc.release(1)
            # R5: l_out = ffn_inp + ffn_out -> pio; the last prompt row's objects kept (every layer: the last stays)
            roles.expect(mn, "d")
            roles.expect(sc, "ffn_inp")
            roles.expect(ro, "l_out")
            for r in range_(C):
                for o in range_(H // U):
                    e, x, y = mn.acquire(1), sc.acquire(1), ro.acquire(1)
                    k_add(x, e, y, U)
                    k_keep(y, xfin, hdrs, i32(r), i32(o * U), U)
                    ro.release(1)
                    sc.release(1)
                    mn.release(1)

        for _ in once():          # layer 0 reads the embeddings (pio.x) ...
            layer("x")
        if L > 1:
            for _ in range_(1, L):    # ... every later layer the previous layer's l_out
                layer("l_out")
        give(ro, H, xfin, "x_final")

    # pr_w: a norm's weights, pr_x: the row being normed, pr_xfin: the last prompt row (H values each); pr_hdrs: the
    # header rows (U values); pr_acc: the sum of squares' lanes
    row_buffers = [Buffer(rm_ty, name=n) for n in ("pr_w", "pr_x", "pr_xfin")]
    row_buffers += [Buffer(u_ty, name="pr_hdrs"), Buffer(lanes_ty, name="pr_acc")]
    row = Worker(row_core, [main.cons(), second.cons(), rout.prod(), raux.prod(), *row_buffers, k_hdrs, k_in, k_sum,
                            k_scale, k_qkv, k_add, k_swiglu, k_keep, k_out], placement=HUB_TILE)

    # --- issue 17: the family core (Qwen only), on a core the design leaves free: the row core's program has no room
    # for an 11th kernel (~15.2 of 16 KB, README budgets). Per layer: the family's weights (one U-value object for
    # Qwen3's q_norm ‖ k_norm, whole objects of Qwen2's biases) into pf_w, then per row the QKV stage's fp32 row
    # (2·(Q + 2·KV) slots) object by object, each rounded once into the fused row pf_t — Qwen2 bias_add_f32_bf16 (the
    # bias added to the fp32 product), Qwen3 qk_norm_f32_heads_bf16 on the q ‖ k objects (U/(2·hd) heads each) and
    # round_f32_bf16 on the v objects — and the fused row out to pio qkv_fused ---
    family_workers = []
    if FU:
        half, qk_objs, v_objs = U // 2, 2 * (Q + KV) // U, 2 * KV // U

        def family_core(fi, fo, fw, ft, k_in_, k_out_, *k_fam_):
            for _ in range_(L):
                take(fi, lay.extra * lay.extra_repeats, fw, lay.extra_name)
                roles.expect(fi, "qkv")
                roles.expect(fo, "qkv_fused")
                for _ in range_(C):
                    if family == "qwen2":
                        for o in range_(2 * FU // U):
                            e = fi.acquire(1)
                            k_fam_[0](e, fw, ft, i32(o), half)
                            fi.release(1)
                    else:
                        for o in range_(qk_objs):
                            e = fi.acquire(1)
                            k_fam_[0](e, fw, ft, i32(o * (half // hd)), half // hd, nh, hd, eps)
                            fi.release(1)
                        for o in range_(v_objs):
                            e = fi.acquire(1)
                            k_fam_[1](e, ft, i32(qk_objs + o), half)
                            fi.release(1)
                    give(fo, FU, ft, "qkv_fused")

        family_workers.append(Worker(family_core, [fin.cons(), fout.prod(), Buffer(rm_ty, name="pf_w"),
                                                   Buffer(rm_ty, name="pf_t"), k_in, k_out, *k_fam],
                                     placement=FAMILY_TILE))

    # --- attention: core (g, n) per KV group and lane, one query head at a time (each head of the group in turn,
    # query index r·lanes + n in repeat r), the bucket's blocks in order ---
    def attention_core(pack_f, kv_f, out_f, o, ml, s, p, k_ainit, k_astep, k_aout):
        roles.expect(pack_f, "qpack")
        roles.expect(kv_f, "kv")
        roles.expect(out_f, "kqv")
        for _ in range_(L):
            for _ in range_(lay.reps * lay.kgk):
                q = pack_f.acquire(1)
                k_ainit(o, ml, C, hd)
                for b in range_(bucket):
                    kv = kv_f.acquire(1)
                    k_astep(q, kv, o, ml, s, p, i32(b), block, C, hd)
                    kv_f.release(1)
                for i in range_(C // ATTN_ROWS):
                    a = out_f.acquire(1)
                    k_aout(o, ml, a, i32(i), C, hd)
                    out_f.release(1)
                pack_f.release(1)

    attention = [Worker(attention_core, [pack_in[g, n].cons(), kv_in[g].cons(), attn_out[g, n].prod(),
                                         Buffer(o_ty, name=f"pao{g}_{n}"), Buffer(ml_ty, name=f"paml{g}_{n}"),
                                         Buffer(s_ty, name=f"pas{g}_{n}"), Buffer(p_ty, name=f"pap{g}_{n}"),
                                         k_ainit, k_astep, k_aout], placement=attention_tile(g * 4 + n))
                 for g in range(lay.KG) for n in range(nl)]

    # --- runtime sequence ---
    WB, KVE, PIO, IO = dec.weights_bytes, dec.kv_elements, lay.pio_elements, dec.io_elements
    gout_c = {c: gout[c].cons() for c in range(4)}
    attnj_c = {i: attnj[i].cons() for i in attnj}
    rout_c, raux_c = rout.cons(), raux.cons()
    fout_c = fout.cons() if FU else None
    rt = Runtime()
    with rt.sequence(vec(WB, np.uint8), vec(KVE), vec(lay.kv_blk_elements), vec(PIO), vec(IO)) as (W, K, B, X, IOA):
        rt.start(*gemm_workers, row, *attention, *family_workers)

        def fill(f, arg, total, start, n, tg, where):
            rt.fill(f.prod(), arg, linear(total, start, n), task_group=tg, placement=where)

        def rows(f, region, l, n, tg, where):
            """The C rows of a pio region, the first n values of each (its row stride apart): [C, n / m, m], m the
            inner size (at most 1023 words: the shim BD's d0 unless linear)."""
            m = inner(n)
            tap = TensorAccessPattern((1, PIO), lay.pio(region, l), [1, C, n // m, m], [0, lay.row_stride[region], m, 1])
            rt.fill(f.prod(), X, tap, task_group=tg, placement=where)

        def drain(h, arg, total, start, n, tg, where):
            rt.drain(h, arg, linear(total, start, n), task_group=tg, wait=True, placement=where)

        def stage(s, l, tg):
            """A GEMM stage: its activation slices [rounds (repeated), k-slices, C rows, tk] in, its rows out."""
            src = lay.X_FROM[s]
            tap = TensorAccessPattern((1, PIO), lay.pio(src, l), [st[s]["rho"], st[s]["ks"], C, tk],
                                      [0, tk, lay.row_stride[src], 1])
            rt.fill(xin.prod(), X, tap, task_group=tg, placement=X_SHIM)
            out, R = lay.pio(lay.OUT[s], l), st[s]["R"]
            if s == "QKV" and lay.qkv_f32:
                # issue 17: per round, column c's two joined C/2-row fp32 objects -> slots (r·16 + 4c + k)·2tm of the
                # fp32 rows (2R slots apart): [2 halves (stride C/2 rows), 4 cores (2tm), C/2 rows (2R), 2tm] — one
                # drain per round (a 5th dimension would not fit a BD), only the column's last awaited
                rho, R2 = st[s]["rho"], lay.row_stride["qkv"]
                for c in range(4):
                    for r in range(rho):
                        tap = TensorAccessPattern((1, PIO), out + (r * NG + 4 * c) * 2 * tm, [2, 4, C // 2, 2 * tm],
                                                  [C // 2 * R2, 2 * tm, R2, 1])
                        rt.drain(gout_c[c], X, tap, task_group=tg, wait=r == rho - 1, placement=Tile(c, 0))
                return
            for c in range(4):    # column c's joined rounds -> columns (r·16 + 4c + k)·tm of the C rows
                tap = TensorAccessPattern((1, PIO), out + 4 * c * tm, [st[s]["rho"], 4, C, tm], [NG * tm, tm, R, 1])
                rt.drain(gout_c[c], X, tap, task_group=tg, wait=True, placement=Tile(c, 0))

        # the weights: decode's 8 channel fills, one 3-D transfer each for the whole run (their group finishes last)
        wg = rt.task_group()
        fill_channels(rt, wch, W, dec, wg)
        for l in range(L):
            resid = ("x", None) if l == 0 else ("l_out", l - 1)
            # A: attn_norm
            tg = rt.task_group()
            if l == 0:
                fill(main, X, PIO, lay.pio("hdr"), U, tg, MAIN_SHIM)
            fill(main, W, WB, dec.norm_offset("attn", l), 2 * H, tg, MAIN_SHIM)
            rows(main, resid[0], resid[1], H, tg, MAIN_SHIM)
            drain(rout_c, X, PIO, lay.pio("attn_norm", l), C * H, tg, OUT_SHIM)
            rt.finish_task_group(tg)
            # B: the QKV stage
            tg = rt.task_group()
            stage("QKV", l, tg)
            rt.finish_task_group(tg)
            if FU:
                # Q (issue 17): the family's weights (one fill; Qwen3's 2·hd values extra_repeats times over, stride
                # 0, as one U-value object) and the qkv rows -> the family core; the fused rows <- it
                tg = rt.task_group()
                tap = TensorAccessPattern((1, WB), dec.norm_offset("extra", l), [lay.extra_repeats, 1, 1, 2 * lay.extra],
                                          [0, 0, 0, 1])
                rt.fill(fin.prod(), W, tap, task_group=tg, placement=FAMILY_SHIM)
                rows(fin, "qkv", l, 2 * FU, tg, FAMILY_SHIM)     # the fp32 rows: 2·(Q + 2·KV) slots each
                drain(fout_c, X, PIO, lay.pio("qkv_fused", l), C * FU, tg, FAMILY_SHIM)
                rt.finish_task_group(tg)
            # C: RoPE; the Q rows and headers to the packs, the K || V rows to kv_blk
            tg = rt.task_group()
            rows(main, "qkv_fused" if FU else "qkv", l, Q + 2 * KV, tg, MAIN_SHIM)
            rows(second, "cs", None, U, tg, SECOND_SHIM)
            tap = TensorAccessPattern((1, PIO), lay.qpack(l, 0, 0), [C, nkv, grp, hd], [hd, PQ, nkv * PQ, 1])
            rt.drain(rout_c, X, tap, task_group=tg, wait=False, placement=OUT_SHIM)   # the next drain on rout awaits it
            tap = TensorAccessPattern((1, PIO), lay.qpack(l, 0, 0) + C * hd, [1, nkv, grp, hd], [0, PQ, nkv * PQ, 1])
            rt.drain(rout_c, X, tap, task_group=tg, wait=True, placement=OUT_SHIM)
            tap = TensorAccessPattern((1, lay.kv_blk_elements), lay.kv_off(l, 0), [C, 2, nkv, hd],
                                      [hd, block * hd, kvb, 1])
            rt.drain(raux_c, B, tap, task_group=tg, wait=True, placement=AUX_SHIM)
            rt.finish_task_group(tg)
            # D: attention, per KV group g and repeat r: the packs of the lanes' query indices j = r·lanes + n for
            # each head of the group in turn, the group's heads' KV blocks in turn (broadcast to the lanes), the kqv
            # rows of each (head, repeat); only each channel's last drain awaited (a channel's tasks finish in order)
            tg = rt.task_group()
            for g, hs in enumerate(lay.kv_heads):
                col = pack_column(g)
                start, nb, n, stride, reps = lay.kv_group_fill(l, g, bucket)
                m = inner(n)
                for r in range(reps):
                    tap = TensorAccessPattern((1, PIO), lay.qpack(l, r * nl, hs[0]), [len(hs), nl, PQ // inner(PQ), inner(PQ)],
                                              [PQ, nkv * PQ, inner(PQ), 1])
                    rt.fill(packs[g].prod(), X, tap, task_group=tg, placement=Tile(col, 0))
                    tap = TensorAccessPattern((1, KVE), start, [len(hs), nb, n // m, m], [n, stride, m, 1])
                    rt.fill(kvg[g].prod(), K, tap, task_group=tg, placement=Tile(KVG_COLUMNS[2 * g], 0))
                for r in range(reps):
                    for k, h in enumerate(hs):   # query heads h·grp + r·lanes + n, rows in pieces of 8
                        tap = TensorAccessPattern((1, PIO), lay.pio("kqv", l) + (h * grp + r * nl) * hd,
                                                  [C // ATTN_ROWS, nl, ATTN_ROWS, hd], [ATTN_ROWS * Q, hd, Q, 1])
                        last = r == reps - 1 and k == len(hs) - 1
                        rt.drain(attnj_c[g], X, tap, task_group=tg, wait=last, placement=Tile(col, 0))
            rt.finish_task_group(tg)
            # E: the O stage
            tg = rt.task_group()
            stage("O", l, tg)
            rt.finish_task_group(tg)
            # F: ffn_inp = residual + attn_out, ffn_norm
            tg = rt.task_group()
            fill(main, W, WB, dec.norm_offset("ffn", l), 2 * H, tg, MAIN_SHIM)
            rows(main, "o", l, H, tg, MAIN_SHIM)
            rows(second, resid[0], resid[1], H, tg, SECOND_SHIM)
            drain(raux_c, X, PIO, lay.pio("ffn_inp", l), C * H, tg, AUX_SHIM)
            drain(rout_c, X, PIO, lay.pio("ffn_norm", l), C * H, tg, OUT_SHIM)
            rt.finish_task_group(tg)
            # G: the GU stage
            tg = rt.task_group()
            stage("GU", l, tg)
            rt.finish_task_group(tg)
            # H: SwiGLU: each row's even U-value gu objects on the main input, its odd ones on the second
            tg = rt.task_group()
            for f, half, where in ((main, 0, MAIN_SHIM), (second, U, SECOND_SHIM)):
                tap = TensorAccessPattern((1, PIO), lay.pio("gu", l) + half, [1, C, F // U, U],
                                          [0, lay.row_stride["gu"], 2 * U, 1])
                rt.fill(f.prod(), X, tap, task_group=tg, placement=where)
            drain(rout_c, X, PIO, lay.pio("act", l), C * F, tg, OUT_SHIM)
            rt.finish_task_group(tg)
            # I: the D stage
            tg = rt.task_group()
            stage("D", l, tg)
            rt.finish_task_group(tg)
            # J: l_out = ffn_inp + ffn_out (after the last layer: the last prompt row's final residual -> io.x_final)
            tg = rt.task_group()
            rows(main, "d", l, H, tg, MAIN_SHIM)
            rows(second, "ffn_inp", l, H, tg, SECOND_SHIM)
            drain(rout_c, X, PIO, lay.pio("l_out", l), C * H, tg, OUT_SHIM)
            if l == L - 1:
                drain(rout_c, IOA, IO, dec.io("x_final"), H, tg, OUT_SHIM)
            rt.finish_task_group(tg)
        rt.finish_task_group(wg)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
