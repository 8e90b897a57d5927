# Executes an IRON design against Tools/iron_stub and checks the record: cores, memory, DMA channels, kernel symbols, flow balance, argument coverage.
#
# Used by Tools/check_designs.py. Device limits come from Kernels/manifest.json ("device"): 8 x 4 cores,
# 64 KB per core (stack included), 512 KB per memory tile; 2 input and 2 output DMA channels per core.
# Not checked (aiecc will be the judge): stream routing, memory-tile and shim channel counts, BD counts.
import importlib
import os
import re
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.join(TOOLS, "iron_stub")
CORE_DMA_IN = CORE_DMA_OUT = 2


def use_stub():
    if STUB not in sys.path:
        sys.path.insert(0, STUB)
    for name in [m for m in sys.modules if m in ("numpy", "ml_dtypes") or m.startswith(("numpy.", "ml_dtypes.", "aie"))]:
        if not getattr(sys.modules[name], "__file__", "") or not sys.modules[name].__file__.startswith(STUB):
            del sys.modules[name]


def run_design(path, *args, **kwargs):
    """Imports the design file (fresh) with the stub and returns design(*args, **kwargs)'s record."""
    use_stub()
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    try:
        name = os.path.splitext(os.path.basename(path))[0]
        for m in ("roles", "attn_half", name):
            sys.modules.pop(m, None)
        from aie.iron import _record
        _record._DECLARED.clear()   # links of an earlier design that failed half-way
        module = importlib.import_module(name)
        return module.design(*args, **kwargs)
    finally:
        sys.path.remove(folder)


_FN = re.compile(r"\b(?:void|int32_t|float|int)\s+([A-Za-z_]\w*)\s*\(([^)]*)\)\s*\{", re.S)


def extern_functions(paths):
    """name -> parameter count of every function defined inside extern "C" { ... } in the sources."""
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


def _union(intervals):
    merged = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [tuple(x) for x in merged]


def core_bytes(worker, device):
    """A core's memory as the checker counts it: every fifo endpoint's buffers (depth copies), every local buffer, the stack."""
    return (sum(h.fifo.obj_type.nbytes * h.depth for h in worker.fifos) + sum(b.type.nbytes for b in worker.buffers)
            + device["coreStackBytes"])


def figures(record, device):
    """The record's summary: workers, the largest core (bytes, worker name), gemv cores, the fullest memory tile's bytes."""
    workers = record.rt.started
    big = max(workers, key=lambda w: core_bytes(w, device))
    mem = {}
    for l in record.links:
        mem[l.tile] = mem.get(l.tile, 0) + l.wide.fifo.obj_type.nbytes * max(l.wide.fifo.depth or 1, 1)
    return {"workers": len(workers), "core_bytes": core_bytes(big, device), "core": big.name,
            "gemv_cores": sum(1 for w in workers if w.name == "gemv_core"), "memtile_bytes": max(mem.values(), default=0)}


