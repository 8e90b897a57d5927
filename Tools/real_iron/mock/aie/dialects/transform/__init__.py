# Mock package aie.dialects.transform (upstream MLIR): only what aiex.py imports.
