"""curl against the server: SSE framing and headers byte by byte (every event a `data: {json}` line and a blank
line, `data: [DONE]` last, each event whole UTF-8), and plain JSON responses' headers."""
import json
import subprocess

from conftest import MODEL, openapi_validator


def curl(server, path, body=None, headers=(), extra=()):
    """Runs curl (-i: status line and headers kept) and returns (status, {header: value}, raw body bytes)."""
    args = ["curl", "-sS", "-i", "-N", "--max-time", "120", *extra]
    for h in headers:
        args += ["-H", h]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    raw = subprocess.run(args + [server.url(path)], capture_output=True, timeout=150, check=True).stdout
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return status, fields, payload




def events(payload):
    """Splits an SSE body into its events, checking the framing: only `data: ` lines, one per event."""
    assert payload.endswith(b"\n\n"), payload[-40:]
    blocks = payload[:-2].split(b"\n\n")
    out = []
    for block in blocks:
        assert block.startswith(b"data: ") and b"\n" not in block, block
        out.append(block[len(b"data: "):])
    return out


def test_chat_stream_framing_and_headers(server):
    status, headers, payload = curl(server, "/v1/chat/completions", {
        "model": MODEL, "messages": [{"role": "user", "content": "Write a short sentence in French, with accents."}],
        "temperature": 0, "max_tokens": 24, "stream": True, "stream_options": {"include_usage": True}})
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert "content-length" not in headers and headers.get("transfer-encoding") == "chunked"
    data = events(payload)
    assert data[-1] == b"[DONE]"
    chunk_schema = openapi_validator("ChatCompletionChunk")
    chunks = [chunk_schema(json.loads(d.decode("utf-8", "strict"))) for d in data[:-1]]   # strict: no event splits a character
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["delta"] == {}
    usage = chunks[-1]["usage"]
    token_events = [c for c in chunks[1:] if c["choices"] and c["choices"][0]["finish_reason"] is None]
    stopped = finish[0]["choices"][0]["finish_reason"] == "stop"
    assert len(token_events) == usage["completion_tokens"] - (1 if stopped else 0), "one chunk per generated token"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert "\ufffd" not in text


def test_completion_stream_framing(server):
    status, headers, payload = curl(server, "/v1/completions", {
        "model": MODEL, "prompt": "Once upon a time", "temperature": 0, "max_tokens": 5, "stream": True})
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    data = events(payload)
    assert data[-1] == b"[DONE]"
    chunk_schema = openapi_validator("CompletionChunk")
    chunks = [chunk_schema(json.loads(d)) for d in data[:-1]]
    assert len(chunks) == 6, "5 token chunks and the finish chunk"
    assert all(c["object"] == "text_completion" and "usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_json_responses_and_errors_have_their_headers(server):
    status, headers, payload = curl(server, "/v1/chat/completions", {
        "model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "logprobs": True, "top_logprobs": 2})
    assert status == 200 and headers["content-type"] == "application/json"
    openapi_validator("ChatCompletion")(json.loads(payload))
    status, headers, payload = curl(server, "/v1/completions", {"model": MODEL, "prompt": "Hi", "max_tokens": 3, "logprobs": 1})
    assert status == 200
    openapi_validator("Completion")(json.loads(payload))
    status, headers, payload = curl(server, "/health")
    assert status == 200
    openapi_validator("Health")(json.loads(payload))
    status, headers, payload = curl(server, "/v1/models")
    assert status == 200 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(payload)
    assert headers["server"] == "npu-llama"
    status, headers, payload = curl(server, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    status, headers, payload = curl(server, "/v1/chat/completions", extra=["-X", "GET"])
    assert status == 405 and headers["allow"] == "POST"
    assert openapi_validator("ErrorResponse")(json.loads(payload))["error"]["code"] == "method_not_allowed"
    status, headers, payload = curl(server, "/openapi.json")
    assert status == 200 and json.loads(payload)["openapi"] == "3.1.0"
