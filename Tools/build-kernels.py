#!/usr/bin/env python3
# Builds the kernels NPUBackend runs for one model shape into ONE xclbin: decode_token (Kernels/decode, issue 12), one kernel per KV length bucket, the one lm_head kernel (the runlist's second run), and prefill (issue 13), one kernel per KV length bucket (a prompt chunk's run), with instruction streams.
#
# Needs mlir-aie and Peano as Tools/kernel_toolchain.py finds them (mlir-aie's config API in $NPULLAMA_AIE_PYTHON,
# the venv of Tools/setup-npu.sh, or this Python; the C++ aiecc; XRT's xclbinutil). Without them it names what is
# missing and exits 2 (after checking the shapes); the build itself is Tools/kernel_build.py. Inputs: the model's dimensions (an HF config.json or
# a preset), the weight dtypes (projections w; the LM head h, its own format: lm_head_<h> has its own weight
# channels), the context. Output: <out-dir>/ (default <out>/<key>, the directory `npu-llama --device npu` looks in:
# KernelBuildKey.swift) with npu-llama.xclbin, one <kernel>.insts.bin per kernel, and kernels.json mapping
# each Swift kernel name (DecodeDesigns) to (xclbin, kernel name, id, insts). Every kernel is in one xclbin
# because a runlist's runs must come from one hw_context (REFERENCE.md §4). kernels.json records a hash of
# every source, design, the manifest, the shapes and every toolchain version: an unchanged build is not redone.
#
# The plan (the first tiling candidate per use whose constraints and budgets hold, as KernelPlan) gives tk
# (Qcur) and the attention block (kqv_out); decode_token's one tm per model and lm_head's (tm_lm, tk_lm) are
# Tools/decode_designs.py's choices. Each role's object (gemv cores, hub, attention cores) is linked from its
# sources (manifest fusedDesigns), each compiled once; the design's MLIR is generated per kernel (decode_token per
# bucket, lm_head once, prefill per bucket), and aiecc gets the design's AIECC_FLAGS (--dynamic-objFifos). The kernels
# are listed by DESIGN_FAMILIES (one function per family).
# Prefill (issue 13): prefill_<w>_b<bucket> (Kernels/decode/prefill.py) per bucket, decode_token's tiling and weight
# streams; its GEMM cores link prefill_gemm_<w>.o, its row core prefill_rows.o, its attention cores prefill_attn.o.
# 1B at 131072: 12 decode + 1 lm_head + 12 prefill = 25 kernels of the 32 a hw_context holds.
#
# Usage: Tools/build-kernels.py --preset llama-3.2-1b --weights bf16 --lm-head bf16 --ctx 8192 [--out-dir DIR]
#        Tools/build-kernels.py --config path/config.json --weights q4_1 --lm-head bf16 ...
#        Tools/build-kernels.py ... --print-key      (the cache key only)
#        Tools/build-kernels.py ... --list           (the kernels and design parameters, no toolchain needed)
#        Tools/build-kernels.py ... --plan-only      (the plan as JSON: each use's kernel, tiling, design instances)
#        Tools/build-kernels.py ... --estimate       (kernels and core compiles the build needs, no toolchain needed)
import argparse
import ast
import hashlib
import json
import os
import re
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)
import kernel_build  # noqa: E402
import kernel_toolchain  # noqa: E402
KERNELS = os.path.join(ROOT, "Kernels")
PRESETS = {
    "llama-3.2-1b": dict(hidden=2048, ffn=8192, heads=32, kvHeads=8, headDim=64, vocab=128256, layers=16,
                         pairing="half-split", eps=1e-5),
    "smollm2-135m": dict(hidden=576, ffn=1536, heads=9, kvHeads=3, headDim=64, vocab=49152, layers=30,
                         pairing="adjacent", eps=1e-5),
    # issue 17: the larger Llama shapes (HF config.json of meta-llama/Llama-3.2-3B, meta-llama/Llama-3.1-8B and
    # TinyLlama/TinyLlama-1.1B-Chat-v1.0; Tools/make-random-llama.py --preset writes the same configs)
    "llama-3.2-3b": dict(hidden=3072, ffn=8192, heads=24, kvHeads=8, headDim=128, vocab=128256, layers=28,
                         pairing="half-split", eps=1e-5),
    "llama-3.1-8b": dict(hidden=4096, ffn=14336, heads=32, kvHeads=8, headDim=128, vocab=128256, layers=32,
                         pairing="half-split", eps=1e-5),
    "tinyllama-1.1b": dict(hidden=2048, ffn=5632, heads=32, kvHeads=4, headDim=64, vocab=32000, layers=22,
                           pairing="half-split", eps=1e-5),
    # issue 17 (task F): the real Qwen shapes (HF config.json of Qwen/Qwen2.5-0.5B and Qwen/Qwen3-0.6B): GQA 7:1 with
    # q/k/v biases; head_dim 128 independent of hidden 1024 / 16 heads with q_norm/k_norm. Both tied, rope_theta 1e6,
    # eps 1e-6, HF half-split pairing (llama.cpp runs qwen2/qwen3 as NEOX); family = the config's model_type, as
    # model_values takes it from a config (layout.family_extra)
    "qwen2.5-0.5b": dict(hidden=896, ffn=4864, heads=14, kvHeads=2, headDim=64, vocab=151936, layers=24,
                         pairing="half-split", eps=1e-6, family="qwen2"),
    "qwen3-0.6b": dict(hidden=1024, ffn=3072, heads=16, kvHeads=8, headDim=128, vocab=151936, layers=28,
                       pairing="half-split", eps=1e-6, family="qwen3"),
}
# aiecc appends each kernel (its own configuration of the array) to the xclbin with --xclbin-input;
# the whole set must share one hw context. Not yet measured on hardware: how many an xclbin takes.
XCLBIN_NAME = "npu-llama.xclbin"


