# The Python reader of Kernels/npu2_target.json (the one NPU2 target model): each limit's value and the real source it was read from.
#
# Every Python checker (Tools/design_check.py, the IRON stub's device and placer) takes its limits from
# here, never from constants of its own: value("memTile.bds") -> 48, cite("memTile.bds") -> "(hunhoffe/
# mlir-aie include/aie/Dialect/AIE/IR/AIETargetModel.h AIE2TargetModel::getNumBDs; ...)" for messages.
import json
import os

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Kernels", "npu2_target.json")
_LIMITS = None


def limits():
    """key -> {value, unit, source, confirmed[, note]} (read once)."""
    global _LIMITS
    if _LIMITS is None:
        with open(PATH) as f:
            _LIMITS = json.load(f)["limits"]
    return _LIMITS


def entry(key):
    try:
        return limits()[key]
    except KeyError:
        raise KeyError(f"{key} is not in {os.path.relpath(PATH)}: add it with its source") from None


def value(key):
    return entry(key)["value"]


def source(key):
    return entry(key)["source"]


def cite(key):
    """' (source)' for a problem message; the value is marked an estimate where the model says it is not confirmed."""
    e = entry(key)
    return f" ({e['source']}{'' if e.get('confirmed') else '; not confirmed for XDNA2: ' + e.get('note', 'estimate')})"
