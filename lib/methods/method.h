/* Internal interface between the generic solver handle (solver.c) and the
 * methods (kmeans.c, scdbas.c, njw.c, edcwrn.c ...). A method declares its
 * parameters once (a table whose entries also place each value in the
 * method's typed configuration struct) and implements fit (and optionally
 * predict); solver.c fills the configuration before every fit, so that a
 * method reads fields, never names. Results are handed to the solver with
 * dci_solver_put_* so that the public query functions work the same for
 * every method. */
#ifndef DCI_METHOD_H
#define DCI_METHOD_H

#include <stddef.h>
#include <stdint.h>
#include "deepclust/solver.h"
#include "deepclust/status.h"

/* Which bounds of a parameter are excluded: a > 0 is lo = 0 with
 * DCI_OPEN_LO. dc_solver_set accepts exactly the values inside, and the
 * fits may rely on that (they check only what depends on the data). */
enum { DCI_CLOSED = 0, DCI_OPEN_LO = 1, DCI_OPEN_HI = 2 };

typedef struct dci_param_def {
    const char *name;
    dc_param_type type;
    double def, lo, hi;   /* bounds; inclusive unless `open` says */
    int open;             /* DCI_CLOSED, or DCI_OPEN_LO | DCI_OPEN_HI */
    const char *choices;  /* "a|b|c" for DC_PARAM_CHOICE, NULL otherwise */
    const char *help;
    /* The member of the method's configuration struct that holds the value
     * (DCI_PARAM_FIELD): byte offset and size. Its C type is the type's
     * DCI_PARAM_CTYPE_*: a choice is the index of its value in `choices`. */
    size_t field, field_size;
} dci_param_def;

#define DCI_PARAM_CTYPE_INT int64_t
#define DCI_PARAM_CTYPE_REAL double
#define DCI_PARAM_CTYPE_BOOL int
#define DCI_PARAM_CTYPE_CHOICE int
#define DCI_PARAM_FIELD(cfg_type, member) \
    offsetof(cfg_type, member), sizeof(((cfg_type *)0)->member)

/* One declaration per parameter. A method lists its parameters once,
 *     #define M_PARAMS(X, C) \
 *         X(C, name, TYPE, default, lo, hi, open, choices, help) ...
 * (TYPE: INT, REAL, BOOL or CHOICE), and the same lines give its typed
 * configuration and its table:
 *     typedef struct m_cfg { M_PARAMS(DCI_PARAM_MEMBER, ~) } m_cfg;
 *     static const dci_param_def params[] = {M_PARAMS(DCI_PARAM_ENTRY, m_cfg)};
 * A misspelt member does not compile; a default lives in one place. */
#define DCI_PARAM_MEMBER(C, name, type, def, lo, hi, open, choices, help) \
    DCI_PARAM_CTYPE_##type name;
