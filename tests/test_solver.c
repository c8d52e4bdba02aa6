/* The generic solver handle through the public API, using the kmeans method;
 * and every method's declared outputs (methods/method.h, the only internal
 * header used here) against what its fits register. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "methods/method.h"

static int cancel_after_first(void *user, const char *phase, long long done, long long total, double v) {
    (void)phase, (void)done, (void)total, (void)v;
    return ++*(int *)user >= 1;
}

/* ---- declared outputs (dci_method.outputs, dc_solver_has_output) ---- */

/* Sets a parameter when the method has it (the tiny settings below are
 * shared by all methods). */
static void set_if_present(dc_solver *s, const char *name, double value) {
    double v;
    if (dc_solver_get(s, name, &v) == DC_OK) CHECK_OK(dc_solver_set(s, name, value));
}

/* A tiny network, few restarts and iterations: what matters in this file is
 * which code runs, not the clustering. */
static void set_tiny(dc_solver *s) {
    set_if_present(s, "n_init", 1);
    set_if_present(s, "hidden1", 8);
    set_if_present(s, "hidden2", 0);
    set_if_present(s, "hidden3", 0);
    set_if_present(s, "embed_dim", 2);
    set_if_present(s, "pretrain_epochs", 2);
    set_if_present(s, "pretrain_lr", 0.01);
    set_if_present(s, "pretrain_optimizer", 0); /* sgd */
    set_if_present(s, "batch", 16);
    set_if_present(s, "update_interval", 2);
    set_if_present(s, "neighbors_k", 3);
    set_if_present(s, "dbas_iters", 5);
}

static int registered(const dc_solver *s, const char *name) {
    for (int i = 0; i < dc_solver_output_count(s); i++)
        if (!strcmp(dc_solver_output_name(s, i), name)) return 1;
    return 0;
}

/* "a,b,c": the names the documentation promises for a case, in any order. */
static int same_set(const dc_solver *s, const char *expected) {
    int count = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", expected);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!registered(s, tok)) return 0;
        count++;
    }
    return count == dc_solver_output_count(s);
}

/* Fits with the current parameters and checks both directions: every output
 * the fit registered is declared with its condition true (has_output 1),
 * and every declared output with has_output 1 was registered; has_output
 * gives the same answers before and after the fit. `expected` (NULL: not
 * checked) lists the outputs by hand. */
static void check_fit_outputs(dc_solver *s, const dc_dataset *ds, const char *setting,
                              const char *expected) {
    const char *method = dc_solver_method(s);
    const dci_output_def *defs = s->m->outputs;
    CHECK_MSG(defs != NULL, "%s declares no outputs", method);
    if (!defs) return;
    int before[DCI_MAX_RESULTS] = {0}, n_defs = 0;
    for (; defs[n_defs].name; n_defs++) {
        CHECK(n_defs < DCI_MAX_RESULTS);
        if (n_defs >= DCI_MAX_RESULTS) return;
        before[n_defs] = dc_solver_has_output(s, defs[n_defs].name);
        CHECK_MSG(before[n_defs] == 0 || before[n_defs] == 1, "%s", defs[n_defs].name);
    }
    CHECK_OK(dc_solver_fit(s, ds));
    for (int i = 0; i < n_defs; i++) {
        CHECK_MSG(registered(s, defs[i].name) == before[i],
                  "%s (%s): output '%s' declared %s, registered %d", method, setting,
                  defs[i].name, before[i] ? "present" : "absent", registered(s, defs[i].name));
        CHECK(dc_solver_has_output(s, defs[i].name) == before[i]);
    }
    for (int i = 0; i < dc_solver_output_count(s); i++)
        CHECK_MSG(dc_solver_has_output(s, dc_solver_output_name(s, i)) == 1,
                  "%s (%s): registered output '%s' is not declared", method, setting,
                  dc_solver_output_name(s, i));
    if (expected)
        CHECK_MSG(same_set(s, expected), "%s (%s): outputs differ from '%s'", method, setting,
                  expected);
    CHECK(dc_solver_has_output(s, "no_such_output") == 0);
    CHECK(dc_solver_has_output(s, NULL) == 0);
}

