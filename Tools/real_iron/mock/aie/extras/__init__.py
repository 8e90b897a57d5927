# Mock of aie.extras (eudsl-python-extras, which mlir-aie vendors at build time; not in the checkout): the context, region-op, type and value helpers the real IRON code calls.
