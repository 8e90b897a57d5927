#!/usr/bin/env python3
# Runs every design instance the checker runs under the REAL aie.iron Python of an mlir-aie checkout (over Tools/real_iron/mock, our mock of its compiled layer) and records, per instance, whether it constructs, places and resolves, and the first real error.
#
# Usage: run_real_iron.py --mlir-aie PATH [--commit SHA] [--out Tools/real_iron/results.json]
#                         [--only SUBSTRING] [--endpoints [FILE]] [--no-venv]
#   PATH is a checkout (or extracted snapshot) of mlir-aie; nothing of it is copied into the project:
#   a temporary `aie` package links its python/ files (iron, helpers, util.py, dialects/aie.py,
#   dialects/aiex.py) beside our mocks, and the designs import it. Python deps (numpy, ml_dtypes, as
#   the checkout's python/requirements.txt names them) go into a private venv
#   ($NPULLAMA_CACHE/venv-real-iron, default ~/.cache/npu-llama), created when missing.
#   --endpoints prints, per instance, where the real SequentialPlacer put every runtime fill/drain
#   (shim tile, MM2S = fill / S2MM = drain), and writes them as JSON to FILE if given.
# Instances: Tools/check_designs.py's fused_instances (every model, weight type, context and bucket it checks;
# same labels, so Tools/tests can match them).
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
REPO = os.path.dirname(TOOLS)
MOCK = os.path.join(HERE, "mock", "aie")
# the checkout's pure-Python files that make up the real part of the package (python/<src> -> aie/<dst>)
REAL = [("iron", "iron"), ("helpers", "helpers"), ("util.py", "util.py"),
        ("dialects/aie.py", "dialects/aie.py"), ("dialects/aiex.py", "dialects/aiex.py")]


# ----------------------------------------------------------------------------- environment
def ensure_venv(checkout):
    """Re-executes this script under a venv with the checkout's numpy / ml_dtypes requirement."""
    try:
        import ml_dtypes  # noqa: F401
        import numpy
        if numpy.__file__ and "iron_stub" not in numpy.__file__:
            return
    except ImportError:
        pass
    cache = os.environ.get("NPULLAMA_CACHE", os.path.expanduser("~/.cache/npu-llama"))
    venv = os.path.join(cache, "venv-real-iron")
    py = os.path.join(venv, "bin", "python")
    reqs = []
    with open(os.path.join(checkout, "python", "requirements.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line.startswith(("numpy", "ml_dtypes")):
                reqs.append(line)
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    check = subprocess.run([py, "-c", "import numpy, ml_dtypes"], capture_output=True)
    if check.returncode != 0:
        print(f"real_iron: installing {reqs} into {venv}", file=sys.stderr)
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + reqs)
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:] + ["--no-venv"])


def assemble(checkout, target_json):
    """A temporary folder holding the `aie` package: our mocks, with the checkout's Python files linked in."""
    root = tempfile.mkdtemp(prefix="real_iron_")
    pkg = os.path.join(root, "aie")
    shutil.copytree(MOCK, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    src = os.path.join(checkout, "python")
    for s, d in REAL:
        p = os.path.join(src, s)
        if not os.path.exists(p):
            raise SystemExit(f"real_iron: {p} is missing: is {checkout} an mlir-aie checkout?")
        os.symlink(p, os.path.join(pkg, d))
    os.environ["REAL_IRON_MLIR_AIE"] = os.path.abspath(checkout)
    os.environ["REAL_IRON_TARGET_JSON"] = os.path.abspath(target_json)
    sys.path.insert(0, root)
    return root


def source_identity(checkout, commit):
    """The checkout's commit (given, or git's) and a sha256 over the real Python files used."""
    how = "given (--commit)" if commit else None
    if not commit:
        r = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True)
        if r.returncode == 0:
            commit, how = r.stdout.strip(), "git rev-parse HEAD"
    h = hashlib.sha256()
    src = os.path.join(checkout, "python")
    for s, _ in REAL:
        p = os.path.join(src, s)
        files = [p] if os.path.isfile(p) else sorted(
            os.path.join(dp, f) for dp, _, fs in os.walk(p) for f in fs if f.endswith(".py"))
        for f in files:
            h.update(os.path.relpath(f, src).encode())
            with open(f, "rb") as fh:
                h.update(fh.read())
    return {"commit": commit, "commit_from": how or "unknown (not a git checkout; pass --commit)",
            "python_sha256": h.hexdigest()}


