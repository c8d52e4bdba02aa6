#include "core/parallel.h"

#include <cblas.h>
#include <pthread.h>

/* One pool per process. The job fields are written by the caller under the
 * mutex before `gen` moves; a worker copies them under the mutex. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t tid[DCI_PARALLEL_MAX];
    unsigned long first_gen[DCI_PARALLEL_MAX]; /* gen when worker i was started */
    int started;   /* workers running (indices 1..started) */
    int busy;      /* a dci_parallel_for is in progress */
    int quit;
    unsigned long gen;
    int pending;   /* worker parts of the current job not finished */
    dci_range_fn fn;
    void *ctx;
    int64_t n;
    int parts;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
           .work = PTHREAD_COND_INITIALIZER,
           .done = PTHREAD_COND_INITIALIZER};

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* A forked child has only the forking thread: forget the workers (their
 * state cannot be trusted either) and start new ones when needed. */
static void after_fork_child(void) {
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.work, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = pool.busy = pool.quit = pool.pending = 0;
}
static void register_fork(void) { pthread_atfork(NULL, NULL, after_fork_child); }

static void run_part(dci_range_fn fn, void *ctx, int64_t n, int parts, int p) {
    const int64_t q = n / parts, r = n % parts;
    const int64_t lo = q * p + (p < r ? p : r);
    const int64_t hi = lo + q + (p < r);
    if (hi > lo) fn(ctx, lo, hi);
}

static void *worker(void *arg) {
    const int me = (int)(intptr_t)arg;
    pthread_mutex_lock(&pool.mu);
    /* Not pool.gen: the job it was started for may already be posted. */
    unsigned long seen = pool.first_gen[me];
    for (;;) {
        while (pool.gen == seen && !pool.quit) pthread_cond_wait(&pool.work, &pool.mu);
        if (pool.quit) break;
        seen = pool.gen;
        if (me >= pool.parts) continue;
        const dci_range_fn fn = pool.fn;
        void *ctx = pool.ctx;
        const int64_t n = pool.n;
        const int parts = pool.parts;
        pthread_mutex_unlock(&pool.mu);
        run_part(fn, ctx, n, parts, me);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

__attribute__((destructor)) static void stop_pool(void) {
    pthread_mutex_lock(&pool.mu);
    const int started = pool.started;
    pool.quit = 1;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 1; i <= started; i++) pthread_join(pool.tid[i], NULL);
    pool.started = 0;
}

int dci_parallel_threads(void) {
    int t = openblas_get_num_threads();
    return t < 1 ? 1 : (t > DCI_PARALLEL_MAX ? DCI_PARALLEL_MAX : t);
}

void dci_parallel_for(int64_t n, int64_t min_chunk, dci_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (min_chunk < 1) min_chunk = 1;
    int parts = dci_parallel_threads();
    if ((int64_t)parts > n / min_chunk) parts = (int)(n / min_chunk);
    if (parts < 2) {
        fn(ctx, 0, n);
        return;
    }
    pthread_once(&fork_once, register_fork);
    pthread_mutex_lock(&pool.mu);
    if (pool.busy || pool.quit) { /* another thread's loop, or a nested call */
        pthread_mutex_unlock(&pool.mu);
        fn(ctx, 0, n);
        return;
    }
    while (pool.started < parts - 1) {
        const int i = pool.started + 1;
        pool.first_gen[i] = pool.gen;
        if (pthread_create(&pool.tid[i], NULL, worker, (void *)(intptr_t)i) != 0) break;
        pool.started = i;
    }
    if (parts > pool.started + 1) parts = pool.started + 1;
    pool.busy = 1;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.parts = parts;
    pool.pending = parts - 1;
    pool.gen++;
    pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.mu);

    run_part(fn, ctx, n, parts, 0);

    pthread_mutex_lock(&pool.mu);
    while (pool.pending > 0) pthread_cond_wait(&pool.done, &pool.mu);
    pool.busy = 0;
    pthread_mutex_unlock(&pool.mu);
}
