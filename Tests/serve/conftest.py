"""The real `npu-llama serve` process on loopback, for the server tests (pytest fixtures).

Each server runs SmolLM2-135M-Instruct from the model cache on the CPU reference (`--device reference`), on a free
port picked by the server itself (`--port 0`; its 'listening on' line names it). Nothing leaves 127.0.0.1.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL_CACHE = Path(os.environ.get("NPULLAMA_CACHE", Path.home() / ".cache" / "npu-llama")) / "models"
SMOLLM2 = Path(os.environ.get("NPULLAMA_SMOLLM2_GGUF", MODEL_CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"))
BINARY = Path(os.environ.get("NPULLAMA_BIN", REPO / ".build" / "debug" / "npu-llama"))
MODEL = "smollm2"
#: Figures tests report (the load test's); printed in pytest's summary, so CI logs keep them.
REPORT = []


def pytest_terminal_summary(terminalreporter):
    for line in REPORT:
        terminalreporter.write_line(line)


def npu_llama(*args, timeout=300):
    """Runs the npu-llama binary (e.g. `generate`) and returns its completed process."""
    return subprocess.run([str(BINARY), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


class Server:
    """A running `npu-llama serve`; stderr is collected (and shown when a test fails)."""

    def __init__(self, *args, device="reference", start_timeout=180):
        if not BINARY.exists():
            pytest.fail(f"{BINARY} is not built: run `swift build --product npu-llama` (Tools/serve-tests.sh does)")
        if not SMOLLM2.exists():
            pytest.fail(f"SmolLM2 is not in the model cache ({SMOLLM2}): run Tools/fetch-models.sh")
        self.args = ["serve", "--model", MODEL, "--device", device, "--port", "0", "--quiet", *args]
        self.proc = subprocess.Popen([str(BINARY), *self.args], cwd=REPO, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.stderr_lines = []
        self.port = None
        ready = threading.Event()

        def read_stderr():
            for line in self.proc.stderr:
                self.stderr_lines.append(line)
                match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=read_stderr, daemon=True).start()
        if not ready.wait(start_timeout) or self.port is None:
            self.stop()
            raise RuntimeError("npu-llama serve did not start:\n" + "".join(self.stderr_lines))
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def get_json(self, path, timeout=10):
        with urllib.request.urlopen(self.url(path), timeout=timeout) as r:
            return json.loads(r.read())

    def metrics(self):
        """The /metrics samples as {'name{labels}': value}."""
        with urllib.request.urlopen(self.url("/metrics"), timeout=10) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                out[key] = float(value)
        return out

    def rss_kib(self):
        """Resident memory of the server process (kB, from /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def wait_idle(self, timeout=10):
        """Waits until the device runs nothing and nothing waits; returns the seconds it took."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            h = self.get_json("/health")
            if not h["busy"] and h["queue_depth"] == 0:
                return time.monotonic() - t0
            time.sleep(0.02)
        raise AssertionError(f"the server is still busy after {timeout} s: {h}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def openapi_validator(name):
    """A JSON Schema validator for components.schemas[name] of the committed OpenAPI document (Draft 2020-12, as
    OpenAPI 3.1): the tests hold every body and stream chunk they read to the document, not only the fuzz."""
    import jsonschema_rs
    document = json.loads((REPO / "Sources" / "Server" / "openapi.json").read_text())
    validator = jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})

    def validate(value):
        validator.validate(value)
        return value
    return validate


@pytest.fixture(scope="session")
def server():
    """The main server: reference device, 4 waiting places (the load test fills them), 60 s deadlines."""
    s = Server("--queue", "4", "--timeout", "60")
    yield s
    assert s.stop() == 0, "".join(s.stderr_lines)
    assert s.proc.returncode == 0


@pytest.fixture(scope="session")
def guarded_server():
    """API key, CORS, a 64 KiB body limit, a 512-token context and 3 s deadlines (the fuzz runs against it)."""
    s = Server("--api-key", "test-key", "--cors", "--max-body", "65536", "--context", "512", "--timeout", "3")
    yield s
    assert s.stop() == 0, "".join(s.stderr_lines)


@pytest.fixture()
def client(server):
    import openai
    return openai.OpenAI(base_url=server.url("/v1"), api_key="unused", max_retries=0, timeout=120)
