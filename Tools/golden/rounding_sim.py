# Numpy model of a bf16-activation NPU design (fp32 accumulation, every graph node rounded once to bf16) on the tiny
# golden models: how far its logits drift from fp32 (KL), and what the placement of Qwen's bias / q-k norm rounding costs.
"""
Diagnostic for issue 17's logit KL gate (not a test; CPU numpy, figures are "modelled", not emulated NPU results).

Placements modelled for the Qwen step (everything else identical):
  single  the bias is added to the projection's fp32 accumulator, the q/k norm reads the fp32 projection; one bf16
          rounding per node (the cheapest placement aie2p allows: bias as the gemv accumulator's start / epilogue)
  double  the projection is rounded to bf16 first (the gemv's output), then bias_add_bf16 / qk_norm_bf16 round again
          (the decode hub's qwen_step as designed in Kernels/decode/decode_token.py)
Softmax, RoPE, RMSNorm and SiLU are evaluated in fp32 and only their node outputs rounded (round to nearest even).

Usage (golden venv; needs numpy, torch, safetensors):
  python Tools/golden/rounding_sim.py tiny-qwen2 [--inputs 40]
Prints, per golden case, KL p90 of the modelled logits vs fp32 over prompt + greedy positions (as verify's gate counts
them), then over --inputs random 44-token inputs (numpy RandomState(12345), the same inputs for every placement):
mean KL, the per-input p90's median, and the fraction of inputs whose p90 exceeds 0.04 (IRON's gate).
"""
import argparse
import json
import math
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Golden")
GATE = 0.04


def bf16(x):
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    b = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) << 16
    return b.astype(np.uint32).view(np.float32)


def exact(x):
    return np.asarray(x, np.float32)