# ----------------------------------------------------------------------------- instrumentation
class Probe:
    """Observes the real Program / SequentialPlacer / Placeable of one run without changing what they do."""

    def __init__(self):
        import aie.iron.placeable as placeable
        import aie.iron.placers as placers
        import aie.iron.program as program
        self.reset()
        probe = self
        orig_resolve = program.Program.resolve_program
        orig_place = placers.SequentialPlacer.make_placement
        orig_placeable = placeable.Placeable.place
        orig_endpoint = placers.SequentialPlacer._place_endpoint

        def resolve_program(self, *a, **k):
            probe.stage = "resolve_program"
            probe.constructed = True
            out = orig_resolve(self, *a, **k)
            probe.resolved = True
            return out

        def make_placement(self, device, rt, workers, object_fifos):
            probe.stage = "placement"
            probe.runtime = {}
            for h in rt.fifos:
                probe.runtime[id(h.endpoint)] = (h._object_fifo.name, "MM2S" if h._is_prod else "S2MM")
            out = orig_place(self, device, rt, workers, object_fifos)
            probe.placed = True
            probe.stage = "resolve"
            return out

        def place(self, tile):
            orig_placeable(self, tile)
            if id(self) in probe.runtime:
                name, direction = probe.runtime[id(self)]
                probe.endpoints.append({"fifo": name, "dir": direction, "tile": [tile.col, tile.row]})

        def _place_endpoint(self, ofe, tiles, common_col, channels, device, output=False, **k):
            # what the placer is placing now: named in the error if no tile is found for it
            if id(ofe) in probe.runtime:
                probe.current = {"endpoint": "runtime (shim)", "fifo": probe.runtime[id(ofe)][0]}
            else:
                names = [h._object_fifo.name for h in getattr(ofe, "_srcs", []) + getattr(ofe, "_dsts", [])]
                probe.current = {"endpoint": type(ofe).__name__ + " (memory tile)", "fifos": names}
            probe.current.update({"direction": "MM2S" if output else "S2MM", "common_col": common_col})
            return orig_endpoint(self, ofe, tiles, common_col, channels, device, output=output, **k)

        program.Program.resolve_program = resolve_program
        placers.SequentialPlacer._place_endpoint = _place_endpoint
        placers.SequentialPlacer.make_placement = make_placement
        placeable.Placeable.place = place

    def reset(self):
        self.stage, self.constructed, self.placed, self.resolved = "construct", False, False, False
        self.runtime, self.endpoints, self.current = {}, [], None


def run_instance(probe, design_path, args, kwargs):
    """Imports the design file fresh and runs design(*args, **kwargs); the outcome as a dict."""
    import aie.ir as ir
    probe.reset()
    folder = os.path.dirname(os.path.abspath(design_path))
    name = os.path.splitext(os.path.basename(design_path))[0]
    sys.path.insert(0, folder)
    error = None
    try:
        for m in ("roles", "layout", name):
            sys.modules.pop(m, None)
        __import__(name).design(*args, **kwargs)
    except Exception as e:   # the first real error, with where it was raised
        tb = traceback.extract_tb(e.__traceback__)
        frame = tb[-1]
        where = f"{os.path.basename(frame.filename)}:{frame.lineno} {frame.name}"
        design_frames = [f for f in tb if f.filename.startswith(os.path.join(REPO, "Kernels"))]
        error = {"stage": probe.stage, "type": type(e).__name__, "message": str(e), "raised_at": where,
                 "design_line": (f"{os.path.relpath(design_frames[-1].filename, REPO)}:{design_frames[-1].lineno}"
                                 if design_frames else None)}
        if probe.stage == "placement" and probe.current:
            error["placing"] = probe.current
    finally:
        sys.path.remove(folder)
    rec = ir.RECORD if probe.constructed else None
    verify = list(rec.verify_errors) if rec is not None and probe.placed else []
    if error:
        verdict = {"construct": "construct", "resolve_program": "construct", "placement": "placement"}.get(
            error["stage"], "resolve")
    else:
        verdict = "verify" if verify else "ok"
    out = {"constructed": probe.constructed, "placed": probe.placed, "resolved": probe.resolved,
           "verdict": verdict, "error": error, "verify_errors": verify}
    if probe.runtime:   # distinct fifos the runtime fills (shim MM2S) and drains (shim S2MM)
        fifos = set(probe.runtime.values())
        out["runtime_fifos"] = {d: sum(1 for _, x in fifos if x == d) for d in ("MM2S", "S2MM")}
    if probe.resolved:
        out["module"] = {"objectfifos": len(rec.fifos), "symbols": len(rec.symbols), "runtime_dma_tasks": len(rec.dma_tasks)}
    return out, list(probe.endpoints)


# ----------------------------------------------------------------------------- instances
def instances(manifest_path, only=None):
    """(label, kind, design path, args, kwargs) as Tools/check_designs.py runs them (its fused_instances)."""
    sys.path.insert(0, TOOLS)
    import check_designs as cd
    root = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    out = []
    for label, design, kw, _args, _contract, _entry in cd.fused_instances(manifest, root):
        out.append((label, "fused", os.path.join(root, design), [], kw))
    return [i for i in out if not only or only in i[0]]


