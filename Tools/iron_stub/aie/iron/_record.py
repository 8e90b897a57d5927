# The recording objects behind the IRON stub: what a design declares, how the real python/iron resolves it, and what its worker bodies do when traced once.
#
# Signatures and resolution follow mlir-aie's python/iron (buffer.py, kernel.py, worker.py,
# dataflow/objectfifo.py, runtime/*.py, program.py), read for facts, not copied:
# - Worker: only TOP-LEVEL fn_args are seen (handles get the worker as endpoint, Buffers are placed on its
#   tile and resolved, Kernels resolved); a Buffer or Kernel inside a list is never placed or resolved, and
#   its first use in the body fails as the real one does (Buffer.op: NotResolvedError; Buffer[i]:
#   AttributeError; Kernel call: "Kernel must be resolved before it can be called.").
# - Runtime.fill/drain: each call makes a RuntimeEndpoint(placement) the handle's endpoint (one endpoint
#   per handle: the prod handle of a fifo is one object however often it is filled; every .cons() is a new
#   handle); at the end of sequence() duplicate runtime consumers of one fifo are pruned; one DMA task per
#   call, in the default task group unless given one.
# - Program.resolve_program: the runtime's and workers' handles sorted by name go to the placer. The real
#   one raises on a placement error; the stub records it (Recorded.placement_error) and goes on, so the
#   checker can report the other rules too.
# The stub also records, per worker body traced once, kernel calls, acquires/releases with their loop
# multiplicity and a program-size estimate (core.programCost.* of Kernels/npu2_target.json).
import contextlib
import itertools
import math

from numpy import ArrayType, _Scalar

from .device import AnyComputeTile, AnyMemTile, AnyShimTile, Tile, target

_TRACE = []
_UNNAMED = itertools.count()   # names of unnamed fifos and buffers, as IRON's class counters


def current_trace():
    return _TRACE[-1] if _TRACE else None


class NotResolvedError(Exception):
    """python/iron/resolvable.py NotResolvedError."""

    def __init__(self, message="Cannot get operation; class not resolved."):
        self.message = message
        super().__init__(message)


class AlreadyPlacedError(Exception):
    """python/iron/placeable.py AlreadyPlacedError."""

    def __init__(self, cls, current_tile, new_tile):
        self.message = f"{cls} already placed at {current_tile}; cannot place at {new_tile}"
        super().__init__(self.message)


class Placeable:
    def __init__(self, tile):
        self._tile = tile

    def place(self, tile):
        if isinstance(self._tile, Tile):
            raise AlreadyPlacedError(self.__class__, self._tile, tile)
        self._tile = tile

    @property
    def tile(self):
        return self._tile


_SCALAR_NAMES = {"int8": "i8", "uint8": "i8", "int16": "i16", "uint16": "i16", "int32": "i32", "uint32": "i32",
                 "int64": "i64", "uint64": "i64", "float32": "f32", "float64": "f64", "bfloat16": "bf16"}


class ScalarType:
    """An MLIR scalar type by name: index, i32, f32, bf16, ..."""

    def __init__(self, name):
        self.name = name

    def __eq__(self, other):
        return isinstance(other, ScalarType) and self.name == other.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return self.name


def scalar_type(np_type):
    """The MLIR scalar type of a numpy scalar type (np.int32 -> i32, bfloat16 -> bf16)."""
    return ScalarType(_SCALAR_NAMES.get(np_type.__name__, np_type.__name__))


class ScalarValue:
    """An SSA scalar of one MLIR type (a loop index is `index`, index_cast makes an i32, an element load its element
    type). Arithmetic with Python numbers keeps the type; with a value of another type it is an error, as arith ops take
    operands of one type. Never a Python int (no __index__)."""

    def __init__(self, type_):
        self.type = type_

    def _bin(self, other):
        if isinstance(other, ScalarValue):
            if other.type != self.type:
                raise TypeError(f"arith: operands of different types {self.type} and {other.type}")
        elif not isinstance(other, (int, float)) or isinstance(other, bool):
            return NotImplemented
        return ScalarValue(self.type)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __floordiv__ = __mod__ = _bin

    def __index__(self):
        raise TypeError(f"an MLIR value ({self.type}) is a run-time value; it cannot be used as a Python int")

    def __bool__(self):
        raise TypeError(f"an MLIR value ({self.type}) has no Python truth value (use an scf.if)")


