# Recording stand-in for mlir-aie's aie.iron (Tools/iron_stub/README.md): Buffer, Kernel, ObjectFifo, Worker, Runtime, Program.
from ._record import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker  # noqa: F401
