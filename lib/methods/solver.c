/* The generic solver handle: parameter tables, results storage and the
 * public dc_solver_* entry points common to every method. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "methods/method.h"
#ifdef DCI_HAVE_MPI
#include "mpi/comm.h"
#endif

/* Registered methods, in the order dc_solver_method_name lists them. */
static const dci_method *const g_methods[] = {
    &dci_method_kmeans,
#ifdef DCI_HAVE_SPECTRAL
    &dci_method_njw,    &dci_method_scdbas,
#endif
#ifdef DCI_HAVE_DEEP
    &dci_method_edcwrn, &dci_method_idec,   &dci_method_dec,
#endif
};
#define N_METHODS ((int)(sizeof g_methods / sizeof g_methods[0]))

int dc_solver_method_count(void) { return N_METHODS; }

const char *dc_solver_method_name(int i) {
    return (i >= 0 && i < N_METHODS) ? g_methods[i]->name : NULL;
}

static const dci_method *find_method(const char *name) {
    for (int i = 0; i < N_METHODS; i++)
        if (strcasecmp(g_methods[i]->name, name) == 0) return g_methods[i];
    return NULL;
}

dc_status dc_solver_create(dc_solver **out, const char *method) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(method);
    const dci_method *m = find_method(method);
    if (!m) {
        char list[256] = "";
        for (int i = 0; i < N_METHODS; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, g_methods[i]->name, sizeof list - strlen(list) - 1);
        }
        return dci_fail(DC_ERR_UNKNOWN_NAME, "unknown method '%s' (built in: %s)", method, list);
    }
    dc_solver *s = DCI_NEW_ZEROS(dc_solver, 1, "solver");
    if (!s) return DC_ERR_NOMEM;
    s->m = m;
    s->pv = DCI_NEW_ZEROS(double, m->n_params, "solver parameters");
    s->given = DCI_NEW_ZEROS(unsigned char, m->n_params, "solver parameters");
    s->cfg = m->cfg_size ? DCI_NEW_ZEROS(unsigned char, (int64_t)m->cfg_size, "solver configuration")
                         : NULL;
    if (!s->pv || !s->given || (m->cfg_size && !s->cfg)) {
        dci_free(s->pv);
        dci_free(s->given);
        dci_free(s->cfg);
        dci_free(s);
        return DC_ERR_NOMEM;
    }
    for (int i = 0; i < m->n_params; i++) s->pv[i] = m->params[i].def;
    *out = s;
    return DC_OK;
}

void dci_solver_clear_results(dc_solver *s) {
    dci_free(s->labels);
    s->labels = NULL;
    s->n_labels = 0;
    for (int i = 0; i < s->n_out; i++) dci_free(s->out[i].data);
    s->n_out = 0;
    s->n_stat = 0;
}

void dc_solver_free(dc_solver *s) {
    if (!s) return;
    dci_solver_clear_results(s);
    if (s->state && s->m->free_state) s->m->free_state(s->state);
    dci_free(s->pv);
    dci_free(s->given);
    dci_free(s->cfg);
    dci_free(s);
}

const char *dc_solver_method(const dc_solver *s) { return s ? s->m->name : NULL; }

static int param_index(const dc_solver *s, const char *name) {
    for (int i = 0; i < s->m->n_params; i++)
        if (strcmp(s->m->params[i].name, name) == 0) return i;
    return -1;
}

static dc_status unknown_param(const dc_solver *s, const char *name) {
    char list[1024] = "";
    for (int i = 0; i < s->m->n_params; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, s->m->params[i].name, sizeof list - strlen(list) - 1);
    }
    return dci_fail(DC_ERR_UNKNOWN_NAME, "method '%s' has no parameter '%s' (it has: %s)",
                    s->m->name, name, list);
}

dc_status dci_param_value(const dc_solver *s, const char *name, double *value) {
    int i = param_index(s, name);
    assert(i >= 0 && "a method reads a parameter it does not declare");
    if (i < 0)
        return dci_fail(DC_ERR_INTERNAL, "method '%s' reads undeclared parameter '%s'",
                        s->m->name, name);
    *value = s->pv[i];
    return DC_OK;
}

int dci_param_given(const dc_solver *s, const char *name) {
    int i = param_index(s, name);
    return i >= 0 && s->given[i];
}

/* The smallest and largest accepted values: an open bound's neighbour. */
static void accepted_range(const dci_param_def *p, double *lo, double *hi) {
    *lo = p->open & DCI_OPEN_LO ? nextafter(p->lo, INFINITY) : p->lo;
    *hi = p->open & DCI_OPEN_HI ? nextafter(p->hi, -INFINITY) : p->hi;
}

