# Mock of aie.extras.context: mlir_mod_ctx() opens a fresh recorded module (aie.ir.RECORD) with an insertion point at its body.
import contextlib

from .. import ir


class _ModCtx:
    def __init__(self, module, context):
        self.module, self.context = module, context


@contextlib.contextmanager
def mlir_mod_ctx(src=None, context=None, location=None, allow_unregistered_dialects=False):
    ir.new_record()
    ctx = ir.Context()
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            yield _ModCtx(module, ctx)
