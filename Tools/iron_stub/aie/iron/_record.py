# The recording objects behind the IRON stub: what a design declares and what its worker bodies do when traced once.
import contextlib

from numpy import ArrayType, _Scalar

from .device import AnyComputeTile, AnyMemTile, AnyShimTile, Tile

_TRACE = []


def current_trace():
    return _TRACE[-1] if _TRACE else None


class LoopIndex:
    """The induction variable of a range_ loop: usable in index arithmetic, never a Python int."""

    def __init__(self, r):
        self.range = r

    def _v(self, *_):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __floordiv__ = __mod__ = _v

    def __index__(self):
        raise TypeError("a range_ index is a run-time value; it cannot be used as a Python int")


def _type_of(value):
    if isinstance(value, (Buffer, Element)):
        return value.type
    return None


class Element:
    """One acquired object of an ObjectFifo, as a worker body sees it."""

    def __init__(self, handle):
        self.handle = handle
        self.type = handle.fifo.obj_type

    def __getitem__(self, i):
        return 0.0

    def __setitem__(self, i, v):
        pass


class Buffer:
    """aie.iron.Buffer (a named core-local buffer; runtime-visible when used as an RTP)."""

    def __init__(self, type=None, initial_value=None, name=None, tile=None, use_write_rtp=False,
                 address=None, mem_bank=None):
        if type is None and initial_value is None:
            raise ValueError("Must provide either type, initial value, or both.")
        if not isinstance(type, ArrayType):
            raise TypeError(f"Buffer type must be np.ndarray[shape, dtype], not {type!r}")
        self.type, self.name, self.tile = type, name or f"buf_{id(self)}", tile

    def __getitem__(self, i):
        return 0.0

    def __setitem__(self, i, v):
        pass


class Kernel:
    """aie.iron.Kernel(name, bin_name, arg_types): an extern "C" function in an object file."""

    def __init__(self, name, bin_name, arg_types=[]):
        for t in arg_types:
            if not isinstance(t, ArrayType) and not (isinstance(t, type) and issubclass(t, _Scalar)):
                raise TypeError(f"kernel {name}: argument type {t!r} is neither an array type nor a scalar type")
        self.name, self.bin_name, self.arg_types = name, bin_name, list(arg_types)

    @property
    def _name(self):
        return self.name

    def __call__(self, *args):
        trace = current_trace()
        if trace is None:
            raise ValueError(f"kernel {self.name} called outside a worker body")
        if len(args) != len(self.arg_types):
            raise TypeError(f"kernel {self.name} takes {len(self.arg_types)} arguments, called with {len(args)}")
        for i, (a, t) in enumerate(zip(args, self.arg_types)):
            if isinstance(t, ArrayType):
                at = _type_of(a)
                if at is None:
                    raise TypeError(f"kernel {self.name} argument {i}: expects a buffer {t}, got {a!r}")
                if at.nbytes != t.nbytes or at.dtype.itemsize != t.dtype.itemsize:
                    raise TypeError(f"kernel {self.name} argument {i}: expects {t}, got a buffer {at}")
            elif not isinstance(a, (int, float, LoopIndex)) or isinstance(a, bool):
                raise TypeError(f"kernel {self.name} argument {i}: expects a scalar {t.__name__}, got {a!r}")
        trace.calls.append((self.name, trace.multiplier()))


