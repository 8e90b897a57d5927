# The tilings reach the designs: a design that ignores its tiling parameter (or whose command line drops it) is reported; decode_token takes tm, tk, block, bucket (and tm_lm, tk_lm, which size io), lm_head tm, tm_lm, tk_lm.
import ast
import os
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)

import check_designs  # noqa: E402

DESIGN = '''
import sys
TM = 64
def design(M, tm=TM):
    return M // {use}
if __name__ == "__main__":
    print(design(int(sys.argv[1]){kwargs}))
'''


def tiling_problems(use="tm", kwargs=", **{}", keys=("tm",)):
    return check_designs.tiling_parameters(ast.parse(DESIGN.format(use=use, kwargs=kwargs)), list(keys))


class TilingParameterTests(unittest.TestCase):
    def test_a_design_that_uses_its_parameter_passes(self):
        self.assertEqual(tiling_problems(), [])

    def test_a_design_that_reads_the_module_constant_is_reported(self):
        p = tiling_problems(use="TM")
        self.assertTrue(any("reads TM instead of its parameter" in x for x in p), p)

    def test_a_command_line_without_overrides_is_reported(self):
        p = tiling_problems(kwargs="")
        self.assertTrue(any("never passes key=value" in x for x in p), p)

    def test_a_missing_tiling_parameter_is_reported(self):
        p = tiling_problems(keys=("tm", "tk"))
        self.assertTrue(any("takes no parameter tk" in x for x in p), p)

    def test_decode_token_and_lm_head_take_their_tilings(self):
        for name, keys in check_designs.DESIGN_TILING_KEYS.items():
            with open(os.path.join(ROOT, "Kernels", "decode", f"{name}.py")) as f:
                tree = ast.parse(f.read())
            self.assertEqual(check_designs.tiling_parameters(tree, keys), [], name)
        self.assertEqual(check_designs.DESIGN_TILING_KEYS["lm_head"], ("tm", "tm_lm", "tk_lm"))


if __name__ == "__main__":
    unittest.main()