class LoopIndex(ScalarValue):
    """The induction variable of a range_ loop: an `index` value."""

    def __init__(self, r):
        super().__init__(ScalarType("index"))
        self.range = r


def _type_of(value):
    if isinstance(value, (Buffer, Element)):
        return value.type
    return None


def _access(arr_type, idx, value=None):
    """One memref.load (value None) or memref.store: indices are ints or `index` values, a stored value has the
    element type (memref dialect LoadOp/StoreOp verifiers); returns the loaded value."""
    t = current_trace()
    if t is not None:
        t.add(target.value("core.programCost.accessBytes"))
    for i in (idx if isinstance(idx, tuple) else (idx,)):
        if isinstance(i, ScalarValue) and i.type != ScalarType("index"):
            raise TypeError(f"'memref.load/store' op index must be of type index, not {i.type}")
        if not isinstance(i, (int, ScalarValue)) or isinstance(i, bool):
            raise TypeError(f"memref index must be an integer or an index value, not {i!r}")
    elem = scalar_type(arr_type.dtype)
    if value is not None and isinstance(value, ScalarValue) and value.type != elem:
        raise TypeError(f"'memref.store' op type of 'value' ({value.type}) does not match the element type ({elem})")
    return ScalarValue(elem)


class Element:
    """One acquired object of an ObjectFifo, as a worker body sees it."""

    def __init__(self, handle):
        self.handle = handle
        self.type = handle.fifo.obj_type

    def __getitem__(self, i):
        return _access(self.type, i)

    def __setitem__(self, i, v):
        _access(self.type, i, v)


class Buffer(Placeable):
    """aie.iron.Buffer(type, initial_value, name, placement, use_write_rtp): a named core-local buffer."""

    def __init__(self, type=None, initial_value=None, name=None, placement=None, use_write_rtp=False):
        if type is None and initial_value is None:
            raise ValueError("Must provide either type, initial value, or both.")
        if not isinstance(type, ArrayType):
            raise TypeError(f"Buffer type must be np.ndarray[shape, dtype], not {type!r}")
        self.type, self.name, self._op = type, name or f"buf_{next(_UNNAMED)}", None
        Placeable.__init__(self, placement)

    def resolve(self):
        if not self._op:
            if not self._tile:
                raise ValueError("Cannot resolve buffer until it has been placed.")
            self._op = True

    @property
    def op(self):
        if self._op is None:
            raise NotResolvedError()
        return self._op

    def __getitem__(self, i):
        if self._op is None:
            raise AttributeError("Cannot index into Buffer before it has been resolved.")
        return _access(self.type, i)

    def __setitem__(self, i, v):
        if self._op is None:
            raise AttributeError("Cannot index into Buffer before it has been resolved.")
        _access(self.type, i, v)


class Kernel:
    """aie.iron.Kernel(name, object_file_name, arg_types): an extern "C" function in an object file (a func.func
    declaration named `name` once resolved)."""

    def __init__(self, name, object_file_name, arg_types=[]):
        if not name:
            raise ValueError("Kernel name cannot be empty.")
        for t in arg_types:
            if not isinstance(t, ArrayType) and not (isinstance(t, type) and issubclass(t, _Scalar)):
                raise TypeError(f"kernel {name}: argument type {t!r} is neither an array type nor a scalar type")
        self.name, self.object_file_name, self.arg_types = name, object_file_name, list(arg_types)
        self._op = None

    @property
    def bin_name(self):
        return self.object_file_name

    def resolve(self):
        self._op = True

    def __call__(self, *args):
        trace = current_trace()
        if trace is None:
            raise ValueError(f"kernel {self.name} called outside a worker body")
        if not self._op:
            raise ValueError("Kernel must be resolved before it can be called.")
        if len(args) != len(self.arg_types):
            raise ValueError(f"Kernel '{self.name}' expects {len(self.arg_types)} argument(s), but {len(args)} were provided.")
        for a in args:
            if isinstance(a, Buffer):
                a.op     # NotResolvedError for a Buffer the worker was not given at the top level
        # our check on top of the real one (which only counts): each argument matches its declared type
        for i, (a, t) in enumerate(zip(args, self.arg_types)):
            if isinstance(t, ArrayType):
                at = _type_of(a)
                if at is None:
                    raise TypeError(f"kernel {self.name} argument {i}: expects a buffer {t}, got {a!r}")
                if at.nbytes != t.nbytes or at.dtype.itemsize != t.dtype.itemsize:
                    raise TypeError(f"kernel {self.name} argument {i}: expects {t}, got a buffer {at}")
            elif isinstance(a, ScalarValue):
                if a.type != scalar_type(t):
                    raise TypeError(f"kernel {self.name} argument {i}: 'func.call' op operand type mismatch: expected "
                                    f"{scalar_type(t)}, got {a.type} (CallOp::verifySymbolUses; cast a loop index "
                                    f"with arith.index_cast)")
            elif not isinstance(a, (int, float)) or isinstance(a, bool):
                raise TypeError(f"kernel {self.name} argument {i}: expects a scalar {t.__name__}, got {a!r}")
        trace.call(self)


