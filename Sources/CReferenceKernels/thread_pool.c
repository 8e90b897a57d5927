// A persistent thread pool for the CPU reference: workers spin briefly, then sleep, between tasks; a task's chunks
// are claimed by whichever thread is free, so a worker that is late (asleep, or descheduled on a shared machine)
// never holds the caller up for work it has not started.
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
// Rounds of pause the caller, its own chunk done, leaves a chunk unclaimed for the worker it was meant for before
// taking it itself: a spinning worker claims within a few rounds; one that is asleep or descheduled does not.
#define NL_STEAL_SPINS 1000

static struct {
    pthread_once_t once;
    int threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_cond_t done;
    atomic_int caller_sleeping;
    atomic_ulong generation;
    // The current task's claim word: generation (high 32 bits), chunks (bits 16-31), next unclaimed chunk (bits 0-15).
    // Claiming is a compare-and-swap on the whole word, so a claim meant for an earlier task cannot land on this one.
    atomic_ulong claim;
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

// Claims and runs chunks of the current task until none are left. Chunk i is always the same range of [0, n),
// whoever runs it: the work each call does, and so every result, does not depend on the claiming. The caller
// (`patience` > 0) leaves the chunks after its first to the workers for that many rounds before it takes them.
static void run_chunks(int patience) {
    int ran = 0;
    for (;;) {
        unsigned long word = atomic_load(&pool.claim);
        unsigned long next = word & 0xffff, chunks = (word >> 16) & 0xffff;
        if (next >= chunks) return;
        if (ran && patience > 0) {
            for (int spins = 0; spins < patience && atomic_load(&pool.claim) == word; spins++) NL_PAUSE();
            patience = 0;
            continue;
        }
        if (!atomic_compare_exchange_weak(&pool.claim, &word, word + 1)) continue;
        ran = 1;
        long begin, end;
        chunk_bounds((int)next, &begin, &end);
        int outer = in_task;
        in_task = 1;
        if (begin < end) pool.fn(pool.context, begin, end);
        in_task = outer;
        if (atomic_fetch_sub(&pool.remaining, 1) == 1 && atomic_load(&pool.caller_sleeping)) {
            pthread_mutex_lock(&pool.mutex);
            pthread_cond_broadcast(&pool.done);
            pthread_mutex_unlock(&pool.mutex);
        }
    }
}

static void *worker(void *arg) {
    (void)arg;
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
        run_chunks(0);
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

static void dispatch(long n, long grain, nl_task_fn fn, void *context, int patience) {
    // The task is written before the claim word that publishes it; a worker reads it only after a successful claim.
    pool.fn = fn;
    pool.context = context;
    pool.n = n;
    pool.grain = grain;
    atomic_store(&pool.remaining, pool.threads);
    unsigned long gen = atomic_fetch_add(&pool.generation, 0) + 1;
    atomic_store(&pool.claim, (gen << 32) | ((unsigned long)pool.threads << 16));
    atomic_store(&pool.generation, gen);
    if (atomic_load(&pool.sleeping) > 0) {
        pthread_mutex_lock(&pool.mutex);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.mutex);
    }
    run_chunks(patience);
    // Chunks still running on workers: spin briefly, then block (on an oversubscribed machine a spinning caller
    // would hold the core the unfinished worker needs).
    for (int spins = 0; atomic_load(&pool.remaining) > 0 && spins < NL_WAIT_SPINS; spins++) NL_PAUSE();
    if (atomic_load(&pool.remaining) > 0) {
        pthread_mutex_lock(&pool.mutex);
        atomic_store(&pool.caller_sleeping, 1);
        while (atomic_load(&pool.remaining) > 0) pthread_cond_wait(&pool.done, &pool.mutex);
        atomic_store(&pool.caller_sleeping, 0);
        pthread_mutex_unlock(&pool.mutex);
    }
}

void nl_parallel_for(long n, long grain, nl_task_fn fn, void *context) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (in_task || nl_thread_count() == 1 || n <= grain) { run_inline(fn, context, n); return; }
    dispatch(n, grain, fn, context, NL_STEAL_SPINS);
}
