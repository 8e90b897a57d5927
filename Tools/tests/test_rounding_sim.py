# rounding_sim's bf16 rounding is round-to-nearest-even on the fp32 bits (as aie's conv_even), and its KL is zero for equal logits.
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden"))
import rounding_sim  # noqa: E402


class RoundingSimTests(unittest.TestCase):
    def test_bf16_rounds_to_nearest_even(self):
        # 1 + 2^-8 is halfway between bf16 1 and 1 + 2^-7: ties go to the even mantissa (1); 1 + 3·2^-8 ties up to
        # 1 + 2^-6 (even); just above the half rounds up; negative values mirror.
        x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, -(1 + 2**-8 + 2**-20), 3.0], np.float32)
        want = np.array([1.0, 1 + 2**-6, 1 + 2**-7, -(1 + 2**-7), 3.0], np.float32)
        np.testing.assert_array_equal(rounding_sim.bf16(x), want)

    def test_kl_is_zero_for_equal_and_positive_for_different_logits(self):
        a = np.array([[1.0, 2.0, 3.0]])
        self.assertAlmostEqual(float(rounding_sim.kl(a, a)[0]), 0.0, places=12)
        # KL(p || q) for p = softmax([0, 0]) = (1/2, 1/2), q = softmax([0, ln 3]) = (1/4, 3/4): ½ln2 + ½ln(2/3)
        got = float(rounding_sim.kl(np.array([[0.0, 0.0]]), np.array([[0.0, np.log(3.0)]]))[0])
        self.assertAlmostEqual(got, 0.5 * np.log(2.0) + 0.5 * np.log(2.0 / 3.0), places=12)


if __name__ == "__main__":
    unittest.main()