class Handle:
    """ObjectFifoHandle: the producer handle (one per fifo) or a consumer handle (one per .cons())."""

    def __init__(self, fifo, is_prod, depth=None, dims_from_stream=None):
        if depth is None:
            if fifo.depth:
                depth = fifo.depth
            else:
                raise ValueError("Must specify either ObjectFifoHandle depth or ObjectFifo default depth; both are None.")
        if depth < 1:
            raise ValueError(f"Depth must be > 0 but is {depth}")
        if is_prod and dims_from_stream:
            raise ValueError("Can only specify dims_from_stream for cons handles")
        if not is_prod and not dims_from_stream:
            dims_from_stream = fifo.dims_from_stream_per_cons
        self.fifo, self.is_prod, self.depth, self.dims_from_stream = fifo, is_prod, depth, dims_from_stream
        self._endpoint = None

    @property
    def name(self):
        return self.fifo.name

    @property
    def _is_prod(self):
        return self.is_prod

    @property
    def _object_fifo(self):
        return self.fifo

    @property
    def handle_type(self):
        return "prod" if self.is_prod else "cons"

    @property
    def obj_type(self):
        return self.fifo.obj_type

    @property
    def endpoint(self):
        return self._endpoint

    @endpoint.setter
    def endpoint(self, e):
        if self._endpoint and self._endpoint != e:
            raise ValueError(f"Endpoint already set for ObjectFifoHandle {self.name}.{self.handle_type}: "
                             f"Set to {self._endpoint}, trying to set to {e}")
        self._endpoint = e

    def all_of_endpoints(self):
        return self.fifo._get_endpoint(True) + self.fifo._get_endpoint(False)

    def acquire(self, num_elem):
        if self.depth < num_elem:
            raise ValueError(f"Number of elements to acquire {num_elem} must be smaller than depth {self.depth}")
        if num_elem < 1:
            raise ValueError("Must consume at least one element")
        trace = current_trace()
        if trace is None:
            raise ValueError("acquire outside a worker body")
        trace.acquire(self, num_elem)
        return Element(self) if num_elem == 1 else [Element(self) for _ in range(num_elem)]

    def release(self, num_elem):
        if self.depth < num_elem:
            raise ValueError(f"Number of elements to release {num_elem} must be smaller than depth {self.depth}")
        if num_elem < 1:
            raise ValueError("Must produce at least one element")
        trace = current_trace()
        if trace is None:
            raise ValueError("release outside a worker body")
        trace.release(self, num_elem)

    def _subfifos(self, what, offsets, depths, obj_types, names, dims_to_stream, dims_from_stream, plio):
        n = len(offsets)
        depths = [self.depth] * n if depths is None else depths
        obj_types = [self.fifo.obj_type] * n if obj_types is None else obj_types
        names = [f"{self.fifo.name}_{what}{i}" for i in range(n)] if names is None else names
        dims_to_stream = [[]] * n if dims_to_stream is None else dims_to_stream
        dims_from_stream = [[]] * n if dims_from_stream is None else dims_from_stream
        for label, xs in (("depths", depths), ("obj_types", obj_types), ("names", names),
                          ("dims to stream", dims_to_stream), ("dims_from_stream", dims_from_stream)):
            if len(xs) != n:
                raise ValueError(f"Number of {label} does not match number of offsets")
        subs = [ObjectFifo(t, depth=d, name=nm, dims_to_stream=ds, plio=plio,
                           dims_from_stream_per_cons=df if what == "split" else None)
                for t, d, nm, ds, df in zip(obj_types, depths, names, dims_to_stream, dims_from_stream)]
        return subs, depths, dims_from_stream

    def join(self, offsets, placement=AnyMemTile, depths=None, obj_types=None, names=None, dims_to_stream=None,
             dims_from_stream=None, plio=False):
        if not self.is_prod:
            raise ValueError(f"Cannot join() a {self.handle_type} ObjectFifoHandle")
        subs, depths, dfs = self._subfifos("join", offsets, depths, obj_types, names, dims_to_stream, dims_from_stream, plio)
        Link([s.cons(depth=d, dims_from_stream=df) for s, d, df in zip(subs, depths, dfs)], self, placement, offsets, [])
        return subs

    def split(self, offsets, placement=AnyMemTile, depths=None, obj_types=None, names=None, dims_to_stream=None,
              dims_from_stream=None, plio=False):
        if self.is_prod:
            raise ValueError(f"Cannot split() a {self.handle_type} ObjectFifoHandle")
        subs, _, _ = self._subfifos("split", offsets, depths, obj_types, names, dims_to_stream, dims_from_stream, plio)
        Link(self, [s.prod() for s in subs], placement, [], offsets)
        return subs

    def forward(self, placement=AnyMemTile, obj_type=None, depth=None, name=None, dims_to_stream=None,
                dims_from_stream=None, plio=False):
        if self.is_prod:
            raise ValueError(f"Cannot forward a {self.handle_type} ObjectFifoHandle")
        return self.split([0], placement=placement, obj_types=[obj_type] if obj_type else None,
                          depths=[depth] if depth else None, names=[name or self.fifo.name + "_fwd"],
                          dims_to_stream=[dims_to_stream] if dims_to_stream else None,
                          dims_from_stream=[dims_from_stream] if dims_from_stream else None, plio=plio)[0]


