#include "methods/deep_model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/util.h"
#include "data/dataset.h"
#include "deepclust/dataset.h"
#include "graph/knn.h"

void dc_model_free(dc_model *m) {
    if (!m) return;
    dci_mlp_free(m->enc);
    dci_mlp_free(m->enc_nb);
    dci_mlp_free(m->dec);
    dci_free(m->centers);
    dci_free(m->weights);
    dci_free(m->ref_z0);
    dci_free(m->ref_enb);
    dci_free(m->ref_hash);
    dci_norm_free(&m->norm);
    dci_free(m);
}

dc_status dci_model_new(dc_model **out, dci_model_kind kind, const char *method,
                        const int64_t *dims, int n_dims, int64_t batch, int with_nb,
                        int with_dec, int64_t k, int with_weights) {
    *out = NULL;
    if (n_dims < 3 || n_dims > DCI_DEEP_MAX_DIMS)
        return dci_fail(DC_ERR_INVALID_ARG, "model: %d encoder dims, need 3..%d", n_dims,
                        DCI_DEEP_MAX_DIMS);
    dc_model *m = DCI_NEW_ZEROS(dc_model, 1, "model");
    if (!m) return DC_ERR_NOMEM;
    m->kind = kind;
    snprintf(m->method, sizeof m->method, "%s", method);
    m->n_dims = n_dims;
    memcpy(m->dims, dims, (size_t)n_dims * sizeof *dims);
    m->batch = batch;
    m->k = k;
    m->kernel = dci_kernel_proposed(DCI_KERNEL_A_DEFAULT, DCI_KERNEL_B_DEFAULT);
    m->pretrain_loss = NAN;
    m->input_scale = 1.0;
    int64_t rdims[DCI_DEEP_MAX_DIMS];
    for (int i = 0; i < n_dims; i++) rdims[i] = dims[n_dims - 1 - i];
    const int64_t M = dims[n_dims - 1];
    dc_status st = dci_mlp_create(&m->enc, dims, n_dims, batch);
    if (st == DC_OK && with_nb) st = dci_mlp_create(&m->enc_nb, dims, n_dims, batch);
    if (st == DC_OK && with_dec) st = dci_mlp_create(&m->dec, rdims, n_dims, batch);
    if (st == DC_OK && k > 0) {
        m->centers = DCI_NEW_ZEROS(float, k * M, "cluster centres");
        if (!m->centers) st = DC_ERR_NOMEM;
        if (st == DC_OK && with_weights) {
            m->weights = DCI_NEW_ZEROS(float, k * M, "representation weights");
            if (!m->weights) st = DC_ERR_NOMEM;
        }
    }
    if (st != DC_OK) {
        dc_model_free(m);
        return st;
    }
    *out = m;
    return DC_OK;
}

dc_status dci_model_clone(dc_model **out, const dc_model *m) {
    DCI_TRY(dci_model_new(out, m->kind, m->method, m->dims, m->n_dims, m->batch,
                          m->enc_nb != NULL, m->dec != NULL, m->k, m->weights != NULL));
    dc_model *c = *out;
    /* Copy the scalar fields, then put back the new allocations. */
    dci_mlp *enc = c->enc, *nb = c->enc_nb, *dec = c->dec;
    float *centers = c->centers, *weights = c->weights;
    *c = *m;
    c->enc = enc;
    c->enc_nb = nb;
    c->dec = dec;
    c->centers = centers;
    c->weights = weights;
    c->n_ref = 0;
    c->ref_z0 = c->ref_enb = NULL;
    c->ref_hash = NULL;
    c->norm = (dci_norm){DC_NORM_NONE, NULL, NULL};
    dc_status st = dci_norm_copy(&c->norm, &m->norm, m->dims[0]);
    if (st != DC_OK) {
        dc_model_free(c);
        *out = NULL;
        return st;
    }
    dci_mlp_copy_params(c->enc, m->enc);
    if (nb) dci_mlp_copy_params(nb, m->enc_nb);
    if (dec) dci_mlp_copy_params(dec, m->dec);
    const int64_t km = m->k * dci_model_dim(m);
    if (centers) memcpy(centers, m->centers, (size_t)km * sizeof *centers);
    if (weights) memcpy(weights, m->weights, (size_t)km * sizeof *weights);
    if (m->n_ref > 0) {
        const int64_t len = m->n_ref * dci_model_dim(m);
        c->ref_z0 = DCI_NEW_ARRAY(float, len, "reference embedding");
        c->ref_enb = DCI_NEW_ARRAY(float, len, "reference neighbour embedding");
        c->ref_hash = DCI_NEW_ARRAY(uint64_t, m->n_ref, "reference hashes");
        if (!c->ref_z0 || !c->ref_enb || !c->ref_hash) {
            dc_model_free(c);
            *out = NULL;
            return DC_ERR_NOMEM;
        }
        c->n_ref = m->n_ref;
        memcpy(c->ref_z0, m->ref_z0, (size_t)len * sizeof *c->ref_z0);
        memcpy(c->ref_enb, m->ref_enb, (size_t)len * sizeof *c->ref_enb);
        memcpy(c->ref_hash, m->ref_hash, (size_t)m->n_ref * sizeof *c->ref_hash);
    }
    return DC_OK;
}

