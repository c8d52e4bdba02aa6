/* dc_solver_cancel: every method stops at its next check with
 * DC_ERR_CANCELLED and no result, whether the request comes from the fit's
 * own thread (as from a signal handler) or from another thread; a request
 * while no fit runs is not kept; a deep fit cancelled in its clustering
 * phase saves a checkpoint from which resume gives the uninterrupted
 * result. Public API only. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "deepclust.h"
#include "test_files.h"

/* Three separated blobs in [0, 1]^d (blob j high on its block of features). */
static dc_dataset *blobs(int64_t n, int64_t d, uint64_t seed) {
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    uint64_t r = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            r = r * 6364136223846793005u + 1442695040888963407u;
            double noise = (double)(r >> 11) / 9007199254740992.0 - 0.5;
            x[i * d + j] = (float)((j * 3 / d == i % 3 ? 0.85 : 0.1) + 0.08 * noise);
        }
    dc_dataset *ds = NULL;
    if (dc_dataset_create(&ds, x, n, d, DC_COPY) != DC_OK) abort();
    free(x);
    return ds;
}

static dc_solver *solver(const char *method) {
    dc_solver *s = NULL;
    if (dc_solver_create(&s, method) != DC_OK) abort();
    CHECK_OK(dc_solver_set(s, "k", 3));
    return s;
}

static void small_deep(dc_solver *s) {
    CHECK_OK(dc_solver_set(s, "hidden1", 16));
    CHECK_OK(dc_solver_set(s, "hidden2", 8));
    CHECK_OK(dc_solver_set(s, "hidden3", 0));
    CHECK_OK(dc_solver_set(s, "embed_dim", 3));
    CHECK_OK(dc_solver_set(s, "batch", 16));
    CHECK_OK(dc_solver_set(s, "pretrain_epochs", 5));
    CHECK_OK(dc_solver_set(s, "pretrain_lr", 0.1));
    CHECK_OK(dc_solver_set(s, "n_init", 2));
    CHECK_OK(dc_solver_set(s, "update_interval", 10));
    CHECK_OK(dc_solver_set(s, "tol", 0));
    CHECK_OK(dc_solver_set(s, "max_iter", 60));
}

/* A progress callback that asks for cancellation (and does not cancel by
 * its return value) at the first report of `phase` with done >= at. */
typedef struct trigger {
    dc_solver *s;
    const char *phase;
    long long at;
    int fired;
} trigger;

static int cancel_from_inside(void *user, const char *phase, long long done, long long total,
                              double value) {
    (void)total, (void)value;
    trigger *t = user;
    if (!t->fired && strcmp(phase, t->phase) == 0 && done >= t->at) {
        t->fired = 1;
        CHECK(dc_solver_cancel(t->s) == 1);
        CHECK(dc_solver_cancel(t->s) == 1); /* asking twice is harmless */
    }
    return 0;
}

static void expect_cancelled(dc_solver *s, const dc_dataset *ds, const char *phase) {
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_CANCELLED);
    CHECK_MSG(strstr(dc_last_error(), "cancelled (dc_solver_cancel)") != NULL, "%s: %s", phase,
              dc_last_error());
    int64_t n = -1;
    CHECK_STATUS(dc_solver_labels(s, NULL, 0, &n), DC_ERR_STATE); /* no result */
    CHECK(dc_solver_cancel(s) == 0);                                /* nothing runs now */
}

