"""One case on the emulated NPU (`--device emulator`: the NPU backend, its runlists and the real kernel sources run on
the CPU, slowly): a greedy completion through the server, streamed, equals `npu-llama generate --device emulator` for
the same prompt."""
import json

from conftest import MODEL, Server, npu_llama

PROMPT = "The capital of France is"
TOKENS = 3


def test_emulator_completion_equals_generate():
    ref = npu_llama("generate", "--device", "emulator", "--quiet", "--json", "--max-tokens", str(TOKENS),
                    "--context", "128", PROMPT, timeout=600)
    assert ref.returncode == 0, ref.stderr
    expected = json.loads(ref.stdout)
    s = Server("--context", "128", device="emulator", start_timeout=600)
    try:
        import openai
        client = openai.OpenAI(base_url=s.url("/v1"), api_key="unused", max_retries=0, timeout=600)
        assert s.get_json("/health")["device"] == "emulated NPU"
        chunks = list(client.completions.create(model=MODEL, prompt=PROMPT, temperature=0, max_tokens=TOKENS, stream=True,
                                                stream_options={"include_usage": True}))
        assert chunks[0].system_fingerprint == "npu-llama-emulated-npu"
        assert "".join(c.choices[0].text for c in chunks if c.choices) == expected["text"]
        assert chunks[-1].usage.prompt_tokens == len(expected["prompt_ids"])
        assert chunks[-1].usage.completion_tokens == len(expected["generated_ids"]) == TOKENS
    finally:
        assert s.stop() == 0, "".join(s.stderr_lines)