class ObjectFifo:
    """aie.iron.ObjectFifo(obj_type, depth=2, name=None, dims_to_stream, dims_from_stream_per_cons, plio, pad_dimensions)."""

    def __init__(self, obj_type, depth=2, name=None, dims_to_stream=None, dims_from_stream_per_cons=None, plio=False,
                 pad_dimensions=None):
        if isinstance(depth, int) and depth < 1:
            raise ValueError(f"Default ObjectFifo depth must be > 0, but got {depth}")
        if not isinstance(obj_type, ArrayType):
            raise TypeError(f"ObjectFifo type must be np.ndarray[shape, dtype], not {obj_type!r}")
        self.obj_type, self.depth, self.dims_to_stream = obj_type, depth, dims_to_stream
        self.dims_from_stream_per_cons = dims_from_stream_per_cons
        self.name = name or f"of{next(_UNNAMED)}"
        self._prod, self._cons = None, []

    def prod(self, depth=None):
        if self._prod is None:
            self._prod = Handle(self, True, depth)
        return self._prod

    def cons(self, depth=None, dims_from_stream=None):
        if depth is None and self.depth is None:
            raise ValueError("If depth is None, then depth must be specified.")
        h = Handle(self, False, depth or self.depth, dims_from_stream or self.dims_from_stream_per_cons)
        self._cons.append(h)
        return h

    @property
    def consumers(self):
        return list(self._cons)

    def _get_endpoint(self, is_prod):
        if is_prod:
            if self._prod is None:
                raise ValueError(f"Prod endpoint not set for {self.name}")
            return [self._prod.endpoint]
        if not self._cons:
            raise ValueError(f"Cons endpoint not set for {self.name}")
        return [c.endpoint for c in self._cons]


class Link(Placeable):
    """ObjectFifoLink: sources are consumer handles, destinations producer handles; a memory-tile forward/split/join.
    wide/subs/split/offsets describe it for the checker."""

    def __init__(self, srcs, dsts, placement=AnyMemTile, src_offsets=[], dst_offsets=[]):
        self._srcs = srcs if isinstance(srcs, list) else [srcs]
        self._dsts = dsts if isinstance(dsts, list) else [dsts]
        if len(self._srcs) != 1 and len(self._dsts) != 1:
            raise ValueError("An ObjectFifoLink may only have > 1 of either sources or destinations, but not both")
        for h in self._srcs + self._dsts:
            h.endpoint = self
        Placeable.__init__(self, placement)
        self.split = len(self._srcs) == 1 and (len(self._dsts) > 1 or bool(dst_offsets))
        self.wide = self._srcs[0] if self.split else self._dsts[0]
        self.subs = [h.fifo for h in (self._dsts if self.split else self._srcs)]
        self.offsets = list(dst_offsets if self.split else src_offsets)
        self.name = f"link({self.wide.name})"
        _DECLARED.append(self)

    def __repr__(self):
        return self.name


