#!/usr/bin/env python3
# Checks the decode designs (Kernels/decode/decode_token.py and lm_head.py, the two runs of a token) against Kernels/manifest.json and the real toolchain's rules without mlir-aie: static checks, then it EXECUTES every checked instance against Tools/iron_stub.
#
# Static: every fused design (manifest "fusedDesigns") byte-compiles; its design() takes the tiling keys it is
# built with (decode_token: tm, tk, block, bucket, tm_lm, tk_lm; lm_head: tm, tm_lm, tk_lm) as parameters and
# never reads module constants of those names, and its command
# line passes key=value through; every entry it lists is named in the design's package (the design file and its
# sibling modules) and defined as an extern "C" function of its objects' sources and called by an emulated driver
# (Kernels/drivers); every manifest kernel's `design` is a fused design file or "none" (no design runs it today).
# Executed, with the tilings the plan picks (Tools/decode_designs.py, the mirror of the Swift contract), for Llama
# 3.2 1B, SmolLM2-135M and the tiny golden model: decode_token and prefill (issue 13: one run per prompt chunk) in
# bf16 / Q4_1 / Q4_0 (LM head alike), the first, a middle and the last KV bucket at ctx 2048 and the last bucket at
# the longest context each model offers (prefill's contract counts how often each range is read: PrefillContract);
# lm_head once per model and (projections, LM head) format pair — bf16/bf16, Q4_1/Q4_1, Q4_0/Q4_0 and the mixed
# Q4_1/bf16, Q4_0/bf16 that a Q4 GGUF with a higher-precision output.weight gives (SmolLM2 as shipped: Q4_1
# projections, Q8_0 head -> bf16); lm_head does not depend on the context or bucket. Every instance is checked by
# Tools/design_check.py — the real toolchain's rules (placement as mlir-aie's SequentialPlacer, memory-tile and shim
# channels/BDs/locks, shim BD shapes and argument offsets, BDs per task group, device symbols, top-level Worker
# arguments, per-core memory/channels/BDs/locks/program size, the objectfifo lowering) and our own (kernel symbols,
# flow balance, each argument's bytes read / written exactly as the contract's layouts say, fills after awaited
# drains, each fifo's regions in order, and a simulated run: no deadlock, no BD freed while in use).
# Gate: the problems (one line each, "instance: [rule] message") are compared with Tools/design_baseline.txt, the
# known violations (empty since issue 12): a problem not listed fails, a listed one no longer found fails ("fixed").
# Usage: check_designs.py [Kernels/manifest.json] [--quick] [--figures] [--update-baseline]
#        (exit 1 on a new or fixed problem; --quick executes the ctx-2048 instances only and judges no "fixed";
#        --figures prints per model and weight type the design's cores, channels per shim and memory tile, shim BDs
#        per task group, the largest core and its program estimate, the fullest memory tile;
#        --update-baseline rewrites the baseline with every problem found)
import ast
import json
import os
import py_compile
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
TILING_KEYS = ("tm", "tk", "block", "bucket", "tm_lm", "tk_lm")       # decode_token's
DESIGN_TILING_KEYS = {"decode_token": TILING_KEYS, "lm_head": ("tm", "tm_lm", "tk_lm"), "prefill": TILING_KEYS}


def module_constants(tree):
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
                out[node.targets[0].id] = node.value.value
    return out


def tiling_parameters(tree, keys):
    """Problems with how design() takes the tiling: one parameter per key (required, or defaulting to the module
    constant KEY), no module constant of those names read inside, and the command line passing key=value overrides."""
    design = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "design"), None)
    if design is None:
        return ["defines no design() function"]
    problems = []
    args = design.args
    positional = args.posonlyargs + args.args
    names = {a.arg for a in positional + args.kwonlyargs}
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    for key in keys:
        d = defaults.get(key)
        if key not in names or (d is not None and not (isinstance(d, ast.Name) and d.id == key.upper())):
            problems.append(f"design() takes no parameter {key} (or defaults it to something but {key.upper()}): "
                            "an instance's tiling would not reach it")
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


