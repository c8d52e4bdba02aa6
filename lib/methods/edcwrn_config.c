/* How a deep fit's configuration comes from the solver's parameters: the
 * defaults, the presets, the values a fit uses (methods/edcwrn_fit.h) and
 * the typed configuration read from them. The parameter tables themselves
 * are in methods/edcwrn.c. */
#include "methods/edcwrn_fit.h"

#include <math.h>
#include <string.h>

#include "cluster/neighbor_max.h"
#include "cluster/weighting.h"
#include "methods/method.h"
#include "nn/autoencoder.h"

dci_deep_cfg dci_deep_cfg_default(dci_deep_method method) {
    dci_deep_cfg c;
    memset(&c, 0, sizeof c);
    c.method = method;
    c.batch = 256;
    c.embed_dim = DCI_AE_DEFAULT_EMBED;
    c.hidden[0] = 500;
    c.hidden[1] = 500;
    c.hidden[2] = 2000;
    c.pretrain_warmup = 1000;
    c.pretrain_adam = 1;
    c.pretrain_cosine = 1;
    c.augment = DCI_AUGMENT_AUTO;
    c.pretrain_zoom = DCI_PRETRAIN_ZOOM_DEFAULT;
    c.augment_fill = DCI_AUGMENT_FILL_DEFAULT;
    c.init = DCI_INIT_SPECTRAL;
    c.scale_input = 1;
    c.n_init = 20;
    c.neighbors_k = DCI_NMAX_K_DEFAULT;
    c.update_interval = 140;
    c.max_iter = 8000;
    c.pretrain_lr = 0.0;
    c.pretrain_momentum = 0.9;
    c.lr = method == DCI_DEEP_DEC ? DCI_DEC_LR_DEFAULT : DCI_DEEP_LR_DEFAULT;
    c.momentum = 0.9;
    c.lambda = 0.1;
    c.a = DCI_KERNEL_A_DEFAULT;
    c.b = DCI_KERNEL_B_DEFAULT;
    c.alpha = DCI_WEIGHT_ALPHA_DEFAULT;
    c.beta = DCI_WEIGHT_BETA_DEFAULT;
    c.tol = 0.001;
    c.weighting = method == DCI_DEEP_EDCWRN ? DCI_WEIGHTING_ON : DCI_WEIGHTING_OFF;
    c.neighbors = method == DCI_DEEP_EDCWRN;
    c.formulation_idec = method != DCI_DEEP_EDCWRN;
    c.ce_normalized = 1;
    c.weighting_scale = DCI_WSCALE_RAW;
    c.weighting_norm = DCI_WNORM_MEAN;
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
    {"n_init", 150, 0},              {"init", DCI_INIT_KMEANS, 0},              {"lr", 1.0, 1},
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

/* Value of a parameter if the method's table has it. */
static int opt_param(const dc_solver *s, const double *eff, const char *name, double *v) {
    const int i = param_index(s, name);
    if (i < 0) return 0;
    *v = eff[i];
    return 1;
}

dci_deep_cfg dci_deep_read_cfg(const dc_solver *s, const double *eff, dci_deep_method method) {
    dci_deep_cfg c = dci_deep_cfg_default(method);
    double v;
#define RD_I(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = (int64_t)llround(v)
#define RD_C(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = (int)llround(v)
#define RD_R(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = v
#define RD_B(name, field) \
    if (opt_param(s, eff, name, &v)) c.field = v != 0.0
    RD_I("k", k);
    RD_I("batch", batch);
    RD_I("embed_dim", embed_dim);
    RD_I("hidden1", hidden[0]);
    RD_I("hidden2", hidden[1]);
    RD_I("hidden3", hidden[2]);
    RD_C("preset", preset);
    RD_I("pretrain_epochs", pretrain_epochs);
    RD_I("pretrain_steps", pretrain_steps);
    RD_I("pretrain_warmup", pretrain_warmup);
    RD_I("n_init", n_init);
    RD_I("neighbors_k", neighbors_k);
    RD_I("update_interval", update_interval);
    RD_I("max_iter", max_iter);
    RD_I("checkpoint_every", checkpoint_every);
    RD_R("pretrain_lr", pretrain_lr);
    RD_R("pretrain_momentum", pretrain_momentum);
    RD_R("lr", lr);
    RD_R("momentum", momentum);
    RD_R("lambda", lambda);
    RD_R("a", a);
    RD_R("b", b);
    RD_R("alpha", alpha);
    RD_R("beta", beta);
    RD_R("tol", tol);
    RD_C("weighting", weighting);
    RD_B("neighbors", neighbors);
    RD_B("formulation", formulation_idec);
    RD_B("ce_normalized", ce_normalized);
    RD_C("augment", augment);
    RD_R("pretrain_zoom", pretrain_zoom);
    RD_C("augment_fill", augment_fill);
    RD_C("init", init);
    RD_B("scale_input", scale_input);
    RD_B("pretrain_schedule", pretrain_cosine);
    RD_B("pretrain_optimizer", pretrain_adam);
    RD_I("weighting_scale", weighting_scale);
    RD_I("weighting_norm", weighting_norm);
    if (opt_param(s, eff, "seed", &v)) c.seed = (uint64_t)llround(v);
#undef RD_I
#undef RD_C
#undef RD_R
#undef RD_B
    return c;
}

void dci_deep_record_params(const dc_solver *s, const double *eff, dc_model *m) {
    for (int i = 0; i < s->m->n_params; i++) dci_model_set_param(m, s->m->params[i].name, eff[i]);
}

void dci_deep_set_param(const dc_solver *s, double *eff, const char *name, double v) {
    const int i = param_index(s, name);
    if (i >= 0) eff[i] = v;
}