_DECLARED = []   # links in declaration order (a Program collects them)


class Worker(Placeable):
    """aie.iron.Worker(core_fn, fn_args, placement, while_true, stack_size, allocation_scheme, trace, trace_events)."""

    def __init__(self, core_fn, fn_args=[], placement=AnyComputeTile, while_true=True, stack_size=None,
                 allocation_scheme=None, trace=None, trace_events=None):
        Placeable.__init__(self, placement)
        if core_fn is None:          # as the real Worker: a busy loop
            def do_nothing_core_fun(*args):
                pass
            core_fn = do_nothing_core_fun
        self.core_fn, self.fn_args, self.while_true = core_fn, fn_args, while_true
        self.stack_size, self.allocation_scheme = stack_size, allocation_scheme
        self.name = getattr(core_fn, "__name__", "worker")
        self._fifos, self._buffers = [], []
        for a in self.fn_args:           # the top level only, as the real Worker
            if isinstance(a, Handle):
                a.endpoint = self
                self._fifos.append(a)
            elif isinstance(a, Buffer):
                self._buffers.append(a)
            elif isinstance(a, ObjectFifo):
                raise ValueError("Cannot give an ObjectFifo directly to a worker; must give an ObjectFifoHandle "
                                 "obtained through ObjectFifo.prod() or ObjectFifo.cons()")
        self.trace = None

    @property
    def fifos(self):
        return list(self._fifos)

    @property
    def buffers(self):
        return list(self._buffers)

    @property
    def kernels(self):
        return [a for a in self.fn_args if isinstance(a, Kernel)]

    @property
    def nested(self):
        """Buffers, handles and Kernels inside lists/tuples of fn_args: the real Worker never sees them."""
        out = []

        def visit(x):
            for y in x:
                if isinstance(y, (list, tuple)):
                    visit(y)
                elif isinstance(y, (Buffer, Handle, Kernel)):
                    out.append(y)
        visit([a for a in self.fn_args if isinstance(a, (list, tuple))])
        return out

    @property
    def stack_bytes(self):
        return self.stack_size if self.stack_size is not None else target.value("core.stackBytes")


# How the design's cores are lowered: True = mlir-aie's default static objectfifo lowering (loops that acquire
# are unrolled, AIEObjectFifoStatefulTransform.cpp unrollForLoops); False = aiecc --dynamic-objFifos (buffer
# indices at run time, no unrolling: dynamicGlobalObjectFifos). Tools/design_check.run_design sets it from the
# design module's AIECC_FLAGS.
LOWERING = {"static": True}


class WorkerTrace:
    """What one traced worker body did: kernel calls, acquires/releases per handle with multiplicity, its
    program-size estimate (range_ bodies once, times the objectfifo unroll factor under the static lowering), and
    the body as an event tree [("acq"|"rel", handle, n) | ("label", handle, what) | ("loop", count, [events])] for
    the schedule simulation and the lowering and order checks (Tools/design_check.py)."""

    def __init__(self, worker):
        self.worker, self.calls, self.mult = worker, [], []
        self.held = {}       # handle -> currently acquired
        self.objects = {}    # handle -> objects acquired in one run (loops counted)
        self.max_acquire = {}  # handle -> the most objects one acquire asks for
        self.errors = []
        self.aborted = False   # the body raised (as the real one would): its counts are partial
        self.frames = [[0, set()]]   # per open loop body: [bytes, depths of the fifos acquired directly in it]
        self.functions = set()
        self.tree = []
        self._nodes = [self.tree]

    def multiplier(self):
        m = 1
        for x in self.mult:
            m *= x
        return m

    def add(self, n):
        self.frames[-1][0] += n

    def call(self, kernel):
        self.calls.append((kernel.name, self.multiplier()))
        self.functions.add(kernel.name)
        self.add(target.value("core.programCost.callBytes"))

    def enter_loop(self, count=1):
        self.frames.append([0, set()])
        body = []
        self._nodes[-1].append(("loop", count, body))
        self._nodes.append(body)

    def exit_loop(self):
        body, depths = self.frames.pop()
        self._nodes.pop()
        self.add(body * _unroll(depths) + target.value("core.programCost.loopBytes"))

    def label(self, h, what):
        self._nodes[-1].append(("label", h, what))

    def acquire(self, h, n):
        if h.endpoint is not self.worker:
            self.errors.append(f"acquires {h.name} ({'prod' if h.is_prod else 'cons'}), a handle it was not given")
        new = max(0, n - self.held.get(h, 0))
        self.held[h] = max(self.held.get(h, 0), n)
        self.objects[h] = self.objects.get(h, 0) + new * self.multiplier()
        self.max_acquire[h] = max(self.max_acquire.get(h, 0), n)
        self.frames[-1][1].add(h.depth)
        self.add(target.value("core.programCost.acquireBytes"))
        self._nodes[-1].append(("acq", h, n))

    def release(self, h, n):
        if self.held.get(h, 0) < n:
            self.errors.append(f"releases {n} of {h.name} but holds {self.held.get(h, 0)}")
        self.held[h] = max(0, self.held.get(h, 0) - n)
        self.add(target.value("core.programCost.releaseBytes"))
        self._nodes[-1].append(("rel", h, n))

    def program_bytes(self):
        """The core's program estimate: fixed code, the body (unrolled as its while(true) loop is), the kernels' text."""
        body, depths = self.frames[0]
        if self.worker.while_true:
            body = body * _unroll(depths) + target.value("core.programCost.loopBytes")
        return (target.value("core.programCost.fixedBytes") + body
                + len(self.functions) * target.value("core.programCost.kernelTextBytes"))


