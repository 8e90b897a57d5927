# kl_gate_spread's percentile is numpy's default (linear) one, IRON's gate bounds apply as stated, and its golden folder
# of random prompts is one verify reads (ids in the vocabulary, BOS first, no tensors).
import importlib.util
import json
import os
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("kl_gate_spread", os.path.join(TOOLS, "kl_gate_spread.py"))
kgs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kgs)


class KLGateSpreadTests(unittest.TestCase):
    def test_percentile_is_numpys_linear(self):
        # np.percentile(range(1, 11), 90) = 9.1; of 0..23 it is 20.7; one value is itself
        self.assertAlmostEqual(kgs.percentile(range(1, 11), 90), 9.1, places=12)
        self.assertAlmostEqual(kgs.percentile(list(range(24))[::-1], 90), 20.7, places=12)
        self.assertEqual(kgs.percentile([0.3], 90), 0.3)

    def test_gate_bounds(self):
        self.assertFalse(kgs.fails([0.01, 0.02, 0.03]))
        self.assertTrue(kgs.fails([0.01, 0.01, 0.25]))                 # max
        self.assertTrue(kgs.fails([0.03, 0.03, 0.01]))                 # mean
        self.assertTrue(kgs.fails([0.01] * 8 + [0.05, 0.05]))          # p90 0.05, mean 0.018

    def test_golden_folder(self):
        manifest = {"format_version": 1, "config": {"bos_token_id": 1, "vocab_size": 50}, "cases": []}
        with tempfile.TemporaryDirectory() as out:
            kgs.golden_folder(out, manifest, 50, prompts=3, tokens=6, steps=4, seed=7)
            with open(os.path.join(out, "manifest.json")) as f:
                m = json.load(f)
        self.assertEqual([c["name"] for c in m["cases"]], ["r0", "r1", "r2"])
        for c in m["cases"]:
            self.assertEqual(c["prompt_ids"][0], 1)
            self.assertEqual(len(c["prompt_ids"]), 6)
            self.assertTrue(all(3 <= t < 50 for t in c["prompt_ids"][1:]))
            self.assertEqual(len(c["greedy_ids"]), 4)
            self.assertEqual(c["tensors"], {})


if __name__ == "__main__":
    unittest.main()
