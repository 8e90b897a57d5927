#!/usr/bin/env python3
# Checks every IRON design against Kernels/manifest.json without mlir-aie: static checks, then EXECUTES every design against Tools/iron_stub.
#
# Static, per kernel: the design file byte-compiles (py_compile); its module-level integer constants
# named like the tiling keys in upper case (tm -> TM, cores -> CORES) equal the manifest's default
# tiling (`tiling`, or the first of `tilings`); its design() takes every tiling key as a parameter
# defaulting to that constant and never reads the constant itself, and its command line passes
# key=value overrides through, so an instance built with another candidate (Tools/build-kernels.py)
# really has that tiling; each entry symbol appears in the design as a string and in the C++ source
# as an extern "C" function.
# Executed, with the tilings the plan picks, for Llama 3.2 1B, SmolLM2-135M and the tiny golden model
# (headDim 16, kvDim 32), bf16, Q4_1 and Q4_0 weights: every fused design ("fusedDesigns": the
# attention half with its per-stage tiles, taps variants and several KV length buckets, the MLP half,
# the LM head) and every per-op design, checked by Tools/design_check.py against the real toolchain's
# rules (placement as mlir-aie's SequentialPlacer, memory-tile channels/BDs/locks, shim BD shapes and BDs
# per task group, device symbols, top-level Worker arguments, per-core memory/channels/BDs/locks/program
# size; limits from Kernels/npu2_target.json) and our own (kernel symbols and argument counts, flow
# balance, every runtime argument's bytes as Tools/decode_designs.py — the mirror of DecodeDesigns.swift —
# or the manifest declares them), and each fused worker's kernel calls follow the driver's order.
# Gate: the problems (one line each, "instance: [rule] message") are compared with Tools/design_baseline.txt,
# today's known violations: a problem not listed fails, a listed one no longer found fails ("fixed").
# Usage: check_designs.py [Kernels/manifest.json] [--quick] [--figures] [--update-baseline]
#        (exit 1 on a new or fixed problem; --quick executes fewer attention instances and judges no "fixed";
#        --figures prints per fused design: workers, largest core and its role, gemv cores, largest memory tile;
#        --update-baseline rewrites the baseline with every problem found)
import ast
import json
import os
import py_compile
import sys
import tempfile


def module_constants(tree):
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
                out[node.targets[0].id] = node.value.value
    return out


def tiling_parameters(tree, keys):
    """Problems with how design() takes the tiling: one parameter per key defaulting to the module
    constant, the constant never read inside, and the command line passing key=value overrides."""
    design = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "design"), None)
    if design is None:
        return ["defines no design() function"]
    problems = []
    args = design.args
    positional = args.posonlyargs + args.args
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    for key in keys:
        d = defaults.get(key)
        if not (isinstance(d, ast.Name) and d.id == key.upper()):
            problems.append(f"design() takes no parameter {key}={key.upper()} (the instance's tiling)")
    constants = {key.upper() for key in keys}
    body = ast.Module(body=design.body, type_ignores=[])
    read = sorted({n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id in constants})
    if read:
        problems.append(f"design() reads {', '.join(read)} instead of its parameter(s): an instance's tiling would be ignored")
    main = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    calls = [c for m in main for c in ast.walk(m) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "design"]
    if not any(kw.arg is None for c in calls for kw in c.keywords):
        problems.append("command line never passes key=value tiling overrides to design(**...)")
    return problems


def string_literals(tree):
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def main(manifest_path, quick=False, figures=False, update=False):
    root = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    problems = []
    for k in manifest["kernels"]:
        design = os.path.join(root, k["design"])
        source = os.path.join(root, k["source"])
        name = k["name"]
        if not os.path.exists(design):
            problems.append(f"{name}: [static] design {k['design']} is missing")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                py_compile.compile(design, cfile=os.path.join(tmp, "d.pyc"), doraise=True)
            except py_compile.PyCompileError as e:
                problems.append(f"{name}: [static] {k['design']} does not compile: {e.msg}")
                continue
        with open(design) as f:
            tree = ast.parse(f.read(), design)
        consts = module_constants(tree)
        tilings = k["tilings"] if "tilings" in k else [k["tiling"]]
        default = tilings[0]
        for i, t in enumerate(tilings[1:], 1):
            if set(t) != set(default):
                problems.append(f"{name}: [static] tilings[{i}] binds {sorted(t)}, the first candidate {sorted(default)}")
        for key, value in default.items():
            got = consts.get(key.upper())
            if got is None:
                problems.append(f"{name}: [static] {k['design']} declares no module constant {key.upper()} (manifest {key}={value})")
            elif got != value:
                problems.append(f"{name}: [static] {k['design']} has {key.upper()}={got}, the manifest's default is {key}={value}")
        problems += [f"{name}: [static] {k['design']} {p}" for p in tiling_parameters(tree, list(default))]
        literals = string_literals(tree)
        entries = list(k["entries"])
        if "entryByPairing" in k:
            entries = list(k["entryByPairing"].values())
        with open(source) as f:
            cc = f.read()
        for e in entries:
            if e not in literals:
                problems.append(f"{name}: [static] {k['design']} never names entry '{e}'")
        own = [e for e in k["entries"] if f" {e}(" in cc]
        if not own:
            problems.append(f"{name}: [static] {k['source']} defines none of {k['entries']}")
        if 'extern "C"' not in cc:
            problems.append(f"{name}: [static] {k['source']} has no extern \"C\" block")
    executed = check_fused(manifest, root, problems, quick, figures)
    executed += check_per_op(manifest, root, problems)
    return report(problems, executed, manifest_path, len(manifest["kernels"]), quick, update)


BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "design_baseline.txt")
BASELINE_HEADER = """\
# Tools/design_baseline.txt: every problem Tools/check_designs.py finds in today's designs, one per line ("instance: [rule] message").
# The designs break the real toolchain's rules (issue 11); the decode-design redesign (issue 12) removes them.
# check_designs.py fails on a problem not listed here (new) and on a line here it no longer finds (fixed: remove
# it). Regenerate with: python3 Tools/check_designs.py Kernels/manifest.json --update-baseline
"""


def normalized(problems):
    """Sorted unique one-line problems (no trailing spaces, no line breaks)."""
    return sorted({" ".join(x.split()) for x in problems})


def read_baseline(path=BASELINE):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [x.rstrip("\n") for x in f if x.strip() and not x.startswith("#")]


def compare(found, baseline, quick=False):
    """(new, fixed): problems not in the baseline, and baseline lines no longer found (not judged in --quick runs,
    which execute fewer instances)."""
    have = set(baseline)
    new = [x for x in found if x not in have]
    got = set(found)
    fixed = [] if quick else [x for x in baseline if x not in got]
    return new, fixed


def report(problems, executed, manifest_path, designs, quick=False, update=False, baseline_path=BASELINE):
    found = normalized(problems)
    if update:
        with open(baseline_path, "w") as f:
            f.write(BASELINE_HEADER + "".join(x + "\n" for x in found))
        print(f"wrote {len(found)} problems to {os.path.relpath(baseline_path)}")
        return 0
    baseline = read_baseline(baseline_path)
    new, fixed = compare(found, baseline, quick)
    for x in new:
        print(f"new: {x}")
    for x in fixed:
        print(f"fixed: remove it from the baseline: {x}")
    rules = {}
    for x in found:
        r = x.split(": [", 1)[1].split("]", 1)[0] if ": [" in x else "?"
        rules[r] = rules.get(r, 0) + 1
    print(f"{designs} designs, {executed} design instances executed against the IRON stub: {len(found)} problems "
          f"({', '.join(f'{r} {n}' for r, n in sorted(rules.items()))}); {len(baseline)} in the baseline "
          f"{os.path.relpath(baseline_path)}; {len(new)} new, {len(fixed)} fixed")
    return 1 if new or fixed else 0


