# aie.helpers.util as the designs use it: np_dtype_to_mlir_type (numpy scalar type -> the MLIR scalar type).
import numpy as np
from ml_dtypes import bfloat16

from ..iron._record import ScalarType

_NAMES = {np.int8: "i8", np.int16: "i16", np.int32: "i32", np.int64: "i64", np.uint8: "i8", np.uint16: "i16",
          np.uint32: "i32", np.float32: "f32", bfloat16: "bf16"}


def np_dtype_to_mlir_type(np_dtype):
    try:
        return ScalarType(_NAMES[np_dtype])
    except KeyError:
        raise AttributeError(f"Failed to map np dtype to mlir python type: {np_dtype}") from None
