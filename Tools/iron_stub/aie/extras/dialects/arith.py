# aie.extras.dialects.arith as the designs use it: index_cast of a range_ induction variable to a scalar type (arith.index_cast), e.g. to pass a loop index to a kernel's int32 argument.
from ...iron._record import ScalarValue, ScalarType


def index_cast(value, *, to=None, loc=None, ip=None):
    """arith.index_cast: an index value to an integer type, or an integer value to index (`to` defaults to index)."""
    to = to or ScalarType("index")
    if not isinstance(value, ScalarValue):
        raise TypeError(f"index_cast takes an MLIR value, not {value!r}")
    if (value.type.name == "index") == (to.name == "index"):
        raise TypeError(f"'arith.index_cast' op casts between index and an integer type, not {value.type} to {to}")
    return ScalarValue(to)
