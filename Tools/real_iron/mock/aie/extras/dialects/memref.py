# Mock of aie.extras.dialects.memref: MemRefValue (indexing a memref emits memref.load / memref.store) and load/store, with the operand type rules of those ops recorded as errors.
from ... import ir
from .arith import ScalarValue, constant
from ._shaped_value import ShapedValue


class MemOp(ir.OpView):
    OPERATION_NAME = "memref.op"
    _REGIONS = 0


def _indices(memref, idx, what):
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for d in idx:
        if isinstance(d, slice) or d is Ellipsis or d is None:
            raise NotImplementedError(f"mock: memref {what} with slices (a subview) is not modelled")
        if isinstance(d, int) or hasattr(d, "item"):
            d = constant(int(d), index=True)
        if not isinstance(d, ScalarValue):
            raise TypeError(f"memref index must be an integer or an index value, not {type(d).__name__}")
        if not isinstance(d.type, ir.IndexType):
            ir.RECORD.error(f"'memref.{what}' op operand must be of type index, not {d.type}")
        out.append(d)
    shape = memref.type.shape
    if len(out) != len(shape):
        raise NotImplementedError(f"mock: memref {what} with {len(out)} indices into rank {len(shape)} (a subview)")
    return out


def load(memref, indices, *, loc=None, ip=None):
    _indices(memref, tuple(indices), "load")
    t = memref.type.element_type
    return ScalarValue(t, MemOp(t, kind="load"))


def store(value, memref, indices, *, loc=None, ip=None):
    _indices(memref, tuple(indices), "store")
    if not isinstance(value, ScalarValue):
        value = ScalarValue(value, dtype=memref.type.element_type)
    if value.type != memref.type.element_type:
        ir.RECORD.error(f"'memref.store' op failed to verify that type of 'value' ({value.type}) matches element "
                        f"type of 'memref' ({memref.type})")
    MemOp(kind="store")


@ShapedValue
class MemRefValue(ir.Value):
    def __getitem__(self, idx):
        return load(self, idx if isinstance(idx, tuple) else (idx,))

    def __setitem__(self, idx, source):
        store(source, self, idx if isinstance(idx, tuple) else (idx,))


ir.register_value_caster(lambda t: isinstance(t, ir.MemRefType), MemRefValue)
