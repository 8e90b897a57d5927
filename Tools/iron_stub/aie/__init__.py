# Recording stand-in for mlir-aie's `aie` package (see Tools/iron_stub/README.md).
