#!/usr/bin/env python3
# Lays out the fake kernel toolchain in a directory as the pip wheels and XRT lay out the real one: a venv-like bin/ with python and aiecc, site/ with mlir-aie's configuration API (aie.utils.config) over our IRON stub and the wheels' dist-info versions, site/mlir_aie/include/aie_api, site/llvm-aie/bin (Peano), xrt/bin/xclbinutil.
# Returns the environment a build uses (PATH, NPULLAMA_AIE_PYTHON, FAKE_* knobs).
import functools
import os
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(os.path.dirname(HERE), "iron_stub", "aie")


def _write(path, text, executable=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if executable:
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _tool(path, name):
    _write(path, f'#!/bin/sh\nexec "{sys.executable}" "{os.path.join(HERE, "fake_tool.py")}" "{name}" "$@"\n', True)


@functools.lru_cache(maxsize=None)
def python312():
    """A Python 3.12+ on this machine (the wheels' and so the toolchain's floor), or None."""
    import glob
    import shutil
    import subprocess
    candidates = [shutil.which(n) for n in ("python3.13", "python3.12", "python3.14", "python3")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-4]*/bin/python3")))
    for exe in candidates:
        if exe:
            r = subprocess.run([exe, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True)
            if r.stdout.strip() == "True":
                return exe
    return None


def install(root, mlir_aie="1.2.0", llvm_aie="19.0.0.2026070101", xclbinutil=True):
    site = os.path.join(root, "site")
    include = os.path.join(site, "mlir_aie", "include")
    peano = os.path.join(site, "llvm-aie")
    _write(os.path.join(include, "aie_api", "aie.hpp"), "// fake aie_api\n")
    # aie: our IRON stub for aie.iron & co, plus the configuration API of mlir-aie python/utils/config.py
    _write(os.path.join(site, "aie", "__init__.py"), f"__path__.append({STUB!r})\n")
    _write(os.path.join(site, "aie", "utils", "__init__.py"), "")
    _write(os.path.join(site, "aie", "utils", "config.py"),
           f"import os\n"
           f"def root_path():\n    return {os.path.join(site, 'mlir_aie')!r}\n"
           f"def cxx_header_path():\n    return os.path.join(root_path(), 'include')\n"
           f"def peano_install_dir():\n    return {peano!r}\n")
    for dist, version in (("mlir_aie", mlir_aie), ("llvm_aie", llvm_aie)):
        name = "llvm-aie" if dist == "llvm_aie" else dist
        import glob
        import shutil
        for old in glob.glob(os.path.join(site, f"{dist}-*.dist-info")):    # a re-install replaces the version
            shutil.rmtree(old)
        _write(os.path.join(site, f"{dist}-{version}.dist-info", "METADATA"),
               f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    bindir = os.path.join(root, "venv", "bin")
    python = python312()
    if python is None:
        raise RuntimeError("no Python 3.12+ on this machine for the fake toolchain's interpreter")
    stub = os.path.dirname(STUB)         # iron_stub/: its numpy and ml_dtypes stand-ins
    _write(os.path.join(bindir, "python"), f'#!/bin/sh\nPYTHONPATH="{site}:{stub}" exec "{python}" "$@"\n', True)
    _tool(os.path.join(bindir, "aiecc"), "aiecc")
    _tool(os.path.join(peano, "bin", "clang++"), "clang++")
    _tool(os.path.join(peano, "bin", "ld.lld"), "ld.lld")
    xrt = os.path.join(root, "xrt", "bin")
    if xclbinutil:
        _tool(os.path.join(xrt, "xclbinutil"), "xclbinutil")
    path = os.pathsep.join([bindir, xrt, "/usr/bin", "/bin"])
    return {"PATH": path, "NPULLAMA_AIE_PYTHON": os.path.join(bindir, "python"), "FAKE_MLIR_AIE_INCLUDE": include,
            "FAKE_TOOLCHAIN_LOG": os.path.join(root, "invocations.jsonl"), "HOME": root}


if __name__ == "__main__":
    print(install(sys.argv[1]))
