# Mock of aie.extras.dialects.arith: ScalarValue (an SSA value of a scalar type with Python arithmetic that emits arith ops), constant, index_cast.
#
# Like the real value class it has no __index__/__int__: a loop induction variable cannot index a Python
# list or bound a Python range. Arithmetic on two values of different types is recorded as an error
# (arith ops take operands of one type).
from .. import types as T
from ... import ir


class ArithOp(ir.OpView):
    OPERATION_NAME = "arith.op"
    _REGIONS = 0


def _infer(v):
    if isinstance(v, bool):
        return T.bool()
    if isinstance(v, int):
        return T.i32()
    if isinstance(v, float):
        return T.f32()
    raise NotImplementedError(f"unsupported type {type(v).__name__}")


class ScalarValue(ir.Value):
    def __init__(self, val, owner=None, name=None, *, dtype=None, index=None, loc=None):
        if isinstance(val, ir.Type):
            super().__init__(val, owner, name)
            return
        if isinstance(val, ir.Value):
            super().__init__(val.type, val.owner, val.get_name())
            return
        if hasattr(val, "item"):   # numpy scalar
            val = val.item()
        if not isinstance(val, (int, float, bool)):
            raise NotImplementedError(f"unsupported type {type(val).__name__} for a constant")
        t = T.index() if index else (dtype if dtype is not None else _infer(val))
        op = ArithOp(t, value=val)
        super().__init__(t, op, f"%c{val}")
        self.literal_value = val

    def _other(self, other):
        if isinstance(other, ScalarValue):
            if other.type != self.type:
                ir.RECORD.error(f"arith: operands of different types {self.type} and {other.type}")
            return other
        if isinstance(other, (int, float, bool)) or hasattr(other, "item"):
            return ScalarValue(other, dtype=self.type)
        return NotImplemented

    def _bin(self, other, kind, result=None):
        o = self._other(other)
        if o is NotImplemented:
            return NotImplemented
        return ScalarValue(result or self.type, ArithOp(result or self.type, kind=kind))

    def __add__(self, o): return self._bin(o, "add")
    def __radd__(self, o): return self._bin(o, "add")
    def __sub__(self, o): return self._bin(o, "sub")
    def __rsub__(self, o): return self._bin(o, "sub")
    def __mul__(self, o): return self._bin(o, "mul")
    def __rmul__(self, o): return self._bin(o, "mul")
    def __truediv__(self, o): return self._bin(o, "div")
    def __rtruediv__(self, o): return self._bin(o, "div")
    def __floordiv__(self, o): return self._bin(o, "floordiv")
    def __rfloordiv__(self, o): return self._bin(o, "floordiv")
    def __mod__(self, o): return self._bin(o, "rem")
    def __rmod__(self, o): return self._bin(o, "rem")
    def __lt__(self, o): return self._bin(o, "cmp", T.bool())
    def __le__(self, o): return self._bin(o, "cmp", T.bool())
    def __gt__(self, o): return self._bin(o, "cmp", T.bool())
    def __ge__(self, o): return self._bin(o, "cmp", T.bool())

    def __eq__(self, o):
        if not isinstance(o, (ScalarValue, int, float, bool)):
            return False
        return self._bin(o, "cmp", T.bool())

    def __ne__(self, o):
        if not isinstance(o, (ScalarValue, int, float, bool)):
            return True
        return self._bin(o, "cmp", T.bool())

    def __neg__(self):
        return ScalarValue(self.type, ArithOp(self.type, kind="neg"))

    def __hash__(self):
        return id(self)


def constant(value, type=None, index=None, *, vector=None, loc=None, ip=None):
    return ScalarValue(value, dtype=type, index=index)


def index_cast(value, *, to=None, loc=None, ip=None):
    to = to or T.index()
    return ScalarValue(to, ArithOp(to, kind="index_cast"))


def _is_scalar(t):
    return isinstance(t, (ir.IndexType, ir.IntegerType, ir.FloatType))


ir.register_value_caster(_is_scalar, ScalarValue)
