# Executes an IRON design against Tools/iron_stub and checks the record against the real toolchain's rules, each limit read from Kernels/npu2_target.json and each problem naming its source.
#
# Used by Tools/check_designs.py. Every problem is "[rule] message (source)"; the rules (Kernels/README.md):
#   placement     the real SequentialPlacer's result (python/iron/placers.py), as the stub replicates it
#   worker-args   the real Worker resolves only top-level fn_args (python/iron/worker.py)
#   symbols       one name per device symbol: Kernel func.func, Buffer, ObjectFifo (MLIR SymbolTable)
#   cores         workers on distinct compute tiles, at most array.columns x array.coreRows
#   core-memory / core-dma / core-bds / core-locks / core-program   per compute tile
#   memtile-channels / memtile-bds / memtile-locks / memtile-memory   per memory tile, from its links
#   shim-channels / shim-bds / shim-bd   per shim tile, per runtime task group, per transfer's BD shape
#   kernels, flow, arguments   our own: C symbols and argument counts, objects per run, bytes per argument
# Limits: npu2_target.value(key); sources: npu2_target.cite(key) plus the code that applies the limit.
import functools
import importlib
import math
import os
import re
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(TOOLS, "iron_stub")
sys.path.insert(0, TOOLS)
import npu2_target as T  # noqa: E402

MLIR_AIE = "mlir-aie "
SRC = {
    "placement": MLIR_AIE + "python/iron/placers.py SequentialPlacer.make_placement/_place_endpoint/_find_col_match",
    "worker": MLIR_AIE + "python/iron/worker.py Worker.__init__ (top-level fn_args only); program.py resolve_program",
    "symbols": T.source("program.uniqueSymbols"),
    "coreChannels": MLIR_AIE + "lib/Dialect/AIE/Transforms/AIEObjectFifoStatefulTransform.cpp "
                               "DMAChannelAnalysis::getDMAChannelIndex ('number of input/output DMA channel exceeded!')",
    "fifoSize": MLIR_AIE + "lib/Dialect/AIE/Transforms/AIEObjectFifoStatefulTransform.cpp findObjectFifoSize "
                           "(a core producer gets max acquire + 1 buffers when all depths agree) and createObjectFifoElements",
    "unroll": MLIR_AIE + "lib/Dialect/AIE/Transforms/AIEObjectFifoStatefulTransform.cpp unrollForLoops (loops that "
                         "acquire are unrolled by the LCM of the fifo sizes; the worker's while(true) loop too)",
    "memtile": MLIR_AIE + "lib/Dialect/AIE/Transforms/AIEObjectFifoStatefulTransform.cpp createMemTileDMA, "
                          "createObjectFifoLocks (a link of N sub-fifos at depth d: N + 1 channels, 2·N·d BDs, 2·N locks)",
    "shimTasks": MLIR_AIE + "lib/Dialect/AIEX/Transforms/AIEAssignRuntimeSequenceBDIDs.cpp ('Allocator exhausted "
                            "available buffer descriptor IDs.'); python/iron/runtime/runtime.py (tasks freed when "
                            "their task group finishes, the default group at the end)",
}


def use_stub():
    if STUB not in sys.path:
        sys.path.insert(0, STUB)
    for name in [m for m in sys.modules if m in ("numpy", "ml_dtypes") or m.startswith(("numpy.", "ml_dtypes.", "aie"))]:
        if not getattr(sys.modules[name], "__file__", "") or not sys.modules[name].__file__.startswith(STUB):
            del sys.modules[name]


def run_design(path, *args, **kwargs):
    """Imports the design file (fresh) with the stub and returns design(*args, **kwargs)'s record. The design's
    AIECC_FLAGS set the objectfifo lowering the record models (--dynamic-objFifos: no unrolling), and its helpers'
    region markers (roles.expect) are recorded in the workers' event trees."""
    use_stub()
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        name = os.path.splitext(os.path.basename(path))[0]
        for m in ("roles", "layout", name):
            sys.modules.pop(m, None)
        from aie.iron import _record
        _record._DECLARED.clear()   # links of an earlier design that failed half-way
        module = importlib.import_module(name)
        _record.LOWERING["static"] = "--dynamic-objFifos" not in getattr(module, "AIECC_FLAGS", [])
        if "roles" in sys.modules and hasattr(sys.modules["roles"], "expect"):
            sys.modules["roles"].expect = _record.expect
        record = module.design(*args, **kwargs)
        record.static_lowering = _record.LOWERING["static"]
        return record
    finally:
        sys.path.remove(folder)


_FN = re.compile(r"\b(?:void|int32_t|float|int)\s+([A-Za-z_]\w*)\s*\(([^)]*)\)\s*\{", re.S)


@functools.lru_cache(maxsize=None)
def _extern_functions(paths):
    out = {}
    for p in paths:
        with open(p) as f:
            text = f.read()
        start = text.find('extern "C"')
        while start >= 0:
            body = text[start:]
            for m in _FN.finditer(body):
                params = [x for x in m.group(2).split(",") if x.strip() and x.strip() != "void"]
                out.setdefault(m.group(1), len(params))
            start = text.find('extern "C"', start + 1)
    return out


def extern_functions(paths):
    """name -> parameter count of every function defined inside extern "C" { ... } in the sources."""
    return dict(_extern_functions(tuple(paths)))


def _union(intervals):
    merged = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [tuple(x) for x in merged]


def _multiplicity(intervals):
    """The byte ranges of intervals [(a, b) or (a, b, times)] with how often each is covered: sorted, merged
    [(a, b, count)] segments of equal count > 0 (a range given with `times` counts that many times)."""
    delta = {}
    for x in intervals:
        a, b, n = x if len(x) == 3 else (x[0], x[1], 1)
        if b > a and n:
            delta[a] = delta.get(a, 0) + n
            delta[b] = delta.get(b, 0) - n
    out, level, at = [], 0, None
    for pos in sorted(delta):
        if level and at is not None and pos > at:
            if out and out[-1][1] == at and out[-1][2] == level:
                out[-1] = (out[-1][0], pos, level)
            else:
                out.append((at, pos, level))
        level += delta[pos]
        at = pos
    return out


