#!/usr/bin/env python3
# Builds the kernels NPUBackend runs for one model shape into ONE xclbin: decode_token (Kernels/decode, issue 12), one kernel per KV length bucket, the one lm_head kernel (the runlist's second run), and prefill (issue 13), one kernel per KV length bucket (a prompt chunk's run), with instruction streams.
#
# Needs mlir-aie (python package `aie`, the C++ `aiecc`) and Peano (PEANO_INSTALL_DIR). Without them it
# says so and exits 2 (after checking the shapes). Inputs: the model's dimensions (an HF config.json or
# a preset), the weight dtypes (projections w; the LM head h, its own format: lm_head_<h> has its own weight
# channels), the context. Output: <out-dir>/ (default <out>/<key>, the directory `npu-llama --device npu` looks in:
# KernelBuildKey.swift) with npu-llama.xclbin, one <kernel>.insts.bin per kernel, and kernels.json mapping
# each Swift kernel name (DecodeDesigns) to (xclbin, kernel name, id, insts). Every kernel is in one xclbin
# because a runlist's runs must come from one hw_context (REFERENCE.md §4). kernels.json records a hash of
# every source, design, the manifest, the shapes and the toolchain version: an unchanged build is not redone.
#
# The plan (the first tiling candidate per use whose constraints and budgets hold, as KernelPlan) gives tk
# (Qcur) and the attention block (kqv_out); decode_token's one tm per model and lm_head's (tm_lm, tk_lm) are
# Tools/decode_designs.py's choices. Each role's object (gemv cores, hub, attention cores) is compiled from its
# sources (manifest fusedDesigns), the design's MLIR is generated per kernel (decode_token per bucket, lm_head
# once), and aiecc gets the design's AIECC_FLAGS (--dynamic-objFifos).
# Prefill (issue 13): prefill_<w>_b<bucket> (Kernels/decode/prefill.py) per bucket, decode_token's tiling and weight
# streams; its GEMM cores link prefill_gemm_<w>.o, its row core prefill_rows.o, its attention cores prefill_attn.o.
# 1B at 131072: 12 decode + 1 lm_head + 12 prefill = 25 kernels of the 32 a hw_context holds.
#
# Usage: Tools/build-kernels.py --preset llama-3.2-1b --weights bf16 --lm-head bf16 --ctx 8192 [--out-dir DIR]
#        Tools/build-kernels.py --config path/config.json --weights q4_1 --lm-head bf16 ...
#        Tools/build-kernels.py ... --print-key      (the cache key only)
#        Tools/build-kernels.py ... --list           (the kernels and design parameters, no toolchain needed)
#        Tools/build-kernels.py ... --plan-only      (the plan as JSON: each use's kernel, tiling, design instances)
import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNELS = os.path.join(ROOT, "Kernels")
PRESETS = {
    "llama-3.2-1b": dict(hidden=2048, ffn=8192, heads=32, kvHeads=8, headDim=64, vocab=128256, layers=16,
                         pairing="half-split", eps=1e-5),
    "smollm2-135m": dict(hidden=576, ffn=1536, heads=9, kvHeads=3, headDim=64, vocab=49152, layers=30,
                         pairing="adjacent", eps=1e-5),
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


def toolchain():
    missing = []
    aiecc = shutil.which("aiecc.py") or shutil.which("aiecc")
    if not aiecc:
        missing.append("aiecc.py is not on PATH")
    try:
        import aie.iron  # noqa: F401
    except Exception:
        missing.append("the python package 'aie' (mlir-aie's IRON) does not import")
    peano = os.environ.get("PEANO_INSTALL_DIR")
    if not peano or not os.path.exists(os.path.join(peano, "bin", "clang++")):
        missing.append("PEANO_INSTALL_DIR does not point at a Peano (llvm-aie) install")
    if missing:
        print("build-kernels: cannot build NPU kernels on this machine:\n  - " + "\n  - ".join(missing), file=sys.stderr)
        print("hint: install mlir-aie and llvm-aie (Peano) as the mlir-aie README describes (e.g. its\n"
              "      utils/quick_setup.sh, or pip wheels mlir_aie and llvm-aie), source its env script so that\n"
              "      aiecc.py and PEANO_INSTALL_DIR are set, then re-run. CI checks the designs without it:\n"
              "      Tools/check_designs.py Kernels/manifest.json", file=sys.stderr)
        sys.exit(2)
    version = subprocess.run([aiecc, "--version"], capture_output=True, text=True).stdout.strip()
    return aiecc, peano, version


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


def kernel_list(manifest, model, args):
    """(Swift kernel name, design file, design keyword arguments, {object: sources}) for every kernel: decode_token
    per bucket (projections' format), then lm_head (the LM head's format), then prefill per bucket (projections')."""
    d = fused_designs(manifest, model, args)
    out = []
    for x in d.all():
        design, objects = design_objects(manifest, x["kind"], args.lm_head if x["kind"] == "lm_head" else args.weights)
        assert design == x["design"], (design, x["design"])
        out.append((x["kernelName"], design, d.design_parameters(x), objects))
    return out


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
        for name, design, a, objects in kernels:
            print(name, design, " ".join(sorted(objects)), " ".join(cli(a)))
        return 0
    aiecc, peano, version = toolchain()

    h = hashlib.sha256()
    h.update(version.encode())
    h.update(json.dumps(manifest, sort_keys=True).encode())
    for root, _, files in sorted(os.walk(KERNELS)):
        for name in sorted(files):
            if name.endswith((".cc", ".py", ".h", ".hpp", ".json")):
                with open(os.path.join(root, name), "rb") as f:
                    h.update(f.read())
    h.update(repr([(k[0], cli(k[2])) for k in kernels]).encode())
    digest = h.hexdigest()
    out = args.out_dir or os.path.join(args.out, key)
    index_path = os.path.join(out, "kernels.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            if json.load(f).get("sourceHash") == digest:
                print(f"build-kernels: up to date: {index_path}")
                return 0
    os.makedirs(out, exist_ok=True)

    def run(cmd, **kw):
        print("+", " ".join(map(str, cmd)))
        subprocess.run([str(c) for c in cmd], check=True, **kw)

    clang = os.path.join(peano, "bin", "clang++")
    aie_include = os.path.join(os.path.dirname(os.path.dirname(aiecc)), "include")
    xclbin = os.path.join(out, XCLBIN_NAME)
    if os.path.exists(xclbin):
        os.remove(xclbin)
    index = []
    objects_dir = os.path.join(out, "objects")
    os.makedirs(objects_dir, exist_ok=True)
    built = set()
    for n, (name, design, a, objects) in enumerate(kernels):
        work = os.path.join(out, name)
        os.makedirs(work, exist_ok=True)
        for obj_name, sources in sorted(objects.items()):   # each role's object: its sources, linked (ld -r)
            target = os.path.join(objects_dir, obj_name)
            if obj_name not in built:
                parts = []
                for s in sources:
                    o = os.path.join(objects_dir, obj_name[:-2] + "." + os.path.basename(s).replace(".cc", ".part.o"))
                    run([clang, "--target=aie2p-none-unknown-elf", "-O2", "-std=c++20", "-DNDEBUG", "-I", aie_include,
                         "-c", os.path.join(KERNELS, s), "-o", o])
                    parts.append(o)
                run([os.path.join(peano, "bin", "ld.lld"), "-r", "-o", target, *parts])
                built.add(obj_name)
            shutil.copyfile(target, os.path.join(work, obj_name))   # aiecc links the objects named next to the MLIR
        mlir = os.path.join(work, "aie.mlir")
        with open(mlir, "w") as f:
            run([sys.executable, os.path.join(KERNELS, design), *cli(a)], stdout=f, cwd=work)
        kid = 0x901 + n
        insts = os.path.join(out, f"{name}.insts.bin")
        # xclbinutil refuses an output that is also an input: append into a new file, then rename it
        # (XRT XclBinUtilMain.cxx; REFERENCE.md §9)
        target_xclbin = xclbin + ".next" if index else xclbin
        cmd = [aiecc, "--no-xchesscc", "--no-xbridge", "--aie-generate-xclbin", "--aie-generate-npu-insts",
               *aiecc_flags(design), f"--xclbin-name={target_xclbin}", f"--npu-insts-name={insts}",
               f"--xclbin-kernel-name={name}", f"--xclbin-kernel-id={hex(kid)}", mlir]
        if index:
            cmd.insert(1, f"--xclbin-input={xclbin}")
        run(cmd, cwd=work)
        if index:
            os.replace(target_xclbin, xclbin)
        if not os.path.exists(xclbin):
            sys.exit(f"build-kernels: aiecc wrote no {xclbin} (is xclbinutil on PATH? aiecc skips the xclbin without it)")
        index.append({"name": name, "design": design, "designArgs": cli(a), "xclbin": XCLBIN_NAME, "xclbinKernel": name,
                      "kernelId": kid, "insts": os.path.basename(insts)})
    with open(index_path, "w") as f:
        json.dump({"format": 1, "toolchain": version, "sourceHash": digest, "key": key, "kernels": index}, f, indent=1)
    print(f"build-kernels: {len(index)} kernels in {xclbin}: {index_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
