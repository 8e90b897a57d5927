# attn_prefill.py: IRON design of causal attention for a prefill chunk: one core per (query head, QROWS rows), KV blocks up to each core's causal limit.
#
# The chunk's K/V rows are appended to the cache by the attention half's runtime sequence before
# this reads it (as for decode, Kernels/README.md); chunk start and row count come from the step
# params buffer, so one instance per (chunk, length bucket) serves every position.
# Usage: python3 attn_prefill.py HEADS KV_HEADS HEAD_DIM CTX ROWS BUCKET_BLOCKS [block=64 qrows=32]
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

BLOCK = 64
QROWS = 32
CORES = 32
PARAM_WORDS = 8


def design(heads, kv_heads, head_dim, ctx, rows, bucket_blocks, block=BLOCK, qrows=QROWS):
    assert rows % qrows == 0 and ctx % block == 0 and heads % kv_heads == 0
    group = heads // kv_heads
    jobs = [(h, r0) for h in range(heads) for r0 in range(0, rows, qrows)]   # dealt round-robin to cores
    cores = min(CORES, len(jobs))
    q_ty = np.ndarray[(rows * heads * head_dim,), np.dtype[bfloat16]]
    cache_ty = np.ndarray[(kv_heads * ctx * head_dim,), np.dtype[bfloat16]]
    params_ty = np.ndarray[(PARAM_WORDS,), np.dtype[np.int32]]
    qt_ty = np.ndarray[(qrows * head_dim,), np.dtype[bfloat16]]
    kv_ty = np.ndarray[(block * head_dim,), np.dtype[bfloat16]]
    state_ty = np.ndarray[(qrows * (head_dim + 16),), np.dtype[np.float32]]
    scores_ty = np.ndarray[(block,), np.dtype[np.float32]]

    init = Kernel("attn_decode_init_f32", "attn_prefill.o", [state_ty, np.int32, np.int32])
    step = Kernel("attn_prefill_bf16", "attn_prefill.o", [qt_ty, kv_ty, kv_ty, state_ty, scores_ty, params_ty,
                                                  np.int32, np.int32, np.int32, np.int32, np.int32])
    finish = Kernel("attn_decode_out_bf16", "attn_prefill.o", [state_ty, qt_ty, np.int32, np.int32])

    def core_body(my_jobs):
        def body(of_q, of_k, of_v, of_p, of_o, state, scores, init, step, finish):
            p = of_p.acquire(1)
            for h, r0 in my_jobs:                          # unrolled per job
                q = of_q.acquire(1)
                init(state, qrows, head_dim)
                for b in range(bucket_blocks):
                    k, v = of_k.acquire(1), of_v.acquire(1)
                    step(q, k, v, state, scores, p, r0, qrows, b, block, head_dim)
                    of_k.release(1)
                    of_v.release(1)
                o = of_o.acquire(1)
                finish(state, o, qrows, head_dim)
                of_o.release(1)
                of_q.release(1)
            of_p.release(1)
        return body

    workers, feeds = [], []
    for c in range(cores):
        my_jobs = jobs[c::cores]
        fifos = {n: ObjectFifo(t, depth=d, name=f"{n}{c}") for n, t, d in
                 [("q", qt_ty, 1), ("k", kv_ty, 2), ("v", kv_ty, 2), ("p", params_ty, 1), ("o", qt_ty, 1)]}
        workers.append(Worker(core_body(my_jobs), [fifos["q"].cons(), fifos["k"].cons(), fifos["v"].cons(),
                                                   fifos["p"].cons(), fifos["o"].prod(),
                                                   Buffer(state_ty, name=f"state{c}"), Buffer(scores_ty, name=f"scores{c}"),
                                                   init, step, finish]))
        feeds.append((fifos, my_jobs))

    rt = Runtime()
    with rt.sequence(q_ty, cache_ty, cache_ty, params_ty, q_ty) as (Q, K, V, P, O):
        rt.start(*workers)
        for fifos, my_jobs in feeds:
            rt.fill(fifos["p"].prod(), P)
            for h, r0 in my_jobs:
                rows_tap = TensorAccessPattern((1, rows * heads * head_dim), (r0 * heads + h) * head_dim,
                                               [1, 1, qrows, head_dim], [0, 0, heads * head_dim, 1])
                kv_tap = TensorAccessPattern((1, kv_heads * ctx * head_dim), (h // group) * ctx * head_dim,
                                             [1, 1, bucket_blocks, block * head_dim], [0, 0, block * head_dim, 1])
                rt.fill(fifos["q"].prod(), Q, rows_tap)
                rt.fill(fifos["k"].prod(), K, kv_tap)
                rt.fill(fifos["v"].prod(), V, kv_tap)
                rt.drain(fifos["o"].cons(), O, rows_tap, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(*[int(v) for v in args[:6]], **tiling))