def _subtract(a, b):
    """Interval list a minus interval list b (both merged, sorted)."""
    out = []
    for x, y in a:
        cur = x
        for u, v in b:
            if v <= cur or u >= y:
                continue
            if u > cur:
                out.append((cur, u))
            cur = max(cur, v)
        if cur < y:
            out.append((cur, y))
    return out


def _ranges(xs, n=3):
    return "none" if not xs else ", ".join(f"[{a}, {b})" for a, b in xs[:n]) + (f", ... ({len(xs)})" if len(xs) > n else "")


def check_read_after_write(rt, p):
    """A fill that reads bytes a drain of the same run writes must be issued after that drain was awaited: the
    drain's task has wait=True and its task group finished before the fill (python/iron/runtime/runtime.py: a
    task's await is emitted when its task group finishes; a freed task may still run), or a later drain on the same
    channel was: a channel runs its tasks in issue order and the await is a sync on that channel's task-complete
    token, which only the awaited task issues (lib/Dialect/AIEX/Transforms/AIEDMATasksToNPU.cpp: dma_await_task ->
    NpuSyncOp on the task's tile, direction and channel; python/iron/runtime/dmatask.py: issue_token=wait)."""
    written = {t.data.index for t in rt.transfers if t.kind == "drain"}
    unsure, reported, group_writes = {}, set(), {}   # argument index -> bytes written but not (yet) awaited
    issued = {}                                      # a drain channel (its fifo handle) -> its drains in issue order
    for task in rt.tasks:
        if isinstance(task, tuple):
            for t in group_writes.pop(task[1], []):
                if t.wait:
                    on = issued.get(id(t.handle), [])
                    upto = next(k for k, x in enumerate(on) if x is t) + 1
                    for x in on[:upto]:
                        size = x.data.type.dtype.itemsize
                        iv = _union([(a * size, b * size) for a, b in x.tap.intervals()])
                        unsure[x.data.index] = _subtract(unsure.get(x.data.index, []), iv)
                    issued[id(t.handle)] = on[upto:]
            continue
        i = task.data.index
        if i not in written:
            continue
        size = task.data.type.dtype.itemsize
        iv = _union([(a * size, b * size) for a, b in task.tap.intervals()])
        if task.kind == "drain":
            unsure[i] = _union(unsure.get(i, []) + iv)
            group_writes.setdefault(task.task_group, []).append(task)
            issued.setdefault(id(task.handle), []).append(task)
            continue
        early = [(max(a, u), min(b, v)) for a, b in iv for u, v in unsure.get(i, []) if u < b and a < v]
        if early and (i, task.handle.name) not in reported:
            reported.add((i, task.handle.name))
            p("arguments", f"a fill of argument {3 + i} ({task.handle.name}) reads {_ranges(_union(early))}, which a "
                           f"drain of this run writes and no finished task group has awaited yet: the fill may read "
                           f"stale data (python/iron/runtime/runtime.py: awaits are emitted at finish_task_group)")


def _names(xs, n=4):
    xs = list(xs)
    return ", ".join(str(x) for x in xs[:n]) + (f", ... ({len(xs)})" if len(xs) > n else "")


# --- compute tiles -----------------------------------------------------------------------------------

def endpoint_buffers(h, worker=None):
    """Buffers a fifo end on a compute tile gets: a consumer its depth; a producer max acquire + 1 when every
    handle of the fifo has one depth (findObjectFifoSize), else its depth."""
    if not h.is_prod:
        return h.depth
    f = h.fifo
    depths = {f._prod.depth} | {c.depth for c in f._cons}
    if len(depths) > 1:
        return h.depth
    most = (worker.trace.max_acquire.get(h, 0) if worker is not None and worker.trace else 0)
    if most == 0:
        return h.depth
    return 1 if most == 1 and h.depth == 1 else most + 1


def core_bytes(worker):
    """A core's data memory as the checker counts it: every fifo end's buffers, every Buffer, the stack."""
    return (sum(h.fifo.obj_type.nbytes * endpoint_buffers(h, worker) for h in worker.fifos)
            + sum(b.type.nbytes for b in worker.buffers) + worker.stack_bytes)


def figures(record):
    """The record's summary: workers, the largest core (bytes, worker name), gemv cores, the fullest memory tile's bytes."""
    workers = record.rt.started
    big = max(workers, key=core_bytes)
    mem = {}
    for link in record.links:
        mem[str(link.tile)] = mem.get(str(link.tile), 0) + link_figures(link)["bytes"]
    return {"workers": len(workers), "core_bytes": core_bytes(big), "core": big.name,
            "gemv_cores": sum(1 for w in workers if w.name == "gemv_core"), "memtile_bytes": max(mem.values(), default=0)}


def shim_bd_peaks(record):
    """Per placed shim tile: the most BDs its tasks hold at once (a task holds its BD until its group finishes)."""
    from aie.iron._record import RuntimeEndpoint
    live, held, peak = {}, {}, {}
    for task in record.rt.tasks:
        if isinstance(task, tuple):
            for tile in live.pop(task[1], []):
                held[tile] -= 1
            continue
        e = task.endpoint
        tile = str(e.tile) if isinstance(e, RuntimeEndpoint) else "?"
        live.setdefault(task.task_group, []).append(tile)
        held[tile] = held.get(tile, 0) + 1
        peak[tile] = max(peak.get(tile, 0), held[tile])
    return peak


