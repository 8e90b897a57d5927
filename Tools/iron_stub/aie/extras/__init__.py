# Recording stand-in for `aie.extras` (mlir-aie's vendored eudsl-python-extras): only what the designs use.