def design_package(root, design):
    """The design file and its sibling modules (the helpers it imports from its folder): their parsed trees."""
    folder = os.path.dirname(os.path.join(root, design))
    trees = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name)) as f:
                trees[name] = ast.parse(f.read(), name)
    return trees


def static_problems(manifest, root):
    problems = []
    fused = {f["design"]: f for f in manifest.get("fusedDesigns", [])}
    drivers = ""
    for name in sorted(os.listdir(os.path.join(root, "drivers"))):
        with open(os.path.join(root, "drivers", name)) as f:
            drivers += f.read()
    for design, entry in fused.items():
        path = os.path.join(root, design)
        if not os.path.exists(path):
            problems.append(f"{entry['name']}: [static] design {design} is missing")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                py_compile.compile(path, cfile=os.path.join(tmp, "d.pyc"), doraise=True)
            except py_compile.PyCompileError as e:
                problems.append(f"{entry['name']}: [static] {design} does not compile: {e.msg}")
                continue
        trees = design_package(root, design)
        tree = trees[os.path.basename(design)]
        keys = DESIGN_TILING_KEYS.get(entry["name"], TILING_KEYS)
        problems += [f"{entry['name']}: [static] {design} {p}" for p in tiling_parameters(tree, keys)]
        literals = set().union(*(string_literals(t) for t in trees.values()))
        sources = sorted({s for srcs in entry["objects"].values() for s in srcs})
        cc = ""
        for s in sources:
            with open(os.path.join(root, s)) as f:
                cc += f.read()
        for e in entry["entries"]:
            if e not in literals:
                problems.append(f"{entry['name']}: [static] {design} never names entry '{e}'")
            if f" {e}(" not in cc:
                problems.append(f"{entry['name']}: [static] no source of its objects defines entry '{e}'")
            if e not in drivers:
                problems.append(f"{entry['name']}: [static] entry {e} is called by no emulated driver in Kernels/drivers")
    for k in manifest["kernels"]:
        name, design = k["name"], k["design"]
        with open(os.path.join(root, k["source"])) as f:
            cc = f.read()
        if not any(f" {e}(" in cc for e in k["entries"]):
            problems.append(f"{name}: [static] {k['source']} defines none of {k['entries']}")
        if 'extern "C"' not in cc:
            problems.append(f"{name}: [static] {k['source']} has no extern \"C\" block")
        if design == "none":
            continue
        if design not in fused:
            problems.append(f"{name}: [static] design {design} is not a fused design of the manifest (or \"none\")")
            continue
        entries = list(k["entryByPairing"].values()) if "entryByPairing" in k else k["entries"]
        if not any(e in fused[design]["entries"] for e in entries):
            problems.append(f"{name}: [static] {design} calls none of its entries {entries}")
    return problems


def main(manifest_path, quick=False, figures=False, update=False):
    t0 = time.time()
    root = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    problems = static_problems(manifest, root)
    executed = check_fused(manifest, root, problems, quick, figures)
    return report(problems, executed, manifest_path, len(manifest.get("fusedDesigns", [])), quick, update,
                  seconds=time.time() - t0)