def _unroll(depths):
    """AIEObjectFifoStatefulTransform unrollForLoops: under the static lowering a loop acquiring fifos directly is
    unrolled by the LCM of their sizes; the dynamic lowering unrolls nothing."""
    if not LOWERING["static"]:
        return 1
    f = 1
    for d in depths:
        f = f * d // math.gcd(f, d)
    return f


def expect(handle, what):
    """The design checker's region marker (Kernels/decode/roles.py expect): recorded in the worker's event tree."""
    t = current_trace()
    if t is not None:
        t.label(handle, what)


class RuntimeData:
    def __init__(self, arr_type, index=None):
        if not isinstance(arr_type, ArrayType):
            raise TypeError(f"runtime argument type must be np.ndarray[shape, dtype], not {arr_type!r}")
        self.type, self.index = arr_type, index

    @property
    def arr_type(self):
        return self.type

    def default_tap(self):
        """TensorTiler2D.simple_tiler(shape)[0]: the whole tensor as [1, 1, rows, cols] (1-D: one row)."""
        from aie.helpers.taplib import TensorAccessPattern
        shape = list(self.type.shape)
        if len(shape) == 1:
            shape = [1] + shape
        if len(shape) != 2:
            raise ValueError(f"Tensor dimension ({shape}) does not match expected dimension (2)")
        return TensorAccessPattern(shape, 0, [1, 1, shape[0], shape[1]], [0, 0, shape[1], 1])


class RuntimeEndpoint(Placeable):
    """The runtime's end of a fifo (a shim tile once placed); equal to another when their tiles are."""

    def __eq__(self, other):
        if not isinstance(other, RuntimeEndpoint):
            return NotImplemented
        return self.tile == other.tile

    __hash__ = object.__hash__

    def __str__(self):
        return f"RuntimeEndpoint({self.tile if isinstance(self.tile, Tile) else self.tile.__name__})"


class Transfer:
    """A DMATask: one fill or drain, one BD (shim_dma_single_bd_task), awaited or freed when its group finishes."""

    def __init__(self, kind, handle, data, tap, wait, task_group):
        self.kind, self.handle, self.data, self.tap, self.wait, self.task_group = kind, handle, data, tap, wait, task_group

    @property
    def endpoint(self):
        """The runtime endpoint that moves it: the fifo's producer, or its (pruned) runtime consumer."""
        f = self.handle.fifo
        if self.kind == "fill":
            return f._prod.endpoint
        return next((c.endpoint for c in f._cons if isinstance(c.endpoint, RuntimeEndpoint)), self.handle.endpoint)


class TaskGroup:
    def __init__(self, group_id):
        self.group_id = group_id

    def __str__(self):
        return f"TaskGroup({self.group_id})"


