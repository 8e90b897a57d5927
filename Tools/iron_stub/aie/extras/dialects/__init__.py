# Recording stand-in for `aie.extras.dialects`.