BASELINE = os.path.join(TOOLS, "design_baseline.txt")
BASELINE_HEADER = """\
# Tools/design_baseline.txt: every problem Tools/check_designs.py finds in today's designs, one per line ("instance: [rule] message").
# Empty since issue 12 (decode_token fits the real rules) but for issue 13's phase 1: the prefill design's entries
# have no emulated driver yet (phase 2 writes it; its commit empties this file). Every executed instance has none.
# check_designs.py fails on a problem not listed here
# (new) and on a line here it no longer finds (fixed: remove it). Regenerate with:
# python3 Tools/check_designs.py Kernels/manifest.json --update-baseline
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


def report(problems, executed, manifest_path, designs, quick=False, update=False, baseline_path=BASELINE, seconds=None):
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
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    print(f"{designs} designs, {executed} design instances executed against the IRON stub{took}: {len(found)} problems "
          f"({', '.join(f'{r} {n}' for r, n in sorted(rules.items())) or 'none'}); {len(baseline)} in the baseline "
          f"{os.path.relpath(baseline_path)}; {len(new)} new, {len(fixed)} fixed")
    return 1 if new or fixed else 0


# (name, preset, HF config relative to the repository, contexts): the reference models and the tiny golden model,
# at 2048 and at the longest context each offers (Llama 3.2 1B and the tiny model: 131072; SmolLM2: 8192)
MODELS = [("llama-3.2-1b", "llama-3.2-1b", None, (2048, 131072)), ("smollm2-135m", "smollm2-135m", None, (2048, 8192)),
          ("tiny-llama32", None, "Golden/tiny-llama32/model/config.json", (2048, 131072)),
          # issue 17: the larger Llama shapes (head_dim 128: block 32, tm 128) and TinyLlama (GQA 8:1, vocab 32000),
          # in the formats their checkpoints are run in; the first/last bucket at 2048 and the last at the longest
          # context each offers (max_position_embeddings: 131072; TinyLlama 2048)
          ("llama-3.2-3b", "llama-3.2-3b", None, (2048, 131072)), ("llama-3.1-8b", "llama-3.1-8b", None, (2048, 131072)),
          ("tinyllama-1.1b", "tinyllama-1.1b", None, (2048,)),
          # issue 17: the tiny Qwen2.5- and Qwen3-style golden models (decode_token's qwen_step, prefill's group Q)
          ("tiny-qwen2", None, "Golden/tiny-qwen2/model/config.json", (2048, 32768)),
          ("tiny-qwen3", None, "Golden/tiny-qwen3/model/config.json", (2048, 40960)),
          # issue 17 (task F): the real Qwen shapes — Qwen2.5-0.5B (hidden 896, GQA 7:1, q/k/v biases, vocab 151936)
          # and Qwen3-0.6B (head_dim 128 with hidden 1024, q_norm/k_norm); max_position_embeddings 32768 / 40960
          ("qwen2.5-0.5b", "qwen2.5-0.5b", None, (2048, 32768)), ("qwen3-0.6b", "qwen3-0.6b", None, (2048, 40960))]
WEIGHTS = ("bf16", "q4_1", "q4_0")
MODEL_WEIGHTS = {"llama-3.2-3b": ("bf16", "q4_0"), "llama-3.1-8b": ("bf16", "q4_0"), "tinyllama-1.1b": ("bf16", "q4_0"),
                 "qwen2.5-0.5b": ("bf16", "q4_0"), "qwen3-0.6b": ("bf16", "q4_0")}
# (projections, LM head) of the lm_head instances: every format alike, and the mixed pairs the plan produces for
# a Q4 model whose output.weight is stored otherwise (Q8_0, F16, ... -> bf16)
LM_PAIRS = (("bf16", "bf16"), ("q4_1", "q4_1"), ("q4_0", "q4_0"), ("q4_1", "bf16"), ("q4_0", "bf16"))


def models(root):
    repo = os.path.dirname(root)
    return [(n, p, os.path.join(repo, c) if c else None, ctxs) for n, p, c, ctxs in MODELS]


def _io_range(io, region, n, l=None):
    return (2 * io.io(region, l), 2 * (io.io(region, l) + n))


class Contract:
    """What one decode_token instance's runtime sequence must move, from the contract's layouts (layout.py):
    each argument's byte ranges read / written exactly once, and the region names of its bytes."""

    def __init__(self, lay, bucket):
        self.lay, self.bucket = lay, bucket
        self.region_at = lay.region_at
        self.coverage = self._coverage()

    def _coverage(self):
        lay, L, G, gk, hd = self.lay, self.lay.L, self.lay.G, self.lay.gk, self.lay.hd
        weights = [(lay.norms_offset, lay.norms_offset + lay.norms_bytes), (lay.streams_offset, lay.weights_bytes)]
        kv = [(2 * (b * lay.slab + lay.off(l, g, 0, 0)), 2 * (b * lay.slab + lay.off(l, g, 0, 0) + lay.chunk))
              for b in range(self.bucket) for l in range(L) for g in range(G)]
        rows = [(2 * lay.off(l, g, i, kvi), 2 * (lay.off(l, g, i, kvi) + hd))
                for l in range(L) for g in range(G) for i in range(gk) for kvi in (0, 1)]

        def io(region, n, l=None):
            return _io_range(lay.io_layout, region, n, l)
        size = lay.io_size
        # read: the host's inputs and every intermediate a later stage reads back (the prefix of natural rows)
        # (a Qwen family's qkv holds fp32 rows, 2 slots a value: Kernels/decode/README.md "Qwen fp32 rows")
        back = {"qkv": (lay.Q + 2 * lay.KV) * (2 if lay.io_layout.qkv_f32 else 1), "o": lay.H, "gu": 2 * lay.F, "d": lay.H, "packs": size["packs"],
                "kqv": size["kqv"]}
        io_reads = [io("params", size["params"]), io("x", size["x"])]
        io_reads += [io(r, n, l) for l in range(L) for r, n in back.items()]
        io_writes = [io(r, size[r], l) for l in range(L) for r in lay.LAYER_REGIONS] + [io("x_final", size["x_final"])]
        return {"weights": {"reads": weights, "writes": []}, "kv": {"reads": kv, "writes": []},
                "kv_row": {"reads": [], "writes": rows}, "io": {"reads": io_reads, "writes": io_writes}}


