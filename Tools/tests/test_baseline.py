# The checker's baseline gate: a problem not in the baseline fails, a baseline line no longer found fails ("fixed: remove it"), --update-baseline writes the sorted list.
import io
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)

import check_designs  # noqa: E402


class BaselineTests(unittest.TestCase):
    def setUp(self):
        self.path = os.path.join(tempfile.mkdtemp(), "baseline.txt")

    def run_report(self, problems, update=False, quick=False):
        out = io.StringIO()
        with redirect_stdout(out):
            rc = check_designs.report(problems, 1, "m.json", 1, quick=quick, update=update, baseline_path=self.path)
        return rc, out.getvalue()

    def test_the_baseline_is_sorted_unique_normalized_lines(self):
        rc, _ = self.run_report(["b: [x] two  spaces", "a: [y] one", "a: [y] one"], update=True)
        self.assertEqual(rc, 0)
        self.assertEqual(check_designs.read_baseline(self.path), ["a: [y] one", "b: [x] two spaces"])

    def test_the_same_problems_pass(self):
        self.run_report(["a: [y] one", "b: [x] two"], update=True)
        rc, out = self.run_report(["b: [x] two", "a: [y] one"])
        self.assertEqual(rc, 0, out)
        self.assertIn("0 new, 0 fixed", out)

    def test_a_new_problem_fails(self):
        self.run_report(["a: [y] one"], update=True)
        rc, out = self.run_report(["a: [y] one", "c: [z] three"])
        self.assertEqual(rc, 1)
        self.assertIn("new: c: [z] three", out)

    def test_a_fixed_problem_fails_until_removed_from_the_baseline(self):
        self.run_report(["a: [y] one", "b: [x] two"], update=True)
        rc, out = self.run_report(["a: [y] one"])
        self.assertEqual(rc, 1)
        self.assertIn("fixed: remove it from the baseline: b: [x] two", out)
        rc, _ = self.run_report(["a: [y] one"], quick=True)     # --quick runs fewer instances: no "fixed" verdicts
        self.assertEqual(rc, 0)

    def test_the_committed_baseline_is_sorted_and_every_line_names_a_rule(self):
        lines = check_designs.read_baseline()
        self.assertEqual(lines, sorted(set(lines)))
        self.assertTrue(all(": [" in x and "] " in x for x in lines))


if __name__ == "__main__":
    unittest.main()
