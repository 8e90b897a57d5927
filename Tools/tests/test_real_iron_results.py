# Holds our IRON stub + design checker to the REAL aie.iron's verdicts recorded in Tools/real_iron/results.json (no mlir-aie checkout needed): per instance, the checker reports a rule exactly where the real code failed on it.
#
# The interface to the checker (Tools/design_check.py, via Tools/check_designs.py's enumeration) is one
# phrase per rule, taken from the real error, that the checker's problem line for the instance contains
# (problem lines are "<instance label>: <message>"):
#   placement    "Failed to find a tile"   mlir-aie python/iron/placers.py SequentialPlacer._find_col_match
#                                          (runtime fills/drains and links with no DMA channel left)
#   symbol clash "[symbols]"               the real run's MLIR SymbolTable verifier says "redefinition of symbol"
#                                          over the aie.device body; the checker's rule tag is [symbols]
#   worker args  "NotResolvedError"        python/iron/resolvable.py, raised when a kernel call reaches a
#                                          Buffer the Worker never resolved (given inside a list)
# The real run stops at its first error, so "the checker must NOT report
# this rule" is only asked where the real run got past the point where the rule would have fired.
import json
import os
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
RESULTS = os.path.join(TOOLS, "real_iron", "results.json")
MANIFEST = os.path.join(ROOT, "Kernels", "manifest.json")
sys.path.insert(0, TOOLS)

# (rule, phrase, real run reports it, real run got far enough to say it does not apply)
RULES = [
    ("placement", "Failed to find a tile",
     lambda r: r["verdict"] == "placement" and "Failed to find a tile" in r["error"]["message"],
     lambda r: r["constructed"]),
    ("symbol clash", "[symbols]",
     lambda r: any("redefinition of symbol" in e for e in r["verify_errors"]),
     lambda r: r["resolved"]),
    ("worker args", "NotResolvedError",
     lambda r: bool(r["error"]) and r["error"]["type"] == "NotResolvedError",
     lambda r: r["resolved"]),
]


_PROBLEMS = None


def checker_problems():
    """label -> [problem messages] of our stub + checker over every instance Tools/check_designs.py runs."""
    global _PROBLEMS
    if _PROBLEMS is None:
        import check_designs
        with open(MANIFEST) as f:
            manifest = json.load(f)
        root = os.path.dirname(MANIFEST)
        problems = []
        check_designs.check_fused(manifest, root, problems)
        _PROBLEMS = problems
    return _PROBLEMS


def mine(problems, label):
    return [p[len(label) + 2:] for p in problems if p.startswith(label + ": ")]


class RealIronResultsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(RESULTS) as f:
            cls.results = json.load(f)

    def test_results_name_their_source(self):
        """The recorded run says which mlir-aie it ran and how, and covers instances of every verdict it names."""
        r = self.results
        self.assertRegex(r["mlir_aie"]["commit"] or "", r"^[0-9a-f]{40}$")
        self.assertIn("run_real_iron.py --mlir-aie", r["command"])
        verdicts = {v["verdict"] for v in r["instances"].values()}
        self.assertLessEqual(verdicts, {"ok", "construct", "placement", "resolve", "verify"})
        self.assertEqual(sum(s["instances"] for s in r["summary"]), len(r["instances"]))

    def test_results_cover_todays_fused_instances(self):
        """The recorded labels are the fused instances check_designs runs today; if not, re-run the tool
        (python3 Tools/real_iron/run_real_iron.py --mlir-aie PATH --out Tools/real_iron/results.json)."""
        import check_designs
        with open(MANIFEST) as f:
            manifest = json.load(f)
        labels = {x[0] for x in check_designs.fused_instances(manifest, os.path.dirname(MANIFEST))}
        recorded = {v["label"] for v in self.results["instances"].values() if v["kind"] == "fused"}
        self.assertEqual(sorted(labels - recorded), [], "fused instances with no real-iron verdict: re-run the tool")
        self.assertEqual(sorted(recorded - labels), [], "real-iron verdicts of instances no longer checked: re-run the tool")

    def test_checker_agrees_with_the_real_iron(self):
        """Per instance, the checker reports placement, symbol and worker-argument problems exactly where the real
        aie.iron did (where the real run stopped earlier, the checker may report more)."""
        problems = checker_problems()
        for name, phrase, real_says, real_decided in RULES:
            with self.subTest(rule=name):
                by_label = {}   # check_designs names some instances alike: its problems are per label
                for r in self.results["instances"].values():
                    by_label.setdefault(r["label"], []).append(r)
                missed, extra = [], []
                for label, rs in sorted(by_label.items()):
                    says = any(phrase in m for m in mine(problems, label))
                    if any(real_says(r) for r in rs) and not says:
                        missed.append(label)
                    elif says and not any(real_says(r) for r in rs) and all(real_decided(r) for r in rs):
                        extra.append(label)
                self.assertEqual({"real only": missed, "checker only": extra}, {"real only": [], "checker only": []},
                                 f"{name} ({phrase!r}): the checker's verdict differs from the real aie.iron's")


if __name__ == "__main__":
    unittest.main()