static void test_every_method_stops(void) {
    dc_dataset *ds = blobs(300, 12, 1);
    static const struct {
        const char *method, *phase;
    } cases[] = {{"kmeans", "kmeans"}, {"njw", "embedding"}, {"scdbas", "dbas"},
                 {"edcwrn", "pretrain"}, {"idec", "cluster"}, {"dec", "kmeans"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_solver *s = solver(cases[i].method);
        if (!strcmp(cases[i].method, "kmeans")) CHECK_OK(dc_solver_set(s, "n_init", 50));
        if (!strcmp(cases[i].method, "njw")) CHECK_OK(dc_solver_set(s, "eigensolver", 2));
        if (dc_solver_get(s, "pretrain_epochs", &(double){0}) == DC_OK) small_deep(s);
        trigger t = {s, cases[i].phase, 0, 0};
        CHECK_OK(dc_solver_set_progress(s, cancel_from_inside, &t));
        expect_cancelled(s, ds, cases[i].method);
        CHECK_MSG(t.fired, "%s never reported phase %s", cases[i].method, cases[i].phase);
        /* The request died with the fit: the next one runs to its end. */
        CHECK_OK(dc_solver_set_progress(s, NULL, NULL));
        CHECK_OK(dc_solver_fit(s, ds));
        dc_solver_free(s);
    }
    dc_dataset_free(ds);
}

static void test_request_while_idle_is_not_kept(void) {
    dc_dataset *ds = blobs(60, 4, 2);
    dc_solver *s = solver("kmeans");
    CHECK(dc_solver_cancel(s) == 0);
    CHECK(dc_solver_cancel(NULL) == 0);
    CHECK_OK(dc_solver_fit(s, ds));
    dc_solver_free(s);
    dc_dataset_free(ds);
}

/* Another thread cancels once the fit is under way. */
typedef struct race {
    dc_solver *s;
    volatile int started;
    int answer;
} race;

static int mark_started(void *user, const char *phase, long long done, long long total,
                        double value) {
    (void)phase, (void)done, (void)total, (void)value;
    __atomic_store_n(&((race *)user)->started, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static void *canceller(void *p) {
    race *r = p;
    while (!__atomic_load_n(&r->started, __ATOMIC_SEQ_CST)) usleep(100);
    r->answer = dc_solver_cancel(r->s);
    return NULL;
}

static void test_from_another_thread(void) {
    dc_dataset *ds = blobs(300, 12, 3);
    dc_solver *s = solver("idec");
    small_deep(s);
    CHECK_OK(dc_solver_set(s, "max_iter", 100000000)); /* would run for hours */
    race r = {s, 0, -1};
    CHECK_OK(dc_solver_set_progress(s, mark_started, &r));
    pthread_t th;
    CHECK(pthread_create(&th, NULL, canceller, &r) == 0);
    expect_cancelled(s, ds, "idec");
    pthread_join(th, NULL);
    CHECK(r.answer == 1);
    dc_solver_free(s);
    dc_dataset_free(ds);
}

static int32_t *labels_of(const dc_solver *s, int64_t n) {
    int32_t *l = calloc((size_t)n, sizeof *l);
    CHECK_OK(dc_solver_labels(s, l, n, NULL));
    return l;
}

/* Cancelled at clustering iteration 25 with checkpoints every 20: the state
 * of iteration 25 is saved, and resuming it equals the uninterrupted fit. */
static void test_deep_cancel_saves_a_checkpoint(void) {
    const int64_t n = 240;
    dc_dataset *ds = blobs(n, 12, 4);
    dc_solver *a = solver("edcwrn");
    small_deep(a);
    CHECK_OK(dc_solver_fit(a, ds));
    int32_t *want = labels_of(a, n);

    dc_solver *b = solver("edcwrn");
    small_deep(b);
    const char *ck = tmp_path("cancel.ckpt");
    CHECK_OK(dc_solver_set_checkpoint(b, ck, 20));
    trigger t = {b, "cluster", 25, 0};
    CHECK_OK(dc_solver_set_progress(b, cancel_from_inside, &t));
    CHECK_STATUS(dc_solver_fit(b, ds), DC_ERR_CANCELLED);
    CHECK_MSG(strstr(dc_last_error(), "clustering iteration 26; its state is in the checkpoint") !=
                  NULL, "%s", dc_last_error());

    dc_solver *r = NULL;
    CHECK_OK(dc_solver_create(&r, "edcwrn"));
    CHECK_OK(dc_solver_resume(r, ds, ck));
    int32_t *got = labels_of(r, n);
    CHECK(memcmp(want, got, sizeof(int32_t) * (size_t)n) == 0);
    double stat = 0;
    CHECK_OK(dc_solver_stat(r, "iterations", &stat));
    CHECK(stat == 60);
    free(want);
    free(got);
    dc_solver_free(a);
    dc_solver_free(b);
    dc_solver_free(r);
    dc_dataset_free(ds);
}

/* From its own progress callback a running solver refuses every change
 * (a nested fit freed what the outer one used; a new checkpoint path freed
 * the one being written), and cancel still works after those attempts.
 * include/deepclust/core.h: while a fit runs, dc_solver_fit, _resume, _set,
 * _set_str, _set_progress, _set_checkpoint and _use_pretrained give
 * DC_ERR_STATE -- for every method, also the calls that would not apply to
 * it when idle (the deep-only ones on kmeans/njw, or a parameter the method
 * does not have: dc_solver_set of such a name gives DC_ERR_STATE too). Each
 * call is checked on its own, with its error message. */
enum { N_MEDDLE = 9 };
static const char *const meddle_names[N_MEDDLE] = {
    "fit", "set seed", "set_str seed", "set_str init=kmeans", "set_progress",
    "set_checkpoint", "use_pretrained", "resume", "set init=0"};

typedef struct meddler {
    dc_solver *s;
    const dc_dataset *ds;
    int tried;
    int status[N_MEDDLE];
    int running_msg[N_MEDDLE]; /* dc_last_error() names the running fit */
    int cancelled;
} meddler;

static int meddle(void *user, const char *phase, long long done, long long total, double value) {
    (void)phase, (void)done, (void)total, (void)value;
    meddler *m = user;
    if (m->tried) return 0;
    m->tried = 1;
    for (int i = 0; i < N_MEDDLE; i++) {
        dc_status st = DC_OK;
        switch (i) {
        case 0: st = dc_solver_fit(m->s, m->ds); break;
        case 1: st = dc_solver_set(m->s, "seed", 5); break;
        case 2: st = dc_solver_set_str(m->s, "seed", "5"); break;
        case 3: st = dc_solver_set_str(m->s, "init", "kmeans"); break;
        case 4: st = dc_solver_set_progress(m->s, NULL, NULL); break;
        case 5: st = dc_solver_set_checkpoint(m->s, NULL, 0); break;
        case 6: st = dc_solver_use_pretrained(m->s, NULL); break;
        case 7: st = dc_solver_resume(m->s, m->ds, "none.dcc"); break;
        case 8: st = dc_solver_set(m->s, "init", 0); break;
        }
        m->status[i] = st;
        m->running_msg[i] = strstr(dc_last_error(), "a fit of this solver is running") != NULL;
    }
    m->cancelled = dc_solver_cancel(m->s);
    return 0;
}

static void test_callback_cannot_change_a_running_solver(void) {
    const char *methods[] = {"kmeans", "njw", "idec"};
    dc_dataset *ds = blobs(90, 6, 3);
    for (int i = 0; i < 3; i++) {
        dc_solver *s = solver(methods[i]);
        if (i == 2) {
            small_deep(s);
            CHECK_OK(dc_solver_set_checkpoint(s, tmp_path("meddle.dcc"), 1));
        }
        meddler m = {s, ds, 0, {0}, {0}, 0};
        CHECK_OK(dc_solver_set_progress(s, meddle, &m));
        CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_CANCELLED);
        CHECK_MSG(m.tried, "%s: the callback never ran", methods[i]);
        for (int c = 0; c < N_MEDDLE; c++)
            CHECK_MSG(m.status[c] == DC_ERR_STATE && m.running_msg[c],
                      "%s, from the callback: %s gave %d (expected DC_ERR_STATE = %d), "
                      "message names the running fit: %d",
                      methods[i], meddle_names[c], m.status[c], (int)DC_ERR_STATE,
                      m.running_msg[c]);
        CHECK_MSG(m.cancelled == 1, "%s: dc_solver_cancel gave %d", methods[i], m.cancelled);
        /* idle again: the changes are accepted */
        CHECK_OK(dc_solver_set(s, "seed", 5));
        CHECK_OK(dc_solver_set_progress(s, NULL, NULL));
        CHECK_OK(dc_solver_fit(s, ds));
        dc_solver_free(s);
    }
    dc_dataset_free(ds);
}

int main(void) {
    scratch_make("dc_test_cancel");
    test_callback_cannot_change_a_running_solver();
    test_every_method_stops();
    test_request_while_idle_is_not_kept();
    test_from_another_thread();
    test_deep_cancel_saves_a_checkpoint();
    scratch_remove();
    DC_TEST_END();
}
