"""Bad requests get OpenAI's error object with the right status — never a crash, never a hung connection — and the
guarded server's API key, CORS and body limit."""
import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from conftest import MODEL, openapi_validator

CHAT = "/v1/chat/completions"


def post(server, path, body, headers=None, timeout=30):
    """POSTs raw bytes; returns (status, headers, parsed JSON or raw text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(server.url(path), data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_of(status_headers_body, status):
    code, headers, body = status_headers_body
    assert code == status, body
    assert headers["Content-Type"] == "application/json"
    error = openapi_validator("ErrorResponse")(json.loads(body))["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def raw_exchange(server, payload, timeout=10):
    """Sends raw bytes on a fresh connection and reads until the server closes it or `timeout` passes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize("body, param, code", [
    (b"{not json", None, "invalid_json"),
    (b"", None, None),
    (b'"a string"', None, "invalid_json"),
    (b"[" * 100000 + b"]" * 100000, None, "invalid_json"),
    (b'{"model": "smollm2", "messages": [{"role": "user", "content": "\\ud800"}]}', None, None),
    (b'{"model": "smollm2", "messages": [{"role": "user", "content": "\xff\xfe"}]}', None, "invalid_json"),
    (json.dumps({"model": MODEL, "messages": "hello"}).encode(), "messages", "invalid_type"),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": 5}]}).encode(), "messages.0.content", None),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "a"}], "temperature": "hot"}).encode(), "temperature", "invalid_type"),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "a"}], "max_tokens": 2.5}).encode(), "max_tokens", None),
    (json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "a"}], "n": 3}).encode(), "n", "unsupported_parameter"),
    (json.dumps({"model": MODEL, "messages": [{"role": "wizard", "content": "a"}]}).encode(), "messages.0.role", "invalid_value"),
    (json.dumps({"messages": [{"role": "user", "content": "a"}]}).encode(), "model", "missing_required_parameter"),
])
def test_malformed_and_wrongly_typed_bodies_are_400(server, body, param, code):
    error = error_of(post(server, CHAT, body), 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    if code:
        assert error["code"] == code


def test_unknown_model_path_and_method(server):
    error = error_of(post(server, CHAT, {"model": "llama-9000", "messages": [{"role": "user", "content": "a"}]}), 404)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    error = error_of(post(server, "/v1/embeddings", {"model": MODEL, "input": "a"}), 404)
    assert error["code"] == "unknown_url"
    error = error_of(post(server, "/health", {}), 405)
    assert error["code"] == "method_not_allowed"


def test_prompt_longer_than_the_context(guarded_server):
    error = error_of(post(guarded_server, "/v1/completions", {"model": MODEL, "prompt": "the cat " * 400},
                          headers={"Authorization": "Bearer test-key"}), 400)
    assert error["code"] == "context_length_exceeded" and error["param"] == "prompt"
    assert "512" in error["message"]


def test_body_over_the_limit_is_413(guarded_server):
    big = json.dumps({"model": MODEL, "prompt": "x" * 70000}).encode()
    error = error_of(post(guarded_server, "/v1/completions", big, headers={"Authorization": "Bearer test-key"}), 413)
    assert error["code"] == "request_too_large"
    # Chunked (no Content-Length): refused while reading.
    chunks = b"".join(b"%x\r\n" % 8192 + b"a" * 8192 + b"\r\n" for _ in range(10)) + b"0\r\n\r\n"
    reply = raw_exchange(guarded_server, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer test-key\r\n"
                         b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_api_key(guarded_server):
    body = {"model": MODEL, "prompt": "Hi", "max_tokens": 1}
    error = error_of(post(guarded_server, "/v1/completions", body), 401)
    assert error["code"] == "invalid_api_key"
    code, headers, _ = post(guarded_server, "/v1/completions", body, headers={"Authorization": "Bearer wrong"})
    assert code == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert post(guarded_server, "/v1/completions", body, headers={"Authorization": "Bearer test-key"})[0] == 200
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(guarded_server.url("/v1/models"), timeout=10)
    assert e.value.code == 401
    assert guarded_server.get_json("/health")["status"] == "ok", "probes need no key"


def test_cors_only_when_asked(server, guarded_server):
    preflight = urllib.request.Request(guarded_server.url(CHAT), method="OPTIONS", headers={
        "Origin": "http://example.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    with urllib.request.urlopen(preflight, timeout=10) as r:
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    code, headers, _ = post(guarded_server, "/v1/completions", {"model": MODEL, "prompt": "Hi", "max_tokens": 1},
                            headers={"Authorization": "Bearer test-key", "Origin": "http://example.test"})
    assert code == 200 and headers["Access-Control-Allow-Origin"] == "*"
    # Without --cors: no CORS header, and OPTIONS is not an allowed method.
    code, headers, _ = post(server, "/v1/completions", {"model": MODEL, "prompt": "Hi", "max_tokens": 1},
                            headers={"Origin": "http://example.test"})
    assert code == 200 and "Access-Control-Allow-Origin" not in headers
    preflight = urllib.request.Request(server.url(CHAT), method="OPTIONS", headers={"Origin": "http://example.test"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(preflight, timeout=10)
    assert e.value.code == 405


def test_broken_http_never_hangs_or_crashes(server):
    t0 = time.monotonic()
    assert raw_exchange(server, b"HELLO\r\n\r\n").startswith(b"HTTP/1.1 400")
    # A body shorter than its Content-Length, then the client closes: the server drops it and carries on.
    raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"model\":")
    # A header block that never ends, then close.
    raw_exchange(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 200000)
    assert time.monotonic() - t0 < 30
    assert server.get_json("/health")["status"] == "ok"
    assert server.proc.poll() is None