void dci_model_set_param(dc_model *m, const char *name, double value) {
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) {
            m->params[i].value = value;
            return;
        }
    if (m->n_params == DCI_MODEL_MAX_PARAMS || strlen(name) >= sizeof m->params[0].name) return;
    dci_model_param *p = &m->params[m->n_params++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->value = value;
}

/* ---- input scale ---- */

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double dci_input_top(const float *x, int64_t count) {
    enum { SAMPLE = 65536 };
    if (count < 1) return 0.0;
    /* An even stride over the whole array: deterministic, no generator, and
     * it sees every part of the data (rows and columns alike). */
    const int64_t m = count < SAMPLE ? count : SAMPLE;
    float *a = DCI_NEW_ARRAY(float, m, "input scale sample");
    double top = 0.0;
    if (a) {
        for (int64_t i = 0; i < m; i++) a[i] = fabsf(x[(int64_t)((double)i * (double)count / (double)m)]);
        qsort(a, (size_t)m, sizeof *a, cmp_float);
        top = a[(int64_t)(0.99 * (double)(m - 1))];
        if (top == 0.0) top = a[m - 1];
        dci_free(a);
    } else { /* no memory for the sample: the largest |x| is a fair stand-in */
        for (int64_t i = 0; i < count; i++) top = fmax(top, fabs((double)x[i]));
    }
    return top;
}

double dci_input_scale_of(double top) {
    if (!(top > 0.0) || !isfinite(top)) return 1.0;
    return ldexp(1.0, -(int)lround(log2(top)));
}

double dci_input_scale(const float *x, int64_t count) {
    return dci_input_scale_of(dci_input_top(x, count));
}

const float *dci_scaled_input(const float *x, int64_t n, int64_t d, double s, float **copy) {
    *copy = NULL;
    if (s == 1.0) return x;
    float *c = DCI_NEW_ARRAY(float, n * d, "scaled data");
    if (!c) return NULL;
    const float f = (float)s;
    for (int64_t i = 0; i < n * d; i++) c[i] = x[i] * f;
    *copy = c;
    return c;
}

/* ---- inference ---- */

void dci_model_encode(dc_model *m, const float *x, int64_t n, float *e, float *e_nb) {
    dci_mlp_apply(m->enc, x, n, e);
    if (m->enc_nb && e_nb) dci_mlp_apply(m->enc_nb, x, n, e_nb);
}

void dci_model_combine(const dc_model *m, const float *e, const float *e_nb, const int64_t *nbr,
                       int64_t n, float *z) {
    const int64_t M = dci_model_dim(m), k = m->neighbors_k;
    if (!m->enc_nb) {
        for (int64_t t = 0; t < n * M; t++) z[t] = 2.0f * e[t];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *ei = e + i * M;
        float *zi = z + i * M;
        if (!nbr) {
            const float *si = e_nb + i * M;
            for (int64_t mm = 0; mm < M; mm++) zi[mm] = ei[mm] + si[mm];
            continue;
        }
        /* Same max (first winner on ties) as cluster/neighbor_max.h, read
         * straight from the rows instead of a gathered copy. */
        const int64_t *ni = nbr + i * k;
        for (int64_t mm = 0; mm < M; mm++) {
            float best = e_nb[ni[0] * M + mm];
            for (int64_t l = 1; l < k; l++) {
                float c = e_nb[ni[l] * M + mm];
                if (c > best) best = c;
            }
            zi[mm] = ei[mm] + best;
        }
    }
}

dc_status dci_embedding_check(const float *z, int64_t n, int64_t M) {
    for (int64_t i = 0; i < n * M; i++)
        if (!(fabsf(z[i]) <= DCI_EMBED_LIMIT))
            return dci_fail(DC_ERR_NUMERIC, "the embedding %s (row %lld: %g; learning rate too "
                                            "high?)",
                            isnan(z[i]) ? "became NaN" : "diverged", (long long)(i / M),
                            (double)z[i]);
    return DC_OK;
}

