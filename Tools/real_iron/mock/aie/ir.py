# Mock of MLIR's compiled Python IR binding (aie.ir, from aie._mlir_libs._mlir): types, attributes, values, blocks, ops — absorbs op construction and records what a real module's verifier would see.
#
# Written here for Tools/real_iron (README there); not a copy of MLIR. What it keeps: every op is put
# in the block of the current InsertionPoint; ops created directly in an aie.device block that carry a
# `sym_name` string are entered in the device's symbol table, and a second op with the same name is
# recorded as the error MLIR's SymbolTable verifier gives (llvm-project mlir/lib/IR/SymbolTable.cpp
# detail::verifySymbolTable: "redefinition of symbol named '<name>'"; it looks at the `sym_name`
# attribute of every op in the region, Symbol trait or not, so an aie.buffer and an aie.objectfifo
# of one name clash too). func.call operands are checked against the callee's declared function type
# (func dialect CallOp::verifySymbolUses: "incorrect number of operands for callee", "operand type
# mismatch"). Those errors are collected in RECORD.verify_errors and returned by
# Module.operation.verify(), which the real Program.resolve_program calls (and only logs).
# What it cannot see: any other verifier, pass or lowering of mlir-aie (objectfifo lowering, DMA/BD
# verification, routing, buffer allocation, the core compiler).
import contextlib


# ----------------------------------------------------------------------------- record
class Record:
    """What one module (one Program.resolve_program) created."""

    def __init__(self):
        self.ops = []              # every op, in creation order
        self.symbols = {}          # device symbol table: name -> op
        self.verify_errors = []    # what MLIR's verifiers named above would report
        self.calls = []            # (callee name, [operand types])
        self.fifos = {}            # objectfifo name -> op
        self.dma_tasks = []        # (alloc name, dma_bd dims, offset, len)
        self.device = None

    def error(self, msg):
        if msg not in self.verify_errors:
            self.verify_errors.append(msg)


RECORD = Record()


def new_record():
    global RECORD
    RECORD = Record()
    _IP_STACK.clear()
    return RECORD


# ----------------------------------------------------------------------------- context / location
class Context:
    current = None

    def __init__(self, *a, **k):
        pass

    def __enter__(self):
        Context.current = self
        return self

    def __exit__(self, *exc):
        Context.current = None
        return False

    def allow_unregistered_dialects(self, *a):
        pass

    def append_dialect_registry(self, *a):
        pass

    def load_all_available_dialects(self):
        pass


class Location:
    current = None

    def __init__(self, text="loc(unknown)"):
        self._text = text

    @staticmethod
    def unknown(context=None):
        return Location()

    @staticmethod
    def file(filename, line, col, context=None):
        return Location(f'loc("{filename}":{line}:{col})')

    @staticmethod
    def name(name, childLoc=None, context=None):
        return Location(f'loc("{name}")')

    def __enter__(self):
        Location.current = self
        return self

    def __exit__(self, *exc):
        Location.current = None
        return False

    def __str__(self):
        return self._text


# ----------------------------------------------------------------------------- types
class Type:
    def __init__(self, text):
        self._text = text

    def __str__(self):
        return self._text

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Type) and str(self) == str(other)

    def __hash__(self):
        return hash(self._text)

    @staticmethod
    def parse(text, context=None):
        return Type(text)

    @property
    def typeid(self):
        return type(self)

    static_typeid = None


class IndexType(Type):
    def __init__(self):
        super().__init__("index")

    @staticmethod
    def get(context=None):
        return IndexType()

    @staticmethod
    def isinstance(t):
        return isinstance(t, IndexType)


class IntegerType(Type):
    def __init__(self, width, sign=""):
        super().__init__(f"{sign}i{width}")
        self.width = width

    @staticmethod
    def get_signless(width, context=None):
        return IntegerType(width)

    @staticmethod
    def get_signed(width, context=None):
        return IntegerType(width, "s")

    @staticmethod
    def get_unsigned(width, context=None):
        return IntegerType(width, "u")

    @staticmethod
    def isinstance(t):
        return isinstance(t, IntegerType)


