#!/usr/bin/env python3
# The fused decode designs of a model as Sources/NPUBackend/DecodeDesigns.swift defines them: kernel names, data arguments (bytes, role), design parameters.
#
# Shared by Tools/build-kernels.py (what to build, kernels.json names) and Tools/check_designs.py
# (what each design's runtime sequence must move); a Swift test compares this list with
# DecodeDesigns.all for the reference models, so the two cannot drift apart.
# Usage: decode_designs.py --preset llama-3.2-1b --weights bf16 --ctx 8192   (prints the list as JSON, with each
#        design's parameters; --config config.json for other shapes)
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

# Cores per KV head in the attention half (they hold the head's `splits` states between them): 1 leaves
# the most cores to the Q/K/V/O gemv (1B: 21), `splits` attends fastest at long contexts (1B: 5 gemv
# cores). To be chosen by measurement on hardware (Kernels/layer_decode/README.md).
ATTENTION_CORES_PER_HEAD = 1

DTYPE_BYTES = {"bf16": 2, "f32": 4, "i32": 4, "u8": 1, "u16": 2}


BLOCK_BYTES = {"q4_1": 20, "q4_0": 18}   # GGUF bytes per 32 weights


def nbytes(dtype, count):
    if dtype in BLOCK_BYTES:
        assert count % 32 == 0
        return count // 32 * BLOCK_BYTES[dtype]
    return count * DTYPE_BYTES[dtype]


