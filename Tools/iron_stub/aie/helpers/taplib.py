# TensorAccessPattern as mlir-aie's python/helpers/taplib/tap.py and utils.py define it: tensor dims, offset, sizes, strides in elements, validated and cleaned.
#
# As the real one: all four arguments are required; a 1-D tensor is treated as (1, n); the offset must lie
# inside the tensor; sizes >= 1 and strides >= 0 of equal length; leading dimensions of size 1 get stride 0
# ("cleaned"). Like the real one it does NOT bound-check the pattern: the design checker does
# (Tools/design_check.py, transfers against the argument's bytes).


class TensorAccessPattern:
    def __init__(self, tensor_dims, offset, sizes, strides):
        dims = list(tensor_dims)
        if not dims:
            raise ValueError(f"Number of tensor dimensions must be >= 1 (dimensions={dims})")
        if any(d <= 0 for d in dims):
            raise ValueError(f"Each tensor dimension must be >= 1 (dimensions={dims})")
        if len(dims) == 1:
            dims = [1, dims[0]]
        total = 1
        for d in dims:
            total *= d
        if offset < 0:
            raise ValueError(f"Offset must be >= 0 (offset={offset})")
        if offset >= total:
            raise ValueError(f"Offset too large: {offset}. Max value allowed for tensor: {total}")
        sizes, strides = list(sizes), list(strides)
        if not sizes:
            raise ValueError("len(sizes) must be >0")
        if not strides:
            raise ValueError("len(strides) must be >0")
        if len(sizes) != len(strides):
            raise ValueError(f"len(sizes) ({len(sizes)}) != len(strides) ({len(strides)})")
        if any(s < 1 for s in sizes):
            raise ValueError(f"All sizes must be >= 1, but got {sizes}")
        if any(s < 0 for s in strides):
            raise ValueError(f"All strides must be >= 0, but got {strides}")
        for i in range(len(sizes) - 1):     # clean: leading size-1 dimensions get stride 0
            if sizes[i] != 1:
                break
            strides[i] = 0
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
    def transformation_dims(self):
        return list(zip(self._sizes, self._strides))

    @property
    def count(self):
        n = 1
        for s in self._sizes:
            n *= s
        return n

    def intervals(self):
        """[start, end) element ranges this pattern touches, in transfer order (contiguous inner dimensions merged)."""
        sizes, strides = list(self._sizes), list(self._strides)
        run = 1
        while sizes and (sizes[-1] == 1 or strides[-1] == run):
            run *= sizes.pop()
            strides.pop()
        starts = [self._offset]
        for s, st in zip(sizes, strides):
            starts = [b + i * st for b in starts for i in range(s)]
        return [(b, b + run) for b in starts]