class FloatType(Type):
    width = None

    @staticmethod
    def isinstance(t):
        return isinstance(t, FloatType)


def _float(name, width):
    cls = type(name, (FloatType,), {"width": width})
    cls.__init__ = lambda self, _n=name[:-4].lower(): Type.__init__(self, _n)
    cls.get = staticmethod(lambda context=None, _c=cls: _c())
    cls.isinstance = staticmethod(lambda t, _c=cls: isinstance(t, _c))
    return cls


F16Type = _float("F16Type", 16)
F32Type = _float("F32Type", 32)
F64Type = _float("F64Type", 64)
BF16Type = _float("BF16Type", 16)


class ShapedType(Type):
    def __init__(self, kind, shape, element_type):
        self.shape = list(shape)
        self.element_type = element_type
        dims = "x".join(str(d) for d in self.shape)
        super().__init__(f"{kind}<{dims + 'x' if dims else ''}{element_type}>")

    def has_rank(self):
        return True

    @property
    def rank(self):
        return len(self.shape)


class MemRefType(ShapedType):
    def __init__(self, shape, element_type, layout=None, memory_space=None):
        super().__init__("memref", shape, element_type)
        self.layout, self.memory_space = layout, memory_space

    @staticmethod
    def get(shape, element_type, layout=None, memory_space=None, loc=None):
        return MemRefType(shape, element_type, layout, memory_space)

    @staticmethod
    def isinstance(t):
        return isinstance(t, MemRefType)


class RankedTensorType(ShapedType):
    @staticmethod
    def get(shape, element_type, encoding=None, loc=None):
        return RankedTensorType("tensor", shape, element_type)


class VectorType(ShapedType):
    @staticmethod
    def get(shape, element_type, scalable=None, scalable_dims=None, loc=None):
        return VectorType("vector", shape, element_type)


class FunctionType(Type):
    def __init__(self, inputs, results):
        self.inputs, self.results = list(inputs), list(results)
        super().__init__(f"({', '.join(map(str, self.inputs))}) -> ({', '.join(map(str, self.results))})")

    @staticmethod
    def get(inputs, results, context=None):
        return FunctionType(inputs, results)


# ----------------------------------------------------------------------------- attributes
_ATTR_BUILDERS = {}


def register_attribute_builder(kind, replace=False):
    def deco(fn):
        _ATTR_BUILDERS[kind] = fn
        return fn
    return deco


class AttrBuilder:
    @staticmethod
    def get(kind):
        return _ATTR_BUILDERS[kind]

    @staticmethod
    def contains(kind):
        return kind in _ATTR_BUILDERS

    insert = staticmethod(lambda kind, fn, replace=False: _ATTR_BUILDERS.__setitem__(kind, fn))


class Attribute:
    def __init__(self, value=None, text=None):
        self.value = value
        self._text = text if text is not None else repr(value)

    @staticmethod
    def parse(text, context=None):
        return Attribute(text, text)

    def __str__(self):
        return self._text

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, Attribute) and self.value == other.value

    def __hash__(self):
        return hash(self._text)

    def __int__(self):
        return int(self.value)


class StringAttr(Attribute):
    @staticmethod
    def get(value, context=None):
        return StringAttr(value, f'"{value}"')


class FlatSymbolRefAttr(Attribute):
    @staticmethod
    def get(value, context=None):
        return FlatSymbolRefAttr(value, f"@{value}")


class IntegerAttr(Attribute):
    @staticmethod
    def get(type, value):
        return IntegerAttr(int(value), f"{value} : {type}")


class FloatAttr(Attribute):
    @staticmethod
    def get(type, value, loc=None):
        return FloatAttr(float(value), f"{value} : {type}")


class BoolAttr(Attribute):
    @staticmethod
    def get(value, context=None):
        return BoolAttr(bool(value), str(bool(value)).lower())


class TypeAttr(Attribute):
    @staticmethod
    def get(type, context=None):
        return TypeAttr(type, str(type))