/* The documented outputs of a method (docs/methods.md, docs/scdbas.md), for
 * `cond` = 0 (conditions off) and 1 (on). */
static const char *documented(const char *method, int cond) {
    static const struct {
        const char *method, *off, *on;
    } table[] = {
        {"kmeans", "centers", "centers"},
        {"njw", "embedding,centers", "embedding,centers"},
        {"scdbas", "embedding,centers,trace,trace_current",
         "embedding,centers,trace,trace_current,trace_undamped,trace_undamped_current"},
        {"edcwrn", "embedding,q,centers,weights", "embedding,q,centers,weights,loss,trace"},
        {"idec", "embedding,q,centers,weights", "embedding,q,centers,weights,loss,trace"},
        {"dec", "embedding,q,centers,weights", "embedding,q,centers,weights,loss,trace"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].method, method)) return cond ? table[i].on : table[i].off;
    return NULL;
}

/* n points in 3 dimensions, in two groups 5 apart (n <= 64). */
static dc_dataset *two_blobs(int n) {
    float x[64 * 3];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 3; j++)
            x[i * 3 + j] = (float)((i % 2) * 5 + 0.1 * ((i * 7 + j * 3) % 11) / 11.0);
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, n, 3, DC_COPY));
    return ds;
}

/* Every built-in method on two small blobs, with each declared condition
 * parameter off, then on. */
static void test_declared_outputs(void) {
    dc_dataset *ds = two_blobs(40);
    CHECK(dc_solver_has_output(NULL, "centers") == 0);
    for (int m = 0; m < dc_solver_method_count(); m++) {
        const char *method = dc_solver_method_name(m);
        CHECK_MSG(documented(method, 0) != NULL, "method '%s' is not in the table", method);
        for (int cond = 0; cond <= 1; cond++) {
            dc_solver *s = NULL;
            CHECK_OK(dc_solver_create(&s, method));
            if (!s) continue;
            CHECK_OK(dc_solver_set(s, "k", 2));
            set_tiny(s);
            /* Each condition parameter of the list off (0) or on (the
             * smallest positive value: max_iter 1 is one iteration). */
            for (const dci_output_def *o = s->m->outputs; o && o->name; o++)
                if (o->when) CHECK_OK(dc_solver_set(s, o->when, cond));
            check_fit_outputs(s, ds, cond ? "conditions on" : "conditions off",
                              documented(method, cond));
            /* Refitting with the other setting on the same handle. */
            for (const dci_output_def *o = s->m->outputs; o && o->name; o++)
                if (o->when) CHECK_OK(dc_solver_set(s, o->when, 1 - cond));
            check_fit_outputs(s, ds, "refit", documented(method, 1 - cond));
            dc_solver_free(s);
        }
    }
    dc_dataset_free(ds);
}

/* ---- parameter ranges: what is advertised is exactly what is accepted ---- */

/* The value just outside an accepted bound, in the parameter's own steps
 * (beyond 2^53 the next whole number is the next double). */
static double outside(dc_param_type t, double bound, double dir) {
    const double step = bound + dir;
    return t == DC_PARAM_REAL || step == bound ? nextafter(bound, dir * INFINITY) : step;
}

/* dc_solver_param_info's range against dc_solver_set: both ends accepted,
 * the next value beyond each refused at once (and nothing changed); the
 * stated bounds (dc_solver_param_bounds) agree with it. */
