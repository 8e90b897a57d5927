# decode_token.py: IRON design of the first of a decode token's two runs — every layer of one KV length bucket, ending with the final residual in io.x_final — that fits NPU2 (issue 12 and its LM-head addendum; contract and placement: Kernels/decode/README.md).
#
# The LM head is the second run of the same runlist (lm_head.py, its own weight format and tiling); one chained
# driver command per token. Arguments (aiecc: opcode, instr, ninstr, then these 4 of its 5 buffer arguments),
# laid out by layout.py:
#   weights  the layers' norms, then the 8 channel streams interleaved pair by pair (one 3-D fill per channel)
#   kv       block-major K|V cache; read bucket blocks per layer and KV group
#   kv_row   a sub-buffer of kv at base(pos) (the host re-binds it per token): the token's K/V rows
#   io       params + embedding row (host-written), every intermediate (the verify taps), x_final
# Cores: 16 gemv cores (all projections, weights through 2 MM2S channels per shim of columns 0-3, split by
# memory tiles 0-3), one hub (norms, RoPE, residual adds, SwiGLU, the x broadcast), one attention core per KV
# head. Every intermediate goes through io (a DDR round trip per stage): the runtime sequence waits for a drain
# (its task group's finish) before the fill that reads it.
# Build with aiecc --dynamic-objFifos (AIECC_FLAGS): the cores' loops acquire in counts no static buffer
# rotation fits (e.g. 23 gemv outputs per layer on 2 buffers); the dynamic lowering indexes buffers at run
# time instead of unrolling (mlir-aie AIEObjectFifoStatefulTransform.cpp dynamicGlobalObjectFifos).
# Usage: python3 decode_token.py KEY=VALUE ...   (the keyword arguments of design(); Tools/build-kernels.py)
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
from layout import GEMV_ENTRIES, NG, PARAM_HEADER, STAGES, STATE_HEADER, DecodeLayout  # noqa: E402
import roles  # noqa: E402
from roles import (HUB_IN_SHIM, HUB_OUT_SHIM, HUB_TILE, KVG_COLUMNS, attention_tile, cli_kwargs, copy,  # noqa: E402
                   drain_rows, drain_rows_f32, fill_channels, forward, gemv_outputs, gemv_round, gemv_tile, give, linear, pack_column,
                   take, vec, weight_channels, zero)

AIECC_FLAGS = ["--dynamic-objFifos"]
ROPE_ENTRIES = {"half-split": "rope_halfsplit_bf16", "adjacent": "rope_adjacent_bf16"}
X_FROM = {"QKV": "attn_norm", "O": "kqv", "GU": "ffn_norm", "D": "act"}     # what each stage's x is
OUT_REGION = {"QKV": "qkv", "O": "o", "GU": "gu", "D": "d"}                # where its rows go


