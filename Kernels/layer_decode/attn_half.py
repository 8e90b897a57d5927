# attn_half.py: IRON design of the fused decode attention half: attn_norm -> Q/K/V gemv -> RoPE -> KV append -> GQA attention (one KV length bucket) -> o-proj -> residual add.
#
# Arguments (mlir-aie: 0-2 opcode/instructions/count, data 3+i) exactly as DecodeDesigns.attentionHalf:
# x, norm_w, wq, wk, wv, wo, k_cache, v_cache, k_row, v_row, params, out [, taps]. k_row / v_row are views of
# the caches at the step's row of KV head 0 (re-bound by the host per token): head h's new row is at the
# static offset h * ctx * head_dim, so a static runtime sequence appends exactly the new rows.
# Placement and dataflow: README.md.
# Usage: python3 attn_half.py KEY=VALUE ...   (the keyword arguments of design(), tms=64,32,64 per stage;
# Tools/build-kernels.py passes them)
import math
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

from roles import Weights, broadcast, cli_kwargs, core_tiles, gemv_rounds, gemv_stage, mem_tile, vec

PARAM_HEADER = 16   # the step params' int32[8] header, in bf16 slots
STATE_HEADER = 16   # per query head: m, l, 14 unused floats, then acc[head_dim] (64-byte aligned; attn_decode.cc)
BLOCK = 64          # the manifest's default attention tiling (attn_decode_bf16); the plan passes its own
SPLITS = 4


