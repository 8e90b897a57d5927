# Mock of upstream MLIR's scf dialect Python module: scf.for with an index induction variable (a block argument, as the real one is), scf.if, scf.yield.
from .. import ir


class ForOp(ir.OpView):
    OPERATION_NAME = "scf.for"
    _REGIONS = 1

    def __init__(self, lower_bound, upper_bound, step, iter_args=None, *, loc=None, ip=None):
        super().__init__(loc=loc, ip=ip)
        self.__dict__["_operands"] = [lower_bound, upper_bound, step] + list(iter_args or [])
        self.body_block = self.regions[0].blocks.append(ir.IndexType(), *[v.type for v in (iter_args or [])])

    @property
    def body(self):
        return self.body_block

    @property
    def induction_variable(self):
        return self.body_block.arguments[0]

    @property
    def inner_iter_args(self):
        return self.body_block.arguments[1:]


class IfOp(ir.OpView):
    OPERATION_NAME = "scf.if"
    _REGIONS = 2

    def __init__(self, cond, results_=None, *, has_else=False, loc=None, ip=None):
        super().__init__(*(results_ or []), loc=loc, ip=ip)
        self.regions[0].blocks.append()
        if has_else:
            self.regions[1].blocks.append()

    @property
    def thenRegion(self):
        return self.regions[0]

    @property
    def elseRegion(self):
        return self.regions[1]


class YieldOp(ir.OpView):
    OPERATION_NAME = "scf.yield"
    _REGIONS = 0


def yield_(results_=None, *, loc=None, ip=None):
    return YieldOp(loc=loc, ip=ip)
