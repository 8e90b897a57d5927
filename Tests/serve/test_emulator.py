"""One case on the emulated NPU (`--device emulator`: the NPU backend, its runlists and the real kernel sources run on
the CPU, slowly): greedy completions through the server, streamed, equal `npu-llama generate --device emulator` for
the same prompts — the second one continuing the first's prompt, so the NPU backend runs it from its kept KV cache
(step with start = the common prefix: decode steps up to the chunk boundary) and must give the first token of a fresh
prefill (one prefill chunk)."""
import json

from conftest import MODEL, Server, npu_llama

PROMPTS = ["The capital of France is", "The capital of France is a city"]
TOKENS = 3


def generate(prompt):
    r = npu_llama("generate", "--device", "emulator", "--quiet", "--json", "--max-tokens", str(TOKENS),
                  "--context", "128", prompt, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_emulator_completions_equal_generate():
    expected = [generate(p) for p in PROMPTS]
    s = Server("--context", "128", device="emulator", start_timeout=600)
    try:
        import openai
        client = openai.OpenAI(base_url=s.url("/v1"), api_key="unused", max_retries=0, timeout=600)
        assert s.get_json("/health")["device"] == "emulated NPU"
        for i, (prompt, ref) in enumerate(zip(PROMPTS, expected)):
            chunks = list(client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=TOKENS,
                                                    stream=True, stream_options={"include_usage": True}))
            assert chunks[0].system_fingerprint == "npu-llama-emulated-npu"
            texts = [c.choices[0].text for c in chunks if c.choices]
            if i == 0:
                assert "".join(texts) == ref["text"], prompt
            else:
                # from the cached prefix the new prompt rows run as decode steps up to the next chunk boundary (the
                # prefill contract, Kernels/decode/README.md "Prefill"), where a fresh generate prefills them in one
                # chunk: the same greedy first token; later tokens may differ where the two paths' bf16 roundings
                # (gemv and hub vs mmul and row core) meet a near tie (PrefillBackendTests bounds their logits' KL)
                first = next(t for t in texts if t)
                assert ref["text"].startswith(first), (prompt, "".join(texts), ref["text"])
            usage = chunks[-1].usage
            assert usage.prompt_tokens == len(ref["prompt_ids"])
            assert usage.completion_tokens == len(ref["generated_ids"]) == TOKENS
            if i == 1:
                common = 0
                while (common < len(expected[0]["prompt_ids"]) and
                       expected[0]["prompt_ids"][common] == ref["prompt_ids"][common]):
                    common += 1
                assert usage.prompt_tokens_details.cached_tokens == common > 0, "the first prompt's K/V was reused"
    finally:
        assert s.stop() == 0, "".join(s.stderr_lines)
