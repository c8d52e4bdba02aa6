/* The deep model behind the public dc_model handle: the networks and the
 * clustering layer of EDCWRN / IDEC / DEC (or a bare pre-trained
 * autoencoder), its inference procedure, and its records in model and
 * checkpoint files (methods/model_io.h).
 *
 * Inference (used for the final labels of a fit and by predict, so both give
 * the same labels for the same rows):
 *   e_i = enc(x_i), e'_i = enc_nb(x_i)
 *   pass 1: z0_i = e_i + e'_i                (each sample its own neighbour)
 *   neighbours: with a reference set (a fitted model keeps its training
 *               rows' z0 and e', ref_*), the k nearest TRAINING rows by z0,
 *               the row itself left out when it is a training row (same
 *               input bytes); so a row's label does not depend on the rows
 *               predicted with it. Without one (models of earlier versions),
 *               the k nearest other rows among the rows given (fewer than
 *               k + 1 rows: each sample its own neighbour).
 *   pass 2: z_i = e_i + max_l e'_{nbr(i,l)}  (element-wise max)
 *   q_ij   = kernel(z_i, r_j, w_j),  label_i = argmax_j q_ij
 * Without the neighbour branch z_i = 2 e_i (the branch would see the sample
 * itself and, trained on the same input and gradient, equal enc; docs/methods.md "EDCWRN").
 *
 * Networks run in chunks of `batch` rows (the training batch), so a saved
 * and reloaded model repeats the fitted model's arithmetic exactly. */
#ifndef DCI_DEEP_MODEL_H
#define DCI_DEEP_MODEL_H

#include <stdint.h>

#include "cluster/assign.h"
#include "data/normalize.h"
#include "deepclust/model.h"
#include "methods/model_io.h"
#include "nn/dense.h"

#define DCI_DEEP_MAX_DIMS 16
/* The largest mini-batch of a fit (the "batch" parameter's maximum). The
 * networks of a model are sized for `batch` rows, so model files claiming
 * more are refused before anything is allocated. */
#define DCI_DEEP_MAX_BATCH 1000000
#define DCI_MODEL_MAX_PARAMS 48

typedef enum dci_model_kind {
    DCI_MODEL_CLUSTERING = 0, /* networks + clustering layer */
    DCI_MODEL_AUTOENCODER = 1 /* pre-trained encoder + decoder only */
} dci_model_kind;

typedef struct dci_model_param {
    char name[32];
    double value;
} dci_model_param;

struct dc_model {
    dci_model_kind kind;
    char method[16];                   /* "edcwrn", "idec", "dec" (that trained it) */
    int n_dims;
    int64_t dims[DCI_DEEP_MAX_DIMS];   /* encoder [d, h_1, ..., M]; decoder mirrors */
    int64_t batch;                     /* rows per network call */
    dci_mlp *enc;                      /* sample encoder (autoencoder: the encoder) */
    dci_mlp *enc_nb;                   /* neighbour encoder, NULL without the branch */
    dci_mlp *dec;                      /* NULL for DEC */
    int64_t k;                         /* clusters (0 for an autoencoder) */
    float *centers;                    /* k x M */
    float *weights;                    /* k x M, NULL = all 1 (weighting off) */
    dci_kernel kernel;
    int64_t neighbors_k;               /* 0 without the neighbour branch */
    double pretrain_loss;              /* NaN if unknown */
    int64_t train_rows;                /* rows of the fit's data, 0 if unknown */
    dci_norm norm;                     /* the training data's normalisation (d = dims[0]) */
    /* The networks see x * input_scale (a power of two, dci_input_scale):
     * the public entry points (dc_model_predict, dc_model_embed) apply it;
     * the dci_model_* functions take data already scaled, as training does. */
    double input_scale;
    /* The reference set of the neighbour branch (NULL without the branch,
     * or in models of earlier versions): per training row, z0 and e' (n_ref
     * x M) and a hash of the row's input bytes. */
    int64_t n_ref;
    float *ref_z0, *ref_enb;
    uint64_t *ref_hash;
    int n_params;                      /* hyper-parameters of the fit, for the record */
    dci_model_param params[DCI_MODEL_MAX_PARAMS];
};

/* A model with zero parameters: encoder dims[0..n_dims-1], networks sized for
 * `batch` rows, the neighbour encoder / decoder / weights when asked, and k
 * centres (k = 0 for an autoencoder). */
dc_status dci_model_new(dc_model **out, dci_model_kind kind, const char *method,
                        const int64_t *dims, int n_dims, int64_t batch, int with_nb,
                        int with_dec, int64_t k, int with_weights);