static void check_range(dc_solver *s, const char *name) {
    dc_param_type t;
    double def, lo, hi, blo, bhi, v;
    int lo_open = -1, hi_open = -1;
    CHECK_OK(dc_solver_param_info(s, name, &t, &def, &lo, &hi));
    CHECK_OK(dc_solver_param_bounds(s, name, &blo, &lo_open, &bhi, &hi_open));
    const char *m = dc_solver_method(s);
    CHECK_MSG(lo <= hi, "%s.%s: empty range", m, name);
    CHECK_MSG(lo == (lo_open ? nextafter(blo, INFINITY) : blo) &&
                  hi == (hi_open ? nextafter(bhi, -INFINITY) : bhi),
              "%s.%s: info [%g, %g], bounds %g (%d) %g (%d)", m, name, lo, hi, blo, lo_open, bhi,
              hi_open);
    /* Only k has a default outside its range: 0, "not set". */
    CHECK_MSG((lo <= def && def <= hi) || (!strcmp(name, "k") && def == 0),
              "%s.%s: default %g outside [%g, %g]", m, name, def, lo, hi);
    CHECK_MSG(t == DC_PARAM_REAL || (lo == floor(lo) && hi == floor(hi)),
              "%s.%s: fractional bounds of a whole-number parameter", m, name);
    CHECK_OK(dc_solver_set(s, name, hi));
    CHECK_OK(dc_solver_set(s, name, lo));
    CHECK_STATUS(dc_solver_set(s, name, outside(t, lo, -1)), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, name, outside(t, hi, 1)), DC_ERR_INVALID_ARG);
    CHECK(dc_solver_get(s, name, &v) == DC_OK && v == lo);
    if (t == DC_PARAM_BOOL) { /* a yes/no question answered as such */
        CHECK_STATUS(dc_solver_set(s, name, 0.5), DC_ERR_INVALID_ARG);
        CHECK_MSG(strstr(dc_last_error(), "true or false") != NULL, "%s", dc_last_error());
        CHECK_STATUS(dc_solver_set_str(s, name, "maybe"), DC_ERR_INVALID_ARG);
        CHECK_MSG(strstr(dc_last_error(), "true or false") != NULL, "%s", dc_last_error());
        CHECK_OK(dc_solver_set_str(s, name, "yes"));
        CHECK(dc_solver_get(s, name, &v) == DC_OK && v == 1.0);
    }
}

/* A tiny fit with one parameter at an end of its advertised range: the fit
 * may fail for what the value does to the numbers (DC_ERR_NUMERIC) but never
 * reject the value itself. */
static void check_fit_at(const dc_dataset *ds, const char *method, const char *name, double v) {
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, method));
    CHECK_OK(dc_solver_set(s, "k", 2));
    set_tiny(s);
    set_if_present(s, "max_iter", 4);
    CHECK_OK(dc_solver_set(s, name, v));
    dc_status st = dc_solver_fit(s, ds);
    CHECK_MSG(st != DC_ERR_INVALID_ARG && st != DC_ERR_K_RANGE,
              "%s with %s = %.17g (inside its range): %s", method, name, v, dc_last_error());
    dc_solver_free(s);
}

static void test_param_ranges(void) {
    dc_dataset *ds = two_blobs(30);
    for (int mi = 0; mi < dc_solver_method_count(); mi++) {
        const char *method = dc_solver_method_name(mi);
        dc_solver *s = NULL;
        CHECK_OK(dc_solver_create(&s, method));
        for (int i = 0; s && i < dc_solver_param_count(s); i++) {
            const char *name = dc_solver_param_name(s, i);
            check_range(s, name);
            dc_param_type t;
            double lo, hi;
            CHECK_OK(dc_solver_param_info(s, name, &t, NULL, &lo, &hi));
            check_fit_at(ds, method, name, lo);
            /* The upper ends of the sizes would allocate gigabytes. */
            if (t == DC_PARAM_REAL) check_fit_at(ds, method, name, hi);
        }
        dc_solver_free(s);
    }
    /* Learning rates are used in float: an accepted rate below the float
     * range must not turn into a refused 0. */
    check_fit_at(ds, "edcwrn", "lr", 1e-300);
    check_fit_at(ds, "edcwrn", "pretrain_lr", 1e-300);
    check_fit_at(ds, "dec", "pretrain_lr", 1e-45);
    double lo = 0;
    int open = 0;
    CHECK_STATUS(dc_solver_param_bounds(NULL, "k", &lo, &open, NULL, NULL), DC_ERR_NULL);
    dc_solver *s = NULL;
    CHECK_OK(dc_solver_create(&s, "edcwrn"));
    CHECK_STATUS(dc_solver_param_bounds(s, "nope", &lo, &open, NULL, NULL), DC_ERR_UNKNOWN_NAME);
    CHECK_OK(dc_solver_param_bounds(s, "lr", &lo, &open, NULL, NULL));
    CHECK(lo == 0 && open == 1);
    CHECK_STATUS(dc_solver_set(s, "lr", 0), DC_ERR_INVALID_ARG);
    CHECK(strstr(dc_last_error(), "outside (0, 1e+30]") != NULL);
    dc_solver_free(s);
    dc_dataset_free(ds);
}

