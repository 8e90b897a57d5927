# Mock of the generated aie.dialects._aie_ops_gen: every AIE op of the checkout's AIEOps.td as an absorbing OpView; the ops whose results the real Python reads (tile, buffer, objectfifo acquire, device, dma_bd) answer as the real builders would.
from .. import ir
from ._ops_gen_common import declare
from ._td import ops


class TileOp(ir.OpView):
    _REGIONS = 0

    def __init__(self, col, row, *, allocation_scheme=None, loc=None, ip=None):
        super().__init__(col=col, row=row, allocation_scheme=allocation_scheme, loc=loc, ip=ip)

    def _result_types(self, given):
        return [ir.IndexType()]


class LockOp(ir.OpView):
    _REGIONS = 0

    def _result_types(self, given):
        return [ir.IndexType()]


class BufferOp(ir.OpView):
    _REGIONS = 0

    def __init__(self, buffer, tile, *, sym_name=None, address=None, initial_value=None, mem_bank=None, loc=None, ip=None):
        self.__dict__["_buffer_type"] = buffer
        super().__init__(tile=tile, sym_name=sym_name, address=address, initial_value=initial_value,
                         mem_bank=mem_bank, loc=loc, ip=ip)

    def _result_types(self, given):
        return [self.__dict__["_buffer_type"]]


class ObjectFifoCreateOp(ir.OpView):
    _REGIONS = 0

    def __init__(self, sym_name, producerTile, consumerTiles, elemNumber, elemType, dimensionsToStream,
                 dimensionsFromStreamPerConsumer, *, via_DMA=None, plio=None, padDimensions=None,
                 disable_synchronization=None, initValues=None, iter_count=None, via_shared_mem=None,
                 repeat_count=None, aie_stream=None, aie_stream_port=None, loc=None, ip=None):
        super().__init__(sym_name=sym_name, producerTile=producerTile, consumerTiles=list(consumerTiles),
                         elemNumber=elemNumber, elemType=elemType, dimensionsToStream=dimensionsToStream,
                         dimensionsFromStreamPerConsumer=dimensionsFromStreamPerConsumer, via_DMA=via_DMA,
                         plio=plio, padDimensions=padDimensions, disable_synchronization=disable_synchronization,
                         initValues=initValues, iter_count=iter_count, loc=loc, ip=ip)
        ir.RECORD.fifos[str(sym_name.value if isinstance(sym_name, ir.Attribute) else sym_name)] = self


class ObjectFifoAcquireOp(ir.OpView):
    _REGIONS = 0

    def __init__(self, subview, port, objFifo_name, size, *, loc=None, ip=None):
        super().__init__(subview, port=port, objFifo_name=objFifo_name, size=size, loc=loc, ip=ip)

    @property
    def subview(self):
        return self.result


class DeviceOp(ir.OpView):
    _REGIONS = 1

    def __init__(self, device, *, sym_name=None, loc=None, ip=None):
        super().__init__(device=device, sym_name=sym_name, loc=loc, ip=ip)
        ir.RECORD.device = device


class DMABDOp(ir.OpView):
    """aie.dma_bd: inside a runtime DMA task it is the shim BD; its dims are kept on the task's record."""
    _REGIONS = 0

    def __init__(self, buffer, *, offset=None, len=None, dimensions=None, pad_dimensions=None, pad_value=None,
                 bd_id=None, packet=None, next_bd_id=None, burst_length=None, loc=None, ip=None):
        super().__init__(buffer=buffer, offset=offset, len=len, dimensions=dimensions, bd_id=bd_id, packet=packet,
                         burst_length=burst_length, loc=loc, ip=ip)
        blk = (ip.block if ip else (ir._IP_STACK[-1].block if ir._IP_STACK else None))
        owner = blk.owner if blk is not None else None
        if owner is not None and owner.OPERATION_NAME == "aiex.dma_configure_task_for":
            owner.__dict__["bd"] = {"offset": int(offset or 0), "len": int(len or 0),
                                    "dims": [(int(s), int(t)) for s, t in (dimensions or [])]}


declare(globals(), "aie", ops("aie"), {c.__name__: c for c in (TileOp, LockOp, BufferOp, ObjectFifoCreateOp,
                                                                ObjectFifoAcquireOp, DeviceOp, DMABDOp)})
