# Each real-toolchain rule of Tools/design_check.py fires on a deliberately broken small design, and its message names the rule's real source.
import os
import sys
import tempfile
import textwrap
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)

import design_check  # noqa: E402

HEADER = '''
import numpy as np
from ml_dtypes import bfloat16
from aie.iron import Buffer, Kernel, ObjectFifo, Program, Runtime, Worker
from aie.iron.controlflow import range_
from aie.iron.device import NPU2, Tile
from aie.iron.placers import SequentialPlacer
from aie.helpers.taplib import TensorAccessPattern

def vec(n, t=bfloat16):
    return np.ndarray[(n,), np.dtype[t]]

def sink(*handles):
    """A body that takes one object from every consumer handle and gives one to every producer handle."""
    def body(*hs):
        for h in hs:
            if h is not None and hasattr(h, "acquire"):
                h.acquire(1)
                h.release(1)
    return body
'''


def problems(body, *args):
    """Runs design() of HEADER + body through the stub and returns the checker's problems."""
    d = tempfile.mkdtemp()
    path = os.path.join(d, "broken_design.py")
    with open(path, "w") as f:
        f.write(HEADER + textwrap.dedent(body))
    rec = design_check.run_design(path, *args)
    expected = [(f"a{i}", a.type.nbytes, "input") for i, a in enumerate(rec.rt.args)]
    return design_check.check(rec, "broken", {}, expected)


def find(test, ps, rule, *parts):
    hits = [x for x in ps if f"[{rule}]" in x and all(q in x for q in parts)]
    test.assertTrue(hits, f"no [{rule}] problem with {parts} in:\n" + "\n".join(ps))
    return hits[0]