/* Whether p accepts value: DC_OK or DC_ERR_INVALID_ARG with the reason. */
static dc_status check_value(const dci_param_def *p, double value) {
    const char *name = p->name;
    if (!isfinite(value)) return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s' must be finite", name);
    if (p->type == DC_PARAM_BOOL && value != 0.0 && value != 1.0)
        return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s' takes true or false (1 or 0), got %g",
                        name, value);
    if (p->type != DC_PARAM_REAL && value != floor(value))
        return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s' takes a whole number, got %g", name, value);
    double lo, hi;
    accepted_range(p, &lo, &hi);
    if (value < lo || value > hi)
        return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s' = %g is outside %c%g, %g%c: %s", name,
                        value, p->open & DCI_OPEN_LO ? '(' : '[', p->lo, p->hi,
                        p->open & DCI_OPEN_HI ? ')' : ']', p->help);
    return DC_OK;
}

dc_status dci_params_fill(const dci_param_def *p, int n, const double *values, void *cfg) {
    for (int i = 0; i < n; i++) {
        char *dst = (char *)cfg + p[i].field;
        const size_t want = p[i].type == DC_PARAM_INT    ? sizeof(DCI_PARAM_CTYPE_INT)
                            : p[i].type == DC_PARAM_REAL ? sizeof(DCI_PARAM_CTYPE_REAL)
                                                         : sizeof(int);
        if (p[i].field_size != want)
            return dci_fail(DC_ERR_INTERNAL, "parameter '%s': a %zu-byte member for its type",
                            p[i].name, p[i].field_size);
        if (p[i].type == DC_PARAM_INT) {
            const DCI_PARAM_CTYPE_INT v = (DCI_PARAM_CTYPE_INT)llround(values[i]);
            memcpy(dst, &v, sizeof v);
        } else if (p[i].type == DC_PARAM_REAL) {
            memcpy(dst, &values[i], sizeof values[i]);
        } else {
            const int v = (int)llround(values[i]);
            memcpy(dst, &v, sizeof v);
        }
    }
    return DC_OK;
}

static dc_status set_value(dc_solver *s, const char *name, double value, int given) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    int i = param_index(s, name);
    if (i < 0) return unknown_param(s, name);
    DCI_TRY(check_value(&s->m->params[i], value));
    s->pv[i] = value;
    if (given) s->given[i] = 1;
    return DC_OK;
}

dc_status dci_solver_check_idle(const dc_solver *s, const char *fn) {
    if (__atomic_load_n(&s->run, __ATOMIC_SEQ_CST) == DCI_RUN_IDLE) return DC_OK;
    return dci_fail(DC_ERR_STATE, "%s: a fit of this solver is running (called from its progress "
                                  "callback or another thread); call it before or after the fit",
                    fn);
}

dc_status dc_solver_set(dc_solver *s, const char *name, double value) {
    DCI_CHECK_NULL(s);
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_set"));
    return set_value(s, name, value, 1);
}

dc_status dci_param_set_internal(dc_solver *s, const char *name, double value) {
    return set_value(s, name, value, 0);
}

/* Index of `value` in a "a|b|c" list, or -1. */
static int choice_index(const char *choices, const char *value) {
    int idx = 0;
    size_t vl = strlen(value);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == vl && strncasecmp(c, value, len) == 0) return idx;
        idx++;
        if (!bar) break;
        c = bar + 1;
    }
    return -1;
}

const char *dci_param_format(const dc_solver *s, const char *name, double value, char *buf,
                             size_t size) {
    int i = param_index(s, name);
    const dci_param_def *p = i >= 0 ? &s->m->params[i] : NULL;
    if (p && p->type == DC_PARAM_CHOICE && value == floor(value) && value >= 0) {
        const char *c = p->choices;
        for (double idx = 0; idx < value && c; idx++) {
            c = strchr(c, '|');
            if (c) c++;
        }
        if (c) {
            const char *bar = strchr(c, '|');
            snprintf(buf, size, "%.*s", (int)(bar ? bar - c : (ptrdiff_t)strlen(c)), c);
            return buf;
        }
    }
    if (p && p->type == DC_PARAM_BOOL && (value == 0 || value == 1))
        snprintf(buf, size, "%s", value != 0 ? "true" : "false");
    else if (value == floor(value) && fabs(value) < 1e17)
        snprintf(buf, size, "%.0f", value);
    else /* the shortest text that reads back as the same double */
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(buf, size, "%.*g", digits, value);
            if (strtod(buf, NULL) == value) break;
        }
    return buf;
}

