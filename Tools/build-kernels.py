#!/usr/bin/env python3
# Builds every kernel instance a model needs into as few xclbins as possible, with instruction streams; cached by hash.
#
# Needs mlir-aie (python package `aie`, `aiecc.py`) and Peano (PEANO_INSTALL_DIR). Without them it
# says so and exits 2. Inputs: the model's dimensions (an HF config.json or a preset), the weight
# dtypes, the context and prefill chunk. Output: <out>/<hash>/ with one xclbin per pack, one
# insts .bin per kernel instance, and kernels.json mapping each manifest use to (xclbin, kernel
# name, id, insts). The cache key hashes every source, design, the manifest, the instance shapes and
# the toolchain version, so an unchanged model rebuilds nothing.
#
# Each use gets the first tiling candidate of its kernel whose constraints and buffer budgets hold (as
# KernelPlan), and its design is generated with that tiling (trailing key=value arguments).
# Usage: Tools/build-kernels.py --preset llama-3.2-1b --weights bf16 --ctx 8192 --chunk 64 [--out DIR] [--plan-only]
#        Tools/build-kernels.py --config path/config.json --weights q4_1 ...
#        Tools/build-kernels.py --preset llama-3.2-1b --weights q4_0 --lm-head q4_0 --ctx 1024   (Q4_0 GGUF, or --weights q4_0)
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
# Kernels per xclbin: aiecc packs several kernels (each its own partition of the array) into one
# xclbin so they share one hw context and one runlist; keep it modest until measured on hardware.
MAX_KERNELS_PER_XCLBIN = 16


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
            values, why = bind(kernel, candidate, dim_values, manifest["device"])
            if values is not None:
                out.append((use["name"], kernel, values, dict(candidate)))
                break
        else:
            tried = "" if len(candidates) == 1 else f" ({len(candidates)} tilings tried)"
            sys.exit(f"{use['name']}: {why}{tried}")
    return out


def design_args(kernel, v, model):
    """The design's command-line arguments for one instance (None: one instance per KV length bucket)."""
    op = kernel["op"]
    if op in ("gemv",):
        return [v["M"], v["K"]]
    if op == "lm_head":
        return [v["M"], v["K"], kernel["dtype"]]
    if op == "rmsnorm":
        return [v["N"], v["rows"], model["eps"]]
    if op == "rope":
        return [v["heads"], v["headDim"], v["rows"], model["pairing"]]
    if op in ("swiglu", "add"):
        return [v["N"]]
    if op == "matmul":
        return [v["M"], v["K"], v["rows"], kernel["dtype"]]
    if op in ("attention_decode", "attention_prefill"):
        return None
    raise ValueError(op)


