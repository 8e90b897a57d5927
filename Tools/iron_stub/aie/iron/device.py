# Tiles and the NPU2 (XDNA2) device as mlir-aie's python/iron/device names them; channel counts from Kernels/npu2_target.json.
#
# As the real device.py: tiles are listed column by column (tile_iterator), shim row 0, memory tiles row 1,
# cores rows 2-5; get_num_connections(tile, output) is the shim mux's DMA ports on row 0 and the
# switchbox's DMA ports elsewhere (AIETargetModel getNum{Source,Dest}{ShimMux,Switchbox}Connections).
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "npu2_target", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "npu2_target.py"))
target = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(target)


class Tile:
    """python/iron/device/tile.py Tile(col, row, allocation_scheme=None): equal by coordinates, never equal to a placeholder."""

    def __init__(self, col, row, allocation_scheme=None):
        self.col, self.row, self.allocation_scheme = col, row, allocation_scheme

    def __eq__(self, other):
        if not isinstance(other, Tile):
            return NotImplemented
        return (self.col, self.row) == (other.col, other.row)

    def __hash__(self):
        return hash(str(self))

    def __str__(self):
        return f"Tile({self.col}, {self.row})"

    __repr__ = __str__


class AnyShimTile:
    pass


class AnyMemTile:
    pass


class AnyComputeTile:
    pass


class NPU2:
    """Strix/Krackan XDNA2 (AIETargetModel NPU2TargetModel): 8 columns; per column a shim tile, a memory tile and 4 cores."""

    def __init__(self):
        self.cols = target.value("array.columns")
        self.shim_row, self.mem_row = target.value("array.shimRow"), target.value("array.memTileRow")
        first = target.value("array.firstCoreRow")
        self.compute_rows = tuple(range(first, first + target.value("array.coreRows")))
        self.rows = first + len(self.compute_rows)

    def _tiles(self, rows):
        return [Tile(c, r) for c in range(self.cols) for r in range(self.rows) if r in rows]

    def get_shim_tiles(self):
        return self._tiles((self.shim_row,))

    def get_mem_tiles(self):
        return self._tiles((self.mem_row,))

    def get_compute_tiles(self):
        return self._tiles(self.compute_rows)

    def tile_kind(self, tile):
        return "shim" if tile.row == self.shim_row else "memTile" if tile.row == self.mem_row else "core"

    def get_num_connections(self, tile, output):
        """DMA channels of the tile in one direction: MM2S (output) or S2MM."""
        return target.value(f"{self.tile_kind(tile)}.dma{'MM2S' if output else 'S2MM'}Channels")
