# Mock of the generated aie.dialects._aie_enum_gen: the AIE dialect's I32 enums, names and values read from the checkout's AIEAttrs.td / AIETraceAttrs.td.
from enum import IntEnum

from ..ir import register_attribute_builder  # noqa: F401  (the generated module exports it; aie.py uses it)
from ._td import enums as _enums


def _make(name, cases):
    cls = IntEnum(name, cases)
    cls.__str__ = lambda self: self.name
    return cls


for _name, _cases in _enums("AIE/IR/AIEAttrs.td", "AIE/IR/AIETraceAttrs.td").items():
    globals()[_name] = _make(_name, _cases)