def rmsnorm(x, w, eps):
    return (x / np.sqrt((x.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps)).astype(np.float32) * w


def kl(p_logits, q_logits):
    a = p_logits - p_logits.max(-1, keepdims=True)
    b = q_logits - q_logits.max(-1, keepdims=True)
    lp = a - np.log(np.exp(a).sum(-1, keepdims=True))
    lq = b - np.log(np.exp(b).sum(-1, keepdims=True))
    return (np.exp(lp) * (lp - lq)).sum(-1)


def inv_freq(cfg, hd):
    inv = 1.0 / cfg["rope_theta"] ** (np.arange(0, hd, 2) / hd)
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":  # HF _compute_llama3_parameters
        lo = rs["original_max_position_embeddings"] / rs["low_freq_factor"]
        hi = rs["original_max_position_embeddings"] / rs["high_freq_factor"]
        wl = 2 * math.pi / inv
        s = (rs["original_max_position_embeddings"] / wl - rs["low_freq_factor"]) / (rs["high_freq_factor"] - rs["low_freq_factor"])
        smooth = (1 - s) * inv / rs["factor"] + s * inv
        inv = np.where(wl > lo, inv / rs["factor"], np.where(wl < hi, inv, smooth))
    return inv


class Model:
    def __init__(self, name):
        self.dir = os.path.join(ROOT, name)
        self.cfg = json.load(open(os.path.join(self.dir, "model", "config.json")))
        from safetensors.torch import load_file  # the golden venv's; bf16/kl need numpy only
        self.w = {k: v.float().numpy() for k, v in load_file(os.path.join(self.dir, "model", "model.safetensors")).items()}

    def logits(self, ids, rnd, placement):
        c, W = self.cfg, self.w
        nh, nkv, eps = c["num_attention_heads"], c["num_key_value_heads"], c["rms_norm_eps"]
        hd = c.get("head_dim") or c["hidden_size"] // nh
        qwen3 = c["model_type"] == "qwen3"
        T = len(ids)
        ang = np.outer(np.arange(T), inv_freq(c, hd))
        cos = np.cos(np.concatenate([ang, ang], -1)).astype(np.float32)[:, None]
        sin = np.sin(np.concatenate([ang, ang], -1)).astype(np.float32)[:, None]

        def rope(t):  # HF rotate_half pairing (the HF weights are unpermuted)
            h = hd // 2
            return t * cos + np.concatenate([-t[..., h:], t[..., :h]], -1) * sin

        x = W["model.embed_tokens.weight"][ids]                                   # [T, H]
        for layer in range(c["num_hidden_layers"]):
            p = f"model.layers.{layer}."
            a = rnd(rmsnorm(x, W[p + "input_layernorm.weight"], eps))
            qkv = []
            for n, heads in (("q", nh), ("k", nkv), ("v", nkv)):
                y = a @ W[p + f"self_attn.{n}_proj.weight"].T                     # fp32 accumulator [T, heads*hd]
                bias = W.get(p + f"self_attn.{n}_proj.bias")
                normed = qwen3 and n != "v"
                if bias is not None:
                    y = rnd(y + bias) if placement == "single" else rnd(rnd(y) + bias)
                elif not (normed and placement == "single"):
                    y = rnd(y)
                y = y.reshape(T, heads, hd)
                if normed:
                    y = rnd(rmsnorm(y, W[p + f"self_attn.{n}_norm.weight"], eps))
                qkv.append(y)
            q, k, v = rnd(rope(qkv[0])), rnd(rope(qkv[1])), qkv[2]
            g = nh // nkv
            k, v = np.repeat(k, g, 1), np.repeat(v, g, 1)
            s = np.einsum("thd,shd->hts", q, k) / np.float32(math.sqrt(hd)) + np.triu(np.full((T, T), -np.inf), 1)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o = rnd(np.einsum("hts,shd->thd", s, v).reshape(T, nh * hd))
            x = rnd(x + rnd(o @ W[p + "self_attn.o_proj.weight"].T))
            f = rnd(rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps))
            gate, up = rnd(f @ W[p + "mlp.gate_proj.weight"].T), rnd(f @ W[p + "mlp.up_proj.weight"].T)
            act = rnd(gate / (1 + np.exp(-gate)) * up)
            x = rnd(x + rnd(act @ W[p + "mlp.down_proj.weight"].T))
        x = rnd(rmsnorm(x, W["model.norm.weight"], eps))
        head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
        return (x @ head.T).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--inputs", type=int, default=40)
    a = ap.parse_args()
    m = Model(a.model)
    placements = ("single", "double")
    man = json.load(open(os.path.join(m.dir, "manifest.json")))
    for case in man["cases"]:
        ids = case["prompt_ids"] + case["greedy_ids"][:-1]
        ref = m.logits(ids, exact, "single")
        gold = np.load(os.path.join(m.dir, case["name"], "result_output.npy"))
        line = f"{a.model} golden case {case['name']} ({len(ids)} positions; fp32 model vs golden max |d| " \
               f"{np.abs(ref[:len(gold)] - gold).max():.1e}):"
        for pl in placements:
            line += f"  {pl}: KL p90 {np.percentile(kl(ref, m.logits(ids, bf16, pl)), 90):.4f}"
        print(line)
    rs = np.random.RandomState(12345)
    inputs = [[1] + list(rs.randint(3, m.cfg["vocab_size"], 43)) for _ in range(a.inputs)]
    refs = [m.logits(ids, exact, "single") for ids in inputs]
    for pl in placements:
        ks, p90s, nmse = [], [], []
        for ids, ref in zip(inputs, refs):
            lg = m.logits(ids, bf16, pl)
            k = kl(ref, lg)
            ks.append(k)
            p90s.append(np.percentile(k, 90))
            nmse.append(((lg - ref) ** 2).sum() / (ref ** 2).sum())
        p90s = np.array(p90s)
        print(f"{a.model} {pl}: {a.inputs} random inputs x 44 positions: KL mean {np.concatenate(ks).mean():.4f}, "
              f"per-input p90 median {np.median(p90s):.4f}, p90 > {GATE}: {(p90s > GATE).mean():.0%}, "
              f"logit NMSE mean {np.mean(nmse):.2e}")


if __name__ == "__main__":
    main()