/* FNV-1a over a row's bytes: which reference row a query row is. */
static uint64_t row_hash(const float *row, int64_t d) {
    const unsigned char *p = (const unsigned char *)row;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < (size_t)d * sizeof *row; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

void dci_model_row_hashes(const dc_model *m, const float *x, int64_t n, uint64_t *h) {
    const int64_t d = m->dims[0];
    for (int64_t i = 0; i < n; i++) h[i] = row_hash(x + i * d, d);
}

dc_status dci_model_set_reference_parts(dc_model *m, const float *e, const float *e_nb,
                                        const uint64_t *h, int64_t n) {
    if (!m->enc_nb) return dci_fail(DC_ERR_INVALID_ARG, "reference set: no neighbour branch");
    const int64_t M = dci_model_dim(m);
    float *z0 = DCI_NEW_ARRAY(float, n * M, "reference embedding");
    float *enb = DCI_NEW_ARRAY(float, n * M, "reference neighbour embedding");
    uint64_t *hh = DCI_NEW_ARRAY(uint64_t, n, "reference hashes");
    if (!z0 || !enb || !hh) {
        dci_free(z0), dci_free(enb), dci_free(hh);
        return DC_ERR_NOMEM;
    }
    dci_model_combine(m, e, e_nb, NULL, n, z0);
    memcpy(enb, e_nb, (size_t)(n * M) * sizeof *enb);
    memcpy(hh, h, (size_t)n * sizeof *hh);
    dci_free(m->ref_z0), dci_free(m->ref_enb), dci_free(m->ref_hash);
    m->ref_z0 = z0;
    m->ref_enb = enb;
    m->ref_hash = hh;
    m->n_ref = n;
    return dci_embedding_check(z0, n, M);
}

/* The rows' encodings and hashes, then the reference set (z == NULL) or
 * the inference embedding z from them. */
static dc_status from_encoding(dc_model *m, const float *x, int64_t n, float *z) {
    const int64_t M = dci_model_dim(m);
    float *e = DCI_NEW_ARRAY(float, n * M, "embedding");
    float *enb = DCI_NEW_ARRAY(float, n * M, "neighbour embedding");
    uint64_t *h = DCI_NEW_ARRAY(uint64_t, n, "row hashes");
    dc_status st = (!e || !enb || !h) ? DC_ERR_NOMEM : DC_OK;
    if (st == DC_OK) {
        dci_model_encode(m, x, n, e, enb);
        dci_model_row_hashes(m, x, n, h);
        st = z ? dci_model_embed_encoded(m, e, enb, h, n, z)
               : dci_model_set_reference_parts(m, e, enb, h, n);
    }
    dci_free(e), dci_free(enb), dci_free(h);
    return st;
}

dc_status dci_model_set_reference(dc_model *m, const float *x, int64_t n) {
    if (!m->enc_nb) return dci_fail(DC_ERR_INVALID_ARG, "reference set: no neighbour branch");
    return from_encoding(m, x, n, NULL);
}

/* Neighbours of n query rows (hashes h) among the reference set: the k + 1
 * nearest by z0, of which the row itself (same hash) is dropped, else the
 * farthest. */
static dc_status reference_neighbours(const dc_model *m, const uint64_t *h, const float *z0,
                                      int64_t n, int64_t *nbr) {
    const int64_t M = dci_model_dim(m), k = m->neighbors_k;
    int64_t *cand = DCI_NEW_ARRAY(int64_t, n * (k + 1), "neighbour candidates");
    if (!cand) return DC_ERR_NOMEM;
    dc_status st = dci_knn_query(m->ref_z0, m->n_ref, z0, n, M, k + 1, cand, NULL);
    for (int64_t i = 0; st == DC_OK && i < n; i++) {
        const int64_t *c = cand + i * (k + 1);
        int64_t skip = k;
        for (int64_t l = 0; l <= k; l++)
            if (m->ref_hash[c[l]] == h[i]) {
                skip = l;
                break;
            }
        for (int64_t l = 0, o = 0; l <= k; l++)
            if (l != skip) nbr[i * k + o++] = c[l];
    }
    dci_free(cand);
    return st;
}

dc_status dci_model_embed_encoded(const dc_model *m, const float *e, const float *e_nb,
                                  const uint64_t *h, int64_t n, float *z) {
    const int64_t M = dci_model_dim(m), k = m->neighbors_k;
    const int ref = m->n_ref > k;
    int64_t *nbr = ref || k < n ? DCI_NEW_ARRAY(int64_t, n * k, "neighbour lists") : NULL;
    if ((ref || k < n) && !nbr) return DC_ERR_NOMEM;
    dci_model_combine(m, e, e_nb, NULL, n, z);
    dc_status st = dci_embedding_check(z, n, M);
    if (st == DC_OK && ref) {
        st = reference_neighbours(m, h, z, n, nbr);
        /* The max runs over the reference rows' e'. */
        if (st == DC_OK) dci_model_combine(m, e, m->ref_enb, nbr, n, z);
    } else if (st == DC_OK && nbr) {
        st = dci_knn_self(z, n, M, k, nbr, NULL);
        if (st == DC_OK) dci_model_combine(m, e, e_nb, nbr, n, z);
    }
    dci_free(nbr);
    return st;
}

dc_status dci_model_embed(dc_model *m, const float *x, int64_t n, float *z) {
    if (m->kind == DCI_MODEL_AUTOENCODER) {
        dci_mlp_apply(m->enc, x, n, z);
        return DC_OK;
    }
    if (!m->enc_nb) {
        dci_model_encode(m, x, n, z, NULL);
        dci_model_combine(m, z, NULL, NULL, n, z);
        return DC_OK;
    }
    return from_encoding(m, x, n, z);
}

dc_status dci_model_assign(const dc_model *m, const float *z, int64_t n, float *q,
                           int32_t *labels) {
    float *qq = q ? q : DCI_NEW_ARRAY(float, n * m->k, "soft assignment");
    if (!qq) return DC_ERR_NOMEM;
    const dci_assign_batch batch = {m->kernel, z, n, dci_model_dim(m), m->centers, m->weights,
                                    m->k};
    dc_status st = dci_assign_q(&batch, qq);
    if (st == DC_OK && labels) dci_assign_labels(qq, n, m->k, labels);
    if (!q) dci_free(qq);
    return st;
}

/* ---- records ---- */

static const char *kind_name(dci_model_kind k) {
    return k == DCI_MODEL_AUTOENCODER ? "autoencoder" : "clustering";
}

/* Record names with a prefix ("" or "ae."). */
typedef struct rec_name {
    char buf[96];
} rec_name;

static const char *pname(rec_name *n, const char *prefix, const char *name) {
    snprintf(n->buf, sizeof n->buf, "%s%s", prefix, name);
    return n->buf;
}

static void put_mlp(dci_rec_writer *w, const char *name, const dci_mlp *net) {
    if (net)
        dci_rec_put(w, name, DCI_REC_F32, dci_mlp_params_const(net), dci_mlp_param_count(net));
}

void dci_model_write(dci_rec_writer *w, const dc_model *m, const char *prefix) {
    rec_name n;
    dci_rec_put_str(w, pname(&n, prefix, "kind"), kind_name(m->kind));
    dci_rec_put_str(w, pname(&n, prefix, "method"), m->method);
    dci_rec_put(w, pname(&n, prefix, "dims"), DCI_REC_I64, m->dims, m->n_dims);
    dci_rec_put_i64(w, pname(&n, prefix, "batch"), m->batch);
    put_mlp(w, pname(&n, prefix, "enc"), m->enc);
    put_mlp(w, pname(&n, prefix, "enc_nb"), m->enc_nb);
    put_mlp(w, pname(&n, prefix, "dec"), m->dec);
    dci_rec_put_i64(w, pname(&n, prefix, "k"), m->k);
    const int64_t km = m->k * dci_model_dim(m);
    if (m->centers) dci_rec_put(w, pname(&n, prefix, "centers"), DCI_REC_F32, m->centers, km);
    if (m->weights) dci_rec_put(w, pname(&n, prefix, "weights"), DCI_REC_F32, m->weights, km);
    const double kern[3] = {m->kernel.a, m->kernel.b, (double)m->kernel.normalise};
    dci_rec_put(w, pname(&n, prefix, "kernel"), DCI_REC_F64, kern, 3);
    dci_rec_put_i64(w, pname(&n, prefix, "neighbors_k"), m->neighbors_k);
    dci_rec_put_f64(w, pname(&n, prefix, "pretrain_loss"), m->pretrain_loss);
    if (m->train_rows > 0) dci_rec_put_i64(w, pname(&n, prefix, "train_rows"), m->train_rows);
    if (m->input_scale != 1.0) dci_rec_put_f64(w, pname(&n, prefix, "input_scale"), m->input_scale);
    if (m->n_ref > 0) {
        const int64_t len = m->n_ref * dci_model_dim(m);
        dci_rec_put(w, pname(&n, prefix, "ref.z0"), DCI_REC_F32, m->ref_z0, len);
        dci_rec_put(w, pname(&n, prefix, "ref.enb"), DCI_REC_F32, m->ref_enb, len);
        dci_rec_put(w, pname(&n, prefix, "ref.hash"), DCI_REC_U64, m->ref_hash, m->n_ref);
    }
    char name[64];
    for (int i = 0; i < m->n_params; i++) {
        snprintf(name, sizeof name, "param.%s", m->params[i].name);
        dci_rec_put_f64(w, pname(&n, prefix, name), m->params[i].value);
    }
    if (m->norm.mode != DC_NORM_NONE) {
        dci_rec_put_str(w, pname(&n, prefix, "norm.mode"), dc_normalization_name(m->norm.mode));
        dci_rec_put(w, pname(&n, prefix, "norm.shift"), DCI_REC_F64, m->norm.shift, m->dims[0]);
        dci_rec_put(w, pname(&n, prefix, "norm.scale"), DCI_REC_F64, m->norm.scale, m->dims[0]);
    }
}

/* A fit stops with DC_ERR_NUMERIC once its numbers stop being finite, and
 * non-finite parameters would make every prediction NaN: a file holding
 * them is damaged. */
static dc_status check_finite_rec(const dci_rec_file *f, const char *name, const float *x,
                                  int64_t n) {
    if (dci_check_finite(x, 1, n, name) != DC_OK)
        return dci_fail(DC_ERR_FORMAT, "'%s': record '%s' holds NaN or Inf", f->path, name);
    return DC_OK;
}

static dc_status get_mlp(const dci_rec_file *f, const char *name, dci_mlp *net) {
    DCI_TRY(dci_rec_get(f, name, DCI_REC_F32, dci_mlp_param_count(net), dci_mlp_params(net)));
    return check_finite_rec(f, name, dci_mlp_params_const(net), dci_mlp_param_count(net));
}

/* The optional normalisation records: absent = the data were not normalised. */
static dc_status read_norm(const dci_rec_file *f, const char *prefix, dc_model *m) {
    rec_name n;
    if (dci_rec_count(f, pname(&n, prefix, "norm.mode")) < 0) return DC_OK;
    char name[16];
    DCI_TRY(dci_rec_get_str(f, n.buf, name, sizeof name));
    dc_normalization mode = DC_NORM_NONE;
    for (int i = DC_NORM_SCALE255; i <= DC_NORM_ZSCORE; i++)
        if (strcmp(name, dc_normalization_name((dc_normalization)i)) == 0)
            mode = (dc_normalization)i;
    if (mode == DC_NORM_NONE)
        return dci_fail(DC_ERR_FORMAT, "'%s': unknown normalisation '%s'", f->path, name);
    const int64_t d = m->dims[0];
    DCI_TRY(dci_norm_alloc(&m->norm, mode, d));
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "norm.shift"), DCI_REC_F64, d, m->norm.shift));
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "norm.scale"), DCI_REC_F64, d, m->norm.scale));
    for (int64_t j = 0; j < d; j++)
        if (!isfinite(m->norm.shift[j]) || !isfinite(m->norm.scale[j]))
            return dci_fail(DC_ERR_FORMAT, "'%s': normalisation of feature %lld is not finite",
                            f->path, (long long)j);
    return DC_OK;
}

