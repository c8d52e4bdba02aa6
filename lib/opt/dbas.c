#include "opt/dbas.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"

/* Size of the first published layout: callers compiled against it pass this
 * struct_size, and fields appended later keep their defaults for them. */
#define DCI_DBAS_CONFIG_V1_SIZE (offsetof(dc_dbas_config, progress_user) + sizeof(void *))

void dc_dbas_config_default(dc_dbas_config *cfg) {
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = (int)sizeof *cfg;
    cfg->step = 0.1;
    cfg->eta = 0.95;
    cfg->c = 5.0;
    cfg->iterations = 100;
    cfg->damp = 0.5;
    cfg->beetles = 1;
    cfg->seed = 0;
}

size_t dc_dbas_config_size(void) { return sizeof(dc_dbas_config); }

dc_status dc_dbas_config_set(dc_dbas_config *cfg, const char *name, double value) {
    DCI_CHECK_NULL(cfg);
    DCI_CHECK_NULL(name);
    if (!isfinite(value)) return dci_fail(DC_ERR_INVALID_ARG, "dbas: %s must be finite", name);
    int whole = !strcmp(name, "iterations") || !strcmp(name, "beetles") || !strcmp(name, "seed");
    if (whole && (value != floor(value) || value < 0 || value > 9007199254740992.0))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: %s takes a whole number >= 0, got %g", name, value);
    if (!strcmp(name, "step")) cfg->step = value;
    else if (!strcmp(name, "eta")) cfg->eta = value;
    else if (!strcmp(name, "c")) cfg->c = value;
    else if (!strcmp(name, "damp")) cfg->damp = value;
    else if (!strcmp(name, "iterations")) cfg->iterations = (int64_t)value;
    else if (!strcmp(name, "beetles")) cfg->beetles = (int64_t)value;
    else if (!strcmp(name, "seed")) cfg->seed = (uint64_t)value;
    else
        return dci_fail(DC_ERR_UNKNOWN_NAME,
                        "dbas: no setting '%s' (step, eta, c, iterations, damp, beetles, seed)", name);
    return DC_OK;
}

dc_status dci_dbas_resolve(const dc_dbas_config *in, dc_dbas_config *out) {
    dc_dbas_config_default(out);
    if (in) {
        if (in->struct_size < (int)DCI_DBAS_CONFIG_V1_SIZE || in->struct_size > (int)sizeof *out)
            return dci_fail(DC_ERR_INVALID_ARG,
                            "dbas: config struct_size = %d is not a known layout (%d): "
                            "initialise the config with dc_dbas_config_default()",
                            in->struct_size, (int)sizeof *out);
        memcpy(out, in, (size_t)in->struct_size);
        out->struct_size = (int)sizeof *out;
    }
    /* Written so that NaN fails every test. */
    if (!(out->step > 0.0 && isfinite(out->step)))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: step = %g, need a finite step > 0", out->step);
    if (!(out->eta > 0.0 && out->eta <= 1.0))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: eta = %g, need 0 < eta <= 1", out->eta);
    if (!(out->c > 0.0 && isfinite(out->c)))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: c = %g, need a finite c > 0", out->c);
    if (!(out->damp >= 0.0 && out->damp < 1.0))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: damp = %g, need 0 <= damp < 1", out->damp);
    if (out->iterations < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: iterations = %lld, need iterations >= 1",
                        (long long)out->iterations);
    if (out->beetles < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: beetles = %lld, need beetles >= 1",
                        (long long)out->beetles);
    return DC_OK;
}

void dci_dbas_direction(dci_rng *r, double *b, int64_t dim) {
    double nrm2;
    do {
        nrm2 = 0.0;
        for (int64_t i = 0; i < dim; i++) {
            b[i] = dci_rng_normal(r);
            nrm2 += b[i] * b[i];
        }
    } while (nrm2 < 1e-300); /* all-zero draw: astronomically rare, but never divide by 0 */
    double inv = 1.0 / sqrt(nrm2);
    for (int64_t i = 0; i < dim; i++) b[i] *= inv;
}

static dc_status bad_value(double v, const char *where) {
    if (isnan(v) || v == -INFINITY)
        return dci_fail(DC_ERR_NUMERIC, "fitness returned %s at %s", isnan(v) ? "NaN" : "-Inf",
                        where);
    return DC_OK;
}