/* The power of two s that brings the 99th percentile of |x| over count
 * values (a fixed, evenly spaced sample of at most 65,536 of them) nearest
 * to 1: 1 for pixels in [0, 1], 1/256 for [0, 255], 1/4 for z-scores. When
 * that percentile is 0 (mostly zeros) the largest |x| decides; 1 for all
 * zeros. x must be finite. */
double dci_input_scale(const float *x, int64_t count);
/* Its two halves: the 99th percentile of |x| (of a sample; 0 when empty),
 * and the power of two that brings it near 1 (distributed, the largest
 * block's percentile decides). */
double dci_input_top(const float *x, int64_t count);
double dci_input_scale_of(double top);
/* x (n x d) times s into a new array, or x itself when s = 1 (*copy NULL).
 * NULL with DC_ERR_NOMEM when the copy cannot be allocated. */
const float *dci_scaled_input(const float *x, int64_t n, int64_t d, double s, float **copy);

/* Deep copy (networks get fresh workspaces of the same size). */
dc_status dci_model_clone(dc_model **out, const dc_model *m);

static inline int64_t dci_model_dim(const dc_model *m) { return m->dims[m->n_dims - 1]; }

void dci_model_set_param(dc_model *m, const char *name, double value);

/* e = enc(x) and, with the branch, e_nb = enc_nb(x), each n x M. */
void dci_model_encode(dc_model *m, const float *x, int64_t n, float *e, float *e_nb);
/* z = e + max_l e_nb[nbr(i, l)] over nbr (n x neighbors_k row indices into
 * e_nb), or e + e_nb when nbr is NULL; z = 2e without the branch. */
void dci_model_combine(const dc_model *m, const float *e, const float *e_nb, const int64_t *nbr,
                       int64_t n, float *z);
/* DC_ERR_NUMERIC unless every entry of z (n x M) is finite and at most
 * DCI_EMBED_LIMIT in magnitude: beyond that squared distances overflow float
 * and neighbour search or the kernel would be meaningless (a diverged fit). */
#define DCI_EMBED_LIMIT 1e15f
dc_status dci_embedding_check(const float *z, int64_t n, int64_t M);
/* The inference embedding of n rows (see the top of this file). */
dc_status dci_model_embed(dc_model *m, const float *x, int64_t n, float *z);
/* Makes the n rows of x (the training data, as the networks see it) the
 * model's reference set (replacing any). Needs the neighbour branch. */
dc_status dci_model_set_reference(dc_model *m, const float *x, int64_t n);

/* The parts of the above for rows encoded elsewhere (the distributed fit
 * gathers them): e and e_nb (n x M) of dci_model_encode, the rows' hashes
 * (dci_model_row_hashes); copied. */
dc_status dci_model_set_reference_parts(dc_model *m, const float *e, const float *e_nb,
                                        const uint64_t *h, int64_t n);
void dci_model_row_hashes(const dc_model *m, const float *x, int64_t n, uint64_t *h);
/* dci_model_embed of a network with the neighbour branch from the rows'
 * encodings and hashes. */
dc_status dci_model_embed_encoded(const dc_model *m, const float *e, const float *e_nb,
                                  const uint64_t *h, int64_t n, float *z);
/* q (n x k, may be NULL) and labels (n, may be NULL) of embeddings z. */
dc_status dci_model_assign(const dc_model *m, const float *z, int64_t n, float *q,
                           int32_t *labels);

/* The model's records (methods/model_io.h), common to model files and
 * checkpoints, each name preceded by `prefix` (e.g. "ae." for the
 * pre-trained autoencoder inside a checkpoint):
 *   kind (text "clustering"|"autoencoder"), method (text), dims (i64[n_dims]),
 *   batch (i64), enc (f32: W_0, b_0, W_1, ... of nn/dense.h), enc_nb (f32,
 *   with the neighbour branch), dec (f32, with a decoder), k (i64),
 *   centers (f32 k*M), weights (f32 k*M, with weighting), kernel
 *   (f64[3]: a, b, normalise), neighbors_k (i64), pretrain_loss (f64),
 *   param.<name> (f64, one per hyper-parameter of the fit), train_rows
 *   (i64, rows of the fit's data; absent in older files: 0), and, only when
 *   the training data were normalised, norm.mode (text "scale255"|"minmax"|
 *   "zscore"), norm.shift and norm.scale (f64[d]); files without them (and
 *   files written before they existed) load as "not normalised"; and
 *   input_scale (f64), only when it is not 1 (absent: 1); and, with a
 *   reference set, ref.z0 and ref.enb (f32 n_ref*M) and ref.hash (u64
 *   n_ref). */
void dci_model_write(dci_rec_writer *w, const dc_model *m, const char *prefix);
/* Every name above is read with `prefix` prepended ("" for a model file). */
dc_status dci_model_read(const dci_rec_file *f, const char *prefix, dc_model **out);

#endif