/* The optional reference set: absent = neighbours among the rows given. */
static dc_status read_reference(const dci_rec_file *f, const char *prefix, dc_model *m) {
    rec_name n;
    const int64_t n_ref = dci_rec_count(f, pname(&n, prefix, "ref.hash"));
    if (n_ref < 0) return DC_OK;
    const int64_t M = dci_model_dim(m), len = n_ref * M;
    if (!m->enc_nb || n_ref <= m->neighbors_k || n_ref > INT64_MAX / M ||
        dci_rec_count(f, pname(&n, prefix, "ref.z0")) != len ||
        dci_rec_count(f, pname(&n, prefix, "ref.enb")) != len)
        return dci_fail(DC_ERR_FORMAT, "'%s': the reference set records do not match (%lld rows)",
                        f->path, (long long)n_ref);
    m->ref_z0 = DCI_NEW_ARRAY(float, len, "reference embedding");
    m->ref_enb = DCI_NEW_ARRAY(float, len, "reference neighbour embedding");
    m->ref_hash = DCI_NEW_ARRAY(uint64_t, n_ref, "reference hashes");
    if (!m->ref_z0 || !m->ref_enb || !m->ref_hash) return DC_ERR_NOMEM;
    m->n_ref = n_ref;
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "ref.z0"), DCI_REC_F32, len, m->ref_z0));
    DCI_TRY(check_finite_rec(f, n.buf, m->ref_z0, len));
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "ref.enb"), DCI_REC_F32, len, m->ref_enb));
    DCI_TRY(check_finite_rec(f, n.buf, m->ref_enb, len));
    return dci_rec_get(f, pname(&n, prefix, "ref.hash"), DCI_REC_U64, n_ref, m->ref_hash);
}