def evaluate(expr, values):
    """Integer expression of the manifest (same language as KernelExpression.swift)."""
    if isinstance(expr, int):
        return expr
    ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.FloorDiv: lambda a, b: a // b, ast.Div: lambda a, b: int(a / b), ast.Mod: lambda a, b: a % b}

    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name):
            return values[n.id]
        if isinstance(n, ast.BinOp) and type(n.op) in ops:
            return ops[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return -ev(n.operand)
        if isinstance(n, ast.Compare) and len(n.ops) == 1:
            a, b = ev(n.left), ev(n.comparators[0])
            return int({ast.Eq: a == b, ast.NotEq: a != b, ast.Lt: a < b, ast.LtE: a <= b,
                        ast.Gt: a > b, ast.GtE: a >= b}[type(n.ops[0])])
        if isinstance(n, ast.BoolOp):
            vals = [ev(v) for v in n.values]
            return int(all(vals) if isinstance(n.op, ast.And) else any(vals))
        if isinstance(n, ast.Call) and n.func.id in ("min", "max", "ceildiv"):
            a, b = (ev(x) for x in n.args)
            return {"min": min(a, b), "max": max(a, b), "ceildiv": -(-a // b)}[n.func.id]
        raise ValueError(f"unsupported expression {ast.dump(n)}")

    text = expr.replace("&&", " and ").replace("||", " or ")
    return ev(ast.parse(text, mode="eval").body)


def model_values(args):
    if args.config:
        with open(args.config) as f:
            c = json.load(f)
        heads = c["num_attention_heads"]
        m = dict(hidden=c["hidden_size"], ffn=c["intermediate_size"], heads=heads,
                 kvHeads=c.get("num_key_value_heads", heads), headDim=c.get("head_dim", c["hidden_size"] // heads),
                 vocab=c["vocab_size"], layers=c["num_hidden_layers"], pairing=c.get("rope_pairing", "half-split"),
                 eps=c.get("rms_norm_eps", 1e-5))
        if c.get("model_type") in ("qwen2", "qwen3"):   # issue 17: the family's attention-half step (layout.family_extra)
            m["family"] = c["model_type"]
    else:
        m = dict(PRESETS[args.preset])
    m.update(qDim=m["heads"] * m["headDim"], kvDim=m["kvHeads"] * m["headDim"], group=m["heads"] // m["kvHeads"],
             ctx=args.ctx, chunk=args.chunk)
    return m


DTYPE_BYTES = {"bf16": 2, "u16": 2, "f32": 4, "i32": 4, "u8": 1}


def buffer_bytes(buffers, values):
    total = 0
    for b in buffers:
        n = evaluate(b["count"], values)
        size = n // 32 * 20 if b["dtype"] == "q4_1" else n * DTYPE_BYTES[b["dtype"]]
        total += size * b["depth"]
    return total


def target_budgets():
    """The core and memory-tile budgets of the NPU2 target model (Kernels/npu2_target.json), as KernelPlan reads them."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import npu2_target
    return {"coreBytes": npu2_target.value("core.dataMemoryBytes"), "coreStackBytes": npu2_target.value("core.stackBytes"),
            "memTileBytes": npu2_target.value("memTile.bytes")}


def bind(kernel, candidate, dim_values, device):
    """One tiling candidate for a use: (values, None) when its constraints and budgets hold, else (None, why)."""
    values = dict(dim_values)
    values.update(candidate)
    for c in kernel["constraints"]:
        if not evaluate(c["check"], values):
            msg = c["message"]
            for key, v in values.items():
                msg = msg.replace("{" + key + "}", str(v))
            return None, msg
    budget = device["coreBytes"] - device["coreStackBytes"]
    if buffer_bytes(kernel["coreBuffers"], values) > budget:
        return None, f"{kernel['name']} needs more than the {budget} bytes a core has after its stack"
    if buffer_bytes(kernel["memTileBuffers"], values) > device["memTileBytes"]:
        return None, f"{kernel['name']} needs more than a memory tile's {device['memTileBytes']} bytes"
    return values, None


def plan(manifest, model, weights, lm_head):
    """Mirror of KernelPlan: one entry per use with the first tiling candidate that fits, or exit naming the constraint."""
    out = []
    for use in manifest["instances"]:
        dtype = {"projection": weights, "lm_head": lm_head}.get(use.get("weights"), "bf16")
        kernel = next((k for k in manifest["kernels"] if k["op"] == use["op"] and k["dtype"] == dtype), None)
        if kernel is None:
            sys.exit(f"{use['name']}: no {use['op']} kernel takes {dtype} weights")
        dim_values = dict(model)
        dim_values.update({d: evaluate(e, model) for d, e in use["dims"].items()})
        candidates = kernel["tilings"] if "tilings" in kernel else [kernel["tiling"]]
        for candidate in candidates:
            values, why = bind(kernel, candidate, dim_values, target_budgets())
            if values is not None:
                out.append((use["name"], kernel, values, dict(candidate)))
                break
        else:
            tried = "" if len(candidates) == 1 else f" ({len(candidates)} tilings tried)"
            sys.exit(f"{use['name']}: {why}{tried}")
    return out


PREFILL = "prefill_"
LM_USES = ("result_norm", "result_output", "result_logits")


def built_in(use):
    """Which design runs a use on the NPU: lm_head (result_norm, the LM head), prefill (the prefill uses: one run
    per prompt chunk, issue 13), decode_token (every other decode use)."""
    if use.startswith(PREFILL):
        return "prefill"
    return "lm_head" if use in LM_USES else "decode_token"


def cli(a):
    """A design's command line: keyword arguments as key=value."""
    return [f"{k}={v}" for k, v in a.items()]


def fused_designs(manifest, model, args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import decode_designs
    return decode_designs.DecodeDesigns(manifest, model, args.weights, args.lm_head, args.ctx, args.chunk)


def instance_variants(use, fused):
    """The design instances that run a use, as command lines: every decode_token kernel (one per bucket) for the
    layers' uses, the lm_head kernel for the LM uses, every prefill kernel (one per bucket) for the prefill uses."""
    kind = built_in(use)
    return [cli(fused.design_parameters(x)) for x in fused.all() if x["kind"] == kind]


def aiecc_flags(design):
    """The design module's AIECC_FLAGS (a list of string literals), read without importing it."""
    with open(os.path.join(KERNELS, design)) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "AIECC_FLAGS" for t in node.targets):
            return ast.literal_eval(node.value)
    return []


def build_key(model, weights, lm_head, ctx, chunk):
    """KernelBuildKey.key (Swift): every shape the kernels are built for."""
    m = model
    return (f"h{m['hidden']}-f{m['ffn']}-q{m['heads']}-kv{m['kvHeads']}-d{m['headDim']}-v{m['vocab']}-l{m['layers']}"
            f"-{'adj' if m['pairing'] == 'adjacent' else 'half'}-{weights}-{lm_head}-ctx{ctx}-c{chunk}")


def design_objects(manifest, kind, dtype):
    """{object: sources} a kernel of a fused design links: its roles' objects, the gemv cores' in the design's
    weight format only (decode_gemv_<w>.o, lm_gemv_<h>.o)."""
    entry = next(f for f in manifest["fusedDesigns"] if f["name"] == kind)
    gemv = {"decode_token": "decode_gemv_", "lm_head": "lm_gemv_", "prefill": "prefill_gemm_"}[kind]
    return entry["design"], {o: srcs for o, srcs in entry["objects"].items()
                             if not o.startswith(gemv) or o == f"{gemv}{dtype}.o"}


def fused_kernels(manifest, model, args):
    """The xclbin's fused kernels: decode_token per bucket (projections' format), then lm_head (the LM head's), then
    prefill per bucket (projections'), as Tools/decode_designs.py lists them."""
    d = fused_designs(manifest, model, args)
    out = []
    for x in d.all():
        design, objects = design_objects(manifest, x["kind"], args.lm_head if x["kind"] == "lm_head" else args.weights)
        assert design == x["design"], (design, x["design"])
        out.append(KernelSpec(x["kernelName"], design, d.design_parameters(x), objects, len(x["arguments"])))
    return out


class KernelSpec:
    """One kernel of the xclbin: its Swift name (= xclbin kernel name), design file, design() keyword arguments,
    {object: sources} it links, and how many buffer arguments NPUBackend binds after opcode, instr, ninstr."""

    def __init__(self, name, design, params, objects, buffers):
        self.name, self.design, self.params, self.objects, self.buffers = name, design, params, objects, buffers

    def __iter__(self):        # (name, design, params, objects), as callers unpack it
        return iter((self.name, self.design, self.params, self.objects))


# Every family of kernels the xclbin holds, in order (kernel ids follow it). A new family (e.g. prefill) is one
# function (manifest, model, args) -> [KernelSpec] appended here (prefill is in fused_kernels: decode_designs lists it).
DESIGN_FAMILIES = [fused_kernels]


def kernel_list(manifest, model, args):
    """Every kernel of the one xclbin, family by family (DESIGN_FAMILIES)."""
    return [k for family in DESIGN_FAMILIES for k in family(manifest, model, args)]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS))
    src.add_argument("--config")
    ap.add_argument("--weights", choices=["bf16", "q4_1", "q4_0"], required=True)
    ap.add_argument("--lm-head", choices=["bf16", "q4_1", "q4_0"], default="bf16",
                    help="the LM head's format (its own run, lm_head_<h>; any projections' format)")
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--out", default=os.path.join(os.environ.get("NPULLAMA_CACHE", os.path.expanduser("~/.cache/npu-llama")),
                                                  "kernels"))
    ap.add_argument("--out-dir", help="the build directory itself (default: <out>/<key>)")
    ap.add_argument("--print-key", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--estimate", action="store_true",
                    help="print the kernels and core compiles the build needs (no toolchain needed)")
    ap.add_argument("--jobs", "-j", type=int, default=int(os.environ.get("NPULLAMA_KERNEL_JOBS", 0)) or os.cpu_count() or 1,
                    help="parallel object compiles and aiecc's -j (cores compiled at once); default: every CPU")
    ap.add_argument("--plan-only", action="store_true",
                    help="print the plan (each use's kernel, chosen tiling and design instances) as JSON and exit")
    args = ap.parse_args()
    with open(os.path.join(KERNELS, "manifest.json")) as f:
        manifest = json.load(f)
    model = model_values(args)
    key = build_key(model, args.weights, args.lm_head, args.ctx, args.chunk)
    if args.print_key:
        print(key)
        return 0
    uses = plan(manifest, model, args.weights, args.lm_head)   # shape errors first, toolchain second
    if args.plan_only:
        try:
            fused = fused_designs(manifest, model, args)
        except ValueError as e:
            sys.exit(f"build-kernels: {e}")
        print(json.dumps([{"use": name, "kernel": kernel["name"], "tiling": tiling, "builtIn": built_in(name),
                           "design": kernel["design"], "designArgs": instance_variants(name, fused)}
                          for name, kernel, v, tiling in uses], indent=1))
        return 0
    try:
        kernels = kernel_list(manifest, model, args)
    except ValueError as e:
        sys.exit(f"build-kernels: {e}")
    if args.list:
        for k in kernels:
            print(k.name, k.design, " ".join(sorted(k.objects)), " ".join(cli(k.params)))
        return 0
    if args.estimate:
        return print_estimate(kernels)
    try:
        tc = kernel_toolchain.discover()
    except kernel_toolchain.ToolchainMissing as e:
        print("build-kernels: cannot build NPU kernels on this machine:\n  - " + "\n  - ".join(e.problems), file=sys.stderr)
        print("hint: Tools/setup-npu.sh installs the pinned mlir-aie and llvm-aie wheels into a Python 3.12+ venv and\n"
              "      builds the default model's kernels; NPULLAMA_AIE_PYTHON names that venv's python. CI checks the\n"
              "      designs without the toolchain: Tools/check_designs.py Kernels/manifest.json", file=sys.stderr)
        return 2
    digest = source_hash(manifest, kernels, tc.versions)
    out = args.out_dir or os.path.join(args.out, key)
    index_path = os.path.join(out, "kernels.json")
    if os.path.exists(index_path):
        try:
            with open(index_path) as f:
                if json.load(f).get("sourceHash") == digest:
                    print(f"build-kernels: up to date: {index_path}")
                    return 0
        except ValueError:
            pass
    os.makedirs(out, exist_ok=True)
    if os.path.exists(index_path):
        os.remove(index_path)       # a half-built directory never looks built
    object_cache = os.path.join(os.path.dirname(os.path.abspath(out)), ".objects")
    try:
        index = kernel_build.build(tc, kernels, KERNELS, out, object_cache, aiecc_flags, make_mlir(tc), args.jobs,
                                   XCLBIN_NAME)
    except kernel_build.BuildError as e:
        print(f"build-kernels: {e}", file=sys.stderr)
        return 1
    with open(index_path + ".tmp", "w") as f:
        json.dump({"format": 1, "toolchain": tc.summary(), "toolchainVersions": tc.versions, "sourceHash": digest,
                   "key": key, "kernels": index}, f, indent=1)
    os.replace(index_path + ".tmp", index_path)
    print(f"build-kernels: {len(index)} kernels in {os.path.join(out, XCLBIN_NAME)}: {index_path}")
    return 0