class UnitAttr(Attribute):
    @staticmethod
    def get(context=None):
        return UnitAttr(True, "unit")


class DictAttr(Attribute):
    @staticmethod
    def get(value=None, context=None):
        return DictAttr(dict(value or {}))


class ArrayAttr(Attribute):
    @staticmethod
    def get(values, context=None):
        return ArrayAttr(list(values))


class DenseElementsAttr(Attribute):
    @staticmethod
    def get(array, signless=True, type=None, shape=None, context=None):
        return DenseElementsAttr(array, f"dense<...> : {type}")


def _i32ArrayAttr(x, context=None):
    return ArrayAttr(list(x))


def _arrayAttr(x, context=None):
    return ArrayAttr(list(x))


def _as_attr(v):
    """The attribute an op builder's keyword becomes (what `op.<name>` returns)."""
    if isinstance(v, Attribute) or v is None:
        return v
    if isinstance(v, bool):
        return BoolAttr(v, str(v).lower())
    if isinstance(v, int):
        return IntegerAttr(v, str(v))
    if isinstance(v, float):
        return FloatAttr(v, str(v))
    if isinstance(v, str):
        return StringAttr(v, f'"{v}"')
    if isinstance(v, Type):
        return TypeAttr(v, str(v))
    return v


# ----------------------------------------------------------------------------- values
_VALUE_CASTERS = []   # (predicate on type, class): the python-extras casters register here


def register_value_caster(predicate, cls):
    _VALUE_CASTERS.append((predicate, cls))


class Value:
    def __init__(self, type, owner=None, name=None):
        self._type, self._owner, self._name = type, owner, name

    @property
    def type(self):
        return self._type

    @property
    def owner(self):
        return self._owner

    def get_name(self, *a, **k):
        return self._name or "%v"

    def __str__(self):
        return f"Value({self.get_name()} : {self._type})"

    __repr__ = __str__

    def maybe_downcast(self):
        return self


def make_value(type, owner=None, name=None):
    """A value of `type`, cast as the extras' registered value casters would cast it."""
    for pred, cls in reversed(_VALUE_CASTERS):
        if pred(type):
            return cls(type, owner, name)
    return Value(type, owner, name)


class BlockArgument(Value):
    pass


class OpResult(Value):
    pass


# ----------------------------------------------------------------------------- blocks, regions, insertion points
_IP_STACK = []


class Block:
    def __init__(self, parent_region, arg_types=()):
        self.region = parent_region
        self.operations = []
        self.arguments = [make_value(t, self, f"%arg{i}") for i, t in enumerate(arg_types)]

    @property
    def owner(self):
        return self.region.owner if self.region else None

    def append(self, op):
        self.operations.append(op)


class BlockList:
    def __init__(self, region):
        self._region, self._blocks = region, []

    def append(self, *arg_types, arg_locs=None):
        b = Block(self._region, arg_types)
        self._blocks.append(b)
        return b

    def __getitem__(self, i):
        return self._blocks[i]

    def __len__(self):
        return len(self._blocks)

    def __iter__(self):
        return iter(self._blocks)


class Region:
    def __init__(self, owner):
        self.owner = owner
        self.blocks = BlockList(self)


class InsertionPoint:
    def __init__(self, block):
        self.block = block

    @staticmethod
    def at_block_begin(block):
        return InsertionPoint(block)

    @staticmethod
    def at_block_terminator(block):
        return InsertionPoint(block)

    def __enter__(self):
        _IP_STACK.append(self)
        return self

    def __exit__(self, *exc):
        _IP_STACK.pop()
        return False

    def insert(self, op):
        self.block.append(op)

    @classmethod
    def _current(cls):
        return _IP_STACK[-1] if _IP_STACK else None


class _CurrentIP:
    def __get__(self, obj, cls):
        if not _IP_STACK:
            raise ValueError("No current InsertionPoint")
        return _IP_STACK[-1]


InsertionPoint.current = _CurrentIP()


