# Mock of aie.utils.jit: the @jit decorator compiles and runs a design on an NPU; here it raises when used.
from . import _absent

jit = _absent("jit")
