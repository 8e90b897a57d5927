# Mock of aie.extras.dialects.func: the FuncOp name IRON's kernel.py imports (for annotations).
from ...dialects.func import FuncOp  # noqa: F401
