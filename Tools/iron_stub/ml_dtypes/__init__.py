# Type-only ml_dtypes stand-in for the IRON stub: bfloat16 as a 2-byte numpy scalar type.
import numpy as _np

bfloat16 = _np._scalar("bfloat16", 2)