def describe_figures(record, label):
    """One paragraph of a record's resource figures (check_designs.py --figures)."""
    from aie.iron._record import RuntimeEndpoint
    f = figures(record)
    shims = {}
    for t in record.rt.transfers:
        e = t.endpoint
        if isinstance(e, RuntimeEndpoint):
            d = shims.setdefault(str(e.tile), [set(), set()])
            d[0 if t.kind == "fill" else 1].add(t.handle.fifo.name)
    mem = {}
    for link in record.links:
        fig = link_figures(link)
        m = mem.setdefault(str(link.tile), [0, 0, 0, 0])
        m[0] += len(fig["s2mm"])
        m[1] += len(fig["mm2s"])
        m[2] += sum(fig["s2mm"]) + sum(fig["mm2s"])
        m[3] += fig["bytes"]
    roles = {}
    for w in record.rt.started:
        r = roles.setdefault(w.name, [0, 0, 0])
        r[0] += 1
        r[1] = max(r[1], core_bytes(w))
        r[2] = max(r[2], w.trace.program_bytes() if w.trace else 0)
    peaks = shim_bd_peaks(record)
    groups = sum(1 for t in record.rt.tasks if isinstance(t, tuple))
    return (f"{label}: {f['workers']} cores (" + ", ".join(f"{n} {k}: {b / 1024:.1f} KB, program ~{q / 1024:.1f} KB"
                                                           for k, (n, b, q) in roles.items()) + "); "
            f"shim MM2S/S2MM fifos " + ", ".join(f"{t} {len(a)}/{len(b)}" for t, (a, b) in sorted(shims.items())) + "; "
            f"memory tiles S2MM/MM2S/BDs/KB " + ", ".join(f"{t} {a}/{b}/{c}/{d / 1024:.0f}" for t, (a, b, c, d)
                                                           in sorted(mem.items())) + "; "
            f"{len(record.rt.transfers)} transfers in {groups} task groups, shim BDs held at most "
            + ", ".join(f"{t} {n}" for t, n in sorted(peaks.items())))


def check_cores(record, p):
    workers = record.rt.started
    cols, rows = T.value("array.columns"), T.value("array.coreRows")
    first = T.value("array.firstCoreRow")
    from aie.iron.device import Tile
    if len(workers) > cols * rows:
        p("cores", f"{len(workers)} workers, more than the {cols * rows} cores{T.cite('array.columns')}")
    seen = {}
    for w in workers:
        t = w.tile
        if not isinstance(t, Tile):
            continue
        if not (0 <= t.col < cols and first <= t.row < first + rows):
            p("cores", f"worker {w.name} on {t}, not a compute tile{T.cite('array.firstCoreRow')}")
        if t in seen:
            p("cores", f"workers {seen[t]} and {w.name} share {t}")
        seen[t] = w.name
        where = f"core {w.name} at {t}"
        total, limit = core_bytes(w), T.value("core.dataMemoryBytes")
        if total > limit:
            detail = ", ".join(f"{h.name} {h.fifo.obj_type.nbytes}x{endpoint_buffers(h, w)}" for h in w.fifos)
            p("core-memory", f"{where} needs {total} bytes (fifos: {detail}; buffers "
                             f"{sum(b.type.nbytes for b in w.buffers)}; stack {w.stack_bytes}), more than {limit}"
                             f"{T.cite('core.dataMemoryBytes')}")
        for output, key in ((False, "core.dmaS2MMChannels"), (True, "core.dmaMM2SChannels")):
            hs = [h.name for h in w.fifos if h.is_prod == output]
            if len(hs) > T.value(key):
                p("core-dma", f"{where} has {len(hs)} {'output' if output else 'input'} fifos {hs}: a core has "
                              f"{T.value(key)} {'MM2S' if output else 'S2MM'} DMA channels{T.cite(key)}; {SRC['coreChannels']}")
        bds = sum(endpoint_buffers(h, w) * T.value("objectFifo.bdsPerBuffer") for h in w.fifos)
        if bds > T.value("core.bds"):
            p("core-bds", f"{where} needs {bds} BDs for its fifo buffers "
                          f"({', '.join(f'{h.name} {endpoint_buffers(h, w)}' for h in w.fifos)}), more than "
                          f"{T.value('core.bds')}{T.cite('core.bds')}; {T.source('objectFifo.bdsPerBuffer')}")
        locks = len(w.fifos) * T.value("objectFifo.locksPerSubFifo")
        if locks > T.value("core.locks"):
            p("core-locks", f"{where} needs {locks} locks for {len(w.fifos)} fifo ends, more than "
                            f"{T.value('core.locks')}{T.cite('core.locks')}; {T.source('objectFifo.locksPerSubFifo')}")
    # program size, one line per worker role (name): the largest estimate and the tiles over
    over = {}
    for w in workers:
        if w.trace is not None and isinstance(w.tile, Tile):
            size = w.trace.program_bytes()
            if size > T.value("core.programMemoryBytes"):
                over.setdefault(w.name, []).append((size, w))
    for name, xs in sorted(over.items()):
        size, w = max(xs, key=lambda x: x[0])
        p("core-program", f"core {name} on {len(xs)} tiles ({_names([str(x.tile) for _, x in xs], 2)}): program estimate "
                          f"up to {size} bytes ({len(w.trace.calls)} kernel call sites, {len(w.trace.functions)} kernels, "
                          f"loops unrolled as the transform does), more than {T.value('core.programMemoryBytes')}"
                          f"{T.cite('core.programMemoryBytes')}; estimate: core.programCost.*; {SRC['unroll']}")


# --- memory tiles ------------------------------------------------------------------------------------

def link_figures(link):
    """What a link takes on its memory tile: channels per direction, BDs per channel, locks, bytes."""
    n = len(link.subs)
    wide = link.wide.fifo
    if n == 1:   # forward: the buffers are the larger fifo's (createObjectFifoElements)
        sub = link.subs[0]
        sub_end = sub._prod if link.split else next(c for c in sub._cons if c.endpoint is link)
        big_wide = wide.obj_type.count >= sub.obj_type.count if link.split else sub.obj_type.count >= wide.obj_type.count
        tgt_ty, depth = (wide.obj_type, link.wide.depth) if big_wide else (sub.obj_type, sub_end.depth)
    else:
        tgt_ty, depth = wide.obj_type, link.wide.depth
    wide_chan = [depth * n]             # the wide fifo's channel: d BDs per buffer per sub-fifo
    narrow = [depth] * n                # each sub-fifo's channel: d BDs
    s2mm, mm2s = (wide_chan, narrow) if link.split else (narrow, wide_chan)
    return {"s2mm": s2mm, "mm2s": mm2s, "locks": n * T.value("objectFifo.locksPerSubFifo"),
            "bytes": depth * tgt_ty.nbytes, "n": n, "depth": depth}