class Handle:
    def __init__(self, fifo, is_prod, depth):
        if depth is None or depth < 1:
            raise ValueError(f"Depth must be > 0 but is {depth}")
        self.fifo, self.is_prod, self.depth, self.endpoint = fifo, is_prod, depth, None

    @property
    def name(self):
        return self.fifo.name

    def set_endpoint(self, e):
        if self.endpoint is not None and self.endpoint is not e:
            raise ValueError(f"Endpoint already set for ObjectFifoHandle {self.name}")
        self.endpoint = e

    def acquire(self, num_elem):
        if num_elem < 1 or num_elem > self.depth:
            raise ValueError(f"Number of elements to acquire {num_elem} must be at most depth {self.depth}")
        trace = current_trace()
        if trace is None:
            raise ValueError("acquire outside a worker body")
        trace.acquire(self, num_elem)
        return Element(self) if num_elem == 1 else [Element(self) for _ in range(num_elem)]

    def release(self, num_elem):
        if num_elem < 1 or num_elem > self.depth:
            raise ValueError(f"Number of elements to release {num_elem} must be at most depth {self.depth}")
        trace = current_trace()
        if trace is None:
            raise ValueError("release outside a worker body")
        trace.release(self, num_elem)

    def _link(self, offsets, placement, depths, obj_types, names, dims, split):
        n = len(offsets)
        depths = depths or [self.depth] * n
        obj_types = obj_types or [self.fifo.obj_type] * n
        names = names or [f"{self.name}_{'split' if split else 'join'}{i}" for i in range(n)]
        dims = dims or [None] * n
        if not (len(depths) == len(obj_types) == len(names) == len(dims) == n):
            raise ValueError("offsets, depths, obj_types, names and dims differ in length")
        subs = [ObjectFifo(t, depth=d, name=nm, dims_to_stream=ds) for t, d, nm, ds in zip(obj_types, depths, names, dims)]
        link = Link(self, subs, offsets, placement, split)
        if split:
            for s in subs:
                s.prod().set_endpoint(link)
        else:
            for s in subs:
                s.cons().set_endpoint(link)
        self.set_endpoint(link)
        return subs

    def split(self, offsets, placement=AnyMemTile, depths=None, obj_types=None, names=None, dims_to_stream=None,
              dims_from_stream=None, plio=False):
        if self.is_prod:
            raise ValueError("Cannot split() a prod ObjectFifoHandle")
        return self._link(offsets, placement, depths, obj_types, names, dims_to_stream, True)

    def join(self, offsets, placement=AnyMemTile, depths=None, obj_types=None, names=None, dims_to_stream=None,
             dims_from_stream=None, plio=False):
        if not self.is_prod:
            raise ValueError("Cannot join() a cons ObjectFifoHandle")
        return self._link(offsets, placement, depths, obj_types, names, dims_to_stream, False)

    def forward(self, placement=AnyMemTile, obj_type=None, depth=None, name=None, dims_to_stream=None,
                dims_from_stream=None, plio=False):
        if self.is_prod:
            raise ValueError("Cannot forward a prod ObjectFifoHandle")
        return self.split([0], placement=placement, depths=[depth] if depth else None,
                          obj_types=[obj_type] if obj_type else None, names=[name or self.name + "_fwd"],
                          dims_to_stream=[dims_to_stream] if dims_to_stream else None)[0]


class ObjectFifo:
    def __init__(self, obj_type, depth=2, name=None, dims_to_stream=None, dims_from_stream_per_cons=None, plio=False,
                 pad_dimensions=None, disable_synchronization=False):
        if not isinstance(obj_type, ArrayType):
            raise TypeError(f"ObjectFifo type must be np.ndarray[shape, dtype], not {obj_type!r}")
        if isinstance(depth, int) and depth < 1:
            raise ValueError(f"Default ObjectFifo depth must be > 0, but got {depth}")
        self.obj_type, self.depth, self.name, self.dims_to_stream = obj_type, depth, name or f"of{id(self)}", dims_to_stream
        self._prod, self._cons = None, []

    def prod(self, depth=None):
        if self._prod is None:
            self._prod = Handle(self, True, depth or self.depth)
        return self._prod

    def cons(self, depth=None, dims_from_stream=None):
        h = Handle(self, False, depth or self.depth)
        self._cons.append(h)
        return h

    @property
    def consumers(self):
        return list(self._cons)


class Link:
    """A memory-tile forward/split/join: one wide fifo end and several narrow ones at element offsets."""

    def __init__(self, wide, subs, offsets, placement, split):
        self.wide, self.subs, self.offsets, self.split = wide, subs, list(offsets), split
        self.tile = placement if isinstance(placement, Tile) else None
        self.name = f"link({wide.name})"
        _DECLARED.append(self)


_DECLARED = []   # links in declaration order (a Program collects them)


class Worker:
    def __init__(self, core_fn, fn_args=[], placement=AnyComputeTile, while_true=True):
        self.core_fn, self.fn_args, self.while_true = core_fn, list(fn_args), while_true
        self.tile = placement if isinstance(placement, Tile) else None
        self.name = getattr(core_fn, "__name__", "worker")
        bins = set()
        self.fifos, self.buffers, self.kernels = [], [], []

        def visit(a):
            if isinstance(a, Kernel):
                bins.add(a.bin_name)
                self.kernels.append(a)
            elif isinstance(a, Handle):
                a.set_endpoint(self)
                self.fifos.append(a)
            elif isinstance(a, Buffer):
                self.buffers.append(a)
            elif isinstance(a, ObjectFifo):
                raise ValueError("Cannot give an ObjectFifo directly to a worker; must give an ObjectFifoHandle "
                                 "obtained through ObjectFifo.prod() or ObjectFifo.cons()")
            elif isinstance(a, (list, tuple)):
                for x in a:
                    visit(x)
        for a in self.fn_args:
            visit(a)
        if len(bins) > 1:
            raise ValueError(f"Currently, only one binary per works is supported. Found: {bins}")
        self.link_with = next(iter(bins)) if bins else None
        self.trace = None


