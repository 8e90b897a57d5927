# The design checker catches our own mistakes: a fifo too big for a core, a wrong argument size, a third input channel, a missing C symbol, KV rows other than the contract's.
import os
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
sys.path.insert(0, TOOLS)

import design_check  # noqa: E402

DESIGN = '''
import numpy as np
from ml_dtypes import bfloat16
from aie.iron import Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.device import NPU2, Tile
from aie.iron.placers import SequentialPlacer

def design(fifo_elems, arg_elems, extra_input=False, entry="add_bf16"):
    t = np.ndarray[(fifo_elems,), np.dtype[bfloat16]]
    add = Kernel(entry, "add.o", [t, t, t, np.int32])
    a, b, o, c = ObjectFifo(t, name="a"), ObjectFifo(t, name="b"), ObjectFifo(t, name="o"), ObjectFifo(t, name="c")
    def body(a, b, o, c, add):
        x, y, z = a.acquire(1), b.acquire(1), o.acquire(1)
        add(x, y, z, fifo_elems)
        a.release(1)
        b.release(1)
        o.release(1)
        if c is not None:
            c.acquire(1)
            c.release(1)
    w = Worker(body, [a.cons(), b.cons(), o.prod(), c.cons() if extra_input else None, add], placement=Tile(0, 2))
    arg = np.ndarray[(arg_elems,), np.dtype[bfloat16]]
    rt = Runtime()
    with rt.sequence(arg, arg, arg) as (A, B, O):
        rt.start(w)
        rt.fill(a.prod(), A)
        rt.fill(b.prod(), B)
        if extra_input:
            rt.fill(c.prod(), B)
        rt.drain(o.cons(), O, wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())
'''


ROW_DESIGN = '''
import numpy as np
from ml_dtypes import bfloat16
from aie.iron import ObjectFifo, Program, Runtime, Worker
from aie.iron.device import NPU2, Tile
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

def design(heads, ctx, hd, stride_rows):
    """A KV append through a row argument: one row per head drained at h * stride_rows rows (right: ctx)."""
    row_ty = np.ndarray[(hd,), np.dtype[bfloat16]]
    r = ObjectFifo(row_ty, depth=1, name="row")
    def body(r):
        for _ in range(heads):
            r.acquire(1)
            r.release(1)
    w = Worker(body, [r.prod()], placement=Tile(0, 2))
    n = ((heads - 1) * ctx + 1) * hd
    rt = Runtime()
    with rt.sequence(np.ndarray[(n,), np.dtype[bfloat16]]) as R:
        rt.start(w)
        for h in range(heads):
            rt.drain(r.cons(), R, TensorAccessPattern((1, n), min(h * stride_rows * hd, n - hd), [1, 1, 1, hd],
                                                      [0, 0, 0, 1]), wait=True)
    return Program(NPU2(), rt).resolve_program(SequentialPlacer())
'''


class DesignCheckTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "tiny_design.py")
        with open(self.path, "w") as f:
            f.write(DESIGN)
        self.objects = {"add.o": [os.path.join(ROOT, "Kernels", "add", "add.cc")]}

    def problems(self, fifo=64, arg=64, extra=False, entry="add_bf16", declared=128):
        rec = design_check.run_design(self.path, fifo, arg, extra, entry)
        args = [("a", declared, "input"), ("b", declared, "input"), ("out", declared, "output")]
        return design_check.check(rec, "tiny", self.objects, args)

    def test_a_correct_design_passes(self):
        self.assertEqual(self.problems(), [])

    def test_a_fifo_too_big_for_the_core_is_reported(self):
        p = self.problems(fifo=6000, arg=6000, declared=12000)   # 3 fifos x 2 x 12000 B = 72000 B
        self.assertTrue(any("[core-memory]" in x and "needs 73024 bytes" in x and "more than 65536" in x
                            and "AIETargetModel.h AIE2TargetModel::getLocalMemorySize" in x for x in p), p)

    def test_a_wrong_argument_size_is_reported(self):
        p = self.problems(declared=256)
        self.assertIn("tiny: [arguments] argument 3 (a) is 128 bytes, DecodeDesigns declares 256", p)

    def test_a_fifo_whose_consumer_takes_fewer_objects_than_are_sent_is_reported(self):
        # the runtime fills 2 objects into `a` per run, the core takes 1: a deadlock on hardware
        p = self.problems(fifo=64, arg=128, declared=256)
        self.assertIn("tiny: [flow] fifo a: its producer makes 2 objects per run, body takes 1", p)
        self.assertIn("tiny: [flow] fifo o: its producer makes 1 objects per run, the runtime takes 2", p)

    def test_a_transfer_that_misses_bytes_is_reported(self):
        # the design's argument is right, but a declared-bigger argument would be half covered
        rec = design_check.run_design(self.path, 64, 64, False, "add_bf16")
        rec.rt.args[0].type.shape = (128,)
        p = design_check.check(rec, "tiny", self.objects,
                               [("a", 256, "input"), ("b", 128, "input"), ("out", 128, "output")])
        self.assertTrue(any("transfers cover [(0, 128)], not exactly its 256 bytes" in x for x in p), p)

    def test_a_third_input_channel_is_reported(self):
        p = self.problems(extra=True)
        self.assertTrue(any("[core-dma]" in x and "3 input fifos" in x and "getNumDestSwitchboxConnections" in x for x in p), p)

    def test_a_kernel_missing_from_the_sources_is_reported(self):
        p = self.problems(entry="add_f32")
        self.assertTrue(any("add_f32 is not an extern" in x for x in p), p)

    def row_problems(self, stride_rows, heads=3, ctx=8, hd=16):
        path = os.path.join(self.dir, "row_design.py")
        with open(path, "w") as f:
            f.write(ROW_DESIGN)
        rec = design_check.run_design(path, heads, ctx, hd, stride_rows)
        nbytes = ((heads - 1) * ctx + 1) * hd * 2
        rows = [(h * ctx * hd * 2, (h * ctx + 1) * hd * 2) for h in range(heads)]     # the contract: one row per head

        class Contract:
            coverage = {"k_row": {"reads": [], "writes": rows}}
        return design_check.check(rec, "rows", {}, [("k_row", nbytes, "kvRow")], Contract())

    def test_kv_rows_at_the_head_stride_pass(self):
        self.assertEqual(self.row_problems(stride_rows=8), [])

    def test_kv_rows_at_a_wrong_stride_are_reported(self):
        for stride in (7, 4, 0):   # a row stride other than ctx: another position's row, or one row written 3 times
            p = self.row_problems(stride_rows=stride)
            self.assertTrue(any("argument 3 (k_row, kvRow): its writes are not the contract's 96 bytes exactly once" in x
                                for x in p), (stride, p))


if __name__ == "__main__":
    unittest.main()