def check_memtiles(record, p):
    from aie.iron.device import Tile
    tiles = {}
    for link in record.links:
        if isinstance(link.tile, Tile):
            tiles.setdefault(link.tile, []).append(link)
    for tile, links in sorted(tiles.items(), key=lambda x: (x[0].col, x[0].row)):
        figs = [(l, link_figures(l)) for l in links]
        what = f"memory tile {tile}"
        for key, d in (("memTile.dmaS2MMChannels", "s2mm"), ("memTile.dmaMM2SChannels", "mm2s")):
            n = sum(len(f[d]) for _, f in figs)
            if n > T.value(key):
                used = ", ".join(f"{l.wide.name} {len(f[d])}" for l, f in figs if f[d])
                p("memtile-channels", f"{what}: its links need {n} {d.upper()} channels ({used}), more than "
                                      f"{T.value(key)}: 'number of {'input' if d == 's2mm' else 'output'} DMA channel "
                                      f"exceeded!'{T.cite(key)}; {SRC['memtile']}")
        bds = {0: 0, 1: 0}          # channel parity -> BDs (channels numbered per direction in declaration order)
        for d in ("s2mm", "mm2s"):
            for i, n in enumerate(x for _, f in figs for x in f[d]):
                bds[i % 2] += n
        total = bds[0] + bds[1]
        if total > T.value("memTile.bds"):
            used = ", ".join(f"{l.wide.name} {sum(f['s2mm']) + sum(f['mm2s'])}" for l, f in figs)
            p("memtile-bds", f"{what}: its links need {total} BDs ({used}), more than {T.value('memTile.bds')}"
                             f"{T.cite('memTile.bds')}; {SRC['memtile']}")
        else:
            for parity, n in bds.items():
                if n > T.value("memTile.bdsPerChannelParity"):
                    p("memtile-bds", f"{what}: its {'even' if parity == 0 else 'odd'} channels need {n} BDs, more "
                                     f"than {T.value('memTile.bdsPerChannelParity')}{T.cite('memTile.bdsPerChannelParity')}")
        locks = sum(f["locks"] for _, f in figs)
        if locks > T.value("memTile.locks"):
            p("memtile-locks", f"{what}: its links need {locks} locks, more than {T.value('memTile.locks')}"
                               f"{T.cite('memTile.locks')}; {SRC['memtile']}")
        nbytes = sum(f["bytes"] for _, f in figs)
        if nbytes > T.value("memTile.bytes"):
            p("memtile-memory", f"{what} holds {nbytes} bytes of link buffers, more than {T.value('memTile.bytes')}"
                                f"{T.cite('memTile.bytes')}")


# --- shim tiles --------------------------------------------------------------------------------------

def bd_problems(tap, itemsize):
    """The shim BD rules one runtime transfer breaks: [(check, message)]. The TAP's sizes/strides (elements of
    the argument's dtype, outermost first) become the BD's d0 (innermost) .. d3 (iteration) as
    python/dialects/aiex.py shim_dma_single_bd_task and AIEDMATasksToNPU.cpp do, then
    AIEX::getHardwareStridesWraps converts them to 32-bit words and verifyStridesWraps / NpuWriteBdOp::verify /
    NpuPushQueueOp::verify apply."""
    out = []
    bits, gran = itemsize * 8, T.value("shimBd.addressGranularityBits")
    word = gran // 8
    sizes, strides = tap.sizes, tap.strides
    n = len(sizes)
    if n > T.value("shimBd.dimensionsMax"):
        return [("dimensions", f"{n} dimensions, more than {T.value('shimBd.dimensionsMax')}{T.cite('shimBd.dimensionsMax')}")]
    ins = [sizes[n - 1 - i] if i < n else 1 for i in range(4)]       # d0 (innermost) .. d3
    ist = [strides[n - 1 - i] if i < n else 0 for i in range(4)]
    gcite = T.cite("shimBd.addressGranularityBits")
    if tap.offset * itemsize % word:
        out.append(("offset", f"offset {tap.offset * itemsize} bytes is not {word}-byte aligned{gcite}"))
    if tap.offset * itemsize > T.value("shimBd.argumentOffsetMaxBytes"):
        out.append(("argumentOffset", f"starts at byte {tap.offset * itemsize} of its argument, past "
                                      f"{T.value('shimBd.argumentOffsetMaxBytes')}{T.cite('shimBd.argumentOffsetMaxBytes')}"))
    if ins[0] * bits % gran:
        out.append(("granularity", f"d0 size {ins[0]} x {itemsize} B is not a multiple of {word} bytes{gcite}"))
    for i in range(3):
        if ins[i] > 1 and ist[i] < 1:
            out.append(("stride0", f"d{i} has size {ins[i]} and stride 0: 'Stride {i} must be a positive integer.' "
                                   f"({MLIR_AIE}lib/Dialect/AIEX/IR/AIEXDialect.cpp AIEX::verifyStridesWraps)"))
    for i in range(4):
        if not (i == 0 and ist[0] == 1) and ist[i] * bits % gran:
            out.append(("granularity", f"d{i} stride {ist[i]} x {itemsize} B is not a multiple of {word} bytes{gcite}"))
    linear = ins[1] == 1 and ins[2] == 1 and ist[0] == 1 and ist[1] == 0 and ist[2] == 0
    words0 = ins[0] * bits // gran
    if not linear and words0 > T.value("shimBd.innerSizeMaxWords"):
        out.append(("innerSize", f"d0 size {words0} words (not a linear transfer), more than "
                                 f"{T.value('shimBd.innerSizeMaxWords')}{T.cite('shimBd.innerSizeMaxWords')}"))
    if ins[1] > T.value("shimBd.d1SizeMax"):
        out.append(("d1Size", f"d1 size {ins[1]}, more than {T.value('shimBd.d1SizeMax')}{T.cite('shimBd.d1SizeMax')}"))
    iterating = ins[3] > 1 and ist[3] > 0
    if iterating and ins[3] > T.value("shimBd.iterationSizeMax"):
        out.append(("iterations", f"{ins[3]} iterations (d3 stride {ist[3] * bits // gran} words), more than "
                                  f"{T.value('shimBd.iterationSizeMax')}{T.cite('shimBd.iterationSizeMax')}"))
    limit = T.value("shimBd.strideMaxWords")
    for i in range(4):
        words = ist[i] * bits // gran
        active = (i == 0 and ist[0] * bits >= gran and bits <= gran) or (i in (1, 2) and ins[i] > 1) or (i == 3 and iterating)
        if active and words > limit:
            out.append(("stride", f"d{i} stride {words} words, more than {limit}{T.cite('shimBd.strideMaxWords')}"))
    repeat = sizes[0] - 1 if sizes[0] > 1 else 0
    if repeat > T.value("shimBd.repeatCountMax"):
        out.append(("repeat", f"repeat count {repeat}, more than {T.value('shimBd.repeatCountMax')}"
                              f"{T.cite('shimBd.repeatCountMax')}"))
    return out


