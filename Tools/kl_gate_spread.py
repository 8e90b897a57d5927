#!/usr/bin/env python3
# How IRON's logit KL gate spreads over prompts on a model: verify runs on N random prompts, and how many would fail.
"""
A diagnostic for the logit KL gate (issue 17), not a test. For each model it writes a golden-format folder of N
random prompts (token ids from random.Random(seed), BOS first; no golden tensors, so verify scores the logits against
the fp32 CPU reference only), runs `npu-llama verify --device emulator --json` on it, and counts how often IRON's gate
(amd/IRON iron/applications/llama_3_2_1b/test.py: KL per step mean <= 0.02, p90 <= 0.04 as np.percentile, max <= 0.2)
fails over one prompt's steps (the prompt's last row and each decode step), over two prompts' steps pooled (as
`npu-llama verify` pools a golden's two cases), and how often the every-row checks (mean, max) fail.

Figures are EMULATED NPU against the CPU reference (counts of prompts; no time is measured).

Usage: python3 Tools/kl_gate_spread.py [--models tiny-llama32 tiny-qwen2 tiny-qwen3] [--prompts 40] [--tokens 24]
                                       [--steps 20] [--seed 2026] [--npu-llama .build/debug/npu-llama]
A model is a folder under Golden/ (its manifest gives the vocabulary) or any path verify's --model takes together
with --vocab.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATE = dict(mean=0.02, p90=0.04, max=0.2)


def percentile(values, q):
    """np.percentile's default (linear) method."""
    s = sorted(values)
    pos = q / 100 * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fails(kl):
    return (sum(kl) / len(kl) > GATE["mean"] or percentile(kl, 90) > GATE["p90"] or max(kl) > GATE["max"])


def golden_folder(out, manifest, vocab, prompts, tokens, steps, seed):
    rnd = random.Random(seed)
    cases = []
    for i in range(prompts):
        ids = [manifest["config"]["bos_token_id"] if manifest else 1] + [rnd.randrange(3, vocab) for _ in range(tokens - 1)]
        cases.append(dict(name=f"r{i}", prompt=None, prompt_ids=ids, greedy_ids=[0] * steps, greedy_text=None,
                          greedy_margins=[0.0] * steps, min_greedy_margin=0.0, prompt_argmax_ids=[0] * tokens,
                          checks={}, tensors={}))
    m = dict(manifest or {"format_version": 1}, cases=cases)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(m, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["tiny-llama32", "tiny-qwen2", "tiny-qwen3"])
    ap.add_argument("--prompts", type=int, default=40)
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--steps", type=int, default=20, help="greedy decode steps per prompt (a golden case has 20)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--vocab", type=int, help="for a --models path outside Golden/")
    ap.add_argument("--npu-llama", default=os.path.join(ROOT, ".build", "debug", "npu-llama"))
    a = ap.parse_args()
    print("EMULATED NPU vs the fp32 CPU reference; IRON's gate: KL mean <= 0.02, p90 <= 0.04, max <= 0.2 per run of steps")
    for name in a.models:
        gdir = os.path.join(ROOT, "Golden", name)
        manifest = None
        if os.path.isdir(gdir):
            with open(os.path.join(gdir, "manifest.json")) as f:
                manifest = json.load(f)
        vocab = a.vocab or (manifest["config"]["vocab_size"] if manifest else None)
        if vocab is None:
            sys.exit(f"{name}: not a folder under Golden/; give --vocab")
        model = os.path.join(gdir, "model") if manifest else name
        with tempfile.TemporaryDirectory() as out:
            golden_folder(out, manifest, vocab, a.prompts, a.tokens, a.steps, a.seed)
            run = subprocess.run([a.npu_llama, "verify", "--device", "emulator", "--model", model, "--golden", out,
                                  "--quiet", "--json"], capture_output=True, text=True)
        try:
            report = json.loads(run.stdout)
        except json.JSONDecodeError:
            sys.exit(f"{name}: verify gave no JSON report (exit {run.returncode}): {run.stderr.strip()[-400:]}")
        per = [c["stepKL"] for c in report["cases"]]
        pairs = [per[i] + per[i + 1] for i in range(0, len(per) - 1, 2)]
        rows = sum(not all(l["passed"] for l in c["logits"] if l["scope"] == "rows") for c in report["cases"])
        pooled = [k for c in per for k in c]
        print(f"{name}: {len(per)} random {a.tokens}-token prompts + {a.steps} steps: IRON's gate fails "
              f"{sum(map(fails, per))}/{len(per)} prompts ({a.steps + 1} steps each), "
              f"{sum(map(fails, pairs))}/{len(pairs)} pairs ({2 * (a.steps + 1)} steps); every-row mean/max fails {rows}/{len(per)}; "
              f"all {len(pooled)} steps: KL mean {sum(pooled) / len(pooled):.4f}, p90 {percentile(pooled, 90):.4f}, max {max(pooled):.4f}")


if __name__ == "__main__":
    main()