class WorkerTrace:
    """What one traced worker body did: kernel calls, and acquires/releases per handle with multiplicity."""

    def __init__(self, worker):
        self.worker, self.calls, self.mult = worker, [], []
        self.held = {}       # handle -> currently acquired
        self.objects = {}    # handle -> objects acquired in one run (loops counted)
        self.errors = []

    def multiplier(self):
        m = 1
        for x in self.mult:
            m *= x
        return m

    def acquire(self, h, n):
        if h.endpoint is not self.worker:
            self.errors.append(f"acquires {h.name} ({'prod' if h.is_prod else 'cons'}), a handle it was not given")
        new = max(0, n - self.held.get(h, 0))
        self.held[h] = max(self.held.get(h, 0), n)
        self.objects[h] = self.objects.get(h, 0) + new * self.multiplier()

    def release(self, h, n):
        if self.held.get(h, 0) < n:
            self.errors.append(f"releases {n} of {h.name} but holds {self.held.get(h, 0)}")
        self.held[h] = max(0, self.held.get(h, 0) - n)


class RuntimeData:
    def __init__(self, arr_type, index):
        if not isinstance(arr_type, ArrayType):
            raise TypeError(f"runtime argument {index} type must be np.ndarray[shape, dtype], not {arr_type!r}")
        self.type, self.index = arr_type, index


class Transfer:
    def __init__(self, kind, handle, data, tap, wait, task_group):
        self.kind, self.handle, self.data, self.tap, self.wait, self.task_group = kind, handle, data, tap, wait, task_group


class TaskGroup:
    pass


class Runtime:
    def __init__(self, strict_task_groups=True):
        self.args, self.transfers, self.started, self._open = [], [], [], []
        self._in_sequence = False

    @contextlib.contextmanager
    def sequence(self, *input_types):
        self.args = [RuntimeData(t, i) for i, t in enumerate(input_types)]
        self._in_sequence = True
        try:
            yield self.args[0] if len(self.args) == 1 else tuple(self.args)
        finally:
            self._in_sequence = False
            if self._open:
                raise ValueError("Failed to close task groups")
            # as IRON's Runtime.sequence: several runtime consumer handles of one fifo (a .cons() per
            # drain) are one consumer; they must agree in depth
            for t in self.transfers:
                fifo, h = t.handle.fifo, t.handle
                if h.is_prod:
                    continue
                first = next(c for c in fifo._cons if c.endpoint is self)
                if first is not h:
                    if first.depth != h.depth:
                        raise ValueError(f"Found two different RuntimeEndpoints for consumers of the same ObjectFifo: {fifo.name}")
                    if h in fifo._cons:
                        fifo._cons.remove(h)
                    t.handle = first

    def _check(self, data, what):
        if not self._in_sequence:
            raise ValueError(f"{what} outside Runtime.sequence()")
        if data not in self.args:
            raise ValueError(f"{what}: {data!r} is not a RuntimeData object generated by sequence()")

    def task_group(self):
        tg = TaskGroup()
        self._open.append(tg)
        return tg

    def finish_task_group(self, task_group):
        self._open.remove(task_group)

    def _transfer(self, kind, handle, data, tap, task_group, wait, placement):
        from aie.helpers.taplib import TensorAccessPattern
        self._check(data, kind)
        if not isinstance(handle, Handle) or handle.is_prod != (kind == "fill"):
            raise ValueError(f"{kind} needs a {'producer' if kind == 'fill' else 'consumer'} ObjectFifoHandle")
        if tap is None:
            tap = TensorAccessPattern([data.type.count])
        handle.set_endpoint(self)
        self.transfers.append(Transfer(kind, handle, data, tap, wait, task_group))

    def fill(self, in_fifo, source, tap=None, task_group=None, wait=False, placement=AnyShimTile):
        self._transfer("fill", in_fifo, source, tap, task_group, wait, placement)

    def drain(self, out_fifo, dest, tap=None, task_group=None, wait=False, placement=AnyShimTile):
        self._transfer("drain", out_fifo, dest, tap, task_group, wait, placement)

    def start(self, *workers):
        for w in workers:
            if not isinstance(w, Worker):
                raise ValueError("Runtime can only start Worker objects")
            self.started.append(w)


class Program:
    def __init__(self, device, rt):
        self.device, self.rt = device, rt

    def resolve_program(self, placer=None):
        rt = self.rt
        links = list(_DECLARED)
        _DECLARED.clear()
        if placer is not None:
            placer.make_placement(self.device, rt, rt.started, links)
        for w in rt.started:
            if not isinstance(w.tile, Tile):
                raise ValueError(f"worker {w.name} was not placed")
            t = WorkerTrace(w)
            _TRACE.append(t)
            try:
                w.core_fn(*w.fn_args)
            finally:
                _TRACE.pop()
            for h, n in t.held.items():
                if n:
                    t.errors.append(f"ends its body holding {n} of {h.name}")
            w.trace = t
        return Recorded(self.device, rt, links)


class Recorded:
    """The result of resolve_program: everything the checker inspects. str() is a short summary."""

    def __init__(self, device, rt, links):
        self.device, self.rt, self.links = device, rt, links

    def __str__(self):
        return (f"// IRON stub record: {len(self.rt.started)} workers, {len(self.links)} links, "
                f"{len(self.rt.transfers)} runtime transfers (no MLIR: mlir-aie is not installed)")