static dc_status read_into(const dci_rec_file *f, const char *prefix, dc_model *m) {
    rec_name n;
    DCI_TRY(get_mlp(f, pname(&n, prefix, "enc"), m->enc));
    if (m->enc_nb) DCI_TRY(get_mlp(f, pname(&n, prefix, "enc_nb"), m->enc_nb));
    if (m->dec) DCI_TRY(get_mlp(f, pname(&n, prefix, "dec"), m->dec));
    const int64_t km = m->k * dci_model_dim(m);
    if (m->centers) {
        DCI_TRY(dci_rec_get(f, pname(&n, prefix, "centers"), DCI_REC_F32, km, m->centers));
        DCI_TRY(check_finite_rec(f, n.buf, m->centers, km));
    }
    if (m->weights) {
        DCI_TRY(dci_rec_get(f, pname(&n, prefix, "weights"), DCI_REC_F32, km, m->weights));
        DCI_TRY(check_finite_rec(f, n.buf, m->weights, km));
    }
    double kern[3];
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "kernel"), DCI_REC_F64, 3, kern));
    m->kernel = (dci_kernel){kern[0], kern[1], kern[2] != 0.0};
    if (dci_kernel_check(m->kernel) != DC_OK || (kern[2] != 0.0 && kern[2] != 1.0))
        return dci_fail(DC_ERR_FORMAT, "'%s': invalid kernel (a = %g, b = %g)", f->path, kern[0],
                        kern[1]);
    DCI_TRY(dci_rec_get_f64(f, pname(&n, prefix, "pretrain_loss"), &m->pretrain_loss));
    if (dci_rec_count(f, pname(&n, prefix, "train_rows")) >= 0) {
        DCI_TRY(dci_rec_get_i64(f, n.buf, &m->train_rows));
        if (m->train_rows < 0)
            return dci_fail(DC_ERR_FORMAT, "'%s': train_rows = %lld", f->path,
                            (long long)m->train_rows);
    }
    if (dci_rec_count(f, pname(&n, prefix, "input_scale")) >= 0) {
        DCI_TRY(dci_rec_get_f64(f, n.buf, &m->input_scale));
        if (!(m->input_scale > 0.0) || !isfinite(m->input_scale))
            return dci_fail(DC_ERR_FORMAT, "'%s': input scale %g is not a positive number",
                            f->path, m->input_scale);
    }
    DCI_TRY(read_reference(f, prefix, m));
    DCI_TRY(read_norm(f, prefix, m));
    /* Hyper-parameters: every "<prefix>param.<name>" record. */
    char head[80];
    const size_t hl = (size_t)snprintf(head, sizeof head, "%sparam.", prefix);
    for (int64_t i = 0; i < f->n_recs; i++) {
        const dci_rec *r = &f->recs[i];
        if (r->name_len <= hl || r->name_len - hl >= sizeof m->params[0].name ||
            memcmp(r->name, head, hl) != 0)
            continue;
        char full[96];
        snprintf(full, sizeof full, "%.*s", (int)r->name_len, r->name);
        double v;
        DCI_TRY(dci_rec_get_f64(f, full, &v));
        dci_model_set_param(m, full + hl, v);
    }
    return DC_OK;
}

