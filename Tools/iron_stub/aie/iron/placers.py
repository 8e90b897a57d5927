# SequentialPlacer: workers without a tile take the free compute tiles column by column; links without a tile take memory tiles.
from .device import AnyComputeTile, AnyMemTile, Tile


class SequentialPlacer:
    def make_placement(self, device, rt, workers, links):
        used = {w.tile for w in workers if isinstance(w.tile, Tile)}
        free = [t for t in device.compute_tiles() if t not in used]
        for w in workers:
            if not isinstance(w.tile, Tile):
                if not free:
                    raise ValueError(f"no compute tile left for worker {w.name}")
                w.tile = free.pop(0)
        mems = device.mem_tiles()
        for i, link in enumerate(l for l in links if not isinstance(l.tile, Tile)):
            link.tile = mems[i % len(mems)]
