# Mock of aie.extras.dialects._shaped_value: the ShapedValue class decorator (shape, dtype, rank from `self.type`).
def ShapedValue(cls):
    cls.has_rank = lambda self: self.type.has_rank()
    cls.rank = property(lambda self: self.type.rank)
    cls.shape = property(lambda self: tuple(self.type.shape))
    cls.dtype = property(lambda self: self.type.element_type)
    cls.n_elements = property(lambda self: _prod(self.type.shape))
    return cls


def _prod(xs):
    n = 1
    for x in xs:
        n *= x
    return n