dc_status dci_model_read(const dci_rec_file *f, const char *prefix, dc_model **out) {
    *out = NULL;
    rec_name n;
    char kind[32], method[16];
    DCI_TRY(dci_rec_get_str(f, pname(&n, prefix, "kind"), kind, sizeof kind));
    DCI_TRY(dci_rec_get_str(f, pname(&n, prefix, "method"), method, sizeof method));
    dci_model_kind mk;
    if (strcmp(kind, "clustering") == 0) mk = DCI_MODEL_CLUSTERING;
    else if (strcmp(kind, "autoencoder") == 0) mk = DCI_MODEL_AUTOENCODER;
    else return dci_fail(DC_ERR_FORMAT, "'%s': unknown model kind '%s'", f->path, kind);
    int64_t n_dims = dci_rec_count(f, pname(&n, prefix, "dims"));
    if (n_dims < 3 || n_dims > DCI_DEEP_MAX_DIMS)
        return dci_fail(DC_ERR_FORMAT, "'%s': %lld encoder dims", f->path, (long long)n_dims);
    int64_t dims[DCI_DEEP_MAX_DIMS], batch, k, nk;
    DCI_TRY(dci_rec_get(f, pname(&n, prefix, "dims"), DCI_REC_I64, n_dims, dims));
    DCI_TRY(dci_rec_get_i64(f, pname(&n, prefix, "batch"), &batch));
    DCI_TRY(dci_rec_get_i64(f, pname(&n, prefix, "k"), &k));
    DCI_TRY(dci_rec_get_i64(f, pname(&n, prefix, "neighbors_k"), &nk));
    for (int i = 0; i < n_dims; i++)
        if (dims[i] < 1 || dims[i] > INT_MAX)
            return dci_fail(DC_ERR_FORMAT, "'%s': layer size %lld", f->path, (long long)dims[i]);
    const int with_nb = dci_rec_count(f, pname(&n, prefix, "enc_nb")) >= 0;
    const int with_dec = dci_rec_count(f, pname(&n, prefix, "dec")) >= 0;
    const int with_w = dci_rec_count(f, pname(&n, prefix, "weights")) >= 0;
    if (batch < 1 || batch > DCI_DEEP_MAX_BATCH || k < 0 || k > INT_MAX || nk < 0 ||
        (nk > 0) != with_nb || (mk == DCI_MODEL_CLUSTERING && k < 1))
        return dci_fail(DC_ERR_FORMAT, "'%s': inconsistent sizes (batch %lld, k %lld, %lld "
                                       "neighbours)",
                        f->path, (long long)batch, (long long)k, (long long)nk);
    /* The arrays those sizes imply must be in the file before anything is
     * allocated: a damaged size then fails here rather than asking for
     * memory the file could never fill. */
    int64_t rdims[DCI_DEEP_MAX_DIMS];
    for (int i = 0; i < (int)n_dims; i++) rdims[i] = dims[n_dims - 1 - i];
    const int64_t n_enc = dci_mlp_param_count_of(dims, (int)n_dims);
    const int64_t n_dec = dci_mlp_param_count_of(rdims, (int)n_dims);
    const int64_t km = mk == DCI_MODEL_CLUSTERING ? k * dims[n_dims - 1] : 0;
    if (n_enc < 0 || n_dec < 0 || dci_rec_count(f, pname(&n, prefix, "enc")) != n_enc ||
        (with_nb && dci_rec_count(f, pname(&n, prefix, "enc_nb")) != n_enc) ||
        (with_dec && dci_rec_count(f, pname(&n, prefix, "dec")) != n_dec) ||
        (km > 0 && dci_rec_count(f, pname(&n, prefix, "centers")) != km) ||
        (km > 0 && with_w && dci_rec_count(f, pname(&n, prefix, "weights")) != km))
        return dci_fail(DC_ERR_FORMAT, "'%s': the network or cluster records do not match the "
                                       "layer sizes and k",
                        f->path);
    dc_model *m = NULL;
    DCI_TRY(dci_model_new(&m, mk, method, dims, (int)n_dims, batch, with_nb, with_dec,
                          mk == DCI_MODEL_CLUSTERING ? k : 0, with_w));
    m->neighbors_k = nk;
    dc_status st = read_into(f, prefix, m);
    if (st != DC_OK) {
        dc_model_free(m);
        return st;
    }
    *out = m;
    return DC_OK;
}