int main(void) {
    test_declared_outputs();
    test_param_ranges();

    dc_solver *s = NULL;
    CHECK_STATUS(dc_solver_create(NULL, "kmeans"), DC_ERR_NULL);
    CHECK_STATUS(dc_solver_create(&s, NULL), DC_ERR_NULL);
    CHECK_STATUS(dc_solver_create(&s, "no-such-method"), DC_ERR_UNKNOWN_NAME);
    CHECK(s == NULL && strstr(dc_last_error(), "kmeans") != NULL);
    dc_solver_free(NULL);

    int found = 0;
    for (int i = 0; i < dc_solver_method_count(); i++) found |= !strcmp(dc_solver_method_name(i), "kmeans");
    CHECK(found && dc_solver_method_name(-1) == NULL && dc_solver_method_name(1000) == NULL);

    CHECK_OK(dc_solver_create(&s, "KMeans"));
    CHECK(!strcmp(dc_solver_method(s), "kmeans"));

    /* Introspection: every listed parameter has info, help, and its default set. */
    CHECK(dc_solver_param_count(s) >= 4);
    for (int i = 0; i < dc_solver_param_count(s); i++) {
        const char *name = dc_solver_param_name(s, i);
        dc_param_type t;
        double def, lo, hi, cur;
        CHECK_OK(dc_solver_param_info(s, name, &t, &def, &lo, &hi));
        CHECK_OK(dc_solver_get(s, name, &cur));
        CHECK(cur == def && strlen(dc_solver_param_help(s, name)) > 0);
    }
    CHECK(dc_solver_param_name(s, dc_solver_param_count(s)) == NULL);

    /* Setting: bounds, whole numbers, text, unknown names; failures change nothing. */
    double v;
    CHECK_OK(dc_solver_set(s, "n_init", 3));
    CHECK_STATUS(dc_solver_set(s, "n_init", 0), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "n_init", 2.5), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "n_init", NAN), DC_ERR_INVALID_ARG);
    CHECK_OK(dc_solver_get(s, "n_init", &v));
    CHECK(v == 3);
    CHECK_OK(dc_solver_set_str(s, "tol", "1e-6"));
    CHECK_OK(dc_solver_get(s, "tol", &v));
    CHECK(v == 1e-6);
    CHECK_STATUS(dc_solver_set_str(s, "tol", "abc"), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set_str(s, "tol", "1e-6x"), DC_ERR_INVALID_ARG);
    CHECK_STATUS(dc_solver_set(s, "no_such_param", 1), DC_ERR_UNKNOWN_NAME);
    CHECK(strstr(dc_last_error(), "n_init") != NULL); /* lists what exists */

    /* No result before fit. */
    int64_t n_out = -1;
    CHECK_STATUS(dc_solver_labels(s, NULL, 0, &n_out), DC_ERR_STATE);
    CHECK_STATUS(dc_solver_stat(s, "seconds", &v), DC_ERR_STATE);

    /* Four points in two obvious pairs. */
    float x[8] = {0, 0, 0, 1, 10, 10, 10, 11};
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, x, 4, 2, DC_COPY));
    int32_t lab[4];
    CHECK_STATUS(dc_solver_predict(s, ds, lab, 4), DC_ERR_STATE);
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE); /* k not set */
    CHECK(strstr(dc_last_error(), "'k'") != NULL);
    CHECK_OK(dc_solver_set(s, "k", 5));
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_K_RANGE); /* k > n */
    CHECK_STATUS(dc_solver_labels(s, NULL, 0, &n_out), DC_ERR_STATE);

    /* A cancelling progress callback leaves no result. */
    CHECK_OK(dc_solver_set(s, "k", 2));
    int calls = 0;
    CHECK_OK(dc_solver_set_progress(s, cancel_after_first, &calls));
    CHECK_STATUS(dc_solver_fit(s, ds), DC_ERR_CANCELLED);
    CHECK(calls >= 1);
    CHECK_STATUS(dc_solver_labels(s, NULL, 0, &n_out), DC_ERR_STATE);
    CHECK_OK(dc_solver_set_progress(s, NULL, NULL));

    CHECK_OK(dc_solver_fit(s, ds));
    CHECK_OK(dc_solver_labels(s, NULL, 0, &n_out));
    CHECK(n_out == 4);
    CHECK_STATUS(dc_solver_labels(s, lab, 3, NULL), DC_ERR_SHAPE);
    CHECK_OK(dc_solver_labels(s, lab, 4, NULL));
    CHECK(lab[0] == lab[1] && lab[2] == lab[3] && lab[0] != lab[2]);
    CHECK_OK(dc_solver_stat(s, "seconds", &v));
    CHECK(v >= 0);
    CHECK_STATUS(dc_solver_stat(s, "nope", &v), DC_ERR_UNKNOWN_NAME);
    int64_t rows = 0, cols = 0;
    CHECK_OK(dc_solver_output(s, "centers", NULL, 0, &rows, &cols));
    CHECK(rows == 2 && cols == 2);
    float c[4];
    CHECK_STATUS(dc_solver_output(s, "centers", c, 3, &rows, &cols), DC_ERR_SHAPE);
    CHECK_OK(dc_solver_output(s, "centers", c, 4, &rows, &cols));
    /* The centres are the pair means: (0, 0.5) and (10, 10.5). */
    int first = c[0] < 5 ? 0 : 1;
    CHECK_NEAR(c[2 * first], 0, 1e-6);
    CHECK_NEAR(c[2 * first + 1], 0.5, 1e-6);
    CHECK_NEAR(c[2 * (1 - first) + 1], 10.5, 1e-6);
    CHECK_STATUS(dc_solver_output(s, "nope", NULL, 0, &rows, &cols), DC_ERR_UNKNOWN_NAME);
    CHECK(dc_solver_output_count(s) >= 1 && dc_solver_stat_count(s) >= 1);

    /* Predict labels new points by the nearest centre. */
    float y[4] = {9, 9, 1, 0};
    dc_dataset *dy = NULL;
    CHECK_OK(dc_dataset_create(&dy, y, 2, 2, DC_COPY));
    int32_t py[2];
    CHECK_OK(dc_solver_predict(s, dy, py, 2));
    CHECK(py[0] == lab[2] && py[1] == lab[0]);
    CHECK_STATUS(dc_solver_predict(s, dy, py, 1), DC_ERR_SHAPE);
    dc_dataset *wrong = NULL;
    CHECK_OK(dc_dataset_create(&wrong, x, 2, 4, DC_COPY));
    CHECK_STATUS(dc_solver_predict(s, wrong, py, 2), DC_ERR_SHAPE);

    dc_dataset_free(wrong);
    dc_dataset_free(dy);
    dc_dataset_free(ds);
    dc_solver_free(s);
    DC_TEST_END();
}