class LMContract:
    """What the lm_head instance's runtime sequence must move: all of lm_weights once; from io x_final (decode_token's
    output) and the bests it wrote itself; into io result_norm, logits (the padded vocab rows), bests, token."""

    def __init__(self, lm):
        self.lay = lm
        self.region_at = lm.region_at
        io, size = lm.io_layout, lm.io_layout.size
        self.coverage = {
            "lm_weights": {"reads": [(0, lm.weights_bytes)], "writes": []},
            "io": {"reads": [_io_range(io, r, size[r]) for r in ("x_final", "bests")],
                   "writes": [_io_range(io, r, size[r]) for r in ("result_norm", "logits", "bests", "token")]}}


class PrefillContract:
    """What one prefill instance's runtime sequence must move (layout.PrefillLayout), each range the number of times
    the design reads it: weights once (the same streams as decode), the bucket's KV blocks once per repeat (reps =
    grp / lanes: once when a group's query heads fit its lanes' cores), the chunk's block (kv_blk) written once, pio's host inputs and every intermediate a later step reads
    back (an activation slice once per GEMM round, a residual twice), every pio region written once, io x_final."""
    counted = True

    def __init__(self, lay, bucket):
        self.lay, self.bucket = lay, bucket
        self.region_at = lay.region_at
        d, C, L = lay.dec, lay.C, lay.L
        st, rs = lay.stages, lay.row_stride

        def whole(region, times=1, l=None):
            a = 2 * lay.pio(region, l)
            return [(a, a + 2 * lay.size[region], times)]

        def rows(region, n, l, times=1):
            a = lay.pio(region, l)
            return [(2 * (a + r * rs[region]), 2 * (a + r * rs[region] + n), times) for r in range(C)]
        reads = whole("hdr") + whole("cs", L) + whole("x", 2)
        writes = []
        for l in range(L):
            for s in STAGE_NAMES:
                reads += whole(lay.X_FROM[s], st[s]["rho"], l)      # the activation slices, once per round
            # issue 17: a Qwen family's qkv rows are fp32 (2 slots a value), read by group Q; group C reads the fused rows
            qkv_slots = (2 if lay.qkv_f32 else 1) * (lay.Q + 2 * lay.KV)
            reads += rows("qkv", qkv_slots, l) + whole("qpack", 1, l) + rows("o", lay.H, l)
            if lay.fused:
                reads += rows("qkv_fused", lay.fused, l)
            reads += whole("ffn_inp", 1, l) + rows("gu", 2 * lay.F, l) + rows("d", lay.H, l)
            if l < L - 1:
                reads += whole("l_out", 2, l)                          # the next layer's residual, twice
            writes += [x for r in lay.LAYER_REGIONS for x in whole(r, 1, l)]
        xf = 2 * d.io("x_final")
        # the norms once; Qwen3's q_norm ‖ k_norm extra_repeats times (one U-value object of them, stride 0)
        extra = [(d.norm_offset("extra", l), d.norm_offset("extra", l) + 2 * lay.extra, lay.extra_repeats - 1)
                 for l in range(L) if lay.extra_repeats > 1]
        self.coverage = {
            "weights": {"reads": [(d.norms_offset, d.norms_offset + d.norms_bytes), (d.streams_offset, d.weights_bytes)]
                        + extra,
                        "writes": []},
            "kv": {"reads": [(0, 2 * bucket * d.slab, lay.reps)], "writes": []},
            "kv_blk": {"reads": [], "writes": [(0, lay.kv_blk_bytes)]},
            "pio": {"reads": reads, "writes": writes},
            "io": {"reads": [], "writes": [(xf, xf + 2 * lay.H)]}}


