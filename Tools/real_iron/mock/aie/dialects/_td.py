# Reads op and enum names from the checkout's TableGen files, so the mocked generated modules declare the names the real ones would (mlir-tblgen's Python op/enum generators).
import os
import re

ROOT = os.environ.get("REAL_IRON_MLIR_AIE", "")
_OP = re.compile(r'^def\s+[A-Za-z0-9]+_([A-Za-z0-9]+)\s*:\s*(AIE|AIEX)_Op<"([A-Za-z0-9_.]+)"', re.M)
_CASE_DEF = re.compile(r'^def\s+(\w+)\s*:\s*I32EnumAttrCase<"(\w+)",\s*(\d+)', re.M)
_ENUM = re.compile(r'def\s+\w+\s*:\s*I32EnumAttr<"(\w+)",[^\[]*\[(.*?)\]', re.S)
_INLINE = re.compile(r'I32EnumAttrCase<"(\w+)",\s*(\d+)')


def _read(*rel):
    out = ""
    for r in rel:
        p = os.path.join(ROOT, "include", "aie", "Dialect", r)
        if os.path.exists(p):
            with open(p) as f:
                out += f.read() + "\n"
    return out


def ops(dialect):
    """[(python class name, op name, builder function name)] of one dialect's ops."""
    files = {"aie": ("AIE/IR/AIEOps.td", "AIE/IR/AIETraceOps.td"), "aiex": ("AIEX/IR/AIEX.td", "AIEX/IR/CERTOps.td")}
    want = "AIE" if dialect == "aie" else "AIEX"
    out = []
    for cls, d, mnemonic in _OP.findall(_read(*files[dialect])):
        if d == want:
            out.append((cls, f"{dialect}.{mnemonic}", re.sub(r"\W", "_", mnemonic)))
    return out


def enums(*rel):
    """{enum name: [(case, value)]} of the files' I32EnumAttrs."""
    text = _read(*rel)
    named = {d: (n, int(v)) for d, n, v in _CASE_DEF.findall(text)}
    out = {}
    for name, body in _ENUM.findall(text):
        cases = [(n, int(v)) for n, v in _INLINE.findall(body)]
        cases += [named[w] for w in re.findall(r"\b(\w+)\b", _INLINE.sub("", body)) if w in named]
        out[name] = cases
    return out
