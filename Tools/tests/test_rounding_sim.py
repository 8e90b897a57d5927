# rounding_sim's bf16 rounding is round-to-nearest-even on the fp32 bits (as aie's conv_even), and its KL is zero for equal logits.
# Each check runs in a fresh interpreter: the design-checker tests in this suite swap the IRON stub's numpy in for the rest
# of the process (Tools/design_check.py use_stub), and rounding_sim needs the real one.
import math
import os
import subprocess
import sys
import unittest

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden")
PRELUDE = f"import sys; sys.path.insert(0, {GOLDEN!r}); import numpy as np; import rounding_sim\n"


def run_fresh(code):
    result = subprocess.run([sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


class RoundingSimTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        rc = subprocess.run([sys.executable, "-c", "import numpy"], capture_output=True, timeout=60).returncode
        if rc != 0:
            raise unittest.SkipTest(f"rounding_sim needs numpy, which {sys.executable} does not have")

    def test_bf16_rounds_to_nearest_even(self):
        # 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties go to the even mantissa (1); 1 + 3·2^-8 ties up to
        # 1 + 2^-6 (even); just above the half rounds up; negative values mirror.
        rc, out = run_fresh(
            "x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 2**-8 + 2**-20), 3.0], np.float32)\n"
            "want = np.array([1.0, 1 + 2**-6, 1 + 2**-7, -(1 + 2**-7), 3.0], np.float32)\n"
            "np.testing.assert_array_equal(rounding_sim.bf16(x), want)\n")
        self.assertEqual(rc, 0, out)

    def test_kl_is_zero_for_equal_and_positive_for_different_logits(self):
        # KL(p || q) for p = softmax([0, 0]) = (1/2, 1/2), q = softmax([0, ln 3]) = (1/4, 3/4): ½ln2 + ½ln(2/3)
        rc, out = run_fresh(
            "a = np.array([[1.0, 2.0, 3.0]])\n"
            "print(repr(float(rounding_sim.kl(a, a)[0])))\n"
            "print(repr(float(rounding_sim.kl(np.array([[0.0, 0.0]]), np.array([[0.0, np.log(3.0)]]))[0])))\n")
        self.assertEqual(rc, 0, out)
        same, different = (float(v) for v in out.split())
        self.assertAlmostEqual(same, 0.0, places=12)
        self.assertAlmostEqual(different, 0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0), places=12)


if __name__ == "__main__":
    unittest.main()