def check_shim(record, p):
    from aie.iron._record import RuntimeEndpoint
    from aie.iron.device import Tile
    rt = record.rt
    # BD shape of every transfer, one line per (argument, direction, check)
    found = {}
    for t in rt.transfers:
        for check, msg in bd_problems(t.tap, t.data.type.dtype.itemsize):
            key = (t.data.index, t.kind, check)
            if key not in found:
                found[key] = [msg, [], 0]
            found[key][1].append(t.handle.name)
            found[key][2] += 1
    for (index, kind, _), (msg, fifos, count) in sorted(found.items(), key=lambda x: x[0]):
        p("shim-bd", f"{count} {kind}s of argument {3 + index} (fifos {_names(dict.fromkeys(fifos))}): the first: {msg}")
    # channels per placed shim tile: a fifo the runtime fills takes an MM2S channel, one it drains an S2MM channel
    ends = {}
    for t in rt.transfers:
        e = t.endpoint
        ends[id(e)] = (e, t.kind, t.handle.name)
    per_tile = {}
    for e, kind, name in ends.values():
        if isinstance(e, RuntimeEndpoint) and isinstance(e.tile, Tile):
            per_tile.setdefault((e.tile.col, e.tile.row, kind), []).append(name)
    for (col, row, kind), names in sorted(per_tile.items()):
        key = "shim.dmaMM2SChannels" if kind == "fill" else "shim.dmaS2MMChannels"
        if len(names) > T.value(key):
            p("shim-channels", f"shim tile Tile({col}, {row}) has {len(names)} runtime {kind}s' fifos ({_names(names)}), "
                               f"more than its {T.value(key)} channels{T.cite(key)}; {SRC['coreChannels']}")
    # BDs held at once: a task holds its BD from its start until its task group finishes
    live, peak_fifo, peak_tile, peak_all = {}, {}, {}, [0, None]
    per_fifo, per_tile_live, total = {}, {}, [0]

    def start(t):
        e = t.endpoint
        tile = e.tile if isinstance(e, RuntimeEndpoint) and isinstance(e.tile, Tile) else None
        live.setdefault(t.task_group, []).append((t, tile))
        name = t.handle.name
        per_fifo[name] = per_fifo.get(name, 0) + 1
        peak_fifo[name] = max(peak_fifo.get(name, 0), per_fifo[name])
        if tile is not None:
            per_tile_live[tile] = per_tile_live.get(tile, 0) + 1
            if per_tile_live[tile] > peak_tile.get(tile, (0,))[0]:
                here = {}
                for ts in live.values():
                    for x, xt in ts:
                        if xt == tile:
                            here[x.handle.name] = here.get(x.handle.name, 0) + 1
                peak_tile[tile] = (per_tile_live[tile], here)
        total[0] += 1
        peak_all[0] = max(peak_all[0], total[0])

    def finish(group):
        for t, tile in live.pop(group, []):
            per_fifo[t.handle.name] -= 1
            total[0] -= 1
            if tile is not None:
                per_tile_live[tile] -= 1
    for task in rt.tasks:
        if isinstance(task, tuple):
            finish(task[1])
        else:
            start(task)
    groups = {t.task_group is None for t in rt.transfers}
    if rt.strict_task_groups and len(groups) > 1:
        p("shim-bds", "the sequence mixes the default task group with explicit ones: 'Mixing explicit task groups and the "
                      f"default task group is prohibitted.' ({MLIR_AIE}python/iron/runtime/runtime.py Runtime.resolve)")
    bds = T.value("shim.bds")
    over = {n: c for n, c in peak_fifo.items() if c > bds}
    if over:
        p("shim-bds", f"{len(over)} fifos each hold more than {bds} BDs of their shim tile at once "
                      f"({_names(f'{n} {c}' for n, c in sorted(over.items(), key=lambda x: (-x[1], x[0])))}): every task "
                      f"of a fifo runs on its one shim channel{T.cite('shim.bds')}")
    for tile, (n, names) in sorted(peak_tile.items(), key=lambda x: (x[0].col, x[0].row)):
        if n > bds:
            p("shim-bds", f"shim tile {tile} holds {n} BDs at once "
                          f"({_names(f'{k} {v}' for k, v in sorted(names.items()))}), more than {bds}{T.cite('shim.bds')}")
    shims = T.value("array.columns")
    if peak_all[0] > bds * shims:
        p("shim-bds", f"the runtime sequence holds {peak_all[0]} BDs at once, more than the {bds * shims} of the "
                      f"{shims} shim tiles{T.cite('shim.bds')}; {SRC['shimTasks']}")


# --- symbols, worker arguments, placement -----------------------------------------------------------

def all_fifos(record):
    fifos = {}
    for h in record.handles:
        fifos[id(h.fifo)] = h.fifo
    for w in record.rt.started:
        for h in w.fifos:
            fifos[id(h.fifo)] = h.fifo
    for link in record.links:
        for f in [link.wide.fifo] + list(link.subs):
            fifos[id(f)] = f
    for t in record.rt.transfers:
        fifos[id(t.handle.fifo)] = t.handle.fifo
    return list(fifos.values())


def check_symbols(record, p):
    """Every name a device symbol takes once: ObjectFifo (aie.objectfifo), Buffer (aie.buffer), Kernel (func.func)."""
    owners = {}
    for f in all_fifos(record):
        owners.setdefault(f.name, {})[id(f)] = ("fifo", f)
    for w in record.rt.started:
        for a in w.fn_args:
            if type(a).__name__ == "Buffer":
                owners.setdefault(a.name, {})[id(a)] = ("Buffer", a)
            elif type(a).__name__ == "Kernel":
                owners.setdefault(a.name, {})[id(a)] = ("Kernel", a)
    clashes = {}
    for name, objs in sorted(owners.items()):
        if len(objs) < 2:
            continue
        kinds = sorted(k for k, _ in objs.values())
        if set(kinds) == {"Kernel"}:
            sigs = {tuple(repr(t) for t in o.arg_types) for _, o in objs.values()}
            p("symbols", f"{len(objs)} Kernels named {name}" + (f" with {len(sigs)} different signatures" if len(sigs) > 1 else "")
                         + f": one func.func each, one device symbol ({SRC['symbols']})")
        else:
            clashes.setdefault(" and ".join(f"a {k}" for k in kinds), []).append(name)
    for kinds, names in sorted(clashes.items()):
        p("symbols", f"{len(names)} names each name {kinds} ({_names(names)}): one device symbol each ({SRC['symbols']})")