def design(hidden, heads, kv_heads, head_dim, ctx, bucket, weights, taps, pairing, eps,
           tms, tk, cores, block=BLOCK, splits=SPLITS, attn_cores_per_head=1):
    """tms: the gemv tile heights of the stages (Qcur, Kcur/Vcur, attn_out), each its plan instance's
    tiling (DecodeDesigns.attentionTM); tk and cores are shared by the stages."""
    q_dim, kv_dim, group = heads * head_dim, kv_heads * head_dim, heads // kv_heads
    tm_q, tm_kv, tm_o = tms
    tm = max(tms)       # the gemv cores' weight, accumulator and row objects: the largest stage's
    assert heads % kv_heads == 0 and (head_dim % 32 == 0 or head_dim == 16) and hidden % tk == 0 and q_dim % tk == 0
    assert q_dim % tm_q == 0 and kv_dim % tm_kv == 0 and hidden % tm_o == 0 and ctx % block == 0
    assert 0 < bucket <= ctx // block
    W = Weights(weights, tm, tk)
    tiles = core_tiles()[:cores]
    # `splits` states per KV head (the emulated driver's numerics: split s attends blocks b = s mod splits,
    # in order, and the states merge in split order); they live on attn_cores_per_head cores per head
    cph = attn_cores_per_head
    assert splits % cph == 0, "attention cores per head must divide the splits"
    per_core = splits // cph
    n_attn = kv_heads * cph
    stages = [(q_dim, hidden, tm_q), (kv_dim, hidden, tm_kv), (kv_dim, hidden, tm_kv), (hidden, q_dim, tm_o)]   # Q K V O
    g = min(cores - 3 - n_attn, max(m // t for m, _, t in stages))
    assert g >= 1, f"{n_attn} attention cores leave no gemv core"
    norm_tile, rope_tile, epi_tile = tiles[0], tiles[1], tiles[2]
    attn_tiles, gemv_tiles = tiles[3:3 + n_attn], tiles[3 + n_attn:3 + n_attn + g]

    obj = f"attn_half_{weights}.o"   # rmsnorm + gemv + rope + attn_decode + add, linked as one object
    st_n = group * (head_dim + STATE_HEADER)
    pack_n = group * head_dim + 2 * head_dim + PARAM_HEADER
    kv_n = block * head_dim
    rope_slice = math.gcd(tk, q_dim, kv_dim)   # the rope core's tap objects (kvDim may be below tk)
    hid_ty, q_ty, kvd_ty = vec(hidden), vec(q_dim), vec(kv_dim)
    state_ty, pack_ty = vec(st_n, np.float32), vec(pack_n)
    tm_ty, tk_ty, acc_ty, to_ty = vec(tm), vec(tk), vec(tm, np.float32), vec(tm_o)
    params_ty = vec(PARAM_HEADER + head_dim)
    rope_name = "rope_adjacent_bf16" if pairing == "adjacent" else "rope_halfsplit_bf16"

    k_norm = Kernel("rmsnorm_bf16", obj, [hid_ty, hid_ty, hid_ty, np.int32, np.float32])
    k_gemv = Kernel(W.entry, obj, [W.tile_ty, tk_ty, acc_ty, np.int32, np.int32, np.int32])
    k_out = Kernel("gemv_out_bf16", obj, [acc_ty, tm_ty, np.int32])
    k_rope_q = Kernel(rope_name, obj, [q_ty, vec(head_dim), q_ty, np.int32, np.int32])
    k_rope_k = Kernel(rope_name, obj, [kvd_ty, vec(head_dim), kvd_ty, np.int32, np.int32])
    k_init = Kernel("attn_decode_init_f32", obj, [state_ty, np.int32, np.int32])
    k_step = Kernel("attn_decode_packed_bf16", obj, [pack_ty, vec(2 * kv_n), state_ty, vec(block, np.float32),
                                                     np.int32, np.int32, np.int32, np.int32])
    k_merge = Kernel("attn_decode_merge_f32", obj, [state_ty, state_ty, np.int32, np.int32])
    k_finish = Kernel("attn_decode_out_bf16", obj, [state_ty, vec(group * head_dim), np.int32, np.int32])
    k_add = Kernel("add_bf16", obj, [to_ty, to_ty, to_ty, np.int32])

    # --- fifos ---
    of_nx = ObjectFifo(hid_ty, depth=2, name="norm_in")              # norm_w, then x
    of_xb = ObjectFifo(tk_ty, depth=2, name="x_bcast")               # x slices to every gemv core
    core_states_ty = vec(per_core * st_n, np.float32)
    of_states = ObjectFifo(vec(kv_heads * splits * st_n, np.float32), depth=1, name="states")
    state_subs = of_states.prod().join([i * per_core * st_n for i in range(n_attn)], placement=mem_tile(0),
                                       obj_types=[core_states_ty] * n_attn, depths=[1] * n_attn,
                                       names=[f"states{i}" for i in range(n_attn)])

    def state_slot(h, s):   # where split s of head h sits in the joined states object
        return h * splits + (s % cph) * per_core + s // cph
    of_qkv = ObjectFifo(vec(g * tm), depth=1, name="qkv_rows")        # one round of gemv tiles, core-major
    qkv_subs = of_qkv.prod().join([c * tm for c in range(g)], placement=mem_tile(1), obj_types=[tm_ty] * g,
                                  names=[f"qkv{c}" for c in range(g)])
    of_o = ObjectFifo(vec(g * tm), depth=1, name="o_rows")
    o_subs = of_o.prod().join([c * tm for c in range(g)], placement=mem_tile(2), obj_types=[tm_ty] * g,
                              names=[f"o{c}" for c in range(g)])
    of_params = ObjectFifo(params_ty, depth=1, name="params")
    of_packs = ObjectFifo(vec(kv_heads * pack_n), depth=1, name="packs")
    pack_subs = of_packs.cons().split([h * pack_n for h in range(kv_heads)], placement=mem_tile(3),
                                      obj_types=[pack_ty] * kv_heads, depths=[1] * kv_heads,
                                      names=[f"pack{h}" for h in range(kv_heads)])
    of_res = ObjectFifo(hid_ty, depth=1, name="residual")
    of_out = ObjectFifo(to_ty, depth=2, name="out")         # attn_out rows reach DDR: exactly tm_o per object
    tap_fifos = {}
    if taps:
        # the rope core's taps (Qcur Kcur Vcur Qrope Krope) in slices that divide q_dim and kv_dim (kvDim 32 < tk)
        tap_fifos = {r: ObjectFifo({"norm": tk_ty, "rope": vec(rope_slice), "epi": to_ty}[r], depth=2, name=f"taps_{r}")
                     for r in ("norm", "rope", "epi")}

    rounds = [gemv_rounds(m, t, g) for m, _, t in stages]

    # --- norm core: rmsnorm, x broadcast for Q/K/V, merge of the attention states, broadcast for O ---
    def norm_core(of_nx, of_xb, of_states, of_tap, y, attn, acc, other, o_head, k_norm, k_merge, k_finish):
        w, x = of_nx.acquire(2)
        k_norm(x, w, y, hidden, eps)
        of_nx.release(2)
        if of_tap is not None:
            broadcast(of_tap, y, hidden, tk, 1)
        broadcast(of_xb, y, hidden, tk, sum(rounds[:3]))
        s = of_states.acquire(1)
        for h in range(kv_heads):
            for i in range_(st_n):
                acc[i] = s[state_slot(h, 0) * st_n + i]
            for j in range(1, splits):
                for i in range_(st_n):
                    other[i] = s[state_slot(h, j) * st_n + i]
                k_merge(acc, other, group, head_dim)
            k_finish(acc, o_head, group, head_dim)
            for i in range_(group * head_dim):
                attn[h * group * head_dim + i] = o_head[i]
        of_states.release(1)
        if of_tap is not None:
            broadcast(of_tap, attn, q_dim, tk, 1)
        broadcast(of_xb, attn, q_dim, tk, rounds[3])

    norm_worker = Worker(norm_core, [of_nx.cons(), of_xb.prod(), of_states.cons(),
                                     tap_fifos["norm"].prod() if taps else None,
                                     Buffer(hid_ty, name="y"), Buffer(q_ty, name="attn"), Buffer(state_ty, name="acc"),
                                     Buffer(state_ty, name="other"), Buffer(vec(group * head_dim), name="o_head"),
                                     k_norm, k_merge, k_finish], placement=norm_tile)

    # --- gemv cores: Q, K, V tiles to the rope core, O tiles to the epilogue core ---
    # (row objects are tm long; a stage with a smaller tile fills the first ts values of each)
    def gemv_body(c):
        def gemv_core(of_w, of_x, of_y, of_oy, acc, k_gemv, k_out):
            for si, (m, k, ts) in enumerate(stages):
                dest = of_oy if si == 3 else of_y

                def epilogue(t, ts=ts):
                    y = dest.acquire(1)
                    k_out(acc, y, ts)
                    dest.release(1)
                gemv_stage(of_w, of_x, acc, k_gemv, m, k, ts, tk, c, g, epilogue)
                for r in range(gemv_rounds(m, ts, g)):     # idle rounds still fill the join's slot
                    if r * g + c >= m // ts:
                        dest.acquire(1)
                        dest.release(1)
        return gemv_core

    w_fifos = [ObjectFifo(W.tile_ty, depth=2, name=f"w{c}") for c in range(g)]
    gemv_workers = [Worker(gemv_body(c), [w_fifos[c].cons(), of_xb.cons(), qkv_subs[c].prod(), o_subs[c].prod(),
                                          Buffer(acc_ty, name=f"acc{c}"), k_gemv, k_out], placement=gemv_tiles[c])
                    for c in range(g)]

    # --- rope core: Q/K/V rows in natural order, RoPE of q and k, one pack per KV head ---
    def order(m, ts, dst, of_in):
        """Copies the stage's rounds of core-major tiles (ts valid rows in each core's tm slot) into dst
        (natural row order)."""
        for r in range(gemv_rounds(m, ts, g)):
            rows = of_in.acquire(1)
            for c in range(g):
                t = r * g + c
                if t < m // ts:
                    for i in range_(ts):
                        dst[t * ts + i] = rows[c * tm + i]
            of_in.release(1)

    def rope_core(of_p, of_in, of_packs, of_tap, q, k, v, qr, kr, cs, k_rope_q, k_rope_k):
        p = of_p.acquire(1)
        for i in range_(head_dim):
            cs[i] = p[PARAM_HEADER + i]
        order(q_dim, tm_q, q, of_in)
        order(kv_dim, tm_kv, k, of_in)
        order(kv_dim, tm_kv, v, of_in)
        k_rope_q(q, cs, qr, heads, head_dim)
        k_rope_k(k, cs, kr, kv_heads, head_dim)
        if of_tap is not None:
            for src, n in ((q, q_dim), (k, kv_dim), (v, kv_dim), (qr, q_dim), (kr, kv_dim)):
                broadcast(of_tap, src, n, rope_slice, 1)
        packs = of_packs.acquire(1)
        for h in range(kv_heads):
            base = h * pack_n
            for i in range_(group * head_dim):
                packs[base + i] = qr[h * group * head_dim + i]
            for i in range_(head_dim):
                packs[base + group * head_dim + i] = kr[h * head_dim + i]
                packs[base + (group + 1) * head_dim + i] = v[h * head_dim + i]
            for i in range_(PARAM_HEADER):
                packs[base + (group + 2) * head_dim + i] = p[i]
        of_packs.release(1)
        of_p.release(1)

    rope_worker = Worker(rope_core, [of_params.cons(), of_qkv.cons(), of_packs.prod(),
                                     tap_fifos["rope"].prod() if taps else None,
                                     Buffer(q_ty, name="q"), Buffer(kvd_ty, name="k"), Buffer(kvd_ty, name="v"),
                                     Buffer(q_ty, name="qr"), Buffer(kvd_ty, name="kr"), Buffer(vec(head_dim), name="cs"),
                                     k_rope_q, k_rope_k], placement=rope_tile)

    # --- attention cores: KV blocks of the bucket, the new row patched into its block copy (the DDR row is
    # written in the same run, so the block read may be stale), the head's first core drains k ‖ v rows ---
    def attn_body(blocks):
        def attention_core(of_kv, of_pack, of_state, of_row, states, scores, k_init, k_step):
            pack = of_pack.acquire(1)
            if of_row is not None:
                row = of_row.acquire(1)
                for i in range_(2 * head_dim):
                    row[i] = pack[group * head_dim + i]
                of_row.release(1)
            for state in states:
                k_init(state, group, head_dim)
            for b in blocks:                       # unrolled: the block index is a constant per call
                kv = of_kv.acquire(1)
                k_step(pack, kv, states[(b % splits) // cph], scores, b, block, group, head_dim)
                of_kv.release(1)
            out = of_state.acquire(1)
            for t, state in enumerate(states):
                for i in range_(st_n):
                    out[t * st_n + i] = state[i]
            of_state.release(1)
            of_pack.release(1)
        return attention_core

    attn_workers, kv_fills, row_drains = [], [], []
    for h in range(kv_heads):
        for j in range(cph):
            i = h * cph + j
            blocks = list(range(j, bucket, cph))   # the blocks of splits j, j + cph, ...
            of_kv = of_row = None
            if blocks:   # a split with no block of this bucket only contributes an empty state
                of_kv = ObjectFifo(vec(2 * kv_n), depth=2, name=f"kv{i}")
                k_sub, v_sub = of_kv.prod().join([0, kv_n], placement=mem_tile(i), obj_types=[vec(kv_n)] * 2,
                                                 names=[f"k{i}", f"v{i}"])
                kv_fills.append((k_sub, v_sub, h, blocks))
            if j == 0:   # the head's new k ‖ v row, split to k_row and v_row
                of_row = ObjectFifo(vec(2 * head_dim), depth=1, name=f"row{i}")
                kr_sub, vr_sub = of_row.cons().split([0, head_dim], placement=mem_tile(i),
                                                     obj_types=[vec(head_dim)] * 2, names=[f"krow{i}", f"vrow{i}"])
                row_drains.append((kr_sub, vr_sub, h))
            attn_workers.append(Worker(attn_body(blocks), [of_kv.cons() if of_kv else None, pack_subs[h].cons(),
                                                           state_subs[i].prod(),
                                                           of_row.prod() if of_row else None,
                                                           [Buffer(state_ty, name=f"state{i}_{t}") for t in range(per_core)],
                                                           Buffer(vec(block, np.float32), name=f"scores{i}"),
                                                           k_init, k_step], placement=attn_tiles[i]))

    # --- epilogue core: o-proj tiles + residual -> ffn_inp ---
    def epilogue_core(of_res, of_o, of_out, of_tap, ot, rt, k_add):
        x = of_res.acquire(1)
        for r in range(rounds[3]):
            rows = of_o.acquire(1)
            for c in range(g):
                t = r * g + c
                if t < hidden // tm_o:
                    for i in range_(tm_o):
                        ot[i] = rows[c * tm + i]
                        rt[i] = x[t * tm_o + i]
                    y = of_out.acquire(1)
                    k_add(ot, rt, y, tm_o)
                    if of_tap is not None:
                        a, f = of_tap.acquire(2)
                        for i in range_(tm_o):
                            a[i] = ot[i]
                            f[i] = y[i]
                        of_tap.release(2)
                    of_out.release(1)
            of_o.release(1)
        of_res.release(1)

    epi_worker = Worker(epilogue_core, [of_res.cons(), of_o.cons(), of_out.prod(), tap_fifos["epi"].prod() if taps else None,
                                   Buffer(to_ty, name="ot"), Buffer(to_ty, name="rt"), k_add], placement=epi_tile)

    # --- runtime sequence: the Swift argument list ---
    row_n = ((kv_heads - 1) * ctx + 1) * head_dim   # k_row / v_row: row pos of head 0 .. row pos of the last head
    types = [hid_ty, hid_ty, W.matrix_ty(q_dim, hidden), W.matrix_ty(kv_dim, hidden), W.matrix_ty(kv_dim, hidden),
             W.matrix_ty(hidden, q_dim), vec(kv_heads * ctx * head_dim), vec(kv_heads * ctx * head_dim),
             vec(row_n), vec(row_n), vec(2 * (8 + head_dim // 2), np.uint16), hid_ty]
    # taps (DecodeDesigns.attentionTaps): attn_norm | Qcur | Kcur | Vcur | Qrope | Krope | kqv_out | attn_out | ffn_inp
    tn = 3 * hidden + 3 * q_dim + 3 * kv_dim
    if taps:
        types.append(vec(tn))
    rt = Runtime()
    with rt.sequence(*types) as args:
        X, NW, WQ, WK, WV, WO, KC, VC, KR, VR, P, OUT = args[:12]
        rt.start(norm_worker, rope_worker, epi_worker, *attn_workers, *gemv_workers)
        rt.fill(of_nx.prod(), NW)
        rt.fill(of_nx.prod(), X)
        rt.fill(of_res.prod(), X)
        rt.fill(of_params.prod(), P)
        for c in range(g):
            for (m, k, ts), mat in zip(stages, (WQ, WK, WV, WO)):
                for tap in W.taps(m, k, c, g, TensorAccessPattern, ts)[1]:
                    rt.fill(w_fifos[c].prod(), mat, tap)
        total = kv_heads * ctx * head_dim
        for k_sub, v_sub, h, blocks in kv_fills:
            tap = TensorAccessPattern((1, total), h * ctx * head_dim + blocks[0] * kv_n, [1, 1, len(blocks), kv_n],
                                      [0, 0, (blocks[1] - blocks[0] if len(blocks) > 1 else 1) * kv_n, 1]) if blocks else None
            if tap is not None:
                rt.fill(k_sub.prod(), KC, tap)
                rt.fill(v_sub.prod(), VC, tap)
        for kr, vr, h in row_drains:   # head h's new row at the static offset h * ctx * head_dim
            tap = TensorAccessPattern((1, row_n), h * ctx * head_dim, [1, 1, 1, head_dim], [0, 0, 0, 1])
            rt.drain(kr.cons(), KR, tap, wait=True)
            rt.drain(vr.cons(), VR, tap, wait=True)
        rt.drain(of_out.cons(), OUT, wait=True)
        if taps:
            T = args[12]
            slot = {"attn_norm": 0, "Qcur": hidden, "kqv_out": hidden + 2 * q_dim + 3 * kv_dim,
                    "attn_out": hidden + 3 * q_dim + 3 * kv_dim}
            rt.drain(tap_fifos["norm"].cons(), T, TensorAccessPattern((1, tn), 0, [1, 1, 1, hidden], [0, 0, 0, 1]))
            rt.drain(tap_fifos["norm"].cons(), T, TensorAccessPattern((1, tn), slot["kqv_out"], [1, 1, 1, q_dim],
                                                                      [0, 0, 0, 1]))
            rt.drain(tap_fifos["rope"].cons(), T, TensorAccessPattern((1, tn), slot["Qcur"],
                                                                      [1, 1, 1, 2 * q_dim + 3 * kv_dim], [0, 0, 0, 1]))
            rt.drain(tap_fifos["epi"].cons(), T, TensorAccessPattern((1, tn), slot["attn_out"],
                                                                     [1, hidden // tm_o, 2, tm_o], [0, tm_o, hidden, 1]),
                     wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    print(design(**cli_kwargs(sys.argv[1:])))
