# Mock of aie.extras.meta: region_op / op_region_builder, which build an op, give its first region a block, run the Python body inside it and add the terminator.
import inspect
from functools import wraps

from .. import ir


def op_region_builder(op, op_region, terminator=None):
    def builder_wrapper(body_builder):
        if len(op_region.blocks) == 0:
            sig = inspect.signature(body_builder)
            types = [p.annotation for p in sig.parameters.values()]
            op_region.blocks.append(*[t for t in types if isinstance(t, ir.Type)])
        block = op_region.blocks[0]
        with ir.InsertionPoint(block):
            results = body_builder(*list(block.arguments))
        with ir.InsertionPoint(op_region.blocks[len(op_region.blocks) - 1]):
            if terminator is not None:
                terminator(results)
        return op
    return builder_wrapper


def region_op(op_constructor, terminator=None):
    def op_decorator(*args, **kwargs):
        op = op_constructor(*args, **kwargs)
        return op_region_builder(op, op.regions[0], terminator)

    @wraps(op_decorator)
    def maybe_no_args(*args, **kwargs):
        if len(args) == 1 and len(kwargs) == 0 and callable(args[0]) and not isinstance(args[0], ir.OpView):
            return op_decorator()(args[0])
        return op_decorator(*args, **kwargs)
    return maybe_no_args