def check(record, label, device, objects, expected_args, kv=None):
    """Problems (strings) of one executed design.
    objects: bin name -> list of .cc paths; expected_args: [(name, bytes, role)] in order;
    kv: for attention designs (kv_heads, ctx_rows_bytes_per_head, block_bytes, bucket): the kvCache arguments are
    read up to the bucket, the kvRow arguments written as kv_heads rows at a stride of ctx_rows_bytes_per_head."""
    from aie.iron._record import Link
    problems = []

    def p(msg):
        problems.append(f"{label}: {msg}")

    rt, links = record.rt, record.links
    workers = rt.started
    cols, rows = device["columns"], device["coresPerColumn"]
    if len(workers) > cols * rows:
        p(f"{len(workers)} workers, more than the {cols * rows} cores")
    seen = {}
    for w in workers:
        t = w.tile
        if not (0 <= t.col < cols and 2 <= t.row < 2 + rows):
            p(f"worker {w.name} on {t}, not a compute tile")
        if t in seen:
            p(f"workers {seen[t]} and {w.name} share {t}")
        seen[t] = w.name
        # memory: every fifo endpoint's buffers (depth copies), every local buffer, the stack
        fifo_bytes = sum(h.fifo.obj_type.nbytes * h.depth for h in w.fifos)
        buf_bytes = sum(b.type.nbytes for b in w.buffers)
        total = core_bytes(w, device)
        if total > device["coreBytes"]:
            detail = ", ".join(f"{h.name} {h.fifo.obj_type.nbytes}x{h.depth}" for h in w.fifos)
            p(f"core {w.name} at {t} needs {total} bytes (fifos {fifo_bytes}: {detail}; buffers {buf_bytes}; "
              f"stack {device['coreStackBytes']}), more than {device['coreBytes']}")
        ins = [h.name for h in w.fifos if not h.is_prod]
        outs = [h.name for h in w.fifos if h.is_prod]
        if len(ins) > CORE_DMA_IN:
            p(f"core {w.name} at {t} has {len(ins)} input fifos {ins}: a core has {CORE_DMA_IN} input DMA channels")
        if len(outs) > CORE_DMA_OUT:
            p(f"core {w.name} at {t} has {len(outs)} output fifos {outs}: a core has {CORE_DMA_OUT} output DMA channels")
        for e in w.trace.errors:
            p(f"core {w.name}: {e}")
        # kernel symbols
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
    # every fifo has a producer and a consumer
    fifos = {}
    for w in workers:
        for h in w.fifos:
            fifos[id(h.fifo)] = h.fifo
    for l in links:
        for f in [l.wide] + [s for s in l.subs]:
            fifos[id(getattr(f, "fifo", f))] = getattr(f, "fifo", f)
    for t in rt.transfers:
        fifos[id(t.handle.fifo)] = t.handle.fifo
    for f in fifos.values():
        if f._prod is None or f._prod.endpoint is None:
            p(f"fifo {f.name} has no producer")
        if not f._cons or any(c.endpoint is None for c in f._cons):
            p(f"fifo {f.name} has a consumer handle without an endpoint")
    # flow balance: per run, every consumer of a fifo takes as many objects as its producer makes
    # (a mismatch deadlocks or leaves data behind); links pass objects through unchanged
    made = {}     # id(fifo) -> objects its producer makes per run

    def count(h):
        e = h.endpoint
        if isinstance(e, Link):
            return None
        if e is rt:
            size = h.fifo.obj_type.nbytes
            moved = sum(t.tap.count * t.data.type.dtype.itemsize for t in rt.transfers if t.handle is h)
            if moved % size:
                p(f"fifo {h.name}: the runtime moves {moved} bytes, not whole {size}-byte objects")
            return moved // size
        return e.trace.objects.get(h, 0) if e is not None and e.trace else 0
    for f in fifos.values():
        if f._prod is not None and not isinstance(f._prod.endpoint, Link):
            made[id(f)] = count(f._prod)
    for _ in range(3):   # propagate through links (joins: the subs' common count; splits: the wide's)
        for l in links:
            wide = l.wide.fifo
            if l.split and id(wide) in made:
                for sub in l.subs:
                    made.setdefault(id(sub), made[id(wide)])
            elif not l.split:
                counts = {made.get(id(sub)) for sub in l.subs}
                if None not in counts and len(counts) > 1:
                    p(f"join into {wide.name}: its inputs make {sorted(counts)} objects per run, not one count")
                elif None not in counts:
                    made.setdefault(id(wide), counts.pop())
    for f in fifos.values():
        if id(f) not in made:
            continue
        for c in f._cons:
            n = count(c)
            if n is not None and n != made[id(f)]:
                who = "the runtime" if c.endpoint is rt else getattr(c.endpoint, "name", "?")
                p(f"fifo {f.name}: its producer makes {made[id(f)]} objects per run, {who} takes {n}")
    # memory tiles
    mem = {}
    for l in links:
        wide = l.wide.fifo
        mem[l.tile] = mem.get(l.tile, 0) + wide.obj_type.nbytes * max(wide.depth or 1, 1)
    for tile, b in mem.items():
        if b > device["memTileBytes"]:
            p(f"memory tile {tile} holds {b} bytes of link buffers, more than {device['memTileBytes']}")
    # runtime arguments: count, sizes, and what the transfers cover
    if len(rt.args) != len(expected_args):
        p(f"runtime sequence has {len(rt.args)} data arguments, DecodeDesigns declares {len(expected_args)} "
          f"({[a[0] for a in expected_args]})")
        return list(dict.fromkeys(problems))
    for i, (data, (name, nbytes, role)) in enumerate(zip(rt.args, expected_args)):
        if data.type.nbytes != nbytes:
            p(f"argument {3 + i} ({name}) is {data.type.nbytes} bytes, DecodeDesigns declares {nbytes}")
            continue
        size = data.type.dtype.itemsize
        reads = [(a * size, b * size) for t in rt.transfers if t.data is data and t.kind == "fill"
                 for a, b in t.tap.intervals()]
        writes = [(a * size, b * size) for t in rt.transfers if t.data is data and t.kind == "drain"
                  for a, b in t.tap.intervals()]
        if role == "kvCache":   # read up to the bucket, never written (the new rows go through kvRow arguments)
            heads, per_head, block_bytes, bucket = kv
            want_r = _union([(h * per_head, h * per_head + bucket * block_bytes) for h in range(heads)])
            if _union(reads) != want_r:
                p(f"argument {3 + i} ({name}): reads cover {_union(reads)[:4]}..., the bucket's {bucket} blocks per KV head are {want_r[:4]}...")
            if writes:
                p(f"argument {3 + i} ({name}): written by the runtime sequence at {_union(writes)[:4]}...; "
                  f"the KV append writes through the row arguments only")
            continue
        if role == "kvRow":   # rows at stride: one row per KV head, `per_head` bytes apart, each written once
            heads, per_head = kv[0], kv[1]
            row = nbytes - (heads - 1) * per_head
            want_w = [(h * per_head, h * per_head + row) for h in range(heads)]
            if row <= 0 or _union(writes) != _union(want_w) or sum(b - a for a, b in writes) != heads * row:
                p(f"argument {3 + i} ({name}, kvRow): writes cover {_union(writes)[:4]}..., not the {heads} rows of "
                  f"{row} bytes at a stride of {per_head} bytes {want_w[:4]}... each once")
            if reads:
                p(f"argument {3 + i} ({name}, kvRow) is read by the runtime sequence")
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
    return list(dict.fromkeys(problems))
