/* Noise on a data set (EDCWRN paper, Sec. 5.6): the public face of the noise models of
 * nn/augment.c, which the robustness experiment and the CLI's --noise use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "nn/augment.h"

/* The public enum is a view of the internal one: the values must agree. */
_Static_assert((int)DC_NOISE_GAUSSIAN == (int)DCI_NOISE_GAUSSIAN &&
                   (int)DC_NOISE_SALT_PEPPER == (int)DCI_NOISE_SALT_PEPPER &&
                   (int)DC_NOISE_SPECKLE == (int)DCI_NOISE_SPECKLE,
               "dc_noise_kind and dci_noise_kind differ");

static const char *const noise_names[] = {
    [DC_NOISE_GAUSSIAN] = "gaussian",
    [DC_NOISE_SALT_PEPPER] = "saltpepper",
    [DC_NOISE_SPECKLE] = "speckle",
};
#define N_NOISE ((int)(sizeof noise_names / sizeof noise_names[0]))

const char *dc_noise_name(dc_noise_kind kind) {
    return (int)kind >= 0 && (int)kind < N_NOISE ? noise_names[kind] : NULL;
}

/* Checked before the data are touched, so that a refused call leaves the
 * set as it was (dci_noise_apply checks too, but only as it goes). */
static dc_status check_level(dc_noise_kind kind, double level) {
    switch (kind) {
    case DC_NOISE_GAUSSIAN:
    case DC_NOISE_SPECKLE:
        if (!(level >= 0.0) || !isfinite(level))
            return dci_fail(DC_ERR_INVALID_ARG, "%s noise: variance %g must be a number >= 0",
                            noise_names[kind], level);
        return DC_OK;
    case DC_NOISE_SALT_PEPPER:
        if (!(level >= 0.0 && level <= 1.0))
            return dci_fail(DC_ERR_INVALID_ARG, "saltpepper noise: density %g is outside [0, 1]",
                            level);
        return DC_OK;
    }
    return dci_fail(DC_ERR_INVALID_ARG, "unknown noise kind %d (gaussian, saltpepper, speckle)",
                    (int)kind);
}

dc_status dc_dataset_add_noise(dc_dataset *ds, dc_noise_kind kind, double level, uint64_t seed) {
    DCI_CHECK_NULL(ds);
    DCI_TRY(check_level(kind, level));
    const int64_t count = ds->n * ds->d;
    float lo = ds->x[0], hi = ds->x[0];
    for (int64_t i = 1; i < count; i++) {
        if (ds->x[i] < lo) lo = ds->x[i];
        if (ds->x[i] > hi) hi = ds->x[i];
    }
    /* Clipped to a single value, any noise gives the data back. */
    if (level == 0.0 || lo == hi) return DC_OK;
    float *x;
    DCI_TRY(dci_dataset_mutable(ds, &x));
    dci_rng r;
    dci_rng_init(&r, seed, DCI_STREAM_NOISE);
    return dci_noise_apply(x, count, (dci_noise_kind)kind, level, lo, hi, &r);
}

dc_status dc_noise_parse(const char *text, dc_noise_kind *kind, double *level) {
    DCI_CHECK_NULL(text);
    DCI_CHECK_NULL(kind);
    DCI_CHECK_NULL(level);
    const char *colon = strchr(text, ':');
    if (!colon)
        return dci_fail(DC_ERR_INVALID_ARG, "noise '%s': expected KIND:LEVEL, e.g. gaussian:0.1",
                        text);
    const size_t len = (size_t)(colon - text);
    int found = -1;
    for (int i = 0; i < N_NOISE; i++)
        if (strlen(noise_names[i]) == len && strncasecmp(text, noise_names[i], len) == 0) found = i;
    if (found < 0)
        return dci_fail(DC_ERR_INVALID_ARG, "noise '%s': unknown kind '%.*s' (gaussian, saltpepper, "
                        "speckle)", text, (int)len, text);
    char *end;
    const double v = strtod(colon + 1, &end);
    if (end == colon + 1 || *end)
        return dci_fail(DC_ERR_INVALID_ARG, "noise '%s': level '%s' is not a number", text,
                        colon + 1);
    DCI_TRY(check_level((dc_noise_kind)found, v));
    *kind = (dc_noise_kind)found;
    *level = v;
    return DC_OK;
}
