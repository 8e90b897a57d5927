#!/usr/bin/env python3
# Checks every IRON design against Kernels/manifest.json without mlir-aie: it compiles, takes the manifest's tiling, names its entries.
#
# For each kernel: the design file byte-compiles (py_compile); its module-level integer constants
# named like the tiling keys in upper case (tm -> TM, cores -> CORES) equal the manifest's default
# tiling (`tiling`, or the first of `tilings`); its design() takes every tiling key as a parameter
# defaulting to that constant and never reads the constant itself, and its command line passes
# key=value overrides through, so an instance built with another candidate (Tools/build-kernels.py)
# really has that tiling; each entry symbol appears in the design as a string and in the C++ source
# as an extern "C" function.
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


def tiling_parameters(tree, keys):
    """Problems with how design() takes the tiling: one parameter per key defaulting to the module
    constant, the constant never read inside, and the command line passing key=value overrides."""
    design = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "design"), None)
    if design is None:
        return ["defines no design() function"]
    problems = []
    args = design.args
    positional = args.posonlyargs + args.args
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    for key in keys:
        d = defaults.get(key)
        if not (isinstance(d, ast.Name) and d.id == key.upper()):
            problems.append(f"design() takes no parameter {key}={key.upper()} (the instance's tiling)")
    constants = {key.upper() for key in keys}
    body = ast.Module(body=design.body, type_ignores=[])
    read = sorted({n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id in constants})
    if read:
        problems.append(f"design() reads {', '.join(read)} instead of its parameter(s): an instance's tiling would be ignored")
    main = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    calls = [c for m in main for c in ast.walk(m) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "design"]
    if not any(kw.arg is None for c in calls for kw in c.keywords):
        problems.append("command line never passes key=value tiling overrides to design(**...)")
    return problems


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
        tilings = k["tilings"] if "tilings" in k else [k["tiling"]]
        default = tilings[0]
        for i, t in enumerate(tilings[1:], 1):
            if set(t) != set(default):
                problems.append(f"{name}: tilings[{i}] binds {sorted(t)}, the first candidate {sorted(default)}")
        for key, value in default.items():
            got = consts.get(key.upper())
            if got is None:
                problems.append(f"{name}: {k['design']} declares no module constant {key.upper()} (manifest {key}={value})")
            elif got != value:
                problems.append(f"{name}: {k['design']} has {key.upper()}={got}, the manifest's default is {key}={value}")
        problems += [f"{name}: {k['design']} {p}" for p in tiling_parameters(tree, list(default))]
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
