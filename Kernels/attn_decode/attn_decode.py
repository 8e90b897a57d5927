# attn_decode.py: IRON design of decode attention: per KV head SPLITS cores stream KV blocks through online softmax, then merge.
#
# One instance per length bucket (BUCKET_BLOCKS blocks of BLOCK positions, powers of two up to ctx):
# the host picks the smallest bucket covering pos + 1 each step; the kernel masks positions past
# params[0] = pos, so no position needs a rebuild. The step's K/V row is appended by the attention
# half's runtime sequence before this reads the cache (see Kernels/README.md).
# Usage: python3 attn_decode.py HEADS KV_HEADS HEAD_DIM CTX BUCKET_BLOCKS [block=64 splits=4]
import sys

import numpy as np
from ml_dtypes import bfloat16

from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

BLOCK = 64    # KV positions per transfer (manifest tiling.block)
SPLITS = 4    # cores per KV head (manifest tiling.splits)
PARAM_WORDS = 8


def design(heads, kv_heads, head_dim, ctx, bucket_blocks, block=BLOCK, splits=SPLITS):
    assert heads % kv_heads == 0 and ctx % block == 0 and kv_heads * splits <= 32
    group = heads // kv_heads
    q_ty = np.ndarray[(heads * head_dim,), np.dtype[bfloat16]]
    cache_ty = np.ndarray[(kv_heads * ctx * head_dim,), np.dtype[bfloat16]]
    params_ty = np.ndarray[(PARAM_WORDS,), np.dtype[np.int32]]
    qg_ty = np.ndarray[(group * head_dim,), np.dtype[bfloat16]]
    kv_ty = np.ndarray[(block * head_dim,), np.dtype[bfloat16]]
    state_ty = np.ndarray[(group * (head_dim + 16),), np.dtype[np.float32]]
    scores_ty = np.ndarray[(block,), np.dtype[np.float32]]

    obj = "attn_decode.o"
    init = Kernel("attn_decode_init_f32", obj, [state_ty, np.int32, np.int32])
    step = Kernel("attn_decode_bf16", obj, [qg_ty, kv_ty, kv_ty, state_ty, scores_ty, params_ty,
                                            np.int32, np.int32, np.int32, np.int32])
    merge = Kernel("attn_decode_merge_f32", obj, [state_ty, state_ty, np.int32, np.int32])
    finish = Kernel("attn_decode_out_bf16", obj, [state_ty, qg_ty, np.int32, np.int32])

    def split_body(s):
        blocks = list(range(s, bucket_blocks, splits))

        def body(of_q, of_k, of_v, of_p, of_state, state, scores, init, step):
            q, p = of_q.acquire(1), of_p.acquire(1)
            init(state, group, head_dim)
            for b in blocks:                      # unrolled: the block index is a constant per call
                k, v = of_k.acquire(1), of_v.acquire(1)
                step(q, k, v, state, scores, p, b, block, group, head_dim)
                of_k.release(1)
                of_v.release(1)
            out = of_state.acquire(1)             # hand the partial state to the merging core
            for i in range_(group * (head_dim + 16)):
                out[i] = state[i]
            of_state.release(1)
            of_q.release(1)
            of_p.release(1)
        return body

    def merge_body(of_states, of_o, acc, merge, finish):
        first = of_states[0].acquire(1)
        for i in range_(group * (head_dim + 16)):
            acc[i] = first[i]
        of_states[0].release(1)
        for f in of_states[1:]:
            other = f.acquire(1)
            merge(acc, other, group, head_dim)
            f.release(1)
        o = of_o.acquire(1)
        finish(acc, o, group, head_dim)
        of_o.release(1)

    workers, fills, drains = [], [], []
    for h in range(kv_heads):
        of_q = ObjectFifo(qg_ty, depth=1, name=f"q{h}")
        of_p = ObjectFifo(params_ty, depth=1, name=f"p{h}")
        q_cons = [of_q.cons() for _ in range(splits)]
        p_cons = [of_p.cons() for _ in range(splits)]
        states = []
        for s in range(splits):
            of_k = ObjectFifo(kv_ty, depth=2, name=f"k{h}_{s}")
            of_v = ObjectFifo(kv_ty, depth=2, name=f"v{h}_{s}")
            of_state = ObjectFifo(state_ty, depth=1, name=f"st{h}_{s}")
            states.append(of_state)
            workers.append(Worker(split_body(s), [q_cons[s], of_k.cons(), of_v.cons(), p_cons[s], of_state.prod(),
                                                  Buffer(state_ty, name=f"state{h}_{s}"),
                                                  Buffer(scores_ty, name=f"scores{h}_{s}"), init, step]))
            n = len(range(s, bucket_blocks, splits))
            base = h * ctx * head_dim + s * block * head_dim
            tap = TensorAccessPattern((1, kv_heads * ctx * head_dim), base, [1, 1, n, block * head_dim],
                                      [0, 0, splits * block * head_dim, 1])
            fills += [(of_k, "K", tap), (of_v, "V", tap)]
        of_o = ObjectFifo(qg_ty, depth=1, name=f"o{h}")
        workers.append(Worker(merge_body, [[st.cons() for st in states], of_o.prod(),
                                           Buffer(state_ty, name=f"acc{h}"), merge, finish]))
        fills += [(of_q, "Q", TensorAccessPattern((1, heads * head_dim), h * group * head_dim,
                                                  [1, 1, 1, group * head_dim], [0, 0, 0, 1])),
                  (of_p, "P", None)]
        drains.append((of_o, TensorAccessPattern((1, heads * head_dim), h * group * head_dim,
                                                 [1, 1, 1, group * head_dim], [0, 0, 0, 1])))

    rt = Runtime()
    with rt.sequence(q_ty, cache_ty, cache_ty, params_ty, q_ty) as (Q, K, V, P, O):
        rt.start(*workers)
        tensors = {"Q": Q, "K": K, "V": V, "P": P}
        for fifo, name, tap in fills:
            if tap is None:
                rt.fill(fifo.prod(), tensors[name])
            else:
                rt.fill(fifo.prod(), tensors[name], tap)
        for fifo, tap in drains:
            rt.drain(fifo.cons(), O, tap, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())


if __name__ == "__main__":
    # trailing key=value arguments: the plan's tiling for this instance (Tools/build-kernels.py)
    args = [a for a in sys.argv[1:] if "=" not in a]
    tiling = {k: int(v) for k, v in (a.split("=", 1) for a in sys.argv[1:] if "=" in a)}
    print(design(*[int(v) for v in args[:5]], **tiling))