def instance_variants(kernel, v, model):
    """Every design instance of a use: its arguments followed by its tiling as key=value."""
    a = design_args(kernel, v, model)
    buckets = [2 ** i for i in range(0, 32) if 2 ** i <= v.get("ctx", 0) // v.get("block", 1)]
    if kernel["op"] == "attention_decode":
        variants = [[v["heads"], v["kvHeads"], v["headDim"], v["ctx"], b] for b in buckets]
    elif kernel["op"] == "attention_prefill":
        variants = [[v["heads"], v["kvHeads"], v["headDim"], v["ctx"], v["rows"], b] for b in buckets]
    else:
        variants = [a]
    keys = sorted((kernel["tilings"] if "tilings" in kernel else [kernel["tiling"]])[0])
    return [x + [f"{k}={v[k]}" for k in keys] for x in variants]


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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS))
    src.add_argument("--config")
    ap.add_argument("--weights", choices=["bf16", "q4_1", "q4_0"], required=True)
    ap.add_argument("--lm-head", choices=["bf16", "q4_1", "q4_0"], default="bf16")
    ap.add_argument("--ctx", type=int, required=True)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--out", default=os.path.join(os.environ.get("NPULLAMA_CACHE", os.path.expanduser("~/.cache/npu-llama")),
                                                  "kernels"))
    ap.add_argument("--plan-only", action="store_true",
                    help="print the plan (each use's kernel, chosen tiling and design instances) as JSON and exit")
    args = ap.parse_args()
    with open(os.path.join(KERNELS, "manifest.json")) as f:
        manifest = json.load(f)
    model = model_values(args)
    uses = plan(manifest, model, args.weights, args.lm_head)   # shape errors first, toolchain second
    if args.plan_only:
        print(json.dumps([{"use": name, "kernel": kernel["name"], "tiling": tiling,
                           "designArgs": [[str(x) for x in a] for a in instance_variants(kernel, v, model)]}
                          for name, kernel, v, tiling in uses], indent=1))
        return 0
    aiecc, peano, version = toolchain()

    # Distinct design instances: (kernel, design arguments with the instance's tiling).
    instances = {}
    for name, kernel, v, _ in uses:
        for a in instance_variants(kernel, v, model):
            key = (kernel["name"], tuple(a))
            instances.setdefault(key, {"kernel": kernel, "args": a, "uses": []})["uses"].append(name)

    h = hashlib.sha256()
    h.update(version.encode())
    h.update(json.dumps(manifest, sort_keys=True).encode())
    for k in manifest["kernels"]:
        for rel in (k["source"], k["design"]):
            with open(os.path.join(KERNELS, rel), "rb") as f:
                h.update(f.read())
    h.update(repr(sorted(instances)).encode())
    out = os.path.join(args.out, h.hexdigest()[:16])
    index_path = os.path.join(out, "kernels.json")
    if os.path.exists(index_path):
        print(f"build-kernels: up to date: {index_path}")
        return 0
    os.makedirs(out, exist_ok=True)

    def run(cmd, **kw):
        print("+", " ".join(map(str, cmd)))
        subprocess.run([str(c) for c in cmd], check=True, **kw)

    clang = os.path.join(peano, "bin", "clang++")
    aie_include = os.path.join(os.path.dirname(os.path.dirname(aiecc)), "include")
    index, pack, pack_no, packs = [], [], 0, []
    for n, ((kname, a), inst) in enumerate(sorted(instances.items())):
        kernel = inst["kernel"]
        tag = f"{kname}_" + "_".join(str(x).replace("=", "") for x in a)
        work = os.path.join(out, tag)
        os.makedirs(work, exist_ok=True)
        obj_name = {"lm_head": "lm_head.o"}.get(kernel["op"], os.path.basename(kernel["source"]).replace(".cc", ".o"))
        sources = [kernel["source"]] + (["gemv_bf16/gemv_bf16.cc"] if kernel["op"] == "lm_head" and kernel["dtype"] == "bf16" else []) \
            + (["gemv_q4_1/gemv_q4_1.cc"] if kernel["op"] == "lm_head" and kernel["dtype"] == "q4_1" else []) \
            + (["gemv_q4_0/gemv_q4_0.cc"] if kernel["op"] == "lm_head" and kernel["dtype"] == "q4_0" else []) \
            + (["gemv_bf16/gemv_bf16.cc"] if kernel["name"] == "gemv_q4_0" else [])   # gemv_out_bf16 lives there
        objs = []
        for s in sources:
            o = os.path.join(work, os.path.basename(s).replace(".cc", ".part.o"))
            run([clang, "--target=aie2p-none-unknown-elf", "-O2", "-std=c++20", "-DNDEBUG", "-I", aie_include,
                 "-c", os.path.join(KERNELS, s), "-o", o])
            objs.append(o)
        if len(objs) > 1:
            run([os.path.join(peano, "bin", "ld.lld"), "-r", "-o", os.path.join(work, obj_name), *objs])
        else:
            os.replace(objs[0], os.path.join(work, obj_name))
        mlir = os.path.join(work, "aie.mlir")
        with open(mlir, "w") as f:
            run([sys.executable, os.path.join(KERNELS, kernel["design"]), *a], stdout=f, cwd=work)
        if len(pack) == MAX_KERNELS_PER_XCLBIN:
            packs.append(pack)
            pack, pack_no = [], pack_no + 1
        xclbin = os.path.join(out, f"pack{pack_no}.xclbin")
        kid = 0x901 + len(pack)
        kname_x = f"K{n}"
        insts = os.path.join(out, f"{tag}.insts.bin")
        cmd = [aiecc, "--no-xchesscc", "--no-xbridge", "--aie-generate-xclbin", "--aie-generate-npu-insts",
               f"--xclbin-name={xclbin}", f"--npu-insts-name={insts}", f"--xclbin-kernel-name={kname_x}",
               f"--xclbin-kernel-id={hex(kid)}", mlir]
        if pack:
            cmd.insert(1, f"--xclbin-input={xclbin}")
        run(cmd, cwd=work)
        pack.append(tag)
        index.append({"instance": tag, "kernel": kname, "designArgs": a, "uses": inst["uses"], "xclbin": xclbin,
                      "xclbinKernel": kname_x, "kernelId": kid, "insts": insts})
    with open(index_path, "w") as f:
        json.dump({"toolchain": version, "kernels": index}, f, indent=1)
    print(f"build-kernels: {len(index)} kernel instances in {pack_no + 1} xclbin(s): {index_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
