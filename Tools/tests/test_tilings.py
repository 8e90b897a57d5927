# The tilings reach the designs: a design that ignores its tiling parameter is reported, a smaller stage's weight tiles fill whole objects, Q4_0 needs even block counts.
import ast
import os
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)

import check_designs  # noqa: E402
import design_check  # noqa: E402

DESIGN = '''
import sys
TM = 64
def design(M, tm=TM):
    return M // {use}
if __name__ == "__main__":
    print(design(int(sys.argv[1]){kwargs}))
'''


def tiling_problems(use="tm", kwargs=", **{}"):
    return check_designs.tiling_parameters(ast.parse(DESIGN.format(use=use, kwargs=kwargs)), ["tm"])


class TilingParameterTests(unittest.TestCase):
    def test_a_design_that_uses_its_parameter_passes(self):
        self.assertEqual(tiling_problems(), [])

    def test_a_design_that_reads_the_module_constant_is_reported(self):
        p = tiling_problems(use="TM")
        self.assertTrue(any("reads TM instead of its parameter" in x for x in p), p)

    def test_a_command_line_without_overrides_is_reported(self):
        p = tiling_problems(kwargs="")
        self.assertTrue(any("never passes key=value" in x for x in p), p)


class WeightTileTests(unittest.TestCase):
    def setUp(self):
        design_check.use_stub()
        sys.path.insert(0, os.path.join(ROOT, "Kernels", "layer_decode"))
        import roles
        from aie.helpers.taplib import TensorAccessPattern
        self.roles, self.tap = roles, TensorAccessPattern

    def test_a_smaller_stage_fills_whole_objects_with_its_tile_repeated(self):
        # objects of the largest stage (64 rows x 64), a K/V stage of 32 rows (kvDim 32, hidden 128)
        for dtype, row_units in (("bf16", 128), ("q4_1", 4 * 20), ("q4_0", 4 * 18)):
            w = self.roles.Weights(dtype, 64, 64)
            n, fills = w.taps(32, 128, 0, 2, self.tap, tm=32)
            self.assertEqual(n, 1)
            obj = w.tile_ty.count
            moved = sum(f.count for f in fills)
            self.assertEqual(moved % obj, 0, dtype)
            self.assertEqual(moved // obj, 2, f"{dtype}: one object per k-slice")   # k 128 = 2 slices of 64
            covered = sorted(set(i for f in fills for a, b in f.intervals() for i in range(a, b)))
            self.assertEqual(covered, list(range(32 * row_units)), f"{dtype}: exactly the stage's rows")
            self.assertTrue(all(len(f.sizes) <= 4 for f in fills), "shim patterns are 4-D")

    def test_same_height_stages_read_each_weight_once(self):
        w = self.roles.Weights("bf16", 64, 64)
        n, fills = w.taps(256, 128, 1, 2, self.tap)
        self.assertEqual((n, len(fills)), (2, 1))
        self.assertEqual(fills[0].count, 2 * 64 * 128)

    def test_q4_0_tiles_need_an_even_block_count(self):
        self.roles.Weights("q4_0", 64, 64)
        with self.assertRaises(AssertionError):
            self.roles.Weights("q4_0", 64, 32)   # 18-byte blocks: 36 bytes per slice row only when even


if __name__ == "__main__":
    unittest.main()