def check_worker_args(record, p):
    nested, raised = {}, {}
    for w in record.rt.started:
        if w.nested:
            nested.setdefault(w.name, []).append(w)
        for e in (w.trace.errors if w.trace else []):
            if "raises" in e:
                raised.setdefault((w.name, e), []).append(w)
    for name, ws in sorted(nested.items()):
        things = [x for w in ws for x in w.nested]
        kinds = sorted({type(x).__name__ for x in things})
        p("worker-args", f"{len(ws)} workers {name} pass {len(things)} {'/'.join(kinds)} inside lists "
                         f"({_names(getattr(x, 'name', '?') for x in things)}): never placed or resolved ({SRC['worker']})")
    for (name, e), ws in sorted(raised.items()):
        p("worker-args", f"{len(ws)} cores {name}: {e} ({SRC['worker']})")


def check_placement(record, p):
    e = record.placement_error
    if e is not None:
        p("placement", f"{type(e).__name__}: {e} ({SRC['placement']}; the real Program stops here)")
    for e in record.resolve_errors:
        p("placement", f"{e} ({MLIR_AIE}python/iron/program.py resolve_program)")


# --- objectfifo lowering, region order, schedule ---------------------------------------------------------

def check_lowering(record, p):
    """Under mlir-aie's default static objectfifo lowering every acquire op gets a fixed buffer: loops that acquire
    directly are unrolled by the LCM of those fifos' buffer counts (fully when they run fewer times), and the code
    is assigned buffers in program order once (AIEObjectFifoStatefulTransform.cpp unrollForLoops, then the
    acqPerFifo / relPerFifo counters of the acquire/release rewrite). A loop that is not fully unrolled repeats
    that code, so per repetition each fifo it touches must advance by a multiple of its buffer count, or the next
    repetition uses the wrong buffers; a loop of 0 trips that acquires cannot be unrolled. The worker's while(true)
    loop is one such loop: per run. aiecc --dynamic-objFifos (dynamicGlobalObjectFifos) indexes buffers at run
    time instead: then nothing here applies."""
    if not getattr(record, "static_lowering", True):
        return
    src = MLIR_AIE + "lib/Dialect/AIE/Transforms/AIEObjectFifoStatefulTransform.cpp unrollForLoops"
    for w in record.rt.started:
        if w.trace is None or w.trace.aborted:
            continue
        size = {}
        for h in w.fifos:
            size[id(h)] = endpoint_buffers(h, w)
        found = []

        def advance(events):
            """Objects acquired per handle by one pass over events (loops counted)."""
            out = {}
            for ev in events:
                if ev[0] == "acq":
                    out[id(ev[1])] = out.get(id(ev[1]), 0) + ev[2]
                elif ev[0] == "loop":
                    for k, n in advance(ev[2]).items():
                        out[k] = out.get(k, 0) + n * ev[1]
            return out

        def visit(events, count, where):
            direct = {id(ev[1]) for ev in events if ev[0] == "acq"}
            u = _lcm_of([size.get(k, 1) for k in direct]) if direct else 1
            if direct and count == 0:
                found.append(f"{where}: a loop of 0 trips acquires: 'could not be unrolled with unrollFactor = 0'")
            elif count > u:      # not fully unrolled: the u-trip code repeats
                per = advance(events)
                bad = sorted(k for k, n in per.items() if (u * n) % size.get(k, 1))
                names = {id(h): h.name for h in w.fifos}
                for k in bad:
                    found.append(f"{where}: a loop of {count} trips unrolled x{u} moves {per[k]} objects of "
                                 f"{names.get(k, '?')} per trip on {size.get(k, 1)} buffers: the next trip reads the "
                                 f"wrong buffer")
            for ev in events:
                if ev[0] == "loop":
                    visit(ev[2], ev[1], where + f" > loop({ev[1]})")
        visit(w.trace.tree, 2 ** 31 if w.while_true else 1, "body")
        if found:
            p("lowering", f"core {w.name} at {w.tile}: {found[0]}{f' (+{len(found) - 1} more)' if len(found) > 1 else ''} "
                          f"({src}; or build with aiecc --dynamic-objFifos)")


def _lcm_of(xs):
    f = 1
    for x in xs:
        f = f * x // math.gcd(f, x)
    return f


def label_runs(trace):
    """handle id -> [[region, objects], ...]: the objects each of a worker's fifo ends moves, by the region the
    design's markers (roles.expect) name, in program order (loops expanded; consecutive equal regions merged)."""
    def has_label(events):
        return any(ev[0] == "label" or (ev[0] == "loop" and has_label(ev[2])) for ev in events)

    def add(out, k, region, n):
        runs = out.setdefault(k, [])
        if runs and runs[-1][0] == region:
            runs[-1][1] += n
        elif n:
            runs.append([region, n])

    def walk(events, state, out):
        for ev in events:
            if ev[0] == "label":
                state[id(ev[1])] = ev[2]
            elif ev[0] == "acq":
                add(out, id(ev[1]), state.get(id(ev[1])), ev[2])
            elif ev[0] == "loop":
                if has_label(ev[2]):
                    for _ in range(ev[1]):
                        walk(ev[2], state, out)
                else:
                    once = {}
                    walk(ev[2], state, once)
                    for k, runs in once.items():
                        for region, n in runs:
                            add(out, k, region, n * ev[1])
    out = {}
    walk(trace.tree, {}, out)
    return out


