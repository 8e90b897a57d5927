// Multi-threaded fp32 helpers for the CPU reference: a persistent thread pool and a row-parallel GEMV.
#ifndef NPULLAMA_REFERENCE_KERNELS_H
#define NPULLAMA_REFERENCE_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// A task over the index range [begin, end).
typedef void (*nl_task_fn)(void *context, long begin, long end);

/// Threads the pool uses (the caller counts as one). From NPULLAMA_THREADS, else the online cores.
int nl_thread_count(void);

/// Splits [0, n) into one contiguous chunk per thread (chunk boundaries are multiples of `grain`)
/// and runs `fn` on each; returns when all chunks are done. The calling thread runs the first chunk it claims and
/// leaves the others to the workers for a few µs before it takes them itself (a worker asleep or descheduled does
/// not hold it up); the chunks are the same whoever runs them.
/// Called from inside a chunk, it runs the whole range inline (the pool is not re-entered).
void nl_parallel_for(long n, long grain, nl_task_fn fn, void *context);

/// y = W·x for row-major W (rows, cols), fp32 with fp32 accumulation, rows split across threads.
/// Decode is bound by the bandwidth of reading W; this keeps both cores streaming.
void nl_gemv_f32(const float *w, const float *x, float *y, long rows, long cols);

/// One y = W·x of `nl_gemv_f32_many`: W row-major (rows, cols), x (cols), y (rows).
typedef struct { const float *w, *x; float *y; long rows, cols; } nl_gemv;

/// Several GEMVs (e.g. Q, K and V of one input), each as `nl_gemv_f32` computes it: one contiguous share of rows per
/// thread (the prefetchers follow contiguous streams; claiming interleaved row blocks measured slower).
void nl_gemv_f32_many(const nl_gemv *gemvs, int count);

#ifdef __cplusplus
}
#endif
#endif
