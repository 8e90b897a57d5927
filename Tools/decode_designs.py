#!/usr/bin/env python3
# The decode kernels of a model as the issue-12 contract and its LM-head addendum define them (Kernels/decode/README.md): the tiling choices, one decode_token kernel per KV length bucket (4 arguments) and ONE lm_head kernel (2 arguments), and every layout number (Kernels/decode/layout.py).
#
# Shared by Tools/build-kernels.py (what to build, kernels.json names), Tools/check_designs.py (what each
# instance's runtime sequence must move) and Tools/real_iron; PythonMirrorTests compares its output with
# Swift's DecodeLayout / DecodeDesigns, so the two cannot drift apart.
# Tiling: tk from the plan's Qcur instance, block from its kqv_out instance (as KernelPlan picks them today);
# tm among the Qcur kernel's candidates: the one with the least padded rows per token, ties -> the larger
# (layout.choose_tm). The LM head's own (tm_lm, tk_lm) among the (tm, tk) candidates of the plan's result_output
# kernel (lm_head_argmax_<h>): the least padded vocab rows, ties -> the larger (layout.choose_lm_tiling). The
# LM head's format h is its own (bf16, Q4_1, Q4_0), whatever the projections' format w.
# Prefill (issue 13): one prefill_<w>_b<bucket> kernel per bucket (decode/prefill.py, 5 arguments), its numbers from
# layout.PrefillLayout (--layout-json --prefill).
# Usage: decode_designs.py --preset llama-3.2-1b --weights q4_0 --lm-head bf16 --ctx 8192   (kernels, arguments, parameters)
#        decode_designs.py --config config.json --weights q4_0 --ctx 2048 --layout-json [--positions 0,5,4095]
#        decode_designs.py --preset llama-3.2-1b --weights bf16 --ctx 2048 --layout-json --prefill [--starts 0,64,1984]
import argparse
import importlib.util
import json
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
_spec = importlib.util.spec_from_file_location("build_kernels", os.path.join(TOOLS, "build-kernels.py"))
bk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bk)
_spec = importlib.util.spec_from_file_location("decode_layout", os.path.join(ROOT, "Kernels", "decode", "layout.py"))
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)

DESIGN_FILE = "decode/decode_token.py"
LM_DESIGN_FILE = "decode/lm_head.py"
PREFILL_DESIGN_FILE = "decode/prefill.py"
DTYPE_BYTES = {"bf16": 2, "f32": 4, "i32": 4, "u8": 1, "u16": 2}
BLOCK_BYTES = layout.BLOCK_BYTES


def nbytes(dtype, count):
    if dtype in BLOCK_BYTES:
        assert count % 32 == 0
        return count // 32 * BLOCK_BYTES[dtype]
    return count * DTYPE_BYTES[dtype]


