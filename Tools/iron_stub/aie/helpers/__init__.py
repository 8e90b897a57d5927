# Recording stand-in for `aie.helpers`.
