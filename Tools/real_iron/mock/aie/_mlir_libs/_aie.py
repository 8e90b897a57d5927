# Mock of aie._mlir_libs._aie (mlir-aie python/AIEMLIRModule.cpp): ObjectFifo types and get_target_model, whose NPU2 answers come from Kernels/npu2_target.json.
#
# The real binding wraps the C++ AIETargetModel (include/aie/Dialect/AIE/IR/AIETargetModel.h,
# lib/Dialect/AIE/IR/AIETargetModel.cpp). The real IRON Device and SequentialPlacer ask it for the
# array size, tile kinds and DMA channel counts; here those numbers are OURS (the project's target
# model file), the algorithm that uses them is mlir-aie's. Only npu2 is modelled. Everything that would
# run the compiler (CDO, xaie, LLVM IR, linking) is absent and raises.
import json
import os

from ..ir import Type

_JSON = os.environ.get("REAL_IRON_TARGET_JSON", "")


def _limits():
    with open(_JSON) as f:
        return {k: v["value"] for k, v in json.load(f)["limits"].items()}


class _AIEType(Type):
    @classmethod
    def get(cls, type):
        return cls(f"!aie.{cls._KIND}<{type}>", type)

    def __init__(self, text, element=None):
        super().__init__(text)
        self.element_type = element

    @classmethod
    def isinstance(cls, other):
        return isinstance(other, cls)


class ObjectFifoType(_AIEType):
    _KIND = "objectfifo"


class ObjectFifoSubviewType(_AIEType):
    _KIND = "objectfifosubview"


class blockFloatType(_AIEType):
    _KIND = "block_float"


class NPU2TargetModel:
    """The parts of AIETargetModel that python/iron/device/device.py calls, answered from npu2_target.json."""

    def __init__(self):
        L = _limits()
        self._cols = L["array.columns"]
        self._shim, self._mem, self._core0 = L["array.shimRow"], L["array.memTileRow"], L["array.firstCoreRow"]
        self._rows = self._core0 + L["array.coreRows"]
        self._dma = {   # (tile kind, output?) -> DMA channels
            ("core", True): L["core.dmaMM2SChannels"], ("core", False): L["core.dmaS2MMChannels"],
            ("mem", True): L["memTile.dmaMM2SChannels"], ("mem", False): L["memTile.dmaS2MMChannels"],
            ("shim", True): L["shim.dmaMM2SChannels"], ("shim", False): L["shim.dmaS2MMChannels"],
        }

    def columns(self):
        return self._cols

    def rows(self):
        return self._rows

    def is_core_tile(self, col, row):
        return 0 <= col < self._cols and self._core0 <= row < self._rows

    def is_mem_tile(self, col, row):
        return 0 <= col < self._cols and row == self._mem

    def is_shim_noc_or_pl_tile(self, col, row):
        return 0 <= col < self._cols and row == self._shim

    def is_shim_noc_tile(self, col, row):
        return self.is_shim_noc_or_pl_tile(col, row)

    def is_shim_pl_tile(self, col, row):
        return False

    def _kind(self, col, row):
        if self.is_shim_noc_or_pl_tile(col, row):
            return "shim"
        return "mem" if self.is_mem_tile(col, row) else "core"

    @staticmethod
    def _is_dma(bundle):
        return getattr(bundle, "name", bundle) == "DMA"

    # switchbox DMA ports: core and memory tiles (a shim tile's DMA reaches the switchbox through its mux)
    def get_num_source_switchbox_connections(self, col, row, bundle):
        k = self._kind(col, row)
        return self._dma[(k, True)] if self._is_dma(bundle) and k != "shim" else 0

    def get_num_dest_switchbox_connections(self, col, row, bundle):
        k = self._kind(col, row)
        return self._dma[(k, False)] if self._is_dma(bundle) and k != "shim" else 0

    def get_num_source_shim_mux_connections(self, col, row, bundle):
        return self._dma[("shim", True)] if self._is_dma(bundle) and self._kind(col, row) == "shim" else 0

    def get_num_dest_shim_mux_connections(self, col, row, bundle):
        return self._dma[("shim", False)] if self._is_dma(bundle) and self._kind(col, row) == "shim" else 0

    def is_legal_mem_affinity(self, *a):
        raise NotImplementedError("mock target model: memory affinity is not modelled (Tools/real_iron)")


def get_target_model(device):
    name = getattr(device, "name", str(device))
    if name != "npu2":
        raise NotImplementedError(f"mock target model: only npu2 is modelled, not {name} (Tools/real_iron)")
    return NPU2TargetModel()


def register_dialect(registry):
    pass


def _absent(name):
    def f(*a, **k):
        raise NotImplementedError(f"mock: {name} runs mlir-aie's compiler, which Tools/real_iron does not have")
    f.__name__ = name
    return f


for _n in ("aie_llvm_link", "generate_bcf", "generate_cdo", "generate_xaie", "generate_control_packets",
           "translate_npu_to_binary", "translate_aie_vec_to_cpp", "translate_mlir_to_llvmir",
           "transaction_binary_to_mlir", "npu_instgen"):
    globals()[_n] = _absent(_n)
