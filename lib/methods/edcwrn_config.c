/* How a deep fit's configuration comes from the solver's parameters: the
 * defaults, the presets, the values a fit uses (methods/edcwrn_fit.h) and
 * the typed configuration read from them. The parameter tables themselves
 * are in methods/edcwrn.c. */
#include "methods/edcwrn_fit.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "methods/method.h"

/* Room for the values of a deep method's table (edcwrn's has 38). */
#define DEEP_MAX_PARAMS 64

static const dci_method *method_of(dci_deep_method method) {
    return method == DCI_DEEP_EDCWRN ? &dci_method_edcwrn
           : method == DCI_DEEP_IDEC ? &dci_method_idec
                                     : &dci_method_dec;
}

/* The members of c that m's table names, from values (table order). The
 * values were checked when they were set, and every member's size is
 * checked against its type here: a failure is a bug in a table. */
static void fill(const dci_method *m, const double *values, dci_deep_cfg *c) {
    const dc_status st = dci_params_fill(m->params, m->n_params, values, c);
    assert(st == DC_OK && "a deep parameter table does not fit dci_deep_cfg");
    (void)st;
}

static void fill_defaults(const dci_method *m, dci_deep_cfg *c) {
    double def[DEEP_MAX_PARAMS];
    assert(m->n_params <= DEEP_MAX_PARAMS);
    for (int i = 0; i < m->n_params; i++) def[i] = m->params[i].def;
    fill(m, def, c);
}

/* Every member from the defaults of the tables: EDCWRN's table names them
 * all; IDEC and DEC then take their own defaults (DEC's lr) and the fixed
 * settings that make them IDEC and DEC (methods/edcwrn.h). */
dci_deep_cfg dci_deep_cfg_default(dci_deep_method method) {
    dci_deep_cfg c;
    memset(&c, 0, sizeof c);
    fill_defaults(&dci_method_edcwrn, &c);
    c.method = method;
    if (method == DCI_DEEP_EDCWRN) return c;
    fill_defaults(method_of(method), &c);
    c.weighting = DCI_WEIGHTING_OFF;
    c.neighbors = 0;
    c.formulation_idec = 1;
    return c;
}

/* ---- presets ----
 * A preset is the value each parameter takes when the caller did not set
 * it. "default" is the parameter table itself; "authors" replaces the
 * entries below (the EDCWRN authors' published notebook: docs/methods.md).
 * Choice values are their positions in the table's choice lists. */
typedef struct preset_value {
    const char *name;
    double value;
    int edcwrn_only; /* IDEC and DEC keep their own clustering settings */
} preset_value;

static const preset_value authors_preset[] = {
    {"pretrain_steps", 128000, 0},   {"pretrain_optimizer", 0, 0}, /* sgd */
    {"pretrain_lr", 1.0, 0},         {"pretrain_momentum", 0.9, 0},
    {"pretrain_schedule", 0, 0},     /* constant */
    {"pretrain_warmup", 0, 0},       {"scale_input", 0, 0},
    {"pretrain_zoom", 0, 0},         {"augment_fill", DCI_FILL_NEAREST, 0},
    {"n_init", 150, 0},              {"init", DCI_INIT_KMEANS, 0},    {"lr", 1.0, 1},
    {"weighting", DCI_WEIGHTING_AFTER, 1}, {"weighting_norm", DCI_WNORM_SUM, 1},
};

static int param_index(const dc_solver *s, const char *name) {
    for (int i = 0; i < s->m->n_params; i++)
        if (strcmp(s->m->params[i].name, name) == 0) return i;
    return -1;
}

/* The values a fit uses: the solver's, with the preset's for every
 * parameter the caller did not set. eff has n_params entries. */
void dci_deep_effective_params(const dc_solver *s, double *eff) {
    memcpy(eff, s->pv, sizeof *eff * (size_t)s->m->n_params);
    const int ip = param_index(s, "preset");
    if (ip < 0 || llround(s->pv[ip]) != DCI_PRESET_AUTHORS) return;
    const int edcwrn = s->m == &dci_method_edcwrn;
    for (size_t e = 0; e < sizeof authors_preset / sizeof authors_preset[0]; e++) {
        const int i = param_index(s, authors_preset[e].name);
        if (i >= 0 && !s->given[i] && (edcwrn || !authors_preset[e].edcwrn_only))
            eff[i] = authors_preset[e].value;
    }
}

dci_deep_cfg dci_deep_read_cfg(const dc_solver *s, const double *eff, dci_deep_method method) {
    dci_deep_cfg c = dci_deep_cfg_default(method);
    fill(s->m, eff, &c);
    return c;
}

void dci_deep_record_params(const dc_solver *s, const double *eff, dc_model *m) {
    for (int i = 0; i < s->m->n_params; i++) dci_model_set_param(m, s->m->params[i].name, eff[i]);
}

void dci_deep_set_param(const dc_solver *s, double *eff, const char *name, double v) {
    const int i = param_index(s, name);
    if (i >= 0) eff[i] = v;
}
