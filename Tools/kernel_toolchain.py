#!/usr/bin/env python3
# The kernel toolchain as the real tools expose it: mlir-aie's configuration API (headers, Peano), the C++ aiecc, Peano's clang++/ld.lld, XRT's xclbinutil, their versions, the aie2p compile flags, and the kernel signature the installed aiecc emits.
#
# Facts (read from the real sources; none of their code):
# - Headers and Peano come from mlir-aie's own configuration API, not from where the aiecc console script lives:
#   `aie.utils.config.root_path()` / `cxx_header_path()` (= root_path()/include) / `peano_install_dir()`
#   (mlir-aie python/utils/config.py); programming_examples/makefile-common takes MLIR_AIE_DIR from root_path().
#   With the pip wheels that is site-packages/mlir_aie; the llvm-aie wheel installs Peano at site-packages/llvm-aie
#   (mlir-aie utils/env_setup.sh). aiecc itself looks at --peano, then PEANO_INSTALL_DIR (tools/aiecc/aiecc.cpp
#   discoverPeanoInstallDir): we pass --peano explicitly, so PEANO_INSTALL_DIR is not required.
# - aie2p kernel objects: `-O2 -std=c++20 --target=aie2p-none-unknown-elf ${WARNING_FLAGS} -DNDEBUG -I <root>/include`
#   with WARNING_FLAGS the five -Wno-… of makefile-common (PEANOWRAP2P_FLAGS). We add -ffunction-sections
#   -fdata-sections: each role's object is `ld.lld -r` of several sources, and a relocatable link keeps
#   per-function sections apart, so aiecc's per-core link (-Wl,--gc-sections, aiecc.cpp) still drops what a core
#   does not call.
# - The wheels exist for CPython 3.10–3.14 (utils/mlir_aie_wheels/python_bindings/pyproject.toml cibuildwheel
#   `build`); we require 3.12+ as our setup (Tools/setup-npu.sh) installs.
# - aiecc writes each kernel's JSON (opcode, instr, ninstr, then bo0… buffers) into its --tmpdir, even with -n
#   (aiecc.cpp generateCdoArtifacts "Generate JSON metadata files for xclbin even in dry-run mode");
#   generateKernelsJson emits FIVE buffers (`for (int i = 0; i < 5; i++)`) before mlir-aie PR #3252 (July 2026),
#   which widens it; before it a sixth buffer's DMA never ran (issue #3248). `probe_signature` reads what the
#   installed aiecc emits, so the build refuses a design it cannot carry.
# - Without xclbinutil on PATH aiecc prints a warning only with --verbose, skips the xclbin and exits 0
#   (aiecc.cpp generateCdoArtifacts "xclbinutil not found, skipping xclbin generation"): we check it first.
import glob
import json
import os
import shutil
import subprocess
import sys

WARNING_FLAGS = ["-Wno-parentheses", "-Wno-attributes", "-Wno-macro-redefined", "-Wno-empty-body",
                 "-Wno-missing-template-arg-list-after-template-kw"]
AIE2P_FLAGS = ["-O2", "-std=c++20", "--target=aie2p-none-unknown-elf", *WARNING_FLAGS, "-DNDEBUG"]
OUR_FLAGS = ["-ffunction-sections", "-fdata-sections"]
MIN_PYTHON = (3, 12)
MAX_PYTHON = (3, 14)
FIVE_BUFFERS_NOTE = ("mlir-aie before PR #3252 (July 2026) emits five buffer arguments bo0..bo4 per kernel "
                     "(tools/aiecc/aiecc.cpp generateKernelsJson); a sixth buffer's DMA never ran (issue #3248)")

# What the installed mlir-aie's Python reports, run in the toolchain's interpreter (it may be a venv's).
_PROBE = r"""
import json, sys
out = {"python": list(sys.version_info[:3])}
try:
    from aie.utils import config
    out["root"] = config.root_path()
    out["include"] = config.cxx_header_path()
    try:
        out["peano"] = config.peano_install_dir()
    except Exception as e:
        out["peanoError"] = str(e)
except Exception as e:
    out["configError"] = f"{type(e).__name__}: {e}"
try:
    import aie.iron
except Exception as e:
    out["ironError"] = f"{type(e).__name__}: {e}"
import importlib.metadata as md
for dist in ("mlir_aie", "llvm-aie"):
    try:
        out[dist] = md.version(dist)
    except Exception:
        pass
try:
    out["llvmAieLocation"] = str(md.distribution("llvm-aie").locate_file("llvm-aie"))
except Exception:
    pass
print(json.dumps(out))
"""