class DecodeDesigns:
    """The decode xclbin's kernels for one model, weight formats and context (mirror of DecodeDesigns.swift)."""

    def __init__(self, manifest, model, weights, lm_head, ctx, chunk=64):
        self.model, self.weights, self.head_dtype, self.ctx = model, weights, lm_head, ctx
        uses = {name: (kernel, values) for name, kernel, values, _ in bk.plan(manifest, dict(model, ctx=ctx, chunk=chunk),
                                                                             weights, lm_head)}
        qkernel, q = uses["Qcur"]
        self.tk, self.block = q["tk"], uses["kqv_out"][1]["block"]
        candidates = [t["tm"] for t in tilings(qkernel)]
        self.tm = layout.choose_tm(model, candidates)
        self.tm_lm, self.tk_lm = layout.choose_lm_tiling(model, lm_head, [(t["tm"], t["tk"])
                                                                           for t in tilings(uses["result_output"][0])])
        self.layout = layout.DecodeLayout(model, weights, lm_head, ctx, self.tm, self.tk, self.block, self.tm_lm, self.tk_lm)
        self.buckets = self.layout.buckets
        # issue 13: one prefill run per chunk, per bucket; none when the shapes cannot take the prefill design (its
        # rules, or its cores' memory: issue 17's 3B/8B shapes), prefill_unsupported says why (DecodeDesigns.swift)
        try:
            budgets = bk.target_budgets()
            self.prefill = layout.PrefillLayout(self.layout, budget=budgets["coreBytes"] - budgets["coreStackBytes"])
            self.prefill.check_cores(budgets["coreBytes"] - budgets["coreStackBytes"])
            self.prefill_unsupported = None
        except ValueError as e:
            self.prefill, self.prefill_unsupported = None, str(e)

    def all(self):
        """Every kernel of the xclbin: decode_token per bucket, then lm_head (the runlist's second run), then the
        prefill per bucket (issue 13: a prompt chunk's run; [prefill, lm_head] for the prompt's last chunk)."""
        lay, pre = self.layout, self.prefill
        return [{"kernelName": lay.kernel_name(b), "kind": "decode_token", "design": DESIGN_FILE, "bucket": b,
                 "taps": False, "arguments": lay.arguments()} for b in self.buckets] + [
                {"kernelName": lay.lm.kernel_name(), "kind": "lm_head", "design": LM_DESIGN_FILE, "bucket": None,
                 "taps": False, "arguments": lay.lm.arguments()}] + [
                {"kernelName": pre.kernel_name(b), "kind": "prefill", "design": PREFILL_DESIGN_FILE, "bucket": b,
                 "taps": False, "arguments": pre.arguments()} for b in (self.buckets if pre else [])]

    def design_parameters(self, d):
        """Keyword arguments of the design() of one kernel (decode_token.py, lm_head.py or prefill.py: prefill takes
        decode_token's)."""
        m = self.model
        shape = dict(hidden=m["hidden"], ffn=m["ffn"], heads=m["heads"], kv_heads=m["kvHeads"], head_dim=m["headDim"],
                     vocab=m["vocab"], layers=m["layers"])
        if m.get("family", "llama") != "llama":
            shape["family"] = m["family"]      # issue 17: decode_token's qwen_step, prefill's group Q, the BOs all share
        if d["kind"] == "lm_head":
            return dict(shape, eps=m["eps"], lm_head=self.head_dtype, tm=self.tm, tm_lm=self.tm_lm, tk_lm=self.tk_lm)
        kw = dict(shape, pairing=m["pairing"], eps=m["eps"], weights=self.weights, lm_head=self.head_dtype,
                  ctx=self.ctx, bucket=d["bucket"], tm=self.tm, tk=self.tk, block=self.block, tm_lm=self.tm_lm,
                  tk_lm=self.tk_lm)
        if d["kind"] == "prefill" and self.prefill.x_depth != 2:
            kw["x_depth"] = self.prefill.x_depth    # task G: only where it differs, so every other design is unchanged
        return kw


def tilings(kernel):
    return kernel["tilings"] if "tilings" in kernel else [kernel["tiling"]]


def load(preset=None, config=None, weights="bf16", lm_head=None, ctx=4096, chunk=64):
    with open(os.path.join(ROOT, "Kernels", "manifest.json")) as f:
        manifest = json.load(f)
    ns = argparse.Namespace(preset=preset, config=config, ctx=ctx, chunk=chunk)
    model = bk.model_values(ns)
    return DecodeDesigns(manifest, model, weights, lm_head or weights, ctx, chunk)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(bk.PRESETS))
    src.add_argument("--config")
    ap.add_argument("--weights", choices=["bf16", "q4_1", "q4_0"], default="bf16")
    ap.add_argument("--lm-head", choices=["bf16", "q4_1", "q4_0"], help="default: the projections' format")
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--layout-json", action="store_true", help="print every number of the contract's layouts")
    ap.add_argument("--positions", help="comma list of positions for the kv_row base values (with --layout-json)")
    ap.add_argument("--prefill", action="store_true",
                    help="with --layout-json: the prefill contract's numbers instead (issue 13, PrefillLayout)")
    ap.add_argument("--starts", help="comma list of chunk starts (multiples of the block) for the kv_blk base and "
                                     "bucket values (with --layout-json --prefill)")
    a = ap.parse_args()
    try:
        d = load(a.preset, a.config, a.weights, a.lm_head, a.ctx)
    except ValueError as e:
        print(f"decode_designs: {e}", file=sys.stderr)
        return 2
    if a.layout_json and a.prefill:
        if d.prefill is None:
            print(f"decode_designs: {d.prefill_unsupported}", file=sys.stderr)
            return 2
        starts = [int(x) for x in a.starts.split(",")] if a.starts else (0, 64, 1984)
        print(json.dumps(d.prefill.to_json(starts), indent=1))
        return 0
    if a.layout_json:
        positions = [int(x) for x in a.positions.split(",")] if a.positions else (0, 1, 63, 64, 1000)
        print(json.dumps(d.layout.to_json(positions), indent=1))
        return 0
    print(json.dumps([{"kernelName": x["kernelName"], "design": x["design"],
                       "arguments": [[n, b, r] for n, b, r in x["arguments"]],
                       "parameters": d.design_parameters(x)} for x in d.all()], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