dc_status dc_solver_set_str(dc_solver *s, const char *name, const char *value) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(value);
    /* Before the name: a running solver refuses every change alike. */
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_set_str"));
    int i = param_index(s, name);
    if (i < 0) return unknown_param(s, name);
    const dci_param_def *p = &s->m->params[i];
    if (p->type == DC_PARAM_CHOICE) {
        int c = choice_index(p->choices, value);
        if (c >= 0) return dc_solver_set(s, name, c);
    }
    if (p->type == DC_PARAM_BOOL) {
        if (!strcasecmp(value, "true") || !strcasecmp(value, "on") || !strcasecmp(value, "yes"))
            return dc_solver_set(s, name, 1);
        if (!strcasecmp(value, "false") || !strcasecmp(value, "off") || !strcasecmp(value, "no"))
            return dc_solver_set(s, name, 0);
    }
    char *end = NULL;
    double v = strtod(value, &end);
    if (end == value || *end != '\0') {
        if (p->type == DC_PARAM_CHOICE)
            return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s': '%s' is not one of %s", name,
                            value, p->choices);
        if (p->type == DC_PARAM_BOOL)
            return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s' takes true or false (also "
                            "on/off, yes/no, 1/0), got '%s'", name, value);
        return dci_fail(DC_ERR_INVALID_ARG, "parameter '%s': '%s' is not a number", name, value);
    }
    return dc_solver_set(s, name, v);
}

dc_status dc_solver_get(const dc_solver *s, const char *name, double *value) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(value);
    int i = param_index(s, name);
    if (i < 0) return unknown_param(s, name);
    *value = s->pv[i];
    return DC_OK;
}

int dc_solver_param_count(const dc_solver *s) { return s ? s->m->n_params : 0; }

const char *dc_solver_param_name(const dc_solver *s, int index) {
    if (!s || index < 0 || index >= s->m->n_params) return NULL;
    return s->m->params[index].name;
}

/* The table entry of a parameter named by a caller (NULL arguments and
 * unknown names are the caller's errors). */
static dc_status find_param(const dc_solver *s, const char *name, const dci_param_def **p) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    int i = param_index(s, name);
    if (i < 0) return unknown_param(s, name);
    *p = &s->m->params[i];
    return DC_OK;
}

dc_status dc_solver_param_info(const dc_solver *s, const char *name, dc_param_type *type,
                               double *default_value, double *min_value, double *max_value) {
    const dci_param_def *p = NULL;
    DCI_TRY(find_param(s, name, &p));
    double lo, hi;
    accepted_range(p, &lo, &hi);
    if (type) *type = p->type;
    if (default_value) *default_value = p->def;
    if (min_value) *min_value = lo;
    if (max_value) *max_value = hi;
    return DC_OK;
}

dc_status dc_solver_param_bounds(const dc_solver *s, const char *name, double *min_value,
                                 int *min_open, double *max_value, int *max_open) {
    const dci_param_def *p = NULL;
    DCI_TRY(find_param(s, name, &p));
    if (min_value) *min_value = p->lo;
    if (min_open) *min_open = (p->open & DCI_OPEN_LO) != 0;
    if (max_value) *max_value = p->hi;
    if (max_open) *max_open = (p->open & DCI_OPEN_HI) != 0;
    return DC_OK;
}

const char *dc_solver_param_help(const dc_solver *s, const char *name) {
    if (!s || !name) return "";
    int i = param_index(s, name);
    return i < 0 ? "" : s->m->params[i].help;
}

const char *dc_solver_param_choices(const dc_solver *s, const char *name) {
    if (!s || !name) return "";
    int i = param_index(s, name);
    return (i < 0 || !s->m->params[i].choices) ? "" : s->m->params[i].choices;
}

dc_status dc_solver_set_progress(dc_solver *s, dc_progress_fn fn, void *user) {
    DCI_CHECK_NULL(s);
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_set_progress"));
    s->progress = fn;
    s->progress_user = user;
    return DC_OK;
}

dc_status dci_solver_progress(const dc_solver *s, const char *phase, long long done,
                              long long total, double value) {
    return dci_progress(s->progress, s->progress_user, phase, done, total, value);
}