STAGE_NAMES = ("QKV", "O", "GU", "D")


def fused_instances(manifest, root, quick=False):
    """(label, design file, kwargs, expected arguments, contract, fused entry) for every checked instance."""
    sys.path.insert(0, TOOLS)
    import decode_designs
    fused = {f["name"]: f for f in manifest.get("fusedDesigns", [])}
    for name, preset, config, ctxs in models(root):
        for ctx in ctxs[:1] if quick else ctxs:
            for weights in MODEL_WEIGHTS.get(name, WEIGHTS):
                d = decode_designs.load(preset=preset, config=config, weights=weights, lm_head=weights, ctx=ctx)
                b = d.buckets
                picked = [b[0], b[len(b) // 2], b[-1]] if ctx == ctxs[0] else [b[-1]]
                for x in d.all():
                    if x["kind"] not in ("decode_token", "prefill") or x["bucket"] not in picked:
                        continue
                    contract = (Contract(d.layout, x["bucket"]) if x["kind"] == "decode_token"
                                else PrefillContract(d.prefill, x["bucket"]))
                    yield (f"{name} ctx{ctx} {x['kernelName']}", x["design"], d.design_parameters(x),
                           x["arguments"], contract, fused[x["kind"]])
        for weights, head in LM_PAIRS:     # lm_head: no context or bucket in it (the io BO does not depend on them)
            if weights not in MODEL_WEIGHTS.get(name, WEIGHTS):
                continue
            d = decode_designs.load(preset=preset, config=config, weights=weights, lm_head=head, ctx=ctxs[0])
            x = next(x for x in d.all() if x["kind"] == "lm_head")
            yield (f"{name} {x['kernelName']} (projections {weights})", x["design"], d.design_parameters(x),
                   x["arguments"], LMContract(d.layout.lm), fused["lm_head"])


def check_fused(manifest, root, problems, quick=False, figures=False):
    import design_check
    count = 0
    shown = set()
    for label, design, kw, args, contract, entry in fused_instances(manifest, root, quick):
        objects = {o: [os.path.join(root, s) for s in srcs] for o, srcs in entry["objects"].items()}
        try:
            record = design_check.run_design(os.path.join(root, design), **kw)
        except Exception as e:  # a design that does not run is a problem, named with its instance
            problems.append(f"{label}: [fails] {design}: {type(e).__name__}: {e}")
            continue
        count += 1
        problems += design_check.check(record, label, objects, args, contract)
        key = design + " " + label.split(" ctx")[0].split(" lm_head")[0] + " " + kw.get("weights", "lm_head " + kw["lm_head"])
        if figures and key not in shown:
            shown.add(key)
            print(design_check.describe_figures(record, label))
        order = entry["entries"]
        for w in record.rt.started:
            called = [c for c, _ in w.trace.calls]
            unknown = sorted(set(called) - set(order))
            if unknown:
                problems.append(f"{label}: [entries] core {w.name} calls {unknown}, not among the design's entries {order}")
                continue
            firsts = []
            for i in (order.index(c) for c in called):
                if i not in firsts:
                    firsts.append(i)
            if firsts != sorted(firsts):
                problems.append(f"{label}: [entries] core {w.name} calls {[order[i] for i in firsts]} out of the "
                                f"manifest's order {order}")
    return count


if __name__ == "__main__":
    flags = ("--quick", "--figures", "--update-baseline")
    argv = [a for a in sys.argv[1:] if a not in flags]
    sys.exit(main(argv[0] if argv else "Kernels/manifest.json", quick="--quick" in sys.argv,
                  figures="--figures" in sys.argv, update="--update-baseline" in sys.argv))
