# Mock of upstream MLIR's func dialect Python module (generated _func_ops_gen + its wrapper): func.func declarations and func.call, whose operands are checked against the callee's type as CallOp::verifySymbolUses does.
import inspect  # noqa: F401  (the real module exports it; aie's helpers/dialects/func.py uses it through `import *`)
from typing import List, Optional, Sequence, Union  # noqa: F401  (likewise, for annotations)

from .. import ir
from ..ir import FunctionType, StringAttr, TypeAttr


class _FuncOpBase(ir.OpView):
    """func.func as generated: (sym_name, function_type, *, sym_visibility, arg_attrs, res_attrs)."""
    OPERATION_NAME = "func.func"
    _REGIONS = 1

    def __init__(self, sym_name, function_type, *, sym_visibility=None, arg_attrs=None, res_attrs=None,
                 no_inline=None, loc=None, ip=None):
        super().__init__(sym_name=sym_name, function_type=function_type, sym_visibility=sym_visibility,
                         arg_attrs=arg_attrs, res_attrs=res_attrs, loc=loc, ip=ip)


class FuncOp(_FuncOpBase):
    """The upstream wrapper: FuncOp(name, type, *, visibility, body_builder)."""

    def __init__(self, name, type, *, visibility=None, body_builder=None, loc=None, ip=None):
        if isinstance(type, tuple):
            type = FunctionType.get(inputs=type[0], results=type[1])
        super().__init__(StringAttr.get(str(name)), TypeAttr.get(type),
                         sym_visibility=StringAttr.get(str(visibility)) if visibility is not None else None,
                         loc=loc, ip=ip)
        if body_builder is not None:
            raise NotImplementedError("mock: FuncOp body_builder")

    @property
    def type(self):
        return self.function_type.value


class _CallOpBase(ir.OpView):
    """func.call as generated: (result types, callee, operands)."""
    OPERATION_NAME = "func.call"
    _REGIONS = 0

    def __init__(self, result, callee, operands_, *, arg_attrs=None, res_attrs=None, no_inline=None, loc=None, ip=None):
        super().__init__(*list(result), callee=callee, loc=loc, ip=ip)
        self.__dict__["_operands"] = list(operands_)
        name = callee.value if isinstance(callee, ir.Attribute) else str(callee)
        types = [_operand_type(o) for o in operands_]
        ir.RECORD.calls.append((name, types))
        fn = ir.RECORD.symbols.get(name)
        if fn is None or not isinstance(fn, _FuncOpBase):
            ir.RECORD.error(f"'func.call' op '{name}' does not reference a valid function")
            return
        want = fn.function_type.value.inputs
        if len(want) != len(types):
            ir.RECORD.error(f"'func.call' op incorrect number of operands for callee '{name}' "
                            f"({len(types)} given, {len(want)} declared)")
            return
        for i, (w, t) in enumerate(zip(want, types)):
            if w != t:
                ir.RECORD.error(f"'func.call' op operand type mismatch: expected operand type {w}, but provided "
                                f"{t} for operand number {i} (callee '{name}')")


def _operand_type(o):
    if isinstance(o, ir.Value):
        return o.type
    if isinstance(o, ir.OpView):
        return o.result.type
    return None


class CallOp(_CallOpBase):
    def __init__(self, calleeOrResults, argumentsOrCallee=None, arguments=None, *, loc=None, ip=None):
        if isinstance(calleeOrResults, FuncOp):
            super().__init__(calleeOrResults.type.results,
                             ir.FlatSymbolRefAttr.get(calleeOrResults.sym_name.value), argumentsOrCallee, loc=loc, ip=ip)
        else:
            super().__init__(calleeOrResults, argumentsOrCallee, arguments, loc=loc, ip=ip)


class ReturnOp(ir.OpView):
    OPERATION_NAME = "func.return"
    _REGIONS = 0


def call(*a, **k):
    return CallOp(*a, **k)


def return_(*a, **k):
    return ReturnOp(*a, **k)
