# The checker holds the prefill design (Kernels/decode/prefill.py, issue 13) to its rules and contract: it passes, and deliberate breaks are reported by the rule that owns them — the counted argument coverage (KV read grp times, the chunk's block written once), region order, read-after-write, and the layout's numbers (PrefillLayout).
import importlib.util
import os
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, os.path.join(TOOLS, "tests"))
sys.path.insert(0, TOOLS)

import check_designs  # noqa: E402
import decode_designs  # noqa: E402
import design_check  # noqa: E402
from test_decode_design import instance, problems  # noqa: E402

TINY = "tiny-llama32 ctx2048 prefill_q4_0_b1"
TINY_BF16 = "tiny-llama32 ctx2048 prefill_bf16_b1"


def prefill_problems(label, replace=None, bucket=None):
    x = instance(label)
    if bucket is not None:
        x = x[:2] + (dict(x[2], bucket=bucket), x[3], check_designs.PrefillContract(x[4].lay, bucket), x[5])
    return problems(x, replace, file="prefill.py")


class PrefillDesignTests(unittest.TestCase):
    def assertRule(self, ps, rule, *phrases):
        self.assertTrue(any(f"[{rule}]" in p and all(x in p for x in phrases) for p in ps), ps[:6])

    def test_the_design_passes(self):
        self.assertEqual(prefill_problems(TINY), [])
        self.assertEqual(prefill_problems(TINY_BF16, bucket=4), [])

    def test_kv_read_once_per_repeat_is_the_contract(self):
        # the KV group fill sending its head's blocks twice: the contract says once each (grp 4 = 4 lanes: one repeat)
        ps = prefill_problems(TINY, ("[len(hs), nb, n // m, m], [n, stride, m, 1]",
                                     "[2 * len(hs), nb, n // m, m], [0, stride, m, 1]"))
        self.assertRule(ps, "arguments", "(kv, kvCache): its reads do not move the contract's ranges")

    def test_an_unawaited_drain_is_settled_only_by_a_later_await_on_its_channel(self):
        # group C's header drain not awaited either: nothing awaits rout's Q rows before group D's packs read them
        ps = prefill_problems(TINY, ("[1, nkv, grp, hd], [0, PQ, nkv * PQ, 1])\n"
                                     "            rt.drain(rout_c, X, tap, task_group=tg, wait=True",
                                     "[1, nkv, grp, hd], [0, PQ, nkv * PQ, 1])\n"
                                     "            rt.drain(rout_c, X, tap, task_group=tg, wait=False"))
        self.assertRule(ps, "arguments", "(ppacks0) reads")

    def test_a_kv_blk_drain_of_the_wrong_layer_is_reported(self):
        ps = prefill_problems(TINY, ("TensorAccessPattern((1, lay.kv_blk_elements), lay.kv_off(l, 0)",
                                     "TensorAccessPattern((1, lay.kv_blk_elements), lay.kv_off(0, 0)"))
        self.assertRule(ps, "arguments", "(kv_blk, kvBlock): its writes do not move the contract's ranges")

    def test_a_fill_in_the_group_of_the_drain_it_reads_is_reported(self):
        # group C's K||V drain and group D's KV fill in one task group: the fill may read the block before it is written
        ps = prefill_problems(TINY, ("            rt.finish_task_group(tg)\n            # D: attention, per KV group g and "
                                     "repeat r: the packs of the lanes' query indices j = r·lanes + n for\n            # "
                                     "each head of the group in turn, the group's heads' KV blocks in turn (broadcast to "
                                     "the lanes), the kqv\n            # rows of each (head, repeat); only each channel's "
                                     "last drain awaited (a channel's tasks finish in order)\n            tg = "
                                     "rt.task_group()\n", "            # D\n"))
        self.assertRule(ps, "arguments", "no finished task group has awaited")

    def test_a_fill_of_the_wrong_region_is_reported(self):
        ps = prefill_problems(TINY, ('rows(main, "o", l, H, tg, MAIN_SHIM)', 'rows(main, "kqv", l, H, tg, MAIN_SHIM)'))
        self.assertRule(ps, "order", "rmain")


class PrefillLayoutTests(unittest.TestCase):
    def test_1b_numbers(self):
        d = decode_designs.load(preset="llama-3.2-1b", weights="q4_0", ctx=2048)
        p = d.prefill
        # RM = H: the row core streams q ‖ k ‖ v in U-value objects (issue 17), its row buffers hold hidden values
        self.assertEqual((p.C, p.U, p.RM, p.KG, p.kgk, p.PQ), (64, 1024, 2048, 2, 4, 65 * 64))
        # kv_blk: one block slab at (start / 64)·slab; head h of layer l at (l·8 + h)·2·64·64
        self.assertEqual(p.kv_blk_elements, d.layout.slab)
        self.assertEqual(p.kv_blk_base(1984), 31 * d.layout.slab)
        self.assertEqual(p.kv_off(15, 7, 1), (15 * 8 + 7) * 2 * 64 * 64 + 64 * 64)
        # decode's off() names the same element for head h = group·gk + i
        self.assertEqual(p.kv_off(3, 5, 0), d.layout.off(3, 5 // d.layout.gk, 5 % d.layout.gk, 0))
        self.assertEqual([p.bucket_for(s) for s in (0, 64, 128, 192, 1984)], [1, 2, 4, 4, 32])
        # pio: regions on multiples of 32, disjoint, in order; qpack (l, j, h) at (j·kvHeads + h)·PQ
        spans = sorted((p.pio(r, l), p.pio(r, l) + p.size[r]) for l in range(p.L) for r in p.LAYER_REGIONS)
        spans += [(p.pio(r), p.pio(r) + p.size[r]) for r in p.HEAD_REGIONS]
        spans.sort()
        self.assertTrue(all(a % 32 == 0 for a, _ in spans))
        self.assertTrue(all(b <= c for (_, b), (c, _) in zip(spans, spans[1:])))
        self.assertEqual(p.qpack(2, 3, 5) - p.pio("qpack", 2), (3 * 8 + 5) * p.PQ)
        self.assertEqual(p.kernel_names()[-1], "prefill_q4_0_b32")
        self.assertEqual([a[0] for a in p.arguments()], ["weights", "kv", "kv_blk", "pio", "io"])

    def test_unit_divides_every_row(self):
        for pre, cfg in (("llama-3.2-1b", None), ("smollm2-135m", None),
                         (None, os.path.join(ROOT, "Golden/tiny-llama32/model/config.json"))):
            p = decode_designs.load(preset=pre, config=cfg, weights="bf16", ctx=2048).prefill
            for n in (p.H, p.Q, 2 * p.KV, p.F, p.Q + 2 * p.KV):
                self.assertEqual(n % p.U, 0, (pre, n))
            self.assertEqual(p.U % p.tm, 0)


if __name__ == "__main__":
    unittest.main()
