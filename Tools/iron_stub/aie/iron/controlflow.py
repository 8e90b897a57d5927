# range_ as IRON's controlflow (an scf.for): the loop body is emitted (here: traced) once; the stub records how often it runs, its program-size share and its place in the worker's event tree.
#
# A loop of zero trips is traced too (multiplicity 0): its body exists in the program, and under the static
# objectfifo lowering a zero-trip loop that acquires cannot be unrolled ("could not be unrolled with
# unrollFactor = 0", AIEObjectFifoStatefulTransform.cpp unrollForLoops), which the checker reports.
from . import _record


def range_(start, stop=None, step=1):
    r = range(start) if stop is None else range(start, stop, step)
    trace = _record.current_trace()
    if trace is not None:
        trace.mult.append(len(r))
        trace.enter_loop(len(r))
    try:
        if len(r) or trace is not None:
            yield _record.LoopIndex(r)
    finally:
        if trace is not None:
            trace.mult.pop()
            trace.exit_loop()
