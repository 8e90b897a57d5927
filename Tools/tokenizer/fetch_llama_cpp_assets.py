#!/usr/bin/env python3
# Fetches llama.cpp's test vocabularies, .inp/.out vectors and chat templates from the llama-cpp-python sdist on PyPI.
"""The sdist `llama-cpp-python==0.3.16` (50.7 MB) carries llama.cpp's `models/ggml-vocab-*.gguf` with
their `.inp`/`.out` test vectors and `models/templates/*.jinja`. `pip download --no-binary :all:` fetches
the archive in seconds and then spends minutes building metadata it does not need for a download; this
script runs pip with a private TMPDIR, waits until the archive there has its known size and sha256 (it
is complete once its size stops changing), copies it and stops pip. Every member it extracts is checked
against Tools/tokenizer/llama_cpp_assets.txt (size + sha256).

Usage: python3 Tools/tokenizer/fetch_llama_cpp_assets.py
  NPULLAMA_CACHE  cache root (default ~/.cache/npu-llama); files go to $NPULLAMA_CACHE/llama.cpp-0.3.16/models/
  Idempotent: present files with the right sha256 are left alone. Exit 0 on success, 1 with a reason.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENT = "llama-cpp-python==0.3.16"
SDIST = "llama_cpp_python-0.3.16.tar.gz"
PREFIX = "llama_cpp_python-0.3.16/vendor/llama.cpp/models/"


def cache_root() -> Path:
    return Path(os.environ.get("NPULLAMA_CACHE", str(Path.home() / ".cache/npu-llama")))


def manifest():
    """(sdist size, sdist sha256), [(relative path, size, sha256)] from llama_cpp_assets.txt."""
    sdist, assets = None, []
    for line in (HERE / "llama_cpp_assets.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# sdist "):
            _, _, name, size, sha = line.split()
            sdist = (int(size), sha)
        elif line and not line.startswith("#"):
            path, size, sha = line.split()
            assets.append((path, int(size), sha))
    if sdist is None:
        sys.exit("fetch-llama-cpp-assets: llama_cpp_assets.txt lacks its '# sdist' line")
    return sdist, assets


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def missing(dest: Path, assets):
    return [a for a in assets if not (dest / a[0]).is_file() or (dest / a[0]).stat().st_size != a[1]
            or sha256(dest / a[0]) != a[2]]


def download_sdist(size: int, sha: str, out: Path, timeout: float = 600) -> None:
    """pip download with a private TMPDIR; take the archive from pip's unpack folder once it is whole."""
    private = Path(tempfile.mkdtemp(prefix="npullama-sdist-"))
    env = dict(os.environ, TMPDIR=str(private), PIP_DISABLE_PIP_VERSION_CHECK="1")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", REQUIREMENT,
           "-d", str(private / "dest")]
    print(f"fetch-llama-cpp-assets: {' '.join(cmd[2:])} (taking the archive as soon as it is complete)")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        last = {}
        while time.monotonic() < deadline:
            candidates = list(private.rglob(SDIST))
            for c in candidates:
                try:
                    n = c.stat().st_size
                except FileNotFoundError:
                    continue
                steady = last.get(c) == n
                last[c] = n
                if n == size and steady and sha256(c) == sha:
                    shutil.copyfile(c, out)
                    return
            if proc.poll() is not None and not candidates:
                err = proc.stderr.read().decode(errors="replace")[-2000:]
                sys.exit(f"fetch-llama-cpp-assets: pip exited {proc.returncode} without the archive "
                         f"(is PyPI reachable?)\n{err}")
            time.sleep(0.5)
        sys.exit(f"fetch-llama-cpp-assets: no complete {SDIST} after {timeout:.0f} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(private, ignore_errors=True)


def main() -> int:
    (sdist_size, sdist_sha), assets = manifest()
    dest = cache_root() / "llama.cpp-0.3.16" / "models"
    todo = missing(dest, assets)
    if not todo:
        print(f"fetch-llama-cpp-assets: ok, {len(assets)} files already present ({dest})")
        return 0
    with tempfile.TemporaryDirectory(prefix="npullama-llamacpp-") as tmp:
        archive = Path(tmp) / SDIST
        download_sdist(sdist_size, sdist_sha, archive)
        with tarfile.open(archive, "r:gz") as tar:
            for path, size, sha in todo:
                try:
                    info = tar.getmember(PREFIX + path)
                except KeyError:
                    sys.exit(f"fetch-llama-cpp-assets: {SDIST} has no {PREFIX + path}")
                if not info.isfile() or info.size != size:
                    sys.exit(f"fetch-llama-cpp-assets: {path} is {info.size} bytes in the sdist, expected {size}")
                target = dest / path
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_name(target.name + ".part")
                with tar.extractfile(info) as src, open(part, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                if sha256(part) != sha:
                    part.unlink()
                    sys.exit(f"fetch-llama-cpp-assets: {path} has the wrong sha256")
                part.replace(target)
    print(f"fetch-llama-cpp-assets: ok, wrote {len(todo)} files to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
