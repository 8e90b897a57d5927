# Mock of the generated aie.dialects._aiex_ops_gen: every AIEX op of the checkout's AIEX.td as an absorbing OpView; runtime DMA tasks are recorded (fifo, task, its shim BD) for the runner's report.
from .. import ir
from ._ops_gen_common import declare
from ._td import ops


class DMAConfigureTaskForOp(ir.OpView):
    _REGIONS = 1

    def __init__(self, result, alloc, *, issue_token=None, repeat_count=None, loc=None, ip=None):
        super().__init__(result, alloc=alloc, issue_token=issue_token, repeat_count=repeat_count, loc=loc, ip=ip)
        self.__dict__["bd"] = None
        ir.RECORD.dma_tasks.append(self)


declare(globals(), "aiex", ops("aiex"), {"DMAConfigureTaskForOp": DMAConfigureTaskForOp})