class Runtime:
    def __init__(self, strict_task_groups=True):
        self.args, self.transfers, self.started, self._open = [], [], [], []
        self.tasks = []       # Transfer, or ("finish", group), in sequence order
        self._fifos = []      # handles given to fill/drain (a set in IRON; here in call order)
        self._groups = 0
        self.strict_task_groups = strict_task_groups

    @property
    def workers(self):
        return list(self.started)

    @property
    def fifos(self):
        return list(self._fifos)

    @contextlib.contextmanager
    def sequence(self, *input_types):
        self.args = [RuntimeData(t, i) for i, t in enumerate(input_types)]
        try:
            yield self.args[0] if len(self.args) == 1 else tuple(self.args)
        finally:
            if self._open:
                raise ValueError(f"Failed to close task groups: {', '.join(str(t) for t in self._open)}")
            for h in self._fifos:   # duplicate runtime consumers of one fifo are pruned (they must agree)
                if h.is_prod:
                    continue
                first, extra = None, []
                for c in h.fifo._cons:
                    if isinstance(c.endpoint, RuntimeEndpoint):
                        if first is None:
                            first = c
                        elif c.depth == first.depth and c.dims_from_stream == first.dims_from_stream:
                            extra.append(c)
                        else:
                            raise ValueError(f"Found two different RuntimeEndpoints for consumers of the same "
                                             f"ObjectFifo: {h.fifo.name}")
                for c in extra:
                    h.fifo._cons.remove(c)

    def task_group(self):
        tg = TaskGroup(self._groups)
        self._groups += 1
        self._open.append(tg)
        return tg

    def finish_task_group(self, task_group):
        self._open.remove(task_group)
        self.tasks.append(("finish", task_group))

    def _transfer(self, kind, handle, data, tap, task_group, wait, placement):
        if data not in self.args:
            raise ValueError(f"{'Source' if kind == 'fill' else 'Destination'} {data!r} is not a RuntimeData object "
                             f"generated by sequence()")
        if not isinstance(handle, Handle) or handle.is_prod != (kind == "fill"):
            raise ValueError(f"{kind} needs a {'producer' if kind == 'fill' else 'consumer'} ObjectFifoHandle")
        if tap is None:
            tap = data.default_tap()
        handle.endpoint = RuntimeEndpoint(placement)
        if handle not in self._fifos:
            self._fifos.append(handle)
        t = Transfer(kind, handle, data, tap, wait, task_group)
        self.transfers.append(t)
        self.tasks.append(t)

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

    def resolve_program(self, placer=None, device_name="main"):
        rt = self.rt
        links = list(_DECLARED)
        _DECLARED.clear()
        handles = list(rt.fifos)
        for w in rt.workers:
            handles += [h for h in w.fifos if h not in handles]
        handles.sort(key=lambda h: h.name)
        placement_error = None
        if placer is not None:
            try:
                placer.make_placement(self.device, rt, rt.workers, handles)
            except (ValueError, AlreadyPlacedError) as e:   # the real Program raises here
                placement_error = e
        resolve_errors = []
        for w in rt.workers:      # as program.py: every top-level Kernel / Buffer argument is resolved
            for a in w.fn_args:
                if isinstance(a, (Kernel, Buffer)):
                    try:
                        a.resolve()
                    except ValueError as e:   # the real Program raises here
                        resolve_errors.append(f"worker {w.name}: {type(e).__name__}: {e}")
        for w in rt.workers:
            t = WorkerTrace(w)
            w.trace = t
            if placement_error is None and not isinstance(w.tile, Tile):
                raise ValueError("Must place Worker before it can be resolved.")
            _TRACE.append(t)
            try:
                w.core_fn(*w.fn_args)
            except (NotResolvedError, AttributeError, ValueError) as e:
                t.errors.append(f"its body raises {type(e).__name__}: {e}")
                t.aborted = True
            finally:
                _TRACE.pop()
            for h, n in t.held.items():
                if n and not t.aborted:
                    t.errors.append(f"ends its body holding {n} of {h.name}")
        return Recorded(self.device, rt, links, handles, placement_error, resolve_errors)


class Recorded:
    """The result of resolve_program: everything the checker inspects. str() is a short summary."""

    def __init__(self, device, rt, links, handles, placement_error, resolve_errors):
        self.device, self.rt, self.links, self.handles = device, rt, links, handles
        self.placement_error, self.resolve_errors = placement_error, resolve_errors

    def __str__(self):
        return (f"// IRON stub record: {len(self.rt.started)} workers, {len(self.links)} links, "
                f"{len(self.rt.transfers)} runtime transfers (no MLIR: mlir-aie is not installed)")