def check_order(record, p, contract):
    """Per fifo: the regions its producer moves, object by object, are the regions each consumer takes — a worker end
    by the design's markers, a runtime end by the contract's name of the bytes it moves (contract.region_at) — and a
    per-layer region reaches each end once per layer, in layer order. A mismatch is a wrong fill or drain order."""
    from aie.iron._record import Link, RuntimeEndpoint, Worker
    region_at = getattr(contract, "region_at", None)
    if region_at is None:
        return
    worker_runs = {}
    for w in record.rt.started:
        if w.trace is not None and not w.trace.aborted:
            worker_runs.update(label_runs(w.trace))
    rt_runs, layers = {}, {}
    for t in record.rt.transfers:
        size = t.handle.fifo.obj_type.nbytes
        item = t.data.type.dtype.itemsize
        region = region_at(t.data.index, t.tap.offset * item)
        name, layer = region if region else ("?", None)
        key = (id(t.handle.fifo), t.kind)
        runs = rt_runs.setdefault(key, [])
        n = t.tap.count * item // size
        if runs and runs[-1][0] == name:
            runs[-1][1] += n
        else:
            runs.append([name, n])
        if layer is not None:
            seq = layers.setdefault((t.handle.fifo.name, t.kind, name), [])
            if not seq or seq[-1] != layer:
                seq.append(layer)
    for (fifo, kind, name), seq in sorted(layers.items()):
        if seq != list(range(len(seq))):
            p("order", f"the runtime's {kind}s of {fifo} reach region {name} in layer order {seq[:8]}"
                       f"{'...' if len(seq) > 8 else ''}, not 0, 1, 2, ...")

    def side(f, producer):
        """The runs of a fifo's producer (or of each consumer): [(who, runs)]."""
        ends = [f._prod] if producer else list(f._cons)
        out = []
        for h in ends:
            e = h.endpoint if h is not None else None
            if isinstance(e, Worker):
                if id(h) in worker_runs and any(r[0] is not None for r in worker_runs[id(h)]):
                    out.append((f"{e.name} at {e.tile}", worker_runs[id(h)]))
            elif isinstance(e, RuntimeEndpoint):
                runs = rt_runs.get((id(f), "fill" if producer else "drain"))
                if runs:
                    out.append(("the runtime", runs))
            elif isinstance(e, Link):
                link = e
                if link.split and producer:          # a sub of a split carries the wide fifo's producer sequence
                    out += side(link.wide.fifo, True)
                elif not link.split and not producer:   # a sub of a join: the wide fifo's consumers
                    out += side(link.wide.fifo, False)
                elif link.split and not producer:    # the wide fifo of a split: each sub's consumers
                    for sub in link.subs:
                        out += side(sub, False)
                else:                                 # the wide fifo of a join: each sub's producer
                    for sub in link.subs:
                        out += side(sub, True)
        return out

    seen = set()
    fifos = {}
    for w in record.rt.started:
        for h in w.fifos:
            fifos[id(h.fifo)] = h.fifo
    for t in record.rt.transfers:
        fifos[id(t.handle.fifo)] = t.handle.fifo
    for f in fifos.values():
        if id(f) in seen:
            continue
        seen.add(id(f))
        prods, conss = side(f, True), side(f, False)
        for pw, pr in prods:
            for cw, cr in conss:
                if pr != cr:
                    i = next((k for k, (a, b) in enumerate(zip(pr, cr)) if a != b), min(len(pr), len(cr)))
                    p("order", f"fifo {f.name}: {pw} moves {_runs(pr[i:i + 3])} where {cw} takes {_runs(cr[i:i + 3])} "
                               f"(region run {i}): producer and consumer disagree on what the objects are")


def _runs(runs):
    return ", ".join(f"{r} x{n}" for r, n in runs) or "nothing"


def check_schedule(record, p):
    import design_schedule
    for msg in design_schedule.simulate(record, endpoint_buffers):
        p("schedule", msg + " (Tools/design_schedule.py: the run simulated object by object)")


# --- the whole check ---------------------------------------------------------------------------------