def summarize(results):
    by = {}
    for label, r in results.items():
        key = (r["kind"], r["design"])
        s = by.setdefault(key, {"instances": 0, "verdicts": {}, "examples": {}})
        s["instances"] += 1
        s["verdicts"][r["verdict"]] = s["verdicts"].get(r["verdict"], 0) + 1
        if r["verdict"] != "ok" and r["verdict"] not in s["examples"]:
            e = r["error"]
            s["examples"][r["verdict"]] = (f"{e['type']}: {e['message']}" if e else r["verify_errors"][0]) + f"  [{label}]"
    return [{"kind": k, "design": d, **v} for (k, d), v in sorted(by.items())]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mlir-aie", required=True, help="path to an mlir-aie checkout (e.g. /work/src/hunhoffe+mlir-aie)")
    ap.add_argument("--commit", help="the checkout's commit, when it is not a git work tree")
    ap.add_argument("--manifest", default=os.path.join(REPO, "Kernels", "manifest.json"))
    ap.add_argument("--target", default=os.path.join(REPO, "Kernels", "npu2_target.json"))
    ap.add_argument("--out", help="write the results JSON here (e.g. Tools/real_iron/results.json)")
    ap.add_argument("--only", help="run only instances whose label contains this")
    ap.add_argument("--endpoints", nargs="?", const="-", help="print (and write to FILE) the real placer's runtime endpoints")
    ap.add_argument("--no-venv", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    checkout = os.path.abspath(a.mlir_aie)
    if not a.no_venv:
        ensure_venv(checkout)
    identity = source_identity(checkout, a.commit)
    tmp = assemble(checkout, a.target)
    try:
        probe = Probe()
        results, endpoints = {}, {}
        t0 = time.time()
        for label, kind, path, args, kwargs in instances(a.manifest, a.only):
            r, eps = run_instance(probe, path, args, kwargs)
            key, n = label, 1
            while key in results:   # check_designs names some per-op instances alike (one label, other weights)
                n += 1
                key = f"{label} #{n}"
            results[key] = {"kind": kind, "label": label, "design": os.path.relpath(path, os.path.join(REPO, "Kernels")),
                            "args": [a if isinstance(a, (int, float, str)) else str(a) for a in args], **r}
            endpoints[key] = eps
            e = r["error"]
            print(f"{r['verdict']:9} {label}" + (f": {e['type']}: {e['message']}" if e else
                                                  (f": {r['verify_errors'][0]}" if r["verify_errors"] else "")))
            if a.endpoints:
                shims = {}
                for p in eps:
                    shims.setdefault((p["tile"][0], p["dir"]), []).append(p["fifo"])
                for (col, d), fifos in sorted(shims.items()):
                    print(f"    shim ({col},0) {d}: {len(fifos)} {fifos}")
                unplaced = len(probe.runtime) - len(eps)
                if unplaced:
                    print(f"    {unplaced} runtime endpoints not placed")
        summary = summarize(results)
        print("\nper design (kind, design: instances, verdicts):")
        for s in summary:
            print(f"  {s['kind']:6} {s['design']}: {s['instances']} {s['verdicts']}")
            for v, ex in s["examples"].items():
                print(f"      {v}: {ex[:300]}")
        print(f"{len(results)} instances in {time.time() - t0:.0f} s under the real aie.iron of {checkout} "
              f"({identity['commit'] or 'commit unknown'})")
        cmd = "python3 " + " ".join([os.path.relpath(os.path.abspath(__file__), REPO)] +
                                    [x for x in sys.argv[1:] if x != "--no-venv"])
        if a.out:
            with open(a.out, "w") as f:
                json.dump({
                    "about": "Outcome of every design instance Tools/check_designs.py runs, under the REAL aie.iron "
                             "Python of an mlir-aie checkout over Tools/real_iron/mock (our mock of its compiled layer; "
                             "target-model numbers from Kernels/npu2_target.json). verdict: ok | construct | placement "
                             "| resolve (an exception: error) | verify (resolved, but the module breaks a verifier rule "
                             "the mock checks: verify_errors). label: check_designs.py's label of the instance (keys "
                             "add #n where it names several alike). Written by Tools/real_iron/run_real_iron.py; see "
                             "its README.",
                    "command": cmd, "mlir_aie": identity, "summary": summary, "instances": results}, f, indent=1)
                f.write("\n")
        if a.endpoints and a.endpoints != "-":
            with open(a.endpoints, "w") as f:
                json.dump(endpoints, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