def check_per_op(manifest, root, problems):
    """Executes every per-op design (the prefill designs and the single-op decode designs) for every model
    and weight type, each instance with the tiling the plan picks for it."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import argparse
    import decode_designs
    import design_check
    bk = decode_designs.bk
    role = {"w": "weight", "y": "output", "out": "output", "params": "params", "k_cache": "kvCache", "v_cache": "kvCache"}
    seen, count = set(), 0
    for name, preset, config, ctx in models(root):
        for weights in WEIGHTS:
            model = bk.model_values(argparse.Namespace(preset=preset, config=config, ctx=ctx, chunk=64))
            for use, kernel, v, tiling in bk.plan(manifest, model, weights, weights):
                if kernel["op"] in ("lm_head", "attention_decode"):
                    continue    # these run inside the fused designs (checked above)
                args = bk.design_args(kernel, v, model)
                kwargs = {k: v[k] for k in tiling}
                key = (kernel["design"], tuple(args), tuple(sorted(kwargs.items())))
                if key in seen:
                    continue
                seen.add(key)
                label = f"{name} {use} ({kernel['design']}) {' '.join(f'{k}={x}' for k, x in sorted(kwargs.items()))}"
                expected = []
                for a in kernel["args"]:
                    n = 1
                    for e in a["shape"]:
                        n *= bk.evaluate(e, v)
                    expected.append((a["name"], decode_designs.nbytes(a["dtype"], n), role.get(a["name"], "input")))
                sources = [os.path.join(root, kernel["source"])] + [os.path.join(root, x) for x in kernel.get("extraSources", [])]
                try:
                    record = design_check.run_design(os.path.join(root, kernel["design"]), *args, **kwargs)
                except Exception as e:
                    problems.append(f"{label}: [fails] {type(e).__name__}: {e}")
                    continue
                count += 1
                objects = {k.bin_name: sources for w in record.rt.started for k in w.kernels}
                problems += design_check.check(record, label, objects, expected)
    return count


# (name, preset, HF config relative to the repository, ctx): the reference models and the tiny golden model
MODELS = [("llama-3.2-1b", "llama-3.2-1b", None, 2048), ("smollm2-135m", "smollm2-135m", None, 2048),
          ("tiny-llama32", None, "Golden/tiny-llama32/model/config.json", 2048)]
WEIGHTS = ("bf16", "q4_1", "q4_0")


def models(root):
    repo = os.path.dirname(root)
    return [(n, p, os.path.join(repo, c) if c else None, ctx) for n, p, c, ctx in MODELS]


def fused_instances(manifest, root, quick=False):
    """(label, design file, kwargs, expected arguments, kv, fused entry) for every checked instance."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import decode_designs
    fused = {f["name"]: f for f in manifest.get("fusedDesigns", [])}
    names = {"attention": "attn_half", "mlp": "mlp_half", "lm_head_argmax": "lm_head", "lm_head_logits": "lm_head"}
    for preset_name, preset, config, ctx in models(root):
        for weights in WEIGHTS:
            d = decode_designs.load(preset=preset, config=config, weights=weights, lm_head=weights, ctx=ctx)
            picked = [d.buckets[0], d.buckets[len(d.buckets) // 2], d.buckets[-1]]
            for x in d.all():
                if x["kind"] == "attention" and x["bucket"] not in picked:
                    continue
                if quick and x["taps"] and x["kind"] == "attention" and x["bucket"] != picked[0]:
                    continue
                kw = d.design_parameters(x)
                kv = None
                if x["kind"] == "attention":
                    hd = d.model["headDim"]
                    kv = (d.model["kvHeads"], ctx * hd * 2, d.block * hd * 2, x["bucket"])
                yield (f"{preset_name} {x['kernelName']}", d.DESIGN_FILES[x["kind"]], kw, x["arguments"], kv,
                       fused[names[x["kind"]]])
                if x["kind"] == "attention" and not x["taps"] and x["bucket"] == picked[1]:
                    # the other end of the placement knob: every split on its own core
                    yield (f"{preset_name} {x['kernelName']} (attn_cores_per_head={d.splits})", d.DESIGN_FILES["attention"],
                           dict(kw, attn_cores_per_head=d.splits), x["arguments"], kv, fused["attn_half"])


def check_fused(manifest, root, problems, quick=False, figures=False):
    import design_check
    drivers = ""
    for name in sorted(os.listdir(os.path.join(root, "drivers"))):
        with open(os.path.join(root, "drivers", name)) as f:
            drivers += f.read()
    count = 0
    for label, design, kw, args, kv, entry in fused_instances(manifest, root, quick):
        objects = {o: [os.path.join(root, s) for s in srcs] for o, srcs in entry["objects"].items()}
        try:
            record = design_check.run_design(os.path.join(root, design), **kw)
        except Exception as e:  # a design that does not run is a problem, named with its instance
            problems.append(f"{label}: [fails] {design}: {type(e).__name__}: {e}")
            continue
        count += 1
        problems += design_check.check(record, label, objects, args, kv)
        if figures and not kw["taps"]:
            f = design_check.figures(record)
            tiles = kw.get("tms", kw.get("tm"))
            print(f"{label}: {f['workers']} workers, largest core {f['core_bytes'] / 1024:.1f} KB ({f['core']}), "
                  f"{f['gemv_cores']} gemv cores, largest memory tile {f['memtile_bytes'] / 1024:.1f} KB; "
                  f"tm {tiles}, tk {kw['tk']}")
        order = entry["entries"]
        for w in record.rt.started:
            called = [c for c, _ in w.trace.calls]
            unknown = sorted(set(called) - set(order))
            if unknown:
                problems.append(f"{label}: [entries] core {w.name} calls {unknown}, not among the design's entries {order}")
                continue
            idx = [order.index(c) for c in called]
            firsts = []
            for i in idx:
                if i not in firsts:
                    firsts.append(i)
            if firsts != sorted(firsts):
                problems.append(f"{label}: [entries] core {w.name} calls {[order[i] for i in firsts]} out of the driver's order {order}")
    for entry in manifest.get("fusedDesigns", []):
        for e in entry["entries"]:
            if e not in drivers:
                problems.append(f"{entry['name']}: [static] entry {e} is called by no emulated driver in Kernels/drivers")
    return count


if __name__ == "__main__":
    flags = ("--quick", "--figures", "--update-baseline")
    argv = [a for a in sys.argv[1:] if a not in flags]
    sys.exit(main(argv[0] if argv else "Kernels/manifest.json", quick="--quick" in sys.argv,
                  figures="--figures" in sys.argv, update="--update-baseline" in sys.argv))
