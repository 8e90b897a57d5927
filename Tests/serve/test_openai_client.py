"""The official `openai` client against the server: chat and completions, streamed and not, equal to
`npu-llama generate` for the same prompt and chat format (greedy), with the right usage counts."""
import json

import openai
import pytest

from conftest import MODEL, npu_llama

QUESTION = "What is the capital of France?"


def generate(prompt, max_tokens, chat):
    """`npu-llama generate --json` on the CPU reference: the ids and text the server must reproduce."""
    args = ["generate", "--device", "reference", "--quiet", "--json", "--max-tokens", str(max_tokens)]
    r = npu_llama(*args, *(["--chat"] if chat else []), prompt)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def chat_reference():
    return generate(QUESTION, 24, chat=True)


@pytest.fixture(scope="module")
def completion_reference():
    return generate("The capital of France is", 12, chat=False)


def generated_count(ref):
    """Generated tokens, the end-of-turn token included (as `usage.completion_tokens` counts them)."""
    return len(ref["generated_ids"])


def test_models_lists_the_served_model(client):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_chat_equals_generate(client, chat_reference):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                       temperature=0, max_tokens=24)
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-") and r.model == MODEL
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == chat_reference["text"]
    assert "Paris" in choice.message.content
    stopped = chat_reference["stop_reason"] == "stop-token"
    assert choice.finish_reason == ("stop" if stopped else "length")
    assert r.usage.prompt_tokens == len(chat_reference["prompt_ids"])
    assert r.usage.completion_tokens == generated_count(chat_reference)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.system_fingerprint == "npu-llama-cpu-reference"


def test_chat_stream_equals_generate(client, chat_reference):
    stream = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                            temperature=0, max_tokens=24, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == chat_reference["text"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop" if chat_reference["stop_reason"] == "stop-token" else "length"]
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage.prompt_tokens == len(chat_reference["prompt_ids"])
    assert usage.completion_tokens == generated_count(chat_reference)
    assert all(c.usage is None for c in chunks[:-1])
    # One chunk per generated token (the end-of-turn token is not text), each a whole piece of text.
    token_chunks = [c for c in chunks if c.choices and c.choices[0].finish_reason is None][1:]
    shown = generated_count(chat_reference) - (1 if chat_reference["stop_reason"] == "stop-token" else 0)
    assert len(token_chunks) == shown
    assert len(content_chunks) <= shown


def test_completion_equals_generate(client, completion_reference):
    r = client.completions.create(model=MODEL, prompt="The capital of France is", temperature=0, max_tokens=12)
    assert r.object == "text_completion" and r.id.startswith("cmpl-")
    assert r.choices[0].text == completion_reference["text"]
    assert r.usage.prompt_tokens == len(completion_reference["prompt_ids"])
    assert r.usage.completion_tokens == len(completion_reference["generated_ids"])
    # The same prompt as token ids gives the same answer.
    by_ids = client.completions.create(model=MODEL, prompt=completion_reference["prompt_ids"], temperature=0, max_tokens=12)
    assert by_ids.choices[0].text == completion_reference["text"]


def test_completion_stream_equals_generate(client, completion_reference):
    chunks = list(client.completions.create(model=MODEL, prompt="The capital of France is", temperature=0,
                                            max_tokens=12, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == completion_reference["text"]
    assert chunks[-1].usage.completion_tokens == len(completion_reference["generated_ids"])
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]


def test_conversation_reuses_the_kv_cache(client, chat_reference):
    """The second turn's prompt starts with the first turn's: its prefill skips them (usage says how many)."""
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                           temperature=0, max_tokens=24)
    messages = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "And of Italy?"}]
    second = client.chat.completions.create(model=MODEL, messages=messages, temperature=0, max_tokens=12)
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens, (cached, first.usage)
    assert cached < second.usage.prompt_tokens


def test_logprobs_stream_and_not_agree(client):
    kwargs = dict(model=MODEL, messages=[{"role": "user", "content": QUESTION}], temperature=0, max_tokens=6,
                  logprobs=True, top_logprobs=3)
    r = client.chat.completions.create(**kwargs)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens - (1 if r.choices[0].finish_reason == "stop" else 0)
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert entry.top_logprobs[0].token == entry.token
        assert abs(entry.top_logprobs[0].logprob - entry.logprob) < 1e-9
        assert bytes(entry.bytes).decode("utf-8", "replace") == entry.token
    assert "".join(e.token for e in content) == r.choices[0].message.content
    streamed = [c.choices[0].logprobs.content[0] for c in client.chat.completions.create(**kwargs, stream=True)
                if c.choices and c.choices[0].logprobs]
    assert [e.token for e in streamed] == [e.token for e in content]
    assert all(abs(a.logprob - b.logprob) < 1e-4 for a, b in zip(streamed, content))


def test_completion_logprobs(client):
    r = client.completions.create(model=MODEL, prompt="The capital of France is", temperature=0, max_tokens=4, logprobs=2)
    lp = r.choices[0].logprobs
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == 4
    assert "".join(lp.tokens) == r.choices[0].text
    assert lp.text_offset[0] == 0 and all(b >= a for a, b in zip(lp.text_offset, lp.text_offset[1:]))
    for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert max(top.values()) == pytest.approx(logprob) and top[token] == pytest.approx(logprob)


def test_seeded_sampling_repeats_and_stops_cut(client):
    kwargs = dict(model=MODEL, messages=[{"role": "user", "content": "Tell me a story about a cat."}],
                  temperature=0.9, top_p=0.95, max_tokens=16)
    a = client.chat.completions.create(**kwargs, seed=42).choices[0].message.content
    b = client.chat.completions.create(**kwargs, seed=42).choices[0].message.content
    assert a == b
    full = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                          temperature=0, max_tokens=24).choices[0].message.content
    cut = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                         temperature=0, max_tokens=24, stop=["Paris", "zzz"])
    assert cut.choices[0].message.content == full[:full.index("Paris")]
    assert cut.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], temperature=0, max_tokens=24, stop="Paris",
        stream=True) if c.choices)
    assert streamed == cut.choices[0].message.content


def test_client_errors_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "model_not_found" and e.value.param == "model"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], n=2)
    assert e.value.param == "n"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "word " * 5000}])
    assert e.value.code == "context_length_exceeded"


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def test_tools_need_a_template_that_reads_them(client):
    # SmolLM2-Instruct's own template never reads `tools`: the model cannot be shown them, and the answer says so.
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER])
    assert e.value.param == "tools" and "template" in str(e.value)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], tool_choice="required")
    assert e.value.param == "tool_choice"


def test_tool_calls_and_results_reach_the_template(client):
    # An OpenAI client's round trip (assistant content null beside tool_calls, arguments as a JSON string, a tool
    # message) renders through the model's template and is answered.
    messages = [{"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "22 degrees"}]
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=3, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length") and r.choices[0].message.tool_calls is None
    assert r.usage.prompt_tokens > 10
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=MODEL, messages=[{"role": "tool", "content": "22"}])
    assert e.value.param == "messages.0.tool_call_id"