# ----------------------------------------------------------------------------- operations
class Operation:
    def __init__(self, view, name):
        self.opview = view
        self.name = name
        self.attributes = {}
        self.regions = []
        self.results = []
        self.parent = None

    def verify(self):
        if RECORD.verify_errors:
            return "\n".join(RECORD.verify_errors)
        return True

    def __str__(self):
        return f'"{self.name}"({", ".join(f"{k} = {v}" for k, v in self.attributes.items())})'


class _Results(list):
    @property
    def types(self):
        return [v.type for v in self]


class OpView:
    """A generated op class: keeps its builder's arguments as attributes and operands, makes results of the
    types given first, and enters itself in the current block (and the device's symbol table)."""
    OPERATION_NAME = "mock.op"
    _REGIONS = 0

    def __init__(self, *args, loc=None, ip=None, **kwargs):
        self.__dict__["operation"] = Operation(self, self.OPERATION_NAME)
        self.__dict__["_operands"] = list(args)
        result_types = []
        for a in args:    # the generated builders take result types first
            if isinstance(a, Type):
                result_types.append(a)
            else:
                break
        if "result" in kwargs and isinstance(kwargs["result"], Type):
            result_types.append(kwargs.pop("result"))
        for k, v in kwargs.items():
            if v is not None:
                self.operation.attributes[k] = _as_attr(v)
        self.operation.results = _Results(make_value(t, self) for t in self._result_types(result_types))
        self.operation.regions = [Region(self) for _ in range(self._REGIONS)]
        _insert(self, ip)

    def _result_types(self, given):
        return given

    def __getattr__(self, name):
        attrs = self.__dict__["operation"].attributes
        if name in attrs:
            return attrs[name]
        if name in self._OPTIONAL:
            return None
        raise AttributeError(f"{type(self).__name__} (mock of {self.OPERATION_NAME}) has no attribute '{name}'")

    _OPTIONAL = ("sym_name",)

    @property
    def attributes(self):
        return self.operation.attributes

    @property
    def results(self):
        return self.operation.results

    @property
    def result(self):
        if len(self.operation.results) != 1:
            raise ValueError(f"{self.OPERATION_NAME} does not have exactly one result")
        return self.operation.results[0]

    @property
    def regions(self):
        return self.operation.regions

    @property
    def body(self):
        return self.operation.regions[0]

    @property
    def context(self):
        return Context.current

    def __str__(self):
        return str(self.operation)


def _insert(op, ip=None):
    ip = ip or (_IP_STACK[-1] if _IP_STACK else None)
    parent = ip.block if ip else None
    op.operation.parent = parent
    if parent is not None:
        parent.append(op)
    RECORD.ops.append(op)
    # the device's symbol table: direct children of the aie.device block with a sym_name string
    owner = parent.owner if parent is not None else None
    if owner is not None and owner.OPERATION_NAME == "aie.device":
        sym = op.operation.attributes.get("sym_name")
        if isinstance(sym, StringAttr):
            if sym.value in RECORD.symbols:
                first = RECORD.symbols[sym.value]
                RECORD.error(f"redefinition of symbol named '{sym.value}' ({op.OPERATION_NAME}; see existing "
                             f"symbol definition: {first.OPERATION_NAME})")
            else:
                RECORD.symbols[sym.value] = op


class OpResultList(_Results):
    pass


class Module:
    def __init__(self):
        self.body = Block(None)
        self.operation = Operation(self, "builtin.module")
        self.record = RECORD

    @staticmethod
    def create(loc=None):
        return Module()

    @staticmethod
    def parse(text, context=None):
        raise NotImplementedError("mock: cannot parse MLIR text")

    def __str__(self):
        r = self.record
        return (f"// mock module (Tools/real_iron): {len(r.ops)} ops, {len(r.symbols)} device symbols, "
                f"{len(r.fifos)} objectfifos, {len(r.dma_tasks)} runtime DMA tasks, "
                f"{len(r.verify_errors)} verify errors")


class _Globals:
    @staticmethod
    def _check_dialect_module_loaded(name):
        return True

    @staticmethod
    def append_dialect_search_prefix(*a):
        pass


class DialectRegistry:
    pass
