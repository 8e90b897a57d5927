// Row-parallel fp32 GEMV (decode's matrix-vector products, several as one dispatch), AVX2+FMA when the CPU has it.
#include "reference_kernels.h"
#include <stdatomic.h>
#include <stddef.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct { const float *w, *x; float *y; long cols; } gemv_job;

static void gemv_rows_scalar(const gemv_job *j, long begin, long end) {
    for (long r = begin; r < end; r++) {
        const float *w = j->w + (size_t)r * j->cols;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long i = 0;
        for (; i + 4 <= j->cols; i += 4) {
            s0 += w[i] * j->x[i]; s1 += w[i + 1] * j->x[i + 1];
            s2 += w[i + 2] * j->x[i + 2]; s3 += w[i + 3] * j->x[i + 3];
        }
        for (; i < j->cols; i++) s0 += w[i] * j->x[i];
        j->y[r] = (s0 + s1) + (s2 + s3);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static float hsum256(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
    return _mm_cvtss_f32(a);
}

__attribute__((target("avx2,fma")))
static void gemv_rows_avx2(const gemv_job *j, long begin, long end) {
    const long cols = j->cols, vec = cols & ~31L;
    const float *x = j->x;
    for (long r = begin; r < end; r++) {
        const float *w = j->w + (size_t)r * cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long i = 0; i < vec; i += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
        }
        float s = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (long i = vec; i < cols; i++) s += w[i] * x[i];
        j->y[r] = s;
    }
}
#endif

static void gemv_rows(const gemv_job *j, long begin, long end) {
#if defined(__x86_64__)
    static int has_avx2 = -1;
    if (has_avx2 < 0) has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (has_avx2) { gemv_rows_avx2(j, begin, end); return; }
#endif
    gemv_rows_scalar(j, begin, end);
}

// Rows per block a thread claims: small enough that a thread which starts late (woken, or descheduled on a shared
// machine) finds blocks left to take, large enough that claiming is rare (16 × 576 floats = 36 KB for SmolLM2).
#define NL_GEMV_BLOCK 16
#define NL_GEMV_MAX 8

// Several GEMVs as one dispatch: each block of NL_GEMV_BLOCK rows of any of them is claimed by whichever thread is
// free (an atomic counter), so no thread waits on another's fixed share. A row's sum does not depend on who takes it.
typedef struct {
    gemv_job jobs[NL_GEMV_MAX];
    long first_block[NL_GEMV_MAX + 1];
    long rows[NL_GEMV_MAX];
    int count;
    atomic_long next;
} gemv_batch;

static void gemv_batch_task(void *context, long begin, long end) {
    (void)begin; (void)end;
    gemv_batch *b = context;
    const long blocks = b->first_block[b->count];
    int j = 0;
    for (;;) {
        long block = atomic_fetch_add_explicit(&b->next, 1, memory_order_relaxed);
        if (block >= blocks) return;
        while (block >= b->first_block[j + 1]) j++;   // blocks are claimed in increasing order
        long r0 = (block - b->first_block[j]) * NL_GEMV_BLOCK;
        long r1 = r0 + NL_GEMV_BLOCK < b->rows[j] ? r0 + NL_GEMV_BLOCK : b->rows[j];
        gemv_rows(&b->jobs[j], r0, r1);
    }
}

void nl_gemv_f32_many(const nl_gemv *gemvs, int count) {
    if (count > NL_GEMV_MAX) {
        nl_gemv_f32_many(gemvs, NL_GEMV_MAX);
        nl_gemv_f32_many(gemvs + NL_GEMV_MAX, count - NL_GEMV_MAX);
        return;
    }
    gemv_batch b;
    long weights = 0;
    b.count = count;
    b.first_block[0] = 0;
    for (int i = 0; i < count; i++) {
        b.jobs[i] = (gemv_job){ gemvs[i].w, gemvs[i].x, gemvs[i].y, gemvs[i].cols };
        b.rows[i] = gemvs[i].rows;
        b.first_block[i + 1] = b.first_block[i] + (gemvs[i].rows + NL_GEMV_BLOCK - 1) / NL_GEMV_BLOCK;
        weights += gemvs[i].rows * gemvs[i].cols;
    }
    atomic_init(&b.next, 0);
    // Below ~64 K weights the hand-off costs more than it saves.
    if (weights < 65536) { gemv_batch_task(&b, 0, 1); return; }
    // One index per thread; each thread then claims blocks until none are left.
    nl_parallel_share(gemv_batch_task, &b);
}

void nl_gemv_f32(const float *w, const float *x, float *y, long rows, long cols) {
    nl_gemv g = { w, x, y, rows, cols };
    nl_gemv_f32_many(&g, 1);
}