dc_status dci_check_k(int64_t k, int64_t n, int64_t kmin, const char *method) {
    if (k < kmin)
        return dci_fail(DC_ERR_K_RANGE, "%s: k = %lld, need k >= %lld%s", method, (long long)k,
                        (long long)kmin, k == 0 ? " (set the number of clusters, parameter 'k')" : "");
    if (k > n)
        return dci_fail(DC_ERR_K_RANGE, "%s: k = %lld is larger than the number of samples n = %lld",
                        method, (long long)k, (long long)n);
    return DC_OK;
}

int dc_solver_cancel(dc_solver *s) {
    if (!s) return 0;
    int expected = DCI_RUN_ACTIVE;
    if (__atomic_compare_exchange_n(&s->run, &expected, DCI_RUN_CANCELLED, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
        return 1;
    return expected == DCI_RUN_CANCELLED;
}

/* The method's fit with the calling thread bound to the solver's run state;
 * a request that arrived while no fit ran is not kept (see dc_solver_cancel). */
static dc_status run_fit(dc_solver *s, const dc_dataset *data) {
    __atomic_store_n(&s->run, DCI_RUN_ACTIVE, __ATOMIC_SEQ_CST);
    const volatile int *outer = dci_cancel_bind(&s->run);
    dc_status st = s->m->cfg_size ? dci_params_fill(s->m->params, s->m->n_params, s->pv, s->cfg)
                                  : DC_OK;
#ifdef DCI_HAVE_MPI
    /* deepclust/mpi.h: with a communicator set, only the distributed fits run */
    if (st == DC_OK && dci_mpi_active() && s->m != &dci_method_kmeans && s->m != &dci_method_njw &&
        s->m != &dci_method_scdbas && s->m != &dci_method_edcwrn && s->m != &dci_method_idec &&
        s->m != &dci_method_dec)
        st = dci_fail(DC_ERR_UNSUPPORTED, "%s has no distributed fit yet (a communicator is set: "
                      "dc_mpi_set_comm; distributed: kmeans, njw, scdbas, idec, dec, edcwrn)",
                      s->m->name);
#endif
    if (st == DC_OK) st = s->m->fit(s, data);
    /* The last check: a request made after the method's final one still
     * stops the call, so that a caller who asked never gets a result. */
    if (st == DC_OK) st = dci_cancel_check(s->m->name);
    dci_cancel_bind(outer);
    __atomic_store_n(&s->run, DCI_RUN_IDLE, __ATOMIC_SEQ_CST);
    return st;
}

dc_status dc_solver_fit(dc_solver *s, const dc_dataset *data) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(data);
    /* A fit started from within a fit would free what the running one uses. */
    DCI_TRY(dci_solver_check_idle(s, "dc_solver_fit"));
    dci_solver_clear_results(s);
    dci_error_saved before;
    dci_error_save(&before);
    double t0 = dci_now();
    dc_status st = run_fit(s, data);
    if (st != DC_OK) {
        dci_solver_clear_results(s);
        return st;
    }
    if (!s->labels) {
        dci_solver_clear_results(s);
        return dci_fail(DC_ERR_INTERNAL, "method '%s' finished without labels", s->m->name);
    }
    dci_error_restore(&before); /* a recovered failure inside is not the caller's */
    return dci_solver_put_stat(s, "seconds", dci_now() - t0);
}

void dci_solver_put_labels(dc_solver *s, int32_t *labels, int64_t n) {
    dci_free(s->labels);
    s->labels = labels;
    s->n_labels = n;
}

static int output_index(const dc_solver *s, const char *name) {
    for (int i = 0; i < s->n_out; i++)
        if (strcmp(s->out[i].name, name) == 0) return i;
    return -1;
}

dc_status dci_solver_put_output(dc_solver *s, const char *name, float *data, int64_t rows,
                                int64_t cols) {
    int i = output_index(s, name);
    if (i < 0) {
        if (s->n_out == DCI_MAX_RESULTS) {
            dci_free(data);
            return dci_fail(DC_ERR_INTERNAL, "too many outputs");
        }
        i = s->n_out++;
    } else {
        dci_free(s->out[i].data);
    }
    s->out[i] = (dci_output){name, data, rows, cols};
    return DC_OK;
}

dc_status dci_solver_put_output_copy(dc_solver *s, const char *name, const float *data,
                                     int64_t rows, int64_t cols) {
    float *c = DCI_NEW_ARRAY(float, rows * cols, name);
    if (!c) return DC_ERR_NOMEM;
    memcpy(c, data, sizeof(float) * (size_t)(rows * cols));
    return dci_solver_put_output(s, name, c, rows, cols);
}

dc_status dci_solver_put_stat(dc_solver *s, const char *name, double value) {
    for (int i = 0; i < s->n_stat; i++)
        if (strcmp(s->stat[i].name, name) == 0) {
            s->stat[i].value = value;
            return DC_OK;
        }
    if (s->n_stat == DCI_MAX_RESULTS) return dci_fail(DC_ERR_INTERNAL, "too many statistics");
    s->stat[s->n_stat++] = (dci_stat){name, value};
    return DC_OK;
}

static dc_status need_fit(const dc_solver *s) {
    if (!s->labels) return dci_fail(DC_ERR_STATE, "solver '%s' has no result: call dc_solver_fit first", s->m->name);
    return DC_OK;
}

dc_status dc_solver_labels(const dc_solver *s, int32_t *dst, int64_t capacity, int64_t *n_out) {
    DCI_CHECK_NULL(s);
    DCI_TRY(need_fit(s));
    if (n_out) *n_out = s->n_labels;
    if (!dst) return n_out ? DC_OK : dci_fail(DC_ERR_NULL, "dc_solver_labels: dst and n_out are both NULL");
    if (capacity < s->n_labels)
        return dci_fail(DC_ERR_SHAPE, "dc_solver_labels: capacity %lld < %lld labels",
                        (long long)capacity, (long long)s->n_labels);
    memcpy(dst, s->labels, sizeof(int32_t) * (size_t)s->n_labels);
    return DC_OK;
}

dc_status dc_solver_output(const dc_solver *s, const char *name, float *dst, int64_t capacity,
                           int64_t *rows, int64_t *cols) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    DCI_TRY(need_fit(s));
    int i = output_index(s, name);
    if (i < 0) {
        char list[512] = "";
        for (int j = 0; j < s->n_out; j++) {
            strncat(list, j ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, s->out[j].name, sizeof list - strlen(list) - 1);
        }
        return dci_fail(DC_ERR_UNKNOWN_NAME, "method '%s' has no output '%s' (it has: %s)",
                        s->m->name, name, list);
    }
    const dci_output *o = &s->out[i];
    if (rows) *rows = o->rows;
    if (cols) *cols = o->cols;
    if (!dst) return DC_OK;
    if (capacity < o->rows * o->cols)
        return dci_fail(DC_ERR_SHAPE, "dc_solver_output '%s': capacity %lld < %lld values", name,
                        (long long)capacity, (long long)(o->rows * o->cols));
    memcpy(dst, o->data, sizeof(float) * (size_t)(o->rows * o->cols));
    return DC_OK;
}

