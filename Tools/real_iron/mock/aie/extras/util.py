# Mock of aie.extras.util: source locations (none here), decorator helpers and op search over the recorded module.
from functools import wraps

from .. import ir


def get_user_code_loc(user_base=None):
    return None


def make_maybe_no_args_decorator(decorator):
    @wraps(decorator)
    def new_dec(*args, **kwargs):
        if len(args) == 1 and len(kwargs) == 0 and callable(args[0]):
            return decorator(args[0])
        return lambda realf: decorator(realf, *args, **kwargs)
    return new_dec


class Successor:
    def __init__(self, op, operands, block, pos):
        self.op, self.operands, self.block, self.pos = op, operands, block, pos


def _get_sym_name(previous_frame, check_func_call=None):
    return None


def find_ops(op, pred, single=False):
    found = [o for o in ir.RECORD.ops if pred(o)]
    return (found[0] if found else None) if single else found


def find_parent_of_type(test_cb, operation=None):
    return None


def region_adder(terminator=None):
    def wrapper(op_region_adder):
        def region_adder_decorator(op, *args, **kwargs):
            raise NotImplementedError("mock: region_adder")
        return region_adder_decorator
    return wrapper
