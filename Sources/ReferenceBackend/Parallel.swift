// Runs a loop body over [0, n) in chunks on the reference's thread pool (CReferenceKernels).
import CReferenceKernels

/// Calls `body(begin, end)` on contiguous chunks of [0, n) in parallel; chunk edges are multiples
/// of `grain`. Returns when every chunk is done.
func parallelFor(_ n: Int, grain: Int, _ body: (Int, Int) -> Void) {
    if n <= grain { body(0, n); return }
    withoutActuallyEscaping(body) { body in
        var task = body
        withUnsafeMutablePointer(to: &task) { pointer in
            nl_parallel_for(n, grain, { context, begin, end in
                context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee(Int(begin), Int(end))
            }, pointer)
        }
    }
}
