# Shared by the mocked _aie_ops_gen / _aiex_ops_gen: one OpView class per op of the checkout's .td files and its snake_case builder, plus the ops whose results the real Python reads.
from .. import ir
from ._ods_common import get_op_result_or_op_results


def declare(namespace, dialect, ops, special):
    for cls_name, op_name, builder in ops:
        cls = special.get(cls_name) or type(cls_name, (ir.OpView,), {"OPERATION_NAME": op_name, "_REGIONS": 1})
        cls.OPERATION_NAME = op_name
        namespace[cls_name] = cls

        def build(*args, _cls=cls, **kwargs):
            return get_op_result_or_op_results(_cls(*args, **kwargs))
        build.__name__ = builder
        namespace[builder] = build
    namespace["_Dialect"] = type("_Dialect", (), {"DIALECT_NAMESPACE": dialect})