int dc_solver_has_output(const dc_solver *s, const char *name) {
    if (!s || !name) return 0;
    for (const dci_output_def *o = s->m->outputs; o && o->name; o++)
        if (strcmp(o->name, name) == 0) {
            double v = 0.0;
            return !o->when || (dci_param_value(s, o->when, &v) == DC_OK && v != 0.0);
        }
    return 0;
}

int dc_solver_output_count(const dc_solver *s) { return s ? s->n_out : 0; }
const char *dc_solver_output_name(const dc_solver *s, int index) {
    return (s && index >= 0 && index < s->n_out) ? s->out[index].name : NULL;
}

dc_status dc_solver_stat(const dc_solver *s, const char *name, double *value) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(value);
    DCI_TRY(need_fit(s));
    for (int i = 0; i < s->n_stat; i++)
        if (strcmp(s->stat[i].name, name) == 0) {
            *value = s->stat[i].value;
            return DC_OK;
        }
    return dci_fail(DC_ERR_UNKNOWN_NAME, "method '%s' has no statistic '%s'", s->m->name, name);
}

int dc_solver_stat_count(const dc_solver *s) { return s ? s->n_stat : 0; }
const char *dc_solver_stat_name(const dc_solver *s, int index) {
    return (s && index >= 0 && index < s->n_stat) ? s->stat[index].name : NULL;
}

dc_status dc_solver_predict(dc_solver *s, const dc_dataset *data, int32_t *dst, int64_t capacity) {
    DCI_CHECK_NULL(s);
    DCI_CHECK_NULL(data);
    DCI_CHECK_NULL(dst);
    if (!s->m->predict)
        return dci_fail(DC_ERR_UNSUPPORTED, "method '%s' cannot label new data", s->m->name);
    DCI_TRY(need_fit(s));
    int64_t n = dc_dataset_rows(data);
    if (capacity < n)
        return dci_fail(DC_ERR_SHAPE, "dc_solver_predict: capacity %lld < %lld rows",
                        (long long)capacity, (long long)n);
    return s->m->predict(s, data, dst);
}