class DecodeDesigns:
    """Mirror of DecodeDesigns.swift for one model, weight types and context."""

    def __init__(self, manifest, model, weights, lm_head, ctx, chunk=64):
        self.model, self.weights, self.head_dtype, self.ctx = model, weights, lm_head, ctx
        self.uses = {name: (kernel, values) for name, kernel, values, _ in bk.plan(manifest, dict(model, ctx=ctx, chunk=chunk),
                                                                                  weights, lm_head)}
        q, a = self.uses["Qcur"][1], self.uses["kqv_out"][1]
        self.tk, self.cores, self.block = q["tk"], q["cores"], a["block"]
        # per-stage tile heights, each its plan instance's (DecodeDesigns.attentionTM / mlpTM); the stages
        # of a half share their gemv cores and x fifo, so tk and cores must agree
        stages = ["Qcur", "Kcur", "Vcur", "attn_out", "ffn_gate", "ffn_up", "ffn_out"]
        t = {u: self.uses[u][1] for u in stages}
        for u in stages:
            if (t[u]["tk"], t[u]["cores"]) != (self.tk, self.cores):
                raise ValueError(f"{u}: tk={t[u]['tk']} cores={t[u]['cores']} differ from Qcur's tk={self.tk} cores={self.cores}")
        for x, y in (("Kcur", "Vcur"), ("ffn_gate", "ffn_up")):
            if t[x]["tm"] != t[y]["tm"]:
                raise ValueError(f"{y}: tm={t[y]['tm']} differs from {x}'s tm={t[x]['tm']}")
        self.attention_tm = (t["Qcur"]["tm"], t["Kcur"]["tm"], t["attn_out"]["tm"])
        self.mlp_tm = (t["ffn_gate"]["tm"], t["ffn_out"]["tm"])
        self.splits = min(a["splits"], (self.cores - 1) // model["kvHeads"])
        if self.splits < 1:
            raise ValueError(f"kqv_out: kvHeads={model['kvHeads']} attention cores do not fit {self.cores - 1} cores")
        b, buckets = 1, []
        while b < ctx // self.block:
            buckets.append(b)
            b *= 2
        buckets.append(ctx // self.block)
        self.buckets = buckets

    def kv_row_bytes(self):
        """Bytes of a row argument (k_row, v_row): row pos of KV head 0 to the end of row pos of the last head."""
        m = self.model
        return ((m["kvHeads"] - 1) * self.ctx + 1) * m["headDim"] * 2

    def bytes(self, use, arg):
        kernel, values = self.uses[use]
        a = next(x for x in kernel["args"] if x["name"] == arg)
        count = 1
        for e in a["shape"]:
            count *= bk.evaluate(e, values)
        return nbytes(a["dtype"], count)

    def taps(self, kind):
        m = self.model
        hidden, q, kv, ffn = m["hidden"], m["heads"] * m["headDim"], m["kvHeads"] * m["headDim"], m["ffn"]
        if kind == "attention":
            return [("attn_norm", hidden), ("Qcur", q), ("Kcur", kv), ("Vcur", kv), ("Qrope", q), ("Krope", kv),
                    ("kqv_out", q), ("attn_out", hidden), ("ffn_inp", hidden)]
        if kind == "mlp":
            return [("ffn_norm", hidden), ("ffn_gate", ffn), ("ffn_up", ffn), ("ffn_act", ffn), ("ffn_out", hidden),
                    ("l_out", hidden)]
        return [("result_norm", hidden)]

    def _taps_arg(self, kind):
        return ("taps", 2 * sum(w for _, w in self.taps(kind)), "taps")

    def attention_half(self, bucket, taps):
        b = self.bytes
        args = [("x", b("attn_norm", "x"), "input"), ("norm_w", b("attn_norm", "w"), "weight"),
                ("wq", b("Qcur", "w"), "weight"), ("wk", b("Kcur", "w"), "weight"), ("wv", b("Vcur", "w"), "weight"),
                ("wo", b("attn_out", "w"), "weight"), ("k_cache", b("kqv_out", "k_cache"), "kvCache"),
                ("v_cache", b("kqv_out", "v_cache"), "kvCache"), ("k_row", self.kv_row_bytes(), "kvRow"),
                ("v_row", self.kv_row_bytes(), "kvRow"), ("params", b("Qrope", "params"), "params"),
                ("out", b("ffn_inp", "out"), "output")]
        if taps:
            args.append(self._taps_arg("attention"))
        return {"kernelName": f"attn_half_{self.weights}_b{bucket}" + ("_taps" if taps else ""), "kind": "attention",
                "bucket": bucket, "taps": taps, "arguments": args}

    def mlp_half(self, taps):
        b = self.bytes
        args = [("x", b("ffn_norm", "x"), "input"), ("norm_w", b("ffn_norm", "w"), "weight"),
                ("w_gate", b("ffn_gate", "w"), "weight"), ("w_up", b("ffn_up", "w"), "weight"),
                ("w_down", b("ffn_out", "w"), "weight"), ("out", b("l_out", "out"), "output")]
        if taps:
            args.append(self._taps_arg("mlp"))
        return {"kernelName": f"mlp_half_{self.weights}" + ("_taps" if taps else ""), "kind": "mlp", "taps": taps,
                "arguments": args}

    def lm_head(self, argmax, taps):
        b = self.bytes
        args = [("x", b("result_norm", "x"), "input"), ("norm_w", b("result_norm", "w"), "weight")]
        if argmax:
            args += [("w", b("result_output", "w"), "weight"), ("token", b("result_output", "token"), "output")]
        else:
            args += [("w", b("result_logits", "w"), "weight"), ("logits", b("result_logits", "y"), "output")]
        if taps:
            args.append(self._taps_arg("lm_head"))
        name = ("lm_head_argmax_" if argmax else "lm_head_logits_") + self.head_dtype + ("_taps" if taps else "")
        return {"kernelName": name, "kind": "lm_head_argmax" if argmax else "lm_head_logits", "taps": taps,
                "arguments": args}

    def all(self):
        out = []
        for taps in (False, True):
            out += [self.attention_half(b, taps) for b in self.buckets]
            out.append(self.mlp_half(taps))
            out.append(self.lm_head(False, taps))
        out.append(self.lm_head(True, False))
        return out

    def design_parameters(self, d):
        """Keyword arguments of the design file's design() for one fused design: the plan's tilings
        (per stage for the layer halves, the LM head use's own for the LM head)."""
        m = self.model
        common = dict(hidden=m["hidden"], tk=self.tk, cores=self.cores, taps=d["taps"])
        if d["kind"] == "attention":
            return dict(common, tms=self.attention_tm, heads=m["heads"], kv_heads=m["kvHeads"], head_dim=m["headDim"],
                        ctx=self.ctx, bucket=d["bucket"], block=self.block,
                        splits=self.splits, attn_cores_per_head=ATTENTION_CORES_PER_HEAD, weights=self.weights,
                        pairing=m["pairing"], eps=m["eps"])
        if d["kind"] == "mlp":
            return dict(common, tms=self.mlp_tm, ffn=m["ffn"], weights=self.weights, eps=m["eps"])
        use = self.uses["result_output" if d["kind"] == "lm_head_argmax" else "result_logits"][1]
        return dict(hidden=m["hidden"], vocab=m["vocab"], weights=self.head_dtype, eps=m["eps"], taps=d["taps"],
                    argmax=d["kind"] == "lm_head_argmax", tm=use["tm"], tk=use["tk"], cores=use["cores"])

    DESIGN_FILES = {"attention": "layer_decode/attn_half.py", "mlp": "layer_decode/mlp_half.py",
                    "lm_head_argmax": "argmax/lm_head_argmax.py", "lm_head_logits": "argmax/lm_head_argmax.py"}


def load(preset=None, config=None, weights="bf16", lm_head="bf16", ctx=4096, chunk=64):
    with open(os.path.join(ROOT, "Kernels", "manifest.json")) as f:
        manifest = json.load(f)
    ns = argparse.Namespace(preset=preset, config=config, ctx=ctx, chunk=chunk)
    model = bk.model_values(ns)
    return DecodeDesigns(manifest, model, weights, lm_head, ctx, chunk)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preset", choices=sorted(bk.PRESETS))
    ap.add_argument("--config")
    ap.add_argument("--weights", choices=["bf16", "q4_1", "q4_0"], default="bf16")
    ap.add_argument("--lm-head", choices=["bf16", "q4_1", "q4_0"], default="bf16")
    ap.add_argument("--ctx", type=int, default=4096)
    a = ap.parse_args()
    d = load(a.preset, a.config, a.weights, a.lm_head, a.ctx)
    print(json.dumps([{"kernelName": x["kernelName"], "arguments": [[n, b, r] for n, b, r in x["arguments"]],
                       "parameters": d.design_parameters(x)} for x in d.all()], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
