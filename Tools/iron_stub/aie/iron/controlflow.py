# range_ as IRON's controlflow (an scf.for): the loop body is emitted (here: traced) once; the stub records how often it runs and its program-size share.
from . import _record


def range_(start, stop=None, step=1):
    r = range(start) if stop is None else range(start, stop, step)
    trace = _record.current_trace()
    if trace is not None:
        trace.mult.append(len(r))
        trace.enter_loop()
    try:
        if len(r):
            yield _record.LoopIndex(r)
    finally:
        if trace is not None:
            trace.mult.pop()
            trace.exit_loop()
