# Mock of upstream MLIR's dialects/_ods_common.py glue (its _cext is the compiled extension): op registration and result helpers.
from .. import ir as _ir


class _CExt:
    ir = _ir
    globals = _ir._Globals()

    @staticmethod
    def register_operation(dialect, replace=False):
        return lambda cls: cls

    @staticmethod
    def register_dialect(cls):
        return cls


_cext = _CExt()


def get_op_result_or_op_results(op):
    results = op.results
    return results[0] if len(results) == 1 else (op if len(results) == 0 else results)


def get_op_result_or_value(v):
    return v.result if isinstance(v, _ir.OpView) else v


def get_op_results_or_values(vs):
    return [get_op_result_or_value(v) for v in vs]


def get_default_loc_context(location=None):
    return None


def segmented_accessor(elements, raw_segments, idx):
    return elements[idx]


def equally_sized_accessor(elements, n_variadic, n_preceding_simple, n_preceding_variadic):
    return elements