class PlacementTests(unittest.TestCase):
    def test_more_runtime_fills_than_shim_channels_fail_as_the_real_placer(self):
        # 9 placed cores with 2 input fifos each: 18 runtime fills for 8 shims x 2 MM2S channels
        ps = problems('''
        def design():
            fifos = [ObjectFifo(vec(64), name=f"f{i}") for i in range(18)]
            ws = [Worker(sink(), [fifos[2 * c].cons(), fifos[2 * c + 1].cons()], placement=Tile(c % 8, 2 + c // 8))
                  for c in range(9)]
            rt = Runtime()
            with rt.sequence(vec(64 * 18)) as A:
                rt.start(*ws)
                for i, f in enumerate(fifos):
                    rt.fill(f.prod(), A, TensorAccessPattern((1, 64 * 18), 64 * i, [1, 1, 1, 64], [0, 0, 0, 1]))
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "placement", "Failed to find a tile matching column 0: tried until column 8",
             "python/iron/placers.py SequentialPlacer")

    def test_sixteen_fills_place_on_the_eight_shims(self):
        ps = problems('''
        def design():
            fifos = [ObjectFifo(vec(64), name=f"f{i}") for i in range(16)]
            ws = [Worker(sink(), [fifos[2 * c].cons(), fifos[2 * c + 1].cons()], placement=Tile(c, 2)) for c in range(8)]
            rt = Runtime()
            with rt.sequence(vec(64 * 16)) as A:
                rt.start(*ws)
                for i, f in enumerate(fifos):
                    rt.fill(f.prod(), A, TensorAccessPattern((1, 64 * 16), 64 * i, [1, 1, 1, 64], [0, 0, 0, 1]))
            rec = Program(NPU2(), rt).resolve_program(SequentialPlacer())
            return rec
        ''')
        self.assertFalse([x for x in ps if "[placement]" in x or "[shim-channels]" in x], ps)


class MemoryTileTests(unittest.TestCase):
    JOIN = '''
    def design(n, depth):
        wide = ObjectFifo(vec(64 * n), depth=depth, name="wide")
        subs = wide.prod().join([64 * i for i in range(n)], placement=Tile(0, 1), obj_types=[vec(64)] * n,
                                names=[f"part{i}" for i in range(n)])
        ws = [Worker(sink(), [subs[i].prod()], placement=Tile(i % 8, 2 + i // 8)) for i in range(n)]
        rt = Runtime()
        with rt.sequence(vec(64 * n)) as A:
            rt.start(*ws)
            rt.drain(wide.cons(), A, wait=True)
        return Program(NPU2(), rt).resolve_program(SequentialPlacer())
    '''

    def test_a_join_of_seven_needs_seven_input_channels(self):
        ps = problems(self.JOIN, 7, 1)
        find(self, ps, "memtile-channels", "7 S2MM channels", "more than 6", "number of input DMA channel exceeded!",
             "AIEObjectFifoStatefulTransform.cpp")

    def test_a_join_of_six_at_depth_five_needs_sixty_bds(self):
        ps = problems(self.JOIN, 6, 5)      # 2 x 6 x 5: the wide channel 6 x 5, each part 5
        self.assertFalse([x for x in ps if "[memtile-channels]" in x], ps)
        find(self, ps, "memtile-bds", "need 60 BDs", "more than 48", "AIE2TargetModel::getNumBDs")

    def test_a_join_of_six_at_depth_four_overflows_the_even_channels_bds(self):
        ps = problems(self.JOIN, 6, 4)      # even: parts 0, 2, 4 (12) + the wide MM2S channel 0 (24) = 36
        find(self, ps, "memtile-bds", "even channels need 36 BDs", "more than 24", "isBdChannelAccessible")

    def test_thirty_three_forwards_need_sixty_six_locks(self):
        ps = problems('''
        def design():
            ins = [ObjectFifo(vec(64), depth=1, name=f"in{i}") for i in range(33)]
            outs = [f.cons().forward(placement=Tile(0, 1), name=f"out{i}") for i, f in enumerate(ins)]
            w = Worker(sink(), [o.cons() for o in outs], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(64)) as A:
                rt.start(w)
                for f in ins:
                    rt.fill(f.prod(), A)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "memtile-locks", "66 locks", "more than 64", "AIE2TargetModel::getNumLocks", "createObjectFifoLocks")


class ComputeTileTests(unittest.TestCase):
    def test_deep_fifos_need_more_than_sixteen_bds_and_locks(self):
        ps = problems('''
        def design():
            fifos = [ObjectFifo(vec(16), depth=9, name=f"f{i}") for i in range(9)]
            w = Worker(sink(), [f.cons() for f in fifos], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(16)) as A:
                rt.start(w)
                for f in fifos:
                    rt.fill(f.prod(), A)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "core-bds", "needs 81 BDs", "more than 16", "AIE2TargetModel::getNumBDs")
        find(self, ps, "core-locks", "needs 18 locks", "more than 16", "AIE2TargetModel::getNumLocks")

    def test_a_body_of_three_hundred_calls_overflows_program_memory(self):
        ps = problems('''
        def design(calls):
            k = Kernel("add_bf16", "add.o", [vec(16), vec(16), vec(16), np.int32])
            f = ObjectFifo(vec(16), depth=1, name="f")
            def body(f, buf, k):
                x = f.acquire(1)
                for _ in range(calls):          # Python unrolls: one call site per iteration
                    k(x, buf, buf, 16)
                f.release(1)
            w = Worker(body, [f.cons(), Buffer(vec(16), name="b"), k], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(16)) as A:
                rt.start(w)
                rt.fill(f.prod(), A)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''', 300)
        # 512 fixed + 300 x 64 calls + acquire/release 32 + loop 32 + 1024 kernel text
        find(self, ps, "core-program", "program estimate up to 20800 bytes", "more than 16384", "AM020",
             "unrollForLoops")

    def test_a_range_loop_body_counts_once_times_its_unroll_factor(self):
        ps = problems('''
        def design(calls):
            k = Kernel("add_bf16", "add.o", [vec(16), vec(16), vec(16), np.int32])
            f = ObjectFifo(vec(16), depth=2, name="f")
            def body(f, buf, k):
                for _ in range_(calls):          # an scf.for: the body once, unrolled x2 (depth-2 fifo)
                    x = f.acquire(1)
                    k(x, buf, buf, 16)
                    f.release(1)
            w = Worker(body, [f.cons(), Buffer(vec(16), name="b"), k], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(16 * 300)) as A:
                rt.start(w)
                rt.fill(f.prod(), A)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''', 300)
        self.assertFalse([x for x in ps if "[core-program]" in x], ps)


class ShimTests(unittest.TestCase):
    ONE_FILL = '''
    def design(n, dtype, offset, sizes, strides, count=1):
        f = ObjectFifo(np.ndarray[(sizes[-1],), np.dtype[dtype]], depth=1, name="f")
        w = Worker(sink(), [f.cons()], placement=Tile(0, 2))
        rt = Runtime()
        with rt.sequence(np.ndarray[(n,), np.dtype[dtype]]) as A:
            rt.start(w)
            for _ in range(count):
                rt.fill(f.prod(), A, TensorAccessPattern((1, n), offset, sizes, strides))
        return Program(NPU2(), rt).resolve_program(SequentialPlacer())
    '''

    def shim(self, *args):
        import ml_dtypes
        import numpy as np
        dtypes = {"bf16": ml_dtypes.bfloat16, "u8": np.uint8, "i32": np.int32}
        n, dtype, *rest = args
        return [x for x in problems(self.ONE_FILL, n, dtypes[dtype], *rest) if "[shim-bd" in x]

    def test_a_linear_transfer_of_any_length_is_fine(self):
        self.assertEqual(self.shim(8192, "bf16", 0, [1, 1, 1, 8192], [0, 0, 0, 1]), [])

    def test_a_stride_zero_inner_dimension_is_reported(self):
        ps = self.shim(4096, "bf16", 0, [1, 1, 4, 64], [0, 0, 0, 1])
        find(self, ps, "shim-bd", "d1 has size 4 and stride 0", "Stride 1 must be a positive integer.",
             "AIEXDialect.cpp AIEX::verifyStridesWraps")

    def test_an_inner_size_over_1023_words_is_reported_unless_linear(self):
        ps = self.shim(8192, "bf16", 0, [1, 1, 2, 4096], [0, 0, 4096, 1])     # 2048 words, two rows: not linear
        find(self, ps, "shim-bd", "d0 size 2048 words (not a linear transfer), more than 1023", "verifyStridesWraps")

    def test_a_stride_over_two_to_the_twenty_words_is_reported(self):
        ps = self.shim(4 * 2 ** 21 + 64, "bf16", 0, [1, 1, 2, 64], [0, 0, 2 ** 21 + 2, 1])   # 2^20 + 1 words
        find(self, ps, "shim-bd", "d1 stride 1048577 words, more than 1048576", "NpuWriteBdOp::verify")

    def test_sixty_five_iterations_are_reported(self):
        ps = self.shim(65 * 64, "i32", 0, [65, 1, 1, 64], [64, 0, 0, 1])
        find(self, ps, "shim-bd", "65 iterations", "more than 64", "Iteration Size exceeds the [0:63] range.")
        self.assertEqual(self.shim(64 * 64, "i32", 0, [64, 1, 1, 64], [64, 0, 0, 1]), [])

    def test_a_misaligned_offset_and_size_are_reported(self):
        ps = self.shim(256, "bf16", 1, [1, 1, 1, 63], [0, 0, 0, 1])
        find(self, ps, "shim-bd", "offset 2 bytes is not 4-byte aligned", "Offset must be aligned to 4 byte boundary.")
        find(self, ps, "shim-bd", "d0 size 63 x 2 B is not a multiple of 4 bytes", "getAddressGenGranularity")

    def test_five_dimensions_are_reported(self):
        ps = self.shim(256, "i32", 0, [1, 1, 1, 1, 64], [0, 0, 0, 0, 1])
        find(self, ps, "shim-bd", "5 dimensions, more than 4", "AIEDMATasksToNPU.cpp")

    def test_seventeen_tasks_of_the_default_group_hold_seventeen_bds(self):
        ps = self.shim(64 * 17, "i32", 0, [1, 1, 1, 64], [0, 0, 0, 1], 17)
        find(self, ps, "shim-bds", "1 fifos each hold more than 16 BDs", "f 17", "AIEAssignRuntimeSequenceBDIDs.cpp")
        find(self, ps, "shim-bds", "shim tile Tile(0, 0) holds 17 BDs at once", "AIE2TargetModel::getNumBDs")
        self.assertEqual([x for x in self.shim(64 * 16, "i32", 0, [1, 1, 1, 64], [0, 0, 0, 1], 16)
                          if "[shim-bds]" in x], [])

    def test_tasks_of_a_finished_task_group_free_their_bds(self):
        ps = problems('''
        def design():
            f = ObjectFifo(vec(64), depth=1, name="f")
            w = Worker(sink(), [f.cons()], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(64)) as A:
                rt.start(w)
                for _ in range(3):
                    tg = rt.task_group()
                    for _ in range(10):
                        rt.fill(f.prod(), A, task_group=tg)
                    rt.finish_task_group(tg)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        self.assertEqual([x for x in ps if "[shim-bds]" in x], [])


class SymbolTests(unittest.TestCase):
    def test_two_kernels_of_one_name_and_a_fifo_buffer_clash_are_reported(self):
        ps = problems('''
        def design():
            k1 = Kernel("rope", "r.o", [vec(64), np.int32])
            k2 = Kernel("rope", "r.o", [vec(32), np.int32])
            f = ObjectFifo(vec(64), depth=1, name="act0")
            w = Worker(sink(), [f.cons(), Buffer(vec(64), name="act0"), k1, k2], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(64)) as A:
                rt.start(w)
                rt.fill(f.prod(), A)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "symbols", "2 Kernels named rope with 2 different signatures", "SymbolTable")
        find(self, ps, "symbols", "a Buffer and a fifo (act0)", "redefinition of symbol")


class WorkerArgumentTests(unittest.TestCase):
    def test_a_buffer_in_a_list_is_never_resolved_and_its_first_use_raises(self):
        ps = problems('''
        def design():
            k = Kernel("init", "a.o", [vec(64)])
            def body(states, k):
                for s in states:
                    k(s)
            w = Worker(body, [[Buffer(vec(64), name="s0"), Buffer(vec(64), name="s1")], k], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(64)) as A:
                rt.start(w)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "worker-args", "pass 2 Buffer inside lists (s0, s1)", "python/iron/worker.py")
        find(self, ps, "worker-args", "raises NotResolvedError", "python/iron/worker.py")

    def test_a_kernel_in_a_list_is_never_resolved(self):
        ps = problems('''
        def design():
            k = Kernel("init", "a.o", [vec(64)])
            def body(b, ks):
                ks[0](b)
            w = Worker(body, [Buffer(vec(64), name="b"), [k]], placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(64)) as A:
                rt.start(w)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        ''')
        find(self, ps, "worker-args", "Kernel must be resolved before it can be called.")

    def test_the_stub_takes_the_real_keywords_only(self):
        design_check.use_stub()
        import ml_dtypes
        import numpy as np
        from aie.iron import Buffer, ObjectFifo, Worker
        from aie.iron.device import Tile
        t = np.ndarray[(4,), np.dtype[ml_dtypes.bfloat16]]
        Buffer(t, name="b", placement=Tile(0, 2), use_write_rtp=False)
        Worker(None, [], placement=Tile(0, 2), stack_size=2048, allocation_scheme=None, trace=None, trace_events=None)
        ObjectFifo(t, depth=2, name="f", dims_to_stream=None, dims_from_stream_per_cons=None, plio=False,
                   pad_dimensions=None)
        with self.assertRaises(TypeError):
            Buffer(t, name="b", tile=Tile(0, 2))          # python/iron/buffer.py takes placement=
        with self.assertRaises(TypeError):
            ObjectFifo(t, disable_synchronization=True)  # not an IRON ObjectFifo argument
        from aie.helpers.taplib import TensorAccessPattern
        with self.assertRaises(TypeError):
            TensorAccessPattern([64])                    # tap.py: offset, sizes and strides are required


if __name__ == "__main__":
    unittest.main()


class LoweringAndValueTests(unittest.TestCase):
    LOOP = '''
    AIECC_FLAGS = {flags}

    def design(trips):
        f = ObjectFifo(vec(16), depth=2, name="f")
        def body(f):
            for _ in range_(trips):
                f.acquire(1)
                f.release(1)
        w = Worker(body, [f.cons()], placement=Tile(0, 2))
        rt = Runtime()
        with rt.sequence(vec(16 * max(trips, 1))) as A:
            rt.start(w)
            if trips:
                rt.fill(f.prod(), A)
        return Program(NPU2(), rt).resolve_program(SequentialPlacer())
    '''

    def test_an_odd_count_per_run_on_two_buffers_breaks_the_static_lowering(self):
        ps = problems(self.LOOP.format(flags="[]"), 3)
        find(self, ps, "lowering", "moves 3 objects of f per trip on 2 buffers", "unrollForLoops", "--dynamic-objFifos")
        self.assertFalse([x for x in problems(self.LOOP.format(flags="[]"), 4) if "[lowering]" in x])

    def test_the_dynamic_lowering_takes_any_count(self):
        ps = problems(self.LOOP.format(flags='["--dynamic-objFifos"]'), 3)
        self.assertFalse([x for x in ps if "[lowering]" in x], ps)

    def test_a_zero_trip_loop_that_acquires_cannot_be_unrolled(self):
        ps = problems(self.LOOP.format(flags="[]"), 0)
        find(self, ps, "lowering", "unrollFactor = 0")

    def test_a_loop_index_reaches_an_int32_argument_only_through_index_cast(self):
        body = '''
        from aie.extras.dialects.arith import index_cast
        from aie.helpers.util import np_dtype_to_mlir_type

        def design(cast):
            k = Kernel("argmax_f32", "argmax.o", [vec(16, np.float32), np.int32, np.int32, vec(4), np.int32])
            def body(acc, best, k):
                for r in range_(4):
                    k(acc, 16, index_cast(r, to=np_dtype_to_mlir_type(np.int32)) * 16 if cast else r, best, 0)
            w = Worker(body, [Buffer(vec(16, np.float32), name="acc"), Buffer(vec(4), name="best"), k],
                       placement=Tile(0, 2))
            rt = Runtime()
            with rt.sequence(vec(16)) as A:
                rt.start(w)
            return Program(NPU2(), rt).resolve_program(SequentialPlacer())
        '''
        problems(body, True)
        with self.assertRaisesRegex(TypeError, "operand type mismatch: expected i32, got index"):
            problems(body, False)

    def test_a_transfer_starting_past_two_to_the_31_bytes_of_its_argument_is_reported(self):
        import numpy as np
        n = 2 ** 31 + 4096
        ps = problems(ShimTests.ONE_FILL, n, np.uint8, 2 ** 31, [1, 1, 1, 64], [0, 0, 0, 1])
        find(self, ps, "shim-bd", "starts at byte 2147483648", "past 2147483647", "NpuAddressPatchOp")
        ps = problems(ShimTests.ONE_FILL, n, np.uint8, 2 ** 31 - 64, [1, 1, 1, 4096], [0, 0, 0, 1])
        self.assertFalse([x for x in ps if "argument, past" in x], ps)   # only the start is patched
