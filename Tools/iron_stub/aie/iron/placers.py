# SequentialPlacer as mlir-aie's python/iron/placers.py places: workers column by column, then every AnyShimTile/AnyMemTile endpoint by its per-tile DMA channel accounting and column search.
#
# Behaviour replicated from the real placer (read, not copied), so a design fails here where it fails there:
# - workers: explicitly placed ones are taken out of the free compute tiles (a tile given twice is a
#   "Partial Placement Error"); the others take the free tiles in device order; every worker's Buffers are
#   placed on its tile; every worker's producer handles count as output channels and its consumer handles
#   as input channels of its tile (placed or not).
# - fifo handles, sorted by name: the "common column" is the rounded mean column of the fifo's endpoints
#   that sit on FREE compute tiles (explicitly placed workers are not among them: a design that places all
#   its workers searches from column 0). Each AnyShimTile/AnyMemTile endpoint on the handle's side, then
#   each link endpoint of the fifo, takes the first tile (from the common column rightwards) whose channels
#   in that direction (and, for a link, in the other direction too) still fit; explicitly placed endpoints
#   are neither searched nor counted. No tile left: "Failed to find a tile matching column C: tried until
#   column N. ..." (_find_col_match).
import statistics

from .device import AnyComputeTile, AnyMemTile, AnyShimTile, Tile


class SequentialPlacer:
    def __init__(self, cores_per_col=None):
        self.cores_per_col = cores_per_col

    def make_placement(self, device, rt, workers, object_fifos):
        from ._record import Link, Worker
        shims = {True: device.get_shim_tiles(), False: device.get_shim_tiles()}     # output (MM2S) / input (S2MM)
        mems = {True: device.get_mem_tiles(), False: device.get_mem_tiles()}
        computes = device.get_compute_tiles()
        computes_dir = {True: device.get_compute_tiles(), False: device.get_compute_tiles()}
        used = {True: {}, False: {}}     # direction -> tile -> [(endpoint, channels)]
        for w in workers:
            if isinstance(w.tile, Tile):
                if w.tile not in computes:
                    raise ValueError(f"Partial Placement Error: Tile {w.tile} not available on device {device} "
                                     f"or has already been used.")
                computes.remove(w.tile)
        if self.cores_per_col is not None:
            kept = []
            for col in range(device.cols):
                here = [t for t in computes if t.col == col]
                if len(here) < self.cores_per_col:
                    raise ValueError(f"Not enough compute tiles at column {col}!")
                kept += here[:self.cores_per_col]
            computes = kept
        nxt = 0
        for w in workers:
            if w.tile is AnyComputeTile:
                if nxt >= len(computes):
                    raise ValueError("Ran out of compute tiles for placement!")
                w.place(computes[nxt])
                nxt += 1
            for b in w.buffers:
                b.place(w.tile)
            for output in (True, False):
                n = sum(1 for h in w.fifos if h.is_prod == output)
                self._account(w, w.tile, output, n, used[output], computes_dir[output], device)

        for h in object_fifos:
            ends = h.all_of_endpoints()
            side = h.fifo._get_endpoint(h.is_prod)
            col = self._common_col([e.tile for e in ends if e.tile in computes])
            out = h.is_prod
            for e in side:
                if isinstance(e, Worker):
                    continue
                pool = mems if e.tile is AnyMemTile else shims if e.tile is AnyShimTile else None
                if pool is not None:
                    self._place(e, pool[out], col, used[out], device, out)
            for e in (x for x in ends if isinstance(x, Link)):
                pool = mems if e.tile is AnyMemTile else computes_dir if e.tile is AnyComputeTile else None
                if pool is not None:
                    self._place(e, pool[out], col, used[out], device, out, pool[not out], used[not out])

    @staticmethod
    def _common_col(tiles):
        cols = [t.col for t in tiles if isinstance(t, Tile)]
        return round(statistics.mean(cols)) if cols else 0

    @staticmethod
    def _find_col_match(col, tiles, device):
        c = col
        while c < device.cols:
            for t in tiles:
                if t.col == c:
                    return t
            c += 1
        raise ValueError(f"Failed to find a tile matching column {col}: tried until column {c}. "
                         f"Try using a device with more columns.")

    @staticmethod
    def _account(endpoint, tile, output, n, used, tiles, device):
        if n == 0:
            return
        used.setdefault(tile, []).append((endpoint, n))
        if sum(c for _, c in used[tile]) >= device.get_num_connections(tile, output):
            tiles.remove(tile)

    def _place(self, e, tiles, col, used, device, output, link_tiles=(), link_used=None):
        from ._record import Link
        need, need_other = 1, 0
        if isinstance(e, Link):
            # a link's sources are consumer handles (input channels), its destinations producer handles
            need, need_other = (len(e._srcs), len(e._dsts)) if output else (len(e._dsts), len(e._srcs))
        candidates = list(tiles)
        while True:
            t = self._find_col_match(col, candidates, device)
            fits = need + sum(c for _, c in used.get(t, [])) <= device.get_num_connections(t, output)
            if fits and isinstance(e, Link):
                fits = need_other + sum(c for _, c in link_used.get(t, [])) <= device.get_num_connections(t, not output)
            if fits:
                break
            candidates.remove(t)
        e.place(t)
        self._account(e, t, output, need, used, tiles, device)
        if isinstance(e, Link):
            self._account(e, t, not output, need_other, link_used, link_tiles, device)
