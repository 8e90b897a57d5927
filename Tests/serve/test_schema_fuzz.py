"""Schema-based fuzzing (schemathesis) of the served /openapi.json, bounded in time: no 5xx, every status, content type,
header and response body as the document says, and every request the schema forbids refused with a 4xx."""
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
          "response_schema_conformance", "negative_data_rejection"]


def test_schemathesis_finds_nothing(guarded_server, tmp_path):
    seconds = os.environ.get("NPULLAMA_SERVE_FUZZ_SECONDS", "30")
    schemathesis = Path(sys.executable).parent / "schemathesis"
    env = dict(os.environ, SCHEMATHESIS_HOOKS=str(HERE / "schemathesis_hooks.py"))
    result = subprocess.run(
        [str(schemathesis), "run", guarded_server.url("/openapi.json"), "--header", "Authorization: Bearer test-key",
         "--checks", ",".join(CHECKS), "--max-time", seconds, "--workers", "1", "--request-timeout", "30",
         "--suppress-health-check", "all", "--no-color"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=int(seconds) + 180)   # its cache stays out of the tree
    summary = result.stdout[-3000:]
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
    assert "No issues found" in summary, summary
    # The fuzz reached the device, not only the validation.
    generated = guarded_server.metrics()
    assert generated['npu_llama_requests_total{endpoint="/v1/chat/completions",status="200"}'] >= 3, generated
    assert generated['npu_llama_requests_total{endpoint="/v1/completions",status="200"}'] >= 3, generated
    assert not any(k.startswith("npu_llama_requests_total") and 'status="5' in k for k in generated), generated
