# Mock of upstream MLIR's transform.structured Python module: the MixedValues helpers aiex.py imports.
from typing import Sequence, Union

MixedValues = Union[Sequence[int], Sequence[object]]


def _dispatch_mixed_values(values):
    static, dynamic = [], []
    for v in values or []:
        if isinstance(v, int):
            static.append(v)
        else:
            dynamic.append(v)
    return dynamic, [], static
