// A persistent thread pool for the CPU reference: workers spin briefly, then sleep, between tasks.
#define _GNU_SOURCE
#include "reference_kernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NL_PAUSE() _mm_pause()
#else
#define NL_PAUSE() ((void)0)
#endif

#define NL_MAX_THREADS 64
// Rounds of pause a worker spins before sleeping (a few tens of µs), and a waiting caller before
// yielding: long spins are fast on an idle machine and ruinous on an oversubscribed one.
#define NL_SPIN_ROUNDS 10000
#define NL_WAIT_SPINS 4000

static struct {
    pthread_once_t once;
    int threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_cond_t done;
    atomic_int caller_sleeping;
    atomic_ulong generation;
    atomic_int remaining;
    atomic_int sleeping;
    nl_task_fn fn;
    void *context;
    long n, grain;
} pool = { .once = PTHREAD_ONCE_INIT, .mutex = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
         .done = PTHREAD_COND_INITIALIZER };

// Set while this thread runs a chunk: a nested parallel_for runs inline instead of re-entering the pool.
static _Thread_local int in_task = 0;

static void chunk_bounds(int index, long *begin, long *end) {
    long blocks = (pool.n + pool.grain - 1) / pool.grain;
    long per = blocks / pool.threads, extra = blocks % pool.threads;
    long first = index * per + (index < extra ? index : extra);
    long count = per + (index < extra ? 1 : 0);
    *begin = first * pool.grain;
    *end = (first + count) * pool.grain;
    if (*end > pool.n) *end = pool.n;
    if (*begin > pool.n) *begin = pool.n;
}

static void *worker(void *arg) {
    int index = (int)(long)arg;
    unsigned long seen = 0;
    for (;;) {
        unsigned long gen;
        int spins = 0;
        while ((gen = atomic_load(&pool.generation)) == seen) {
            if (++spins < NL_SPIN_ROUNDS) { NL_PAUSE(); continue; }
            pthread_mutex_lock(&pool.mutex);
            atomic_fetch_add(&pool.sleeping, 1);
            while ((gen = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.mutex);
            atomic_fetch_sub(&pool.sleeping, 1);
            pthread_mutex_unlock(&pool.mutex);
            break;
        }
        seen = gen;
        long begin, end;
        chunk_bounds(index, &begin, &end);
        in_task = 1;
        if (begin < end) pool.fn(pool.context, begin, end);
        in_task = 0;
        if (atomic_fetch_sub(&pool.remaining, 1) == 1 && atomic_load(&pool.caller_sleeping)) {
            pthread_mutex_lock(&pool.mutex);
            pthread_cond_broadcast(&pool.done);
            pthread_mutex_unlock(&pool.mutex);
        }
    }
    return NULL;
}

static void start_pool(void) {
    const char *env = getenv("NPULLAMA_THREADS");
    long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > NL_MAX_THREADS) n = NL_MAX_THREADS;
    pool.threads = (int)n;
    for (long i = 1; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void *)i) != 0) { pool.threads = (int)i; break; }
        pthread_detach(t);
    }
}

int nl_thread_count(void) {
    pthread_once(&pool.once, start_pool);
    return pool.threads;
}

static void run_inline(nl_task_fn fn, void *context, long n) {
    int outer = in_task;
    in_task = 1;
    fn(context, 0, n);
    in_task = outer;
}

void nl_parallel_for(long n, long grain, nl_task_fn fn, void *context) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (in_task || nl_thread_count() == 1 || n <= grain) { run_inline(fn, context, n); return; }
    pool.fn = fn;
    pool.context = context;
    pool.n = n;
    pool.grain = grain;
    atomic_store(&pool.remaining, pool.threads - 1);
    atomic_fetch_add(&pool.generation, 1);
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.mutex);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.mutex);
    }
    long begin, end;
    chunk_bounds(0, &begin, &end);
    in_task = 1;
    if (begin < end) fn(context, begin, end);
    in_task = 0;
    // Spin briefly for the other chunks, then block: on an oversubscribed machine a spinning
    // caller would hold the core the unfinished worker needs.
    for (int spins = 0; atomic_load(&pool.remaining) > 0 && spins < NL_WAIT_SPINS; spins++) NL_PAUSE();
    if (atomic_load(&pool.remaining) > 0) {
        pthread_mutex_lock(&pool.mutex);
        atomic_store(&pool.caller_sleeping, 1);
        while (atomic_load(&pool.remaining) > 0) pthread_cond_wait(&pool.done, &pool.mutex);
        atomic_store(&pool.caller_sleeping, 0);
        pthread_mutex_unlock(&pool.mutex);
    }
}
