# The checker holds lm_head (the token's second run) to its rules: it passes in every format pair incl. the mixed ones and at 1B's tm_lm 16 (headDim 64 does not divide it), and each deliberate break of its runtime sequence or hub is reported by the rule that owns it; decode_token without its x_final drain is reported too.
import os
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_decode_design import instance, problems  # noqa: E402

TINY = "tiny-llama32 lm_head_q4_0 (projections q4_0)"
L1B = "llama-3.2-1b lm_head_bf16 (projections q4_0)"
SMOL = "smollm2-135m lm_head_bf16 (projections q4_1)"      # SmolLM2 as shipped: Q4_1 projections, Q8_0 head -> bf16


class LMHeadDesignTests(unittest.TestCase):
    def assertRule(self, ps, rule, *phrases):
        self.assertTrue(any(f"[{rule}]" in p and all(x in p for x in phrases) for p in ps), ps[:6])

    def test_the_design_passes_in_mixed_formats_and_its_own_tiling(self):
        for label in (TINY, L1B, SMOL):
            self.assertEqual(problems(label), [], label)
        kw = instance(L1B)[2]
        self.assertEqual((kw["tm"], kw["tm_lm"], kw["tk_lm"], kw["lm_head"]), (64, 16, 64, "bf16"))
        self.assertEqual([a[0] for a in instance(SMOL)[3]], ["lm_weights", "io"])

    def test_the_token_fill_in_the_group_of_the_bests_drain_is_reported(self):
        ps = problems(TINY, ("        rt.finish_task_group(tg)\n        # the token from the bests\n        tg = rt.task_group()\n",
                             "        # the token from the bests\n"), file="lm_head.py")
        self.assertRule(ps, "arguments", "fill of argument 4 (hub_in)", "no finished task group has awaited")

    def test_bests_drains_that_are_not_awaited_are_reported(self):
        ps = problems(TINY, ('linear(IO, io.io("bests") + 4 * c * tmv, 4 * tmv), task_group=tg, wait=True,',
                             'linear(IO, io.io("bests") + 4 * c * tmv, 4 * tmv), task_group=tg, wait=False,'),
                      file="lm_head.py")
        self.assertRule(ps, "arguments", "fill of argument 4 (hub_in)", "no finished task group has awaited")

    def test_the_result_norm_drain_after_the_wait_for_the_logits_deadlocks(self):
        ps = problems(TINY, [('        drain_hub(tg, X, IO, io.io("result_norm"), H)\n', ""),
                             ("        # the token from the bests\n        tg = rt.task_group()\n",
                              "        # the token from the bests\n        tg = rt.task_group()\n"
                              '        drain_hub(tg, X, IO, io.io("result_norm"), H)\n')], file="lm_head.py")
        self.assertRule(ps, "schedule", "deadlock", "the drain of gout0", "waits to acquire x_bcast")

    def test_a_logits_drain_one_round_short_is_reported(self):
        ps = problems(SMOL, ('drain_rows(rt, gout_c, X, IO, io.io("logits"), rho, tmv, tg)',
                             'drain_rows(rt, gout_c, X, IO, io.io("logits"), rho - 1, tmv, tg)'), file="lm_head.py")
        self.assertRule(ps, "order", "fifo y0", "moves logits x48, bests x1 where the runtime takes logits x47")
        self.assertRule(ps, "arguments", "(io, io): its writes are not the contract's")

    def test_a_hub_that_reads_one_bests_object_less_is_reported(self):
        ps = problems(L1B, ('take(hin, nb // S, all_bests, 0, S, "bests")', 'take(hin, nb // S - 1, all_bests, 0, S, "bests")'),
                      file="lm_head.py")
        self.assertRule(ps, "flow", "fifo hub_in: its producer makes 68 objects per run, hub_core takes 67")

    def test_the_static_lowering_breaks_on_the_hubs_counts(self):
        ps = problems(TINY, ('AIECC_FLAGS = ["--dynamic-objFifos"]', 'AIECC_FLAGS = []'), file="lm_head.py")
        self.assertRule(ps, "lowering", "core hub_core", "the next trip reads the wrong buffer")

    def test_decode_token_without_the_x_final_drain_is_reported(self):
        ps = problems("tiny-llama32 ctx2048 decode_q4_0_b1", ('        drain_hub(tg, X, IO, lay.io("x_final"), H)', "        pass"))
        self.assertRule(ps, "flow", "fifo hub_out: its producer makes 304 objects per run, the runtime takes 296")
        self.assertRule(ps, "arguments", "(io, io): its writes are not the contract's", "missing [22592, 22848)")


if __name__ == "__main__":
    unittest.main()
