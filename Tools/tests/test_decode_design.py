# The checker holds decode_token and lm_head to their rules: the designs pass, and each deliberate break of a runtime sequence, layout or lowering is reported by the rule that owns it (read-after-write, schedule: deadlock and freed BDs, order, coverage, argument offsets, static lowering).
import json
import os
import shutil
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
KERNELS = os.path.join(ROOT, "Kernels")
sys.path.insert(0, TOOLS)

import check_designs  # noqa: E402
import decode_designs  # noqa: E402
import design_check  # noqa: E402

with open(os.path.join(KERNELS, "manifest.json")) as f:
    MANIFEST = json.load(f)


def instance(label):
    return next(x for x in check_designs.fused_instances(MANIFEST, KERNELS) if x[0] == label)


def deep_1b(layers):
    """decode_token of Llama 3.2 1B with more layers (bf16, ctx 2048, bucket 1): (label, design, kw, args, contract,
    entry) as fused_instances gives them."""
    model = dict(decode_designs.bk.PRESETS["llama-3.2-1b"], layers=layers)
    model.update(qDim=2048, kvDim=512, group=4, ctx=2048, chunk=64)
    d = decode_designs.DecodeDesigns(MANIFEST, model, "bf16", "bf16", 2048)
    x = d.all()[0]
    entry = next(f for f in MANIFEST["fusedDesigns"] if f["name"] == "decode_token")
    return (f"1b x{layers}", x["design"], d.design_parameters(x), x["arguments"], check_designs.Contract(d.layout, 1), entry)


def problems(label, replace=None, bucket=None, file="decode_token.py"):
    """The checker's problems for one instance (a label of fused_instances, or the tuple itself), of its design as it
    is or with texts of `file` (in Kernels/decode) replaced: replace = (old, new) or a list of them."""
    _, design, kw, args, contract, entry = instance(label) if isinstance(label, str) else label
    if bucket is not None:
        kw = dict(kw, bucket=bucket)
        contract = check_designs.Contract(contract.lay, bucket)
    folder = tempfile.mkdtemp()
    shutil.copytree(os.path.join(KERNELS, "decode"), os.path.join(folder, "decode"))
    path = os.path.join(folder, design)
    if replace:
        with open(os.path.join(KERNELS, "decode", file)) as f:
            source = f.read()
        for old, new in [replace] if isinstance(replace[0], str) else replace:
            assert source.count(old) == 1, old
            source = source.replace(old, new)
        with open(os.path.join(folder, "decode", file), "w") as f:
            f.write(source)
    objects = {o: [os.path.join(KERNELS, s) for s in srcs] for o, srcs in entry["objects"].items()}
    try:
        return design_check.check(design_check.run_design(path, **kw), "x", objects, args, contract)
    finally:
        shutil.rmtree(folder)


TINY = "tiny-llama32 ctx2048 decode_q4_0_b1"


class DecodeDesignTests(unittest.TestCase):
    def assertRule(self, ps, rule, *phrases):
        self.assertTrue(any(f"[{rule}]" in p and all(x in p for x in phrases) for p in ps), ps[:6])

    def test_the_design_passes(self):
        self.assertEqual(problems(TINY), [])
        self.assertEqual(problems(TINY, bucket=4), [])

    def test_a_fill_in_the_group_of_the_drain_it_reads_is_reported(self):
        ps = problems(TINY, ('            done(tg)\n            # B: q, k, v to the hub; the packs back to io\n'
                             '            tg = group()\n', '            # B\n'))
        self.assertRule(ps, "arguments", "fill of argument 6 (hub_in)", "no finished task group has awaited")

    def test_a_drain_that_is_not_awaited_frees_its_bd_while_running(self):
        ps = problems(TINY, ('rt.drain(hub_out_c, R, tap, task_group=tg, wait=True, placement=HUB_OUT_SHIM)',
                             'rt.drain(hub_out_c, R, tap, task_group=tg, wait=False, placement=HUB_OUT_SHIM)'))
        self.assertRule(ps, "schedule", "freed tasks still run", "the drain of hub_out", "dma_free_task")

    def test_a_drain_issued_after_the_wait_its_producer_needs_deadlocks(self):
        ps = problems(TINY, ('            drain_hub(tg, X, IO, lay.io("attn_norm", l), H)\n            drain_gemv(tg, "qkv", "QKV", l)',
                             '            drain_gemv(tg, "qkv", "QKV", l)\n            done(tg)\n            tg = group()\n'
                             '            drain_hub(tg, X, IO, lay.io("attn_norm", l), H)'))
        self.assertRule(ps, "schedule", "deadlock", "the drain of gout0", "waits to acquire x_bcast")

    def test_a_fill_of_the_wrong_region_is_reported(self):
        ps = problems(TINY, ('fill_hub(tg, X, IO, lay.io("o", l), H)', 'fill_hub(tg, X, IO, lay.io("kqv", l), H)'))
        self.assertRule(ps, "order", "fifo hub_in", "hub_core")
        self.assertRule(ps, "arguments", "its reads are not the contract's", "read more than once")

    def test_a_kv_fill_one_block_short_is_reported(self):
        ps = problems(TINY, ('start, n, chunk, stride = lay.kv_fill(l, gi, bucket)',
                             'start, n, chunk, stride = lay.kv_fill(l, gi, bucket)\n                n -= 1'), bucket=4)
        self.assertRule(ps, "arguments", "(kv, kvCache): its reads are not the contract's")
        self.assertRule(ps, "flow", "fifo kv0: its producer makes 12 objects per run, attention_core takes 16")

    def test_the_static_lowering_breaks_on_the_designs_counts(self):
        ps = problems(TINY, ('AIECC_FLAGS = ["--dynamic-objFifos"]', 'AIECC_FLAGS = []'))
        self.assertRule(ps, "lowering", "core hub_core", "the next trip reads the wrong buffer", "unrollForLoops")
        self.assertRule(ps, "lowering", "core attention_core", "moves 1 objects of kv0 per trip on 2 buffers")

    def test_one_linear_weight_fill_per_channel_starts_past_two_to_the_31_bytes_for_a_24_layer_1b_bf16(self):
        # 1B bf16 has 1.95 GB of layer weights since the LM head is its own run: 24 layers make 2.92 GB
        ps = problems(deep_1b(24), (
            'tap = TensorAccessPattern((1, lay.weights_bytes), lay.stream_offset(ch), [1, lay.pairs, d1, lay.pair_bytes // d1],\n'
            '                                  [0, len(wch) * lay.pair_bytes, lay.pair_bytes // d1, 1])',
            'tap = TensorAccessPattern((1, lay.weights_bytes), lay.streams_offset + ch * lay.stream_bytes, '
            '[1, 1, 1, lay.stream_bytes], [0, 0, 0, 1])'), file="roles.py")
        self.assertRule(ps, "shim-bd", "2 fills of argument 3 (fifos wch30, wch31)", "past 2147483647", "NpuAddressPatchOp")
        self.assertRule(ps, "order", "fifo w2", "weights0", "weights1")


if __name__ == "__main__":
    unittest.main()
