# Type-only numpy stand-in for the IRON stub: ndarray[(shape), dtype[T]] array types and scalar types with itemsize.


class _Scalar:
    itemsize = 0

    def __class_getitem__(cls, item):
        return cls


def _scalar(name, size):
    return type(name, (_Scalar,), {"itemsize": size, "__module__": "numpy"})


int8, uint8 = _scalar("int8", 1), _scalar("uint8", 1)
int16, uint16 = _scalar("int16", 2), _scalar("uint16", 2)
int32, uint32 = _scalar("int32", 4), _scalar("uint32", 4)
int64, uint64 = _scalar("int64", 8), _scalar("uint64", 8)
float32, float64 = _scalar("float32", 4), _scalar("float64", 8)


class ArrayType:
    """np.ndarray[(shape), np.dtype[T]]: shape and element type of a buffer or transfer."""

    def __init__(self, shape, dtype):
        if isinstance(shape, int):
            shape = (shape,)
        if not isinstance(shape, tuple) or not all(isinstance(s, int) and s > 0 for s in shape):
            raise TypeError(f"array shape must be a tuple of positive ints, not {shape!r}")
        if not (isinstance(dtype, type) and issubclass(dtype, _Scalar)):
            raise TypeError(f"array element type must be a numpy scalar type, not {dtype!r}")
        self.shape, self.dtype = shape, dtype

    @property
    def count(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def nbytes(self):
        return self.count * self.dtype.itemsize

    def __eq__(self, other):
        return isinstance(other, ArrayType) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def __repr__(self):
        return f"ndarray[{self.shape}, {self.dtype.__name__}]"


class ndarray:
    def __class_getitem__(cls, item):
        shape, dtype = item
        return ArrayType(shape, dtype)


class dtype:
    def __class_getitem__(cls, item):
        return item