class ToolchainMissing(Exception):
    """What is missing, one line each, and how to get it."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


def _first_line(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    text = (r.stdout or r.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def aiecc_version(text):
    """The commit of `aiecc --version` ("aiecc (C++ version) <commit>", aiecc.cpp printVersion), else the text."""
    for line in text.splitlines():
        if "aiecc" in line and "version" in line:
            return line.split()[-1]
    return text.strip()


def python_ok(version):
    return MIN_PYTHON <= tuple(version[:2]) <= MAX_PYTHON


class Toolchain:
    """Paths and versions of one installed kernel toolchain."""

    def __init__(self, python, aiecc, root, include, peano, xclbinutil, versions):
        self.python, self.aiecc, self.root, self.include, self.peano = python, aiecc, root, include, peano
        self.xclbinutil, self.versions = xclbinutil, versions
        self.clang = os.path.join(peano, "bin", "clang++")
        self.ld = os.path.join(peano, "bin", "ld.lld")

    def summary(self):
        return ", ".join(f"{k} {v}" for k, v in sorted(self.versions.items()))

    def compile_command(self, source, obj):
        """One aie2p kernel source to an object, as makefile-common's PEANOWRAP2P_FLAGS (plus OUR_FLAGS)."""
        return [self.clang, *AIE2P_FLAGS, *OUR_FLAGS, "-I", self.include, "-c", source, "-o", obj]

    def link_command(self, parts, obj):
        return [self.ld, "-r", "-o", obj, *parts]


def setup_venv_python(env):
    """The venv Tools/setup-npu.sh makes ($NPULLAMA_CACHE/venv-aie), when it exists."""
    cache = env.get("NPULLAMA_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "npu-llama")
    python = os.path.join(cache, "venv-aie", "bin", "python")
    return python if os.access(python, os.X_OK) else None


def discover(python=None, env=None):
    """The toolchain on this machine, or ToolchainMissing listing every missing piece with its fix."""
    env = os.environ if env is None else env
    python = python or env.get("NPULLAMA_AIE_PYTHON") or setup_venv_python(env) or sys.executable
    path = env.get("PATH", os.defpath)
    problems = []
    try:
        r = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=300, env=dict(env))
        info = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else {}
        if not info:
            problems.append(f"{python} could not run the mlir-aie probe ({r.stderr.strip()[-300:]})")
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        info = {}
        problems.append(f"{python} could not run the mlir-aie probe ({e})")
    if info and not python_ok(info["python"]):
        v = ".".join(map(str, info["python"]))
        problems.append(f"{python} is Python {v}; the mlir-aie wheels we use need Python "
                        f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]}–{MAX_PYTHON[0]}.{MAX_PYTHON[1]} (Tools/setup-npu.sh makes such a venv)")
    if info.get("configError") or (info and "root" not in info):
        problems.append(f"mlir-aie's configuration API (aie.utils.config) does not import in {python}: "
                        f"{info.get('configError', 'no root path')}")
    if info.get("ironError"):
        problems.append(f"mlir-aie's IRON (aie.iron) does not import: {info['ironError']}")
    peano = info.get("peano") or env.get("PEANO_INSTALL_DIR") or info.get("llvmAieLocation")
    if not peano or not os.path.isfile(os.path.join(peano, "bin", "clang++")):
        problems.append("no Peano (llvm-aie) install: neither aie.utils.config.peano_install_dir(), PEANO_INSTALL_DIR "
                        "nor the llvm-aie wheel names a directory with bin/clang++")
    # the C++ aiecc: next to the interpreter (the venv's console scripts), in mlir-aie's own bin/, or on PATH
    dirs = [os.path.dirname(python)] + ([os.path.join(info["root"], "bin")] if info.get("root") else []) + [path]
    aiecc = next((found for name in ("aiecc", "aiecc.py") for d in dirs for found in [shutil.which(name, path=d)]
                  if found), None)
    if not aiecc:
        problems.append("aiecc (mlir-aie's compiler driver) is on neither PATH nor next to " + python)
    xclbinutil = shutil.which("xclbinutil", path=path) or shutil.which("xclbinutil", path="/opt/xilinx/xrt/bin")
    if not xclbinutil:
        problems.append("XRT's xclbinutil is not on PATH (source /opt/xilinx/xrt/setup.sh); without it aiecc skips "
                        "the xclbin and still exits 0 (mlir-aie tools/aiecc/aiecc.cpp)")
    if problems:
        raise ToolchainMissing(problems)
    versions = {"python": ".".join(map(str, info["python"])), "mlir_aie": info.get("mlir_aie", "unknown"),
                "llvm-aie": info.get("llvm-aie", "unknown"),
                "aiecc": aiecc_version(subprocess.run([aiecc, "--version"], capture_output=True, text=True).stdout),
                "clang": _first_line([os.path.join(peano, "bin", "clang++"), "--version"]),
                "xclbinutil": _xclbinutil_version(xclbinutil)}
    return Toolchain(python, aiecc, info["root"], info["include"], peano, xclbinutil, versions)