def design(hidden, ffn, heads, kv_heads, head_dim, vocab, layers, pairing, eps, weights, lm_head, ctx, bucket,
           tm, tk, block, tm_lm, tk_lm, family="llama"):
    """lm_head, tm_lm, tk_lm: the LM head's format and tiling, which size the io BO's last regions. family (issue 17):
    "qwen2" adds the q/k/v biases, "qwen3" the per-head q/k RMSNorm, both in the hub before RoPE (qwen_step)."""
    model = dict(hidden=hidden, ffn=ffn, heads=heads, kvHeads=kv_heads, headDim=head_dim, vocab=vocab, layers=layers,
                 family=family)
    lay = DecodeLayout(model, weights, lm_head, ctx, tm, tk, block, tm_lm, tk_lm)
    assert bucket in lay.buckets, f"bucket {bucket} is not one of {lay.buckets}"
    H, Q, KV, F, L, hd, S = lay.H, lay.Q, lay.KV, lay.F, lay.L, lay.hd, lay.S
    nh, nkv, grp, G, gk, PN = lay.nh, lay.nkv, lay.grp, lay.G, lay.gk, lay.PN
    st = lay.stages
    i32, f32 = np.int32, np.float32

    # --- types ---
    q4 = weights != "bf16"
    tile_n = st["QKV"]["tileBytes"] if q4 else tm * tk
    tile_ty = vec(tile_n, np.uint8) if q4 else vec(tile_n)
    pair_ty = vec(2 * tile_n, np.uint8) if q4 else vec(2 * tile_n)
    s_ty, h_ty, tm_ty, acc_ty = vec(S), vec(H), vec(tm), vec(tm, f32)
    state_ty = vec(grp * (hd + STATE_HEADER), f32)
    kvb = 2 * block * hd                     # one head's K block || V block

    # --- kernels: one declaration (func.func) per symbol; each role links its own object ---
    gobj, hobj, aobj = f"decode_gemv_{weights}.o", "decode_hub.o", "decode_attn.o"
    k_gemv = Kernel(GEMV_ENTRIES[weights], gobj, [tile_ty, vec(tk), acc_ty, i32, i32, i32])
    k_out = Kernel("gemv_out_bf16", gobj, [acc_ty, tm_ty, i32])
    k_norm = Kernel("rmsnorm_bf16", hobj, [h_ty, h_ty, h_ty, i32, f32])
    k_rope = Kernel(ROPE_ENTRIES[pairing], hobj, [vec(Q + KV), vec(hd), vec(Q + KV), i32, i32])
    k_add = Kernel("add_bf16", hobj, [h_ty, h_ty, h_ty, i32])
    k_swiglu = Kernel("swiglu_bf16", hobj, [tm_ty, tm_ty, tm_ty, i32])
    k_init = Kernel("attn_decode_init_f32", aobj, [state_ty, i32, i32])
    k_step = Kernel("attn_decode_packed_bf16", aobj, [vec(PN), vec(kvb), state_ty, vec(block, f32), i32, i32, i32, i32])
    k_finish = Kernel("attn_decode_out_bf16", aobj, [state_ty, vec(grp * hd), i32, i32])
    qwen = qwen_step(family, lay, hobj, eps)
    # issue 17 (README "Qwen fp32 rows"): a Qwen family's QKV stage writes its fp32 accumulators, rounded once in the hub
    k_out32 = Kernel("gemv_out_f32", gobj, [acc_ty, tm_ty, i32, i32]) if qwen else None

    # --- fifos ---
    # weights: channel (c, j) -> memory tile (c, 1) -> split to cores 4c+2j, 4c+2j+1 (a pair of tiles per object)
    wch, w_in = weight_channels(pair_ty, tile_ty, tile_n)
    # gemv outputs: column c's 4 cores joined at memory tile (c, 1) -> shim (c, 0)
    gout, y_out = gemv_outputs(tm)
    x_bcast = ObjectFifo(s_ty, depth=2, name="x_bcast")
    hub_in = ObjectFifo(s_ty, depth=2, name="hub_in")
    hub_out = ObjectFifo(s_ty, depth=2, name="hub_out")
    # KV: group i (gk heads) -> memory tile -> split per head; packs and attention outputs per <= 4 heads
    kvg, kv_in = {}, {}
    for i in range(G):
        f = ObjectFifo(vec(gk * kvb), depth=2, name=f"kvg{i}")
        subs = f.cons().split([j * kvb for j in range(gk)], placement=Tile(KVG_COLUMNS[i], 1),
                              obj_types=[vec(kvb)] * gk, depths=[2] * gk, names=[f"kv{i * gk + j}" for j in range(gk)])
        kvg[i] = f
        for j in range(gk):
            kv_in[i * gk + j] = subs[j]
    packs, pack_in, attnj, attn_out = {}, {}, {}, {}
    for i, hs in enumerate(lay.pack_heads):
        col = pack_column(i)
        f = ObjectFifo(vec(len(hs) * PN), depth=1, name=f"packs{i}")
        subs = f.cons().split([n * PN for n in range(len(hs))], placement=Tile(col, 1), obj_types=[vec(PN)] * len(hs),
                              depths=[1] * len(hs), names=[f"pack{h}" for h in hs])
        packs[i] = f
        a = ObjectFifo(vec(len(hs) * grp * hd), depth=1, name=f"attnj{i}")
        asubs = a.prod().join([n * grp * hd for n in range(len(hs))], placement=Tile(col, 1),
                              obj_types=[vec(grp * hd)] * len(hs), depths=[1] * len(hs), names=[f"attn{h}" for h in hs])
        attnj[i] = a
        for n, h in enumerate(hs):
            pack_in[h], attn_out[h] = subs[n], asubs[n]

    # --- gemv cores ---
    def gemv_body(g):
        def gemv_core(wf, xb, out, x, xs, acc, k_gemv, k_out, *k_out32):
            roles.expect(wf, f"weights{g // 2}")      # channel (c, j) = g div 2 feeds cores 4c+2j, 4c+2j+1
            for _ in range_(L):
                for s in STAGES:
                    take(xb, st[s]["K"] // S, x, 0, S, X_FROM[s])
                    roles.expect(out, OUT_REGION[s])
                    f32 = bool(k_out32) and s == "QKV"
                    for _ in range_(st[s]["rho"]):
                        gemv_round(wf, out, x, xs, acc, k_gemv, k_out32[0] if f32 else k_out, tm, tk, st[s]["ks"], f32)
        return gemv_core

    gemv_workers = []
    for g in range(NG):
        fn_args = [w_in[g].cons(), x_bcast.cons(), y_out[g].prod(), Buffer(vec(max(H, Q, F)), name=f"gx{g}"),
                   Buffer(vec(tk), name=f"gxs{g}"), Buffer(acc_ty, name=f"gacc{g}"), k_gemv, k_out,
                   *([k_out32] if k_out32 else [])]
        gemv_workers.append(Worker(gemv_body(g), fn_args, placement=gemv_tile(g)))

    # --- hub ---
    QK = Q + KV
    pack_pad = PN - (grp + 2) * hd - PARAM_HEADER

    def hub_core(hin, hout, xb, prm, cs, xa, xr, t, y, qk, qr, v, pk, gate, up, act,
                 k_norm, k_rope, k_add, k_swiglu, *qwen_args):
        take(hin, lay.params // S, prm, 0, S, "params")          # header, cos || sin
        copy(cs, 0, prm, PARAM_HEADER, hd)
        take(hin, H // S, xa, 0, S, "x")                          # the token's embedding row
        if pack_pad:
            zero(pk, (grp + 2) * hd + PARAM_HEADER, pack_pad)
        for _ in range_(L):
            # 1. attn_norm -> io and the QKV stage's x
            take(hin, H // S, t, 0, S, "attn_norm_w")
            k_norm(xa, t, y, H, eps)
            give([hout, xb], H // S, y, 0, S, "attn_norm")
            # 2. q, k, v rows; RoPE of q and k in one call; a pack per KV head; the new K/V rows
            if qwen:
                qwen.hub(hin, hout, qk, v, *qwen_args)       # issue 17: q/k/v biases or q/k norms, before RoPE
            else:
                take(hin, QK // S, qk, 0, S, "qkv")
                take(hin, KV // S, v, 0, S, "qkv")
            k_rope(qk, cs, qr, nh + nkv, hd)
            for h in range_(nkv):
                copy(pk, 0, qr, h * (grp * hd), grp * hd)
                copy(pk, grp * hd, qr, Q + h * hd, hd)
                copy(pk, (grp + 1) * hd, v, h * hd, hd)
                copy(pk, (grp + 2) * hd, prm, 0, PARAM_HEADER)
                give([hout], PN // S, pk, 0, S, "packs")
            for h in range_(nkv):
                give([hout], hd // S, qr, Q + h * hd, S, "kv_row")
                give([hout], hd // S, v, h * hd, S, "kv_row")
            # 3. kqv_out -> the O stage's x
            forward(hin, xb, Q // S, S, "kqv")
            # 4. residual + attn_out -> ffn_inp; ffn_norm -> io and the GU stage's x
            take(hin, H // S, t, 0, S, "o")
            k_add(xa, t, xr, H)
            give([hout], H // S, xr, 0, S, "ffn_inp")
            take(hin, H // S, t, 0, S, "ffn_norm_w")
            k_norm(xr, t, y, H, eps)
            give([hout, xb], H // S, y, 0, S, "ffn_norm")
            # 5. SwiGLU per (gate tile, up tile) -> act to io and the D stage's x, tile by tile
            for _ in range_(F // tm):
                take(hin, tm // S, gate, 0, S, "gu")
                take(hin, tm // S, up, 0, S, "gu")
                k_swiglu(gate, up, act, tm)
                give([hout, xb], tm // S, act, 0, S, "act")
            # 6. residual + ffn_out -> l_out
            take(hin, H // S, t, 0, S, "d")
            k_add(xr, t, xa, H)
            give([hout], H // S, xa, 0, S, "l_out")
        # the final residual, lm_head's input
        give([hout], H // S, xa, 0, S, "x_final")

    hub_buffers = [Buffer(vec(lay.params), name="hub_prm"), Buffer(vec(hd), name="hub_cs"), Buffer(h_ty, name="hub_xa"),
                   Buffer(h_ty, name="hub_xr"), Buffer(h_ty, name="hub_t"), Buffer(h_ty, name="hub_y"),
                   Buffer(vec(QK), name="hub_qk"), Buffer(vec(QK), name="hub_qr"), Buffer(vec(KV), name="hub_v"),
                   Buffer(vec(PN), name="hub_pk"), Buffer(tm_ty, name="hub_gate"), Buffer(tm_ty, name="hub_up"),
                   Buffer(tm_ty, name="hub_act")]
    hub = Worker(hub_core, [hub_in.cons(), hub_out.prod(), x_bcast.prod(), *hub_buffers,
                            k_norm, k_rope, k_add, k_swiglu, *(qwen.args if qwen else [])], placement=HUB_TILE)

    # --- attention: one core per KV head, the bucket's blocks in order, one state per head ---
    def attention_core(pack_f, kv_f, out_f, state, scores, k_init, k_step, k_finish):
        roles.expect(pack_f, "packs")
        roles.expect(kv_f, "kv")
        roles.expect(out_f, "kqv")
        for _ in range_(L):
            pack = pack_f.acquire(1)
            k_init(state, grp, hd)
            for b in range_(bucket):
                kv = kv_f.acquire(1)
                k_step(pack, kv, state, scores, index_cast(b, to=np_dtype_to_mlir_type(np.int32)), block, grp, hd)
                kv_f.release(1)
            o = out_f.acquire(1)
            k_finish(state, o, grp, hd)
            out_f.release(1)
            pack_f.release(1)

    attention = [Worker(attention_core, [pack_in[h].cons(), kv_in[h].cons(), attn_out[h].prod(),
                                         Buffer(state_ty, name=f"astate{h}"), Buffer(vec(block, np.float32), name=f"ascores{h}"),
                                         k_init, k_step, k_finish], placement=attention_tile(h))
                 for h in range(nkv)]

    # --- runtime sequence ---
    IO, WB = lay.io_elements, lay.weights_bytes
    hub_out_c, gout_c, attnj_c = hub_out.cons(), {c: gout[c].cons() for c in range(4)}, {i: attnj[i].cons() for i in attnj}
    rt = Runtime()
    with rt.sequence(vec(WB, np.uint8), vec(lay.kv_elements), vec(lay.kv_row_elements), vec(IO)) as (W, K, R, X):
        rt.start(*gemv_workers, hub, *attention)
        groups = []

        def group():
            tg = rt.task_group()
            groups.append(tg)
            return tg

        def done(tg):
            rt.finish_task_group(tg)

        def fill_hub(tg, arg, total, start, n):
            rt.fill(hub_in.prod(), arg, linear(total, start, n), task_group=tg, placement=HUB_IN_SHIM)

        def drain_hub(tg, arg, total, start, n):
            rt.drain(hub_out_c, arg, linear(total, start, n), task_group=tg, wait=True, placement=HUB_OUT_SHIM)

        def drain_gemv(tg, region, s, l):
            """Column c's joined rounds -> rows [(r·NG + 4c)·tm, +4·tm) of the stage's io region (a Qwen QKV stage:
            fp32 rows, README "Qwen fp32 rows")."""
            if qwen and s == "QKV":
                drain_rows_f32(rt, gout_c, X, IO, lay.io(region, l), st[s]["rho"], tm, tg)
            else:
                drain_rows(rt, gout_c, X, IO, lay.io(region, l), st[s]["rho"], tm, tg)

        # the weights: one 3-D transfer per channel for the whole token (its group finishes last)
        wg = group()
        fill_channels(rt, wch, W, lay, wg)
        tg = group()
        fill_hub(tg, X, IO, lay.io("params"), lay.params)
        fill_hub(tg, X, IO, lay.io("x"), H)
        for l in range(L):
            # A: attn_norm; Q/K/V rows
            fill_hub(tg, W, WB, lay.norm_offset("attn", l), 2 * H)
            drain_hub(tg, X, IO, lay.io("attn_norm", l), H)
            drain_gemv(tg, "qkv", "QKV", l)
            done(tg)
            # B: q, k, v to the hub; the packs back to io
            tg = group()
            if qwen:     # issue 17: the family's weights, then the fp32 rows to the hub; its fused rows back to io
                fill_hub(tg, W, WB, lay.norm_offset("extra", l), 2 * lay.extra)
                fill_hub(tg, X, IO, lay.io("qkv", l), 2 * (Q + 2 * KV))
                drain_hub(tg, X, IO, lay.io("qkv_fused", l), lay.io_size["qkv_fused"])
            else:
                fill_hub(tg, X, IO, lay.io("qkv", l), Q + 2 * KV)
            drain_hub(tg, X, IO, lay.io("packs", l), nkv * PN)
            done(tg)
            # C: the new K/V rows; KV blocks and packs to the attention cores; kqv_out back to io
            tg = group()
            for gi in range(G):
                tap = TensorAccessPattern((1, lay.kv_row_elements), lay.off(l, gi, 0, 0), [1, gk, 2, hd],
                                          [0, 2 * block * hd, block * hd, 1])
                rt.drain(hub_out_c, R, tap, task_group=tg, wait=True, placement=HUB_OUT_SHIM)
            kd1 = lay.kv_d1
            for gi in range(G):
                start, n, chunk, stride = lay.kv_fill(l, gi, bucket)
                tap = TensorAccessPattern((1, lay.kv_elements), start, [1, n, kd1, chunk // kd1], [0, stride, chunk // kd1, 1])
                rt.fill(kvg[gi].prod(), K, tap, task_group=tg, placement=Tile(KVG_COLUMNS[gi], 0))
            for i, hs in enumerate(lay.pack_heads):
                col = pack_column(i)
                rt.fill(packs[i].prod(), X, linear(IO, lay.io("packs", l) + hs[0] * PN, len(hs) * PN), task_group=tg,
                        placement=Tile(col, 0))
                rt.drain(attnj_c[i], X, linear(IO, lay.io("kqv", l) + hs[0] * grp * hd, len(hs) * grp * hd),
                         task_group=tg, wait=True, placement=Tile(col, 0))
            done(tg)
            # D: kqv_out to the hub (the O stage's x); attn_out rows
            tg = group()
            fill_hub(tg, X, IO, lay.io("kqv", l), Q)
            drain_gemv(tg, "o", "O", l)
            done(tg)
            # E: attn_out to the hub -> ffn_inp; ffn_norm; gate/up rows
            tg = group()
            fill_hub(tg, X, IO, lay.io("o", l), H)
            drain_hub(tg, X, IO, lay.io("ffn_inp", l), H)
            fill_hub(tg, W, WB, lay.norm_offset("ffn", l), 2 * H)
            drain_hub(tg, X, IO, lay.io("ffn_norm", l), H)
            drain_gemv(tg, "gu", "GU", l)
            done(tg)
            # F: gate/up to the hub -> act; ffn_out rows
            tg = group()
            fill_hub(tg, X, IO, lay.io("gu", l), 2 * F)
            drain_hub(tg, X, IO, lay.io("act", l), F)
            drain_gemv(tg, "d", "D", l)
            done(tg)
            # G: ffn_out to the hub -> l_out (the next layer's A joins this group)
            tg = group()
            fill_hub(tg, X, IO, lay.io("d", l), H)
            drain_hub(tg, X, IO, lay.io("l_out", l), H)
        drain_hub(tg, X, IO, lay.io("x_final"), H)        # lm_head's input
        done(tg)
        done(wg)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


class qwen_step:
    """Issue 17: the hub's extra step for a Qwen family, between the q/k/v rows' arrival and RoPE — its kernels, its
    Buffers (appended to the hub Worker's arguments) and its body. Rounded ONCE (README "Qwen fp32 rows"): io qkv holds
    the QKV stage's fp32 rows; the hub takes the family's weights, then one head of fp32 rows (hd values, 2·hd slots,
    into hub_row) at a time. Qwen2: the q ‖ k ‖ v biases (weights BO, layout extra), bias_add_f32_bf16 per head into
    hub_qkvb, the biased rows to io qkv_fused (the Qcur/Kcur/Vcur taps), then q ‖ k and v to the hub's buffers. Qwen3:
    q_norm ‖ k_norm, qk_norm_f32_bf16 per q/k head into the hub's q ‖ k, round_f32_bf16 per v head into its v, the
    normed rows to io qkv_fused (Qcur_normed/Kcur_normed). None for llama."""

    def __new__(cls, family, lay, hobj, eps):
        return None if family == "llama" else super().__new__(cls)

    def __init__(self, family, lay, hobj, eps):
        self.family, self.lay, self.eps = family, lay, eps
        i32, f32 = np.int32, np.float32
        Q, KV, hd = lay.Q, lay.KV, lay.hd
        row = Buffer(vec(2 * hd), name="hub_row")            # one head: hd fp32 values in 2·hd bf16-typed slots
        if family == "qwen2":
            n = Q + 2 * KV
            self.kernel = Kernel("bias_add_f32_bf16", hobj, [vec(2 * hd), vec(n), vec(n), i32, i32])
            self.args = [row, Buffer(vec(n), name="hub_qkvb"), Buffer(vec(n), name="hub_bias"), self.kernel]
        else:
            self.kernel = Kernel("qk_norm_f32_bf16", hobj, [vec(2 * hd), vec(2 * hd), vec(Q + KV), i32, i32, i32, f32])
            self.k_round = Kernel("round_f32_bf16", hobj, [vec(2 * hd), vec(KV), i32, i32])
            self.args = [row, Buffer(vec(2 * hd), name="hub_qkn"), self.kernel, self.k_round]

    def hub(self, hin, hout, qk, v, *args):
        lay, S = self.lay, self.lay.S
        Q, KV, hd = lay.Q, lay.KV, lay.hd
        i32 = np_dtype_to_mlir_type(np.int32)
        if self.family == "qwen2":
            row, qkvb, bias, k_bias = args
            n = Q + 2 * KV
            take(hin, n // S, bias, 0, S, "qkv_bias_w")
            for j in range_(n // hd):
                take(hin, 2 * hd // S, row, 0, S, "qkv")
                k_bias(row, bias, qkvb, index_cast(j, to=i32), hd)
            give([hout], n // S, qkvb, 0, S, "qkv_fused")
            copy(qk, 0, qkvb, 0, Q + KV)
            copy(v, 0, qkvb, Q + KV, KV)
        else:
            row, qkn, k_qkn, k_round = args
            take(hin, 2 * hd // S, qkn, 0, S, "qk_norm_w")
            for j in range_(lay.nh + lay.nkv):
                take(hin, 2 * hd // S, row, 0, S, "qkv")
                k_qkn(row, qkn, qk, index_cast(j, to=i32), lay.nh, hd, self.eps)
            for h in range_(lay.nkv):
                take(hin, 2 * hd // S, row, 0, S, "qkv")
                k_round(row, v, index_cast(h, to=i32), hd)
            give([hout], (Q + KV) // S, qk, 0, S, "qkv_fused")


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