def check(record, label, objects, expected_args, contract=None):
    """Problems (strings "label: [rule] message") of one executed design.
    objects: bin name -> list of .cc paths; expected_args: [(name, bytes, role)] in order;
    contract (optional): .coverage = {argument name: {"reads": [(a, b)], "writes": [(a, b)]}} — the byte ranges the
    runtime sequence must read / write, each byte exactly once (arguments not named are judged by their role:
    input read, output written, params read); .region_at(argument index, byte offset) -> (region, layer) or None,
    naming the contract's regions for the [order] rule; .hub_order etc. are not needed."""
    from aie.iron._record import Link, RuntimeEndpoint
    problems = []

    def p(rule, msg=None):
        if msg is None:       # our own checks: rule given by the caller's section
            rule, msg = section[0], rule
        problems.append(f"{label}: [{rule}] {msg}")

    section = ["cores"]
    rt, links = record.rt, record.links
    workers = rt.started
    check_placement(record, p)
    check_worker_args(record, p)
    check_symbols(record, p)
    check_cores(record, p)
    check_memtiles(record, p)
    check_shim(record, p)
    check_lowering(record, p)
    check_order(record, p, contract)
    section[0] = "kernels"
    nested = {id(x) for w in workers for x in w.nested}
    for w in workers:
        for e in (w.trace.errors if w.trace else []):
            if "raises" in e or (e.endswith("a handle it was not given") and w.nested):
                continue        # reported under worker-args
            p("flow", f"core {w.name}: {e}")
        for k in w.kernels:
            srcs = objects.get(k.bin_name)
            if srcs is None:
                p(f"kernel {k.name} links {k.bin_name}, which no manifest entry builds")
                continue
            fns = extern_functions(srcs)
            if k.name not in fns:
                p(f"kernel {k.name} is not an extern \"C\" function of {[os.path.relpath(s) for s in srcs]}")
            elif fns[k.name] != len(k.arg_types):
                p(f"kernel {k.name} is declared with {len(k.arg_types)} arguments, its C definition takes {fns[k.name]}")
    section[0] = "flow"
    fifos = all_fifos(record)
    for f in fifos:
        if f._prod is None or f._prod.endpoint is None:
            p(f"fifo {f.name} has no producer")
        if not f._cons or any(c.endpoint is None and id(c) not in nested for c in f._cons):
            p(f"fifo {f.name} has a consumer handle without an endpoint")
    # flow balance: per run, every consumer of a fifo takes as many objects as its producer makes
    # (a mismatch deadlocks or leaves data behind); links pass objects through unchanged
    made = {}     # id(fifo) -> objects its producer makes per run

    def count(h):
        e = h.endpoint
        if e is None or isinstance(e, Link):   # no endpoint: reported above (or under worker-args)
            return None
        if isinstance(e, RuntimeEndpoint):
            size = h.fifo.obj_type.nbytes
            kind = "fill" if h.is_prod else "drain"
            moved = sum(t.tap.count * t.data.type.dtype.itemsize for t in rt.transfers
                        if t.handle.fifo is h.fifo and t.kind == kind)
            if moved % size:
                p(f"fifo {h.name}: the runtime moves {moved} bytes, not whole {size}-byte objects")
            return moved // size
        trace = getattr(e, "trace", None)
        if trace is not None and trace.aborted:
            return None          # its body raised: the count is unknown (reported under worker-args)
        return trace.objects.get(h, 0) if trace is not None else 0
    for f in fifos:
        if f._prod is not None and not isinstance(f._prod.endpoint, Link):
            n = count(f._prod)
            if n is not None:
                made[id(f)] = n
    for _ in range(3):   # propagate through links (joins: the subs' common count; splits: the wide's)
        for link in links:
            wide = link.wide.fifo
            if link.split and id(wide) in made:
                for sub in link.subs:
                    made.setdefault(id(sub), made[id(wide)])
            elif not link.split:
                counts = {made.get(id(sub)) for sub in link.subs}
                if None not in counts and len(counts) > 1:
                    p(f"join into {wide.name}: its inputs make {sorted(counts)} objects per run, not one count")
                elif None not in counts:
                    made.setdefault(id(wide), counts.pop())
    for f in fifos:
        if id(f) not in made:
            continue
        for c in f._cons:
            n = count(c)
            if n is not None and n != made[id(f)]:
                who = "the runtime" if isinstance(c.endpoint, RuntimeEndpoint) else getattr(c.endpoint, "name", "?")
                p(f"fifo {f.name}: its producer makes {made[id(f)]} objects per run, {who} takes {n}")
    section[0] = "arguments"
    for t in rt.transfers:
        top = t.tap.offset + sum((n - 1) * st for n, st in zip(t.tap.sizes, t.tap.strides)) + 1
        if top > t.data.type.count:
            p(f"a {t.kind} of argument {3 + t.data.index} ({t.handle.name}) reaches element {top}, past its "
              f"{t.data.type.count}")
    # runtime arguments: count, sizes, and what the transfers cover
    if len(rt.args) != len(expected_args):
        p(f"runtime sequence has {len(rt.args)} data arguments, DecodeDesigns declares {len(expected_args)} "
          f"({[a[0] for a in expected_args]})")
        return list(dict.fromkeys(problems))
    coverage = getattr(contract, "coverage", None) or {}
    for i, (data, (name, nbytes, role)) in enumerate(zip(rt.args, expected_args)):
        if data.type.nbytes != nbytes:
            p(f"argument {3 + i} ({name}) is {data.type.nbytes} bytes, DecodeDesigns declares {nbytes}")
            continue
        size = data.type.dtype.itemsize
        reads = [(a * size, b * size) for t in rt.transfers if t.data is data and t.kind == "fill"
                 for a, b in t.tap.intervals()]
        writes = [(a * size, b * size) for t in rt.transfers if t.data is data and t.kind == "drain"
                  for a, b in t.tap.intervals()]
        if name in coverage and getattr(contract, "counted", False):
            # the contract's byte ranges, each read / written exactly as many times as it says ((a, b, times))
            for what, got in (("reads", reads), ("writes", writes)):
                want, have = _multiplicity(coverage[name][what]), _multiplicity(got)
                if want != have:
                    wrong = [(a, b) for a, b, n in _multiplicity([(a, b, n) for a, b, n in want] +
                                                                  [(a, b, -n) for a, b, n in have])]
                    first = next(((a, b, n) for a, b, n in want if (a, b, n) not in have), None)
                    p(f"argument {3 + i} ({name}, {role}): its {what} do not move the contract's ranges the contract's "
                      f"number of times each: {len(wrong)} ranges differ ({_ranges(wrong)}), e.g. wanted {first}; "
                      f"moved {sum(b - a for a, b in got)} bytes, the contract {sum((b - a) * n for a, b, n in want)}")
            continue
        if name in coverage:      # the contract's exact byte ranges, each read / written exactly once
            for what, got in (("reads", reads), ("writes", writes)):
                want = _union(coverage[name][what])
                if _union(got) != want or sum(b - a for a, b in got) != sum(b - a for a, b in want):
                    missing = _subtract(want, _union(got))
                    extra = _subtract(_union(got), want)
                    again = sum(b - a for a, b in got) - sum(b - a for a, b in _union(got))
                    p(f"argument {3 + i} ({name}, {role}): its {what} are not the contract's "
                      f"{sum(b - a for a, b in want)} bytes exactly once: missing {_ranges(missing)}, outside "
                      f"{_ranges(extra)}, {again} bytes {what[:-1]} more than once")
            continue
        if role == "params":   # a consumer may read only the part it needs (rope: the cos/sin rows)
            if not reads or writes:
                p(f"argument {3 + i} ({name}, params): {'written' if writes else 'never read'} by the runtime sequence")
            continue
        moved, other = (writes, reads) if role in ("output", "taps") else (reads, writes)
        if other:
            p(f"argument {3 + i} ({name}, {role}) is {'read' if role in ('output', 'taps') else 'written'} by the runtime sequence")
        covered = _union(moved)
        if covered != [(0, nbytes)]:
            p(f"argument {3 + i} ({name}, {role}): transfers cover {covered[:3]}{'...' if len(covered) > 3 else ''}, "
              f"not exactly its {nbytes} bytes")
        elif role in ("output", "taps") and sum(b - a for a, b in moved) != nbytes:
            p(f"argument {3 + i} ({name}): some bytes are written more than once")
    check_read_after_write(rt, p)
    if not any("[placement]" in x or "[flow]" in x or "[worker-args]" in x for x in problems):
        check_schedule(record, p)     # a design that does not place or balance is not simulated
    return list(dict.fromkeys(problems))