/* ---- public API ---- */

dc_status dc_model_save(const dc_model *m, const char *path) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(path);
    dci_rec_writer w;
    DCI_TRY(dci_rec_begin(&w, path, DCI_MAGIC_MODEL));
    dci_model_write(&w, m, "");
    return dci_rec_commit(&w);
}

dc_status dc_model_load(dc_model **out, const char *path) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    DCI_CHECK_NULL(path);
    dci_rec_file f;
    DCI_TRY(dci_rec_load(&f, path));
    dc_status st = dci_model_read(&f, "", out);
    dci_rec_close(&f);
    return st;
}

dc_status dc_model_save_to_buffer(const dc_model *m, void *dst, size_t capacity, size_t *size) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(size);
    dci_rec_writer w;
    dci_rec_begin_mem(&w, DCI_MAGIC_MODEL, dst, capacity);
    dci_model_write(&w, m, "");
    return dci_rec_finish_mem(&w, dst != NULL, size);
}

dc_status dc_model_load_from_buffer(dc_model **out, const void *data, size_t size) {
    DCI_CHECK_NULL(out);
    *out = NULL;
    dci_rec_file f;
    DCI_TRY(dci_rec_load_mem(&f, data, size, "model buffer"));
    dc_status st = dci_model_read(&f, "", out);
    dci_rec_close(&f);
    return st;
}

static dc_status check_data(const dc_model *m, const dc_dataset *ds, const char *fn) {
    if (dc_dataset_cols(ds) != m->dims[0])
        return dci_fail(DC_ERR_SHAPE, "%s: data have %lld columns, the model takes %lld", fn,
                        (long long)dc_dataset_cols(ds), (long long)m->dims[0]);
    return DC_OK;
}

/* Both sides record a normalisation: it must be the same map, else the data
 * were scaled with statistics the model never saw. */
static dc_status check_normalization(const dc_model *m, const dc_dataset *ds, const char *fn) {
    const dci_norm *dn = dci_dataset_norm(ds);
    if (m->norm.mode == DC_NORM_NONE || dn->mode == DC_NORM_NONE ||
        dci_norm_equal(&m->norm, dn, m->dims[0]))
        return DC_OK;
    const char *data_mode = dc_normalization_name(dn->mode);
    if (dn->mode != m->norm.mode)
        return dci_fail(DC_ERR_INVALID_ARG, "%s: the data were normalised (%s), the model's "
                        "training data differently (%s); normalise the raw data with "
                        "dc_model_apply_normalization", fn, data_mode,
                        dc_normalization_name(m->norm.mode));
    return dci_fail(DC_ERR_INVALID_ARG, "%s: the data were normalised (%s) with other statistics "
                    "than the model's training data; normalise the raw data with "
                    "dc_model_apply_normalization", fn, data_mode);
}

