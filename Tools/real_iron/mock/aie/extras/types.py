# Mock of aie.extras.types: MLIR type constructors by short name (T.index(), T.i32(), T.bf16(), T.memref(...)).
from ..ir import BF16Type, F16Type, F32Type, F64Type, IndexType, IntegerType, MemRefType, Type  # noqa: F401

index = IndexType.get
bool = lambda: IntegerType.get_signless(1)  # noqa: E731,A001
i8, i16, i32, i64 = (lambda w=w: IntegerType.get_signless(w) for w in (8, 16, 32, 64))
si8, si16, si32, si64 = (lambda w=w: IntegerType.get_signed(w) for w in (8, 16, 32, 64))
ui8, ui16, ui32, ui64 = (lambda w=w: IntegerType.get_unsigned(w) for w in (8, 16, 32, 64))
f16, f32, f64, bf16 = F16Type.get, F32Type.get, F64Type.get, BF16Type.get


def memref(*shape, element_type=None, layout=None, memory_space=None):
    return MemRefType.get(list(shape), element_type, layout, memory_space)
