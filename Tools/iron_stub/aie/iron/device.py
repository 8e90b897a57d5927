# Tiles and the NPU2 (XDNA2) device as mlir-aie's iron/device names them: shim row 0, memory tiles row 1, cores rows 2-5.


class Tile:
    def __init__(self, col, row):
        self.col, self.row = col, row

    def __eq__(self, other):
        return isinstance(other, Tile) and (self.col, self.row) == (other.col, other.row)

    def __hash__(self):
        return hash((self.col, self.row))

    def __repr__(self):
        return f"Tile({self.col}, {self.row})"


class AnyShimTile:
    pass


class AnyMemTile:
    pass


class AnyComputeTile:
    pass


class NPU2:
    """Strix/Krackan XDNA2: 8 columns; per column a shim tile, a memory tile and 4 compute tiles."""
    cols = 8
    shim_row, mem_row, compute_rows = 0, 1, (2, 3, 4, 5)

    def compute_tiles(self):
        return [Tile(c, r) for c in range(self.cols) for r in self.compute_rows]

    def mem_tiles(self):
        return [Tile(c, self.mem_row) for c in range(self.cols)]

    def shim_tiles(self):
        return [Tile(c, self.shim_row) for c in range(self.cols)]
