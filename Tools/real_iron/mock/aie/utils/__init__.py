# Mock of aie.utils (mlir-aie's host runtime: XRT tensors, JIT compile, device discovery), which aie.iron re-exports; calling any of it raises, as no NPU runtime exists here.


def _absent(name):
    def f(*a, **k):
        raise NotImplementedError(f"mock: aie.utils.{name} needs mlir-aie's host runtime (XRT), absent in Tools/real_iron")
    f.__name__ = name
    return f


for _n in ("tensor", "ones", "zeros", "randint", "rand", "arange", "zeros_like", "set_tensor_class",
           "get_current_device"):
    globals()[_n] = _absent(_n)