dc_status dc_model_predict(dc_model *m, const dc_dataset *data, int32_t *labels,
                           int64_t capacity) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(data);
    DCI_CHECK_NULL(labels);
    if (m->kind != DCI_MODEL_CLUSTERING)
        return dci_fail(DC_ERR_UNSUPPORTED, "dc_model_predict: a pre-trained autoencoder has no "
                                            "clusters (fit a solver with it first)");
    DCI_TRY(check_data(m, data, "dc_model_predict"));
    DCI_TRY(check_normalization(m, data, "dc_model_predict"));
    const int64_t n = dc_dataset_rows(data);
    if (capacity < n)
        return dci_fail(DC_ERR_SHAPE, "dc_model_predict: capacity %lld < %lld rows",
                        (long long)capacity, (long long)n);
    float *z = DCI_NEW_ARRAY(float, n * dci_model_dim(m), "embedding"), *copy = NULL;
    const float *x = z ? dci_scaled_input(dc_dataset_data(data), n, m->dims[0], m->input_scale,
                                          &copy)
                       : NULL;
    dc_status st = x ? dci_model_embed(m, x, n, z) : DC_ERR_NOMEM;
    if (st == DC_OK) st = dci_model_assign(m, z, n, NULL, labels);
    dci_free(z);
    dci_free(copy);
    return st;
}

dc_status dc_model_embed(dc_model *m, const dc_dataset *data, float *z, int64_t capacity) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(data);
    DCI_CHECK_NULL(z);
    DCI_TRY(check_data(m, data, "dc_model_embed"));
    DCI_TRY(check_normalization(m, data, "dc_model_embed"));
    const int64_t n = dc_dataset_rows(data), M = dci_model_dim(m);
    if (capacity / M < n)
        return dci_fail(DC_ERR_SHAPE, "dc_model_embed: capacity %lld < %lld x %lld",
                        (long long)capacity, (long long)n, (long long)M);
    float *copy = NULL;
    const float *x = dci_scaled_input(dc_dataset_data(data), n, m->dims[0], m->input_scale, &copy);
    if (!x) return DC_ERR_NOMEM;
    dc_status st = dci_model_embed(m, x, n, z);
    dci_free(copy);
    return st;
}

dc_status dc_model_apply_normalization(const dc_model *m, dc_dataset *ds) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(ds);
    if (m->norm.mode == DC_NORM_NONE) return DC_OK;
    DCI_TRY(check_data(m, ds, "dc_model_apply_normalization"));
    if (dc_dataset_normalization(ds) != DC_NORM_NONE)
        return dci_fail(DC_ERR_STATE, "dc_model_apply_normalization: the data are already "
                        "normalised (%s); pass the raw data",
                        dc_normalization_name(dc_dataset_normalization(ds)));
    return dci_dataset_apply_norm(ds, &m->norm);
}

dc_normalization dc_model_normalization(const dc_model *m) {
    return m ? m->norm.mode : DC_NORM_NONE;
}

int dc_model_is_autoencoder(const dc_model *m) {
    return m && m->kind == DCI_MODEL_AUTOENCODER;
}
const char *dc_model_method(const dc_model *m) { return m ? m->method : NULL; }
int64_t dc_model_input_dim(const dc_model *m) { return m ? m->dims[0] : 0; }
int64_t dc_model_embed_dim(const dc_model *m) { return m ? dci_model_dim(m) : 0; }
int64_t dc_model_k(const dc_model *m) { return m ? m->k : 0; }
int64_t dc_model_train_rows(const dc_model *m) { return m ? m->train_rows : 0; }

static dc_status cluster_table(const dc_model *m, float *out, int64_t capacity, const char *fn) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(out);
    if (m->kind != DCI_MODEL_CLUSTERING)
        return dci_fail(DC_ERR_UNSUPPORTED, "%s: a pre-trained autoencoder has no clusters", fn);
    const int64_t M = dci_model_dim(m);
    if (capacity / M < m->k)
        return dci_fail(DC_ERR_SHAPE, "%s: capacity %lld < %lld x %lld", fn, (long long)capacity,
                        (long long)m->k, (long long)M);
    return DC_OK;
}

dc_status dc_model_centers(const dc_model *m, float *out, int64_t capacity) {
    DCI_TRY(cluster_table(m, out, capacity, "dc_model_centers"));
    memcpy(out, m->centers, (size_t)(m->k * dci_model_dim(m)) * sizeof *out);
    return DC_OK;
}

dc_status dc_model_weights(const dc_model *m, float *out, int64_t capacity) {
    DCI_TRY(cluster_table(m, out, capacity, "dc_model_weights"));
    const int64_t km = m->k * dci_model_dim(m);
    if (m->weights) memcpy(out, m->weights, (size_t)km * sizeof *out);
    else
        for (int64_t t = 0; t < km; t++) out[t] = 1.0f;
    return DC_OK;
}

dc_status dc_model_get(const dc_model *m, const char *name, double *value) {
    DCI_CHECK_NULL(m);
    DCI_CHECK_NULL(name);
    DCI_CHECK_NULL(value);
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0) {
            *value = m->params[i].value;
            return DC_OK;
        }
    return dci_fail(DC_ERR_UNKNOWN_NAME, "the model has no hyper-parameter '%s'", name);
}