def source_hash(manifest, kernels, versions):
    """What a build depends on besides its shapes (the directory key): every toolchain version, the manifest, every
    kernel source and design, and each kernel's design arguments. An unchanged build is not redone."""
    h = hashlib.sha256()
    h.update(json.dumps(versions, sort_keys=True).encode())
    h.update(json.dumps(manifest, sort_keys=True).encode())
    for root, _, files in sorted(os.walk(KERNELS)):
        for name in sorted(files):
            if name.endswith((".cc", ".py", ".h", ".hpp", ".json")):
                with open(os.path.join(root, name), "rb") as f:
                    h.update(f.read())
    h.update(repr([(k.name, cli(k.params)) for k in kernels]).encode())
    return h.hexdigest()


def make_mlir(tc):
    """Writes a kernel's MLIR: its design file run by the toolchain's Python with the design's arguments."""
    def write(k, path, cwd):
        with open(path, "w") as f:
            kernel_build.run([tc.python, os.path.join(KERNELS, k.design), *cli(k.params)], stdout=f, cwd=cwd)
    return write


def cores_per_kernel(k):
    """The workers (AIE cores aiecc compiles one by one) of a kernel's design, counted by running it against our
    IRON stub (Tools/iron_stub), which places as the real IRON does."""
    env = dict(os.environ, PYTHONPATH=os.path.join(TOOLS, "iron_stub"))
    r = subprocess.run([sys.executable, os.path.join(KERNELS, k.design), *cli(k.params)], capture_output=True,
                       text=True, env=env, cwd=KERNELS)
    m = re.search(r"(\d+) workers", r.stdout)
    if r.returncode != 0 or not m:
        raise SystemExit(f"build-kernels: {k.name}: the IRON stub run failed: {r.stderr.strip()[-400:]}")
    return int(m.group(1))


def print_estimate(kernels):
    """The build's size: kernels (aiecc runs), core compiles (one per core per kernel), object sources."""
    sources = sorted({s for k in kernels for srcs in k.objects.values() for s in srcs})
    cores = [cores_per_kernel(k) for k in kernels]
    for k, c in zip(kernels, cores):
        print(f"{k.name}: {c} cores ({k.design})")
    print(f"total: {len(kernels)} kernels (aiecc runs; one hw_context takes {kernel_build.MAX_KERNELS_PER_CONTEXT}), "
          f"{sum(cores)} core compiles, {len(sources)} kernel sources compiled once "
          f"(core counts: the IRON stub's placement of each design)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
