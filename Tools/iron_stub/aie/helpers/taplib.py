# TensorAccessPattern as mlir-aie's helpers/taplib/tap.py defines it: tensor dims, offset, sizes, strides, bounds-checked.


class TensorAccessPattern:
    def __init__(self, tensor_dims, offset=0, sizes=None, strides=None):
        dims = list(tensor_dims)
        if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
            raise ValueError(f"tensor dims must be positive ints, not {tensor_dims!r}")
        total = 1
        for d in dims:
            total *= d
        if not isinstance(offset, int) or offset < 0 or offset >= total:
            raise ValueError(f"offset {offset} is outside a tensor of {total} elements")
        if sizes is None:
            sizes = dims
        sizes = list(sizes)
        if strides is None:
            strides = [1] * len(sizes)
            for i in range(len(sizes) - 2, -1, -1):
                strides[i] = strides[i + 1] * sizes[i + 1]
        strides = list(strides)
        if len(sizes) != len(strides):
            raise ValueError("sizes and strides differ in length")
        if not all(isinstance(s, int) and s > 0 for s in sizes) or not all(isinstance(s, int) and s >= 0 for s in strides):
            raise ValueError(f"sizes must be positive and strides non-negative: {sizes} {strides}")
        top = offset + sum((s - 1) * st for s, st in zip(sizes, strides))
        if top >= total:
            raise ValueError(f"Access pattern goes out of bounds: max_index={top}, total_size={total}")
        self._tensor_dims, self._offset, self._sizes, self._strides = dims, offset, sizes, strides
        self.total = total

    @property
    def tensor_dims(self):
        return list(self._tensor_dims)

    @property
    def offset(self):
        return self._offset

    @property
    def sizes(self):
        return list(self._sizes)

    @property
    def strides(self):
        return list(self._strides)

    @property
    def count(self):
        n = 1
        for s in self._sizes:
            n *= s
        return n

    def intervals(self):
        """[start, end) element ranges this pattern touches, in transfer order (innermost stride 1 merged)."""
        sizes, strides = self._sizes, self._strides
        if strides[-1] == 1:
            run, outer_sizes, outer_strides = sizes[-1], sizes[:-1], strides[:-1]
        else:
            run, outer_sizes, outer_strides = 1, sizes, strides
        starts = [self._offset]
        for s, st in zip(outer_sizes, outer_strides):
            starts = [b + i * st for b in starts for i in range(s)]
        return [(b, b + run) for b in starts]