def _xclbinutil_version(xclbinutil):
    """XRT's version line of `xclbinutil --version` ("XRT Build Version: 2.x.y"), else its first line."""
    try:
        text = subprocess.run([xclbinutil, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"
    for line in text.splitlines():
        if "Version" in line and ":" in line:
            return line.split(":", 1)[1].strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown"


def kernel_signature(kernels_json_path):
    """(argument names, number of buffer arguments after instr) of an aiecc kernel JSON ({"ps-kernels": {"kernels": [..]}})."""
    with open(kernels_json_path) as f:
        doc = json.load(f)
    kernels = doc["ps-kernels"]["kernels"]
    if len(kernels) != 1:
        raise ValueError(f"{kernels_json_path}: {len(kernels)} kernels, aiecc writes one")
    args = kernels[0]["arguments"]
    names = [a["name"] for a in args]
    buffers = sum(1 for a in args[3:] if "*" in a.get("type", ""))
    return names, buffers


def probe_signature(toolchain, mlir, workdir, run):
    """The buffer arguments the installed aiecc gives a kernel: `aiecc -n --aie-generate-xclbin --tmpdir` writes the
    kernel JSON without compiling (see above); returns (names, buffers), or None when this aiecc wrote none or the
    dry run failed (the build then checks the JSON of each real run)."""
    tmp = os.path.join(workdir, "signature-probe")
    os.makedirs(tmp, exist_ok=True)
    try:
        run([toolchain.aiecc, "-n", "--no-xchesscc", "--no-xbridge", f"--peano={toolchain.peano}", "--aie-generate-xclbin",
             f"--tmpdir={tmp}", f"--xclbin-name={os.path.join(tmp, 'probe.xclbin')}", mlir], cwd=workdir)
    except Exception as e:     # the probe is an early warning only: each real aiecc run is checked as well
        print(f"kernel toolchain: the signature probe failed ({e}); checking after the first kernel instead")
        return None
    found = sorted(glob.glob(os.path.join(tmp, "*_kernels.json")))
    return kernel_signature(found[0]) if found else None


def refuse_narrow_signature(buffers, designs):
    """Problems, one per design needing more buffer arguments than the toolchain's kernels have."""
    return [f"{name} binds {need} buffer arguments but this aiecc gives every kernel {buffers}; {FIVE_BUFFERS_NOTE}. "
            f"Install an mlir-aie that includes PR #3252 (merged July 2026), or pack the design's arguments into "
            f"{buffers} buffers"
            for name, need in designs if need > buffers]


if __name__ == "__main__":
    try:
        t = discover()
    except ToolchainMissing as e:
        print("kernel toolchain: missing:\n  - " + "\n  - ".join(e.problems), file=sys.stderr)
        sys.exit(2)
    print(json.dumps({"python": t.python, "aiecc": t.aiecc, "root": t.root, "include": t.include, "peano": t.peano,
                      "xclbinutil": t.xclbinutil, "versions": t.versions}, indent=1))
