# Mock of aie._mlir_libs (mlir-aie's compiled MLIR bindings): the dialect registry hook the real dialect modules call at import.
from ..ir import DialectRegistry

_REGISTRY = DialectRegistry()


def get_dialect_registry():
    return _REGISTRY