dc_status dci_dbas_step(dc_fitness_fn f, void *user, int64_t dim, const double *x,
                        const double *b, double step, double c, double damp, double *x_new,
                        double *work, double *f_left, double *f_right) {
    double d = step / c;
    for (int64_t i = 0; i < dim; i++) work[i] = x[i] + d * b[i];
    double fl = f(work, dim, user);
    DCI_TRY(bad_value(fl, "the left antenna"));
    for (int64_t i = 0; i < dim; i++) work[i] = x[i] - d * b[i];
    double fr = f(work, dim, user);
    DCI_TRY(bad_value(fr, "the right antenna"));
    if (f_left) *f_left = fl;
    if (f_right) *f_right = fr;
    /* sign(0) = 0: equal smells (or both +Inf) leave the candidate at x. */
    double sgn = fl < fr ? -1.0 : (fl > fr ? 1.0 : 0.0);
    double a = (1.0 - damp) * step * sgn;
    for (int64_t i = 0; i < dim; i++) x_new[i] = x[i] - a * b[i];
    return DC_OK;
}

dc_status dc_dbas_minimize(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                           int64_t x0_rows, const dc_dbas_config *cfg, double *x_best,
                           double *f_best, double *trace, double *trace_current) {
    return dci_dbas_run(f, user, dim, x0, x0_rows, cfg, x_best, f_best, NULL, trace,
                        trace_current);
}

/* (B + 4) dim doubles, checked. */
static dc_status work_cells(int64_t B, int64_t dim, int64_t *cells) {
    if (!dci_add_i64(B, 4, cells) || !dci_mul_i64(*cells, dim, cells))
        return dci_fail(DC_ERR_NOMEM, "dbas: %lld beetles in dimension %lld do not fit in memory",
                        (long long)B, (long long)dim);
    return DC_OK;
}

dc_status dci_dbas_work_alloc(dci_dbas_work *w, int64_t beetles, int64_t dim) {
    memset(w, 0, sizeof *w);
    int64_t cells = 0;
    if (beetles < 1 || dim < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: work space for %lld beetles in dimension %lld",
                        (long long)beetles, (long long)dim);
    DCI_TRY(work_cells(beetles, dim, &cells));
    w->mem = DCI_NEW_ARRAY(double, cells, "dbas work space");
    w->rng = DCI_NEW_ARRAY(dci_rng, beetles, "dbas random streams");
    if (!w->mem || !w->rng) {
        dci_dbas_work_free(w);
        return DC_ERR_NOMEM;
    }
    w->beetles = beetles;
    w->dim = dim;
    return DC_OK;
}

void dci_dbas_work_free(dci_dbas_work *w) {
    dci_free(w->mem);
    dci_free(w->rng);
    memset(w, 0, sizeof *w);
}

/* The search. ws: work space of at least B beetles in dimension dim, or NULL
 * (allocated and freed here). collective: no cancel check and no progress
 * call of its own (dci_dbas_run_collective). */
