#!/usr/bin/env python3
# Checks every IRON design against Kernels/manifest.json without mlir-aie: it compiles, declares the manifest's tiling, names its entries.
#
# For each kernel: the design file byte-compiles (py_compile); its module-level integer constants
# named like the tiling keys in upper case (tm -> TM, cores -> CORES) equal the manifest values; each
# entry symbol appears in the design as a string and in the C++ source as an extern "C" function.
# Usage: check_designs.py Kernels/manifest.json   (exit 1 with one line per problem)
import ast
import json
import os
import py_compile
import sys
import tempfile


def module_constants(tree):
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
                out[node.targets[0].id] = node.value.value
    return out


def string_literals(tree):
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def main(manifest_path):
    root = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path) as f:
        manifest = json.load(f)
    problems = []
    for k in manifest["kernels"]:
        design = os.path.join(root, k["design"])
        source = os.path.join(root, k["source"])
        name = k["name"]
        if not os.path.exists(design):
            problems.append(f"{name}: design {k['design']} is missing")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                py_compile.compile(design, cfile=os.path.join(tmp, "d.pyc"), doraise=True)
            except py_compile.PyCompileError as e:
                problems.append(f"{name}: {k['design']} does not compile: {e.msg}")
                continue
        with open(design) as f:
            tree = ast.parse(f.read(), design)
        consts = module_constants(tree)
        for key, value in k["tiling"].items():
            got = consts.get(key.upper())
            if got is None:
                problems.append(f"{name}: {k['design']} declares no module constant {key.upper()} (manifest {key}={value})")
            elif got != value:
                problems.append(f"{name}: {k['design']} has {key.upper()}={got}, the manifest says {key}={value}")
        literals = string_literals(tree)
        entries = list(k["entries"])
        if "entryByPairing" in k:
            entries = list(k["entryByPairing"].values())
        with open(source) as f:
            cc = f.read()
        for e in entries:
            if e not in literals:
                problems.append(f"{name}: {k['design']} never names entry '{e}'")
        own = [e for e in k["entries"] if f" {e}(" in cc]
        if not own:
            problems.append(f"{name}: {k['source']} defines none of {k['entries']}")
        if 'extern "C"' not in cc:
            problems.append(f"{name}: {k['source']} has no extern \"C\" block")
    for p in problems:
        print(p)
    if not problems:
        print(f"{len(manifest['kernels'])} designs agree with {manifest_path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Kernels/manifest.json"))