#define DCI_PARAM_ENTRY(C, name, type, def, lo, hi, open, choices, help) \
    {#name, DC_PARAM_##type, def, lo, hi, open, choices, help, DCI_PARAM_FIELD(C, name)},

/* Writes values[i] (one per entry of p, in table order) into the member of
 * cfg that p[i] names, converted to its C type. The values are the
 * solver's, checked when they were set (a default may lie outside the
 * bounds: k = 0 means not set, which the fit reports). DC_ERR_INTERNAL when
 * a member's size does not fit its type (a table bug). */
dc_status dci_params_fill(const dci_param_def *p, int n, const double *values, void *cfg);

/* An output a method registers (dci_solver_put_output) on every successful
 * fit, or, when `when` names one of its parameters, on every successful fit
 * with that parameter nonzero and on no other. dc_solver_has_output answers
 * from this list before a fit; tests/test_solver.c checks it against what
 * the fits register. */
typedef struct dci_output_def {
    const char *name;
    const char *when; /* NULL: unconditional */
} dci_output_def;

typedef struct dci_method {
    const char *name;
    const dci_param_def *params;
    int n_params;
    /* Size of the configuration struct the params fill before every fit
     * (dc_solver.cfg); 0: none -- the deep methods fill their dci_deep_cfg
     * themselves, with a preset's values (methods/edcwrn_config.c). */
    size_t cfg_size;
    const dci_output_def *outputs; /* ends with {NULL, NULL} */
    /* Fits; on success the method has called dci_solver_put_labels. */
    dc_status (*fit)(dc_solver *s, const dc_dataset *ds);
    /* Optional: labels for new data (dst has dc_dataset_rows(ds) entries). */
    dc_status (*predict)(dc_solver *s, const dc_dataset *ds, int32_t *dst);
    /* Optional: frees s->state. */
    void (*free_state)(void *state);
} dci_method;

#define DCI_MAX_RESULTS 48

typedef struct dci_output {
    const char *name; /* static string */
    float *data;      /* owned */
    int64_t rows, cols;
} dci_output;

typedef struct dci_stat {
    const char *name; /* static string */
    double value;
} dci_stat;

struct dc_solver {
    const dci_method *m;
    double *pv; /* parameter values, in table order */
    /* The method's configuration (cfg_size bytes): pv typed, filled before
     * every fit. */
    void *cfg;
    /* Per parameter: 1 once the caller set it (dc_solver_set, _set_str) since
     * creation. dc_solver_resume keeps such values or refuses the checkpoint. */
    unsigned char *given;
    dc_progress_fn progress;
    void *progress_user;
    /* DCI_RUN_* (core/util.h), read and written atomically: the one field
     * dc_solver_cancel may touch while a fit runs on another thread. */
    int run;
    int32_t *labels;
    int64_t n_labels;
    dci_output out[DCI_MAX_RESULTS];
    int n_out;
    dci_stat stat[DCI_MAX_RESULTS];
    int n_stat;
    void *state; /* method-private, kept across fit for predict */
};

/* DC_OK when no fit of s runs; DC_ERR_STATE naming fn otherwise: the calls
 * that change what a running fit reads (parameters, the progress callback,
 * the checkpoint path, a given autoencoder, another fit) are refused from
 * its progress callback or another thread. */
dc_status dci_solver_check_idle(const dc_solver *s, const char *fn);

/* *value = the current value of a parameter of the solver's own method, by
 * name (fits read their configuration struct instead). A name the method
 * does not declare is a bug: DC_ERR_INTERNAL (and an assertion in debug
 * builds). */
dc_status dci_param_value(const dc_solver *s, const char *name, double *value);
/* Whether the caller set the parameter (see dc_solver.given); 0 for a name
 * the method does not declare. */
int dci_param_given(const dc_solver *s, const char *name);
/* Sets a parameter as dc_solver_set does (same checks and errors) without
 * marking it as given by the caller: values the library takes from a file. */
dc_status dci_param_set_internal(dc_solver *s, const char *name, double value);
/* The value as a user would write it: a choice name, true/false, a whole
 * number or %.17g, into buf (returned). */
const char *dci_param_format(const dc_solver *s, const char *name, double value, char *buf,
                             size_t size);

/* Takes ownership of `labels` (n entries, allocated with dci_malloc). */
void dci_solver_put_labels(dc_solver *s, int32_t *labels, int64_t n);
/* Takes ownership of `data` (rows*cols floats, dci_malloc). Replaces same name. */
dc_status dci_solver_put_output(dc_solver *s, const char *name, float *data, int64_t rows,
                                int64_t cols);
/* Copies `data` (rows*cols floats). */
dc_status dci_solver_put_output_copy(dc_solver *s, const char *name, const float *data,
                                     int64_t rows, int64_t cols);
dc_status dci_solver_put_stat(dc_solver *s, const char *name, double value);
/* Drops all results (labels, outputs, stats) but keeps parameters and state. */
void dci_solver_clear_results(dc_solver *s);

/* Validates k against n (1 <= k <= n, plus k >= kmin): DC_ERR_K_RANGE. */
dc_status dci_check_k(int64_t k, int64_t n, int64_t kmin, const char *method);

/* Progress through the solver's callback. */
dc_status dci_solver_progress(const dc_solver *s, const char *phase, long long done,
                              long long total, double value);

/* The built-in methods (defined in their own files). */
extern const dci_method dci_method_kmeans;
extern const dci_method dci_method_njw;
extern const dci_method dci_method_scdbas;
extern const dci_method dci_method_edcwrn;
extern const dci_method dci_method_idec;
extern const dci_method dci_method_dec;

#endif