static dc_status dbas_run(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                          int64_t x0_rows, const dc_dbas_config *cfg, dci_dbas_work *ws,
                          int collective, double *x_best, double *f_best, double *x_final,
                          double *trace, double *trace_current) {
    DCI_CHECK_NULL(f);
    DCI_CHECK_NULL(x0);
    if (dim < 1)
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: dim = %lld, need dim >= 1", (long long)dim);
    dc_dbas_config o;
    DCI_TRY(dci_dbas_resolve(cfg, &o));
    const int64_t B = o.beetles;
    if (x0_rows != 1 && x0_rows != B)
        return dci_fail(DC_ERR_INVALID_ARG,
                        "dbas: x0_rows = %lld, need 1 (one start for every beetle) or beetles = %lld",
                        (long long)x0_rows, (long long)B);
    /* Every later product (x0_rows * dim, B * dim) is at most this one. */
    int64_t cells = 0;
    DCI_TRY(work_cells(B, dim, &cells));
    (void)cells;
    if (ws && (ws->beetles < B || ws->dim != dim))
        return dci_fail(DC_ERR_INVALID_ARG, "dbas: work space for %lld beetles in dimension %lld, "
                        "need %lld in %lld", (long long)ws->beetles, (long long)ws->dim,
                        (long long)B, (long long)dim);
    for (int64_t i = 0; i < x0_rows * dim; i++)
        if (!isfinite(x0[i]))
            return dci_fail(DC_ERR_INVALID_ARG, "dbas: start point row %lld, entry %lld is not finite",
                            (long long)(i / dim), (long long)(i % dim));

    dci_dbas_work own = {0};
    if (!ws) {
        DCI_TRY(dci_dbas_work_alloc(&own, B, dim));
        ws = &own;
    }
    /* pos: B current positions, then next / work / direction / best rows. */
    double *mem = ws->mem;
    dci_rng *rng = ws->rng;
    double *pos = mem, *next = mem + B * dim, *work = next + dim, *b = work + dim,
           *best = b + dim;
    dc_status st = DC_OK;

    /* One stream per beetle, derived from the seed: beetle j's search does not
     * depend on how many beetles run beside it. */
    dci_rng master;
    dci_rng_init(&master, o.seed, DCI_STREAM_DBAS);
    for (int64_t j = 0; j < B; j++) dci_rng_init(&rng[j], dci_rng_u64(&master), DCI_STREAM_DBAS);

    double fbest = INFINITY, fcur_min = INFINITY;
    memcpy(best, x0, sizeof(double) * (size_t)dim);
    for (int64_t j = 0; j < B; j++) {
        const double *src = x0 + (x0_rows == 1 ? 0 : j) * dim;
        memcpy(pos + j * dim, src, sizeof(double) * (size_t)dim);
        /* A common start is evaluated once. */
        if (j > 0 && x0_rows == 1) continue;
        double fx = f(src, dim, user);
        if ((st = bad_value(fx, "the start point")) != DC_OK) {
            st = dci_context(st, "dbas iteration 0 (beetle %lld)", (long long)j);
            goto done;
        }
        if (fx < fcur_min) fcur_min = fx;
        if (fx < fbest || j == 0) {
            fbest = fx;
            memcpy(best, src, sizeof(double) * (size_t)dim);
        }
    }
    if (trace) trace[0] = fbest;
    if (trace_current) trace_current[0] = fcur_min;

    double step = o.step;
    for (int64_t t = 1; t <= o.iterations; t++) {
        fcur_min = INFINITY;
        for (int64_t j = 0; j < B; j++) {
            double *x = pos + j * dim;
            dci_dbas_direction(&rng[j], b, dim);
            st = dci_dbas_step(f, user, dim, x, b, step, o.c, o.damp, next, work, NULL, NULL);
            double fx = 0.0;
            if (st == DC_OK) {
                memcpy(x, next, sizeof(double) * (size_t)dim);
                fx = f(x, dim, user);
                st = bad_value(fx, "the new position");
            }
            if (st != DC_OK) {
                st = dci_context(st, "dbas iteration %lld (beetle %lld)", (long long)t,
                                 (long long)j);
                goto done;
            }
            if (fx < fcur_min) fcur_min = fx;
            if (fx < fbest) {
                fbest = fx;
                memcpy(best, x, sizeof(double) * (size_t)dim);
            }
        }
        if (trace) trace[t] = fbest;
        if (trace_current) trace_current[t] = fcur_min;
        step *= o.eta;
        if (!collective &&
            (st = dci_progress(o.progress, o.progress_user, "dbas", t, o.iterations, fbest)) !=
                DC_OK)
            goto done;
    }
    if (x_best) memcpy(x_best, best, sizeof(double) * (size_t)dim);
    if (f_best) *f_best = fbest;
    if (x_final) memcpy(x_final, pos, sizeof(double) * (size_t)(B * dim));
done:
    dci_dbas_work_free(&own); /* nothing when the caller's */
    return st;
}

dc_status dci_dbas_run(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                       int64_t x0_rows, const dc_dbas_config *cfg, double *x_best,
                       double *f_best, double *x_final, double *trace, double *trace_current) {
    return dbas_run(f, user, dim, x0, x0_rows, cfg, NULL, 0, x_best, f_best, x_final, trace,
                    trace_current);
}

dc_status dci_dbas_run_collective(dc_fitness_fn f, void *user, int64_t dim, const double *x0,
                                  int64_t x0_rows, const dc_dbas_config *cfg, dci_dbas_work *ws,
                                  double *x_best, double *f_best, double *x_final, double *trace,
                                  double *trace_current) {
    DCI_CHECK_NULL(ws);
    return dbas_run(f, user, dim, x0, x0_rows, cfg, ws, 1, x_best, f_best, x_final, trace,
                    trace_current);
}
