/* Data sets in memory (data/dataset.c, normalize.c, noise.c): creation and
 * ownership, labels, image shape, subsets, normalisation and added noise,
 * with every bad argument, since every method takes its input this way. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"
#include "dataset_common.h"

/* ---------------------------------------------------------------- memory */

static void test_create(void) {
    float a[6] = {1, 2, 3, 4, 5, 6};
    dc_dataset *c = NULL, *b = NULL;
    CHECK_OK(dc_dataset_create(&c, a, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_create(&b, a, 3, 2, DC_BORROW));
    CHECK(dc_dataset_rows(c) == 3 && dc_dataset_cols(c) == 2);
    CHECK(dc_dataset_data(b) == a);
    CHECK(dc_dataset_data(c) != a);
    a[0] = 100;
    CHECK(dc_dataset_data(c)[0] == 1.0f);   /* copy: independent of the caller */
    CHECK(dc_dataset_data(b)[0] == 100.0f); /* borrow: sees the caller's array */
    CHECK(dc_dataset_labels(c) == NULL);
    int64_t h = 9, w = 9, ch = 9;
    CHECK(dc_dataset_image_shape(c, &h, &w, &ch) == 0 && h == 0 && w == 0 && ch == 0);

    /* Normalising a borrowed set copies first: the caller's array stays. */
    CHECK_OK(dc_dataset_normalize(b, DC_NORM_SCALE255));
    CHECK(a[0] == 100.0f && a[5] == 6.0f);
    CHECK(dc_dataset_data(b) != a);
    CHECK(dc_dataset_data(b)[0] == 100.0f / 255.0f && dc_dataset_data(b)[5] == 6.0f / 255.0f);
    dc_dataset_free(b);
    dc_dataset_free(c);
    dc_dataset_free(NULL);
    CHECK(dc_dataset_rows(NULL) == 0 && dc_dataset_data(NULL) == NULL);

    dc_dataset *x = (dc_dataset *)&x;
    CHECK_ERR(dc_dataset_create(NULL, a, 3, 2, DC_COPY), DC_ERR_NULL, "out");
    CHECK_ERR(dc_dataset_create(&x, NULL, 3, 2, DC_COPY), DC_ERR_NULL, "data");
    CHECK(x == NULL); /* out is cleared on failure */
    CHECK_ERR(dc_dataset_create(&x, a, 0, 2, DC_COPY), DC_ERR_SHAPE, "no rows");
    CHECK_ERR(dc_dataset_create(&x, a, -1, 2, DC_COPY), DC_ERR_SHAPE, "no rows");
    CHECK_ERR(dc_dataset_create(&x, a, 3, 0, DC_BORROW), DC_ERR_SHAPE, "no columns");
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, (dc_ownership)5), DC_ERR_INVALID_ARG, "mode 5");
    a[3] = NAN;
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, DC_COPY), DC_ERR_NONFINITE, "row 1, column 1");
    a[3] = 4;
    a[4] = -INFINITY;
    CHECK_ERR(dc_dataset_create(&x, a, 3, 2, DC_BORROW), DC_ERR_NONFINITE, "row 2, column 0 is Inf");
    CHECK(x == NULL);
}

static void test_labels_shape_subset(void) {
    float a[20];
    for (int i = 0; i < 20; i++) a[i] = (float)i;
    int32_t y[5] = {4, 3, 2, 1, 0};
    dc_dataset *ds = NULL, *sub = NULL;
    CHECK_OK(dc_dataset_create(&ds, a, 5, 4, DC_COPY));
    CHECK_ERR(dc_dataset_set_labels(ds, y, 4), DC_ERR_SHAPE, "4 labels, data has 5 rows");
    CHECK_ERR(dc_dataset_set_labels(ds, NULL, 5), DC_ERR_NULL, "labels");
    CHECK_OK(dc_dataset_set_labels(ds, y, 5));
    y[0] = 99;
    CHECK(dc_dataset_labels(ds)[0] == 4); /* copied */
    CHECK_ERR(dc_dataset_set_image_shape(ds, 2, 3, 1), DC_ERR_SHAPE, "4 columns");
    CHECK_STATUS(dc_dataset_set_image_shape(ds, 0, 4, 1), DC_ERR_SHAPE);
    CHECK_OK(dc_dataset_set_image_shape(ds, 2, 2, 1));
    int64_t h, w, c;
    CHECK(dc_dataset_image_shape(ds, &h, &w, &c) == 1 && h == 2 && w == 2 && c == 1);

    CHECK_OK(dc_dataset_subset(&sub, ds, 1, 3));
    CHECK(data_equals(sub, 3, 4, a + 4));
    CHECK(labels_equal(sub, 3, (const int32_t[]){3, 2, 1}));
    CHECK(dc_dataset_image_shape(sub, &h, &w, &c) == 1 && h == 2 && w == 2 && c == 1);
    dc_dataset_free(sub);
    CHECK_ERR(dc_dataset_subset(&sub, ds, 3, 3), DC_ERR_INVALID_ARG, "outside");
    CHECK_STATUS(dc_dataset_subset(&sub, ds, -1, 2), DC_ERR_INVALID_ARG);
    CHECK_ERR(dc_dataset_subset(&sub, ds, 0, 0), DC_ERR_SHAPE, "no rows");
    CHECK_STATUS(dc_dataset_subset(&sub, NULL, 0, 1), DC_ERR_NULL);
    /* Bounds near INT64_MAX: the detail gives the rows asked for, computed
     * without signed overflow (UBSan), never a wrapped negative number. */
    CHECK_ERR(dc_dataset_subset(&sub, ds, INT64_MAX - 1, 5), DC_ERR_INVALID_ARG,
              "5 rows from row 9223372036854775806 are outside 0..4");
    CHECK_ERR(dc_dataset_subset(&sub, ds, INT64_MAX, INT64_MAX), DC_ERR_INVALID_ARG,
              "from row 9223372036854775807");
    CHECK_ERR(dc_dataset_subset(&sub, ds, 4, INT64_MAX), DC_ERR_INVALID_ARG, "outside 0..4");
    CHECK(sub == NULL);
    dc_dataset_free(ds);
}

/* ------------------------------------------------------------ normalise */

static void test_normalize(void) {
    /* Feature 0: 1, 2, 4 (min 1, range 3, mean 7/3, population std sqrt(14)/3);
     * feature 1 is constant and must become 0 under minmax and zscore. */
    const float base[6] = {1, 5, 2, 5, 4, 5};
    const double s14 = sqrt(14.0);
    dc_dataset *ds = NULL;

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_SCALE255));
    const float *x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], 1.0 / 255, 1e-7);
    CHECK_NEAR(x[4], 4.0 / 255, 1e-7);
    CHECK_NEAR(x[5], 5.0 / 255, 1e-7);
    dc_dataset_free(ds);

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_MINMAX));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], 0.0, 0);
    CHECK_NEAR(x[2], 1.0 / 3, 1e-7);
    CHECK_NEAR(x[4], 1.0, 1e-7);
    CHECK(x[1] == 0.0f && x[3] == 0.0f && x[5] == 0.0f);
    dc_dataset_free(ds);

    CHECK_OK(dc_dataset_create(&ds, base, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_ZSCORE));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], -4 / s14, 1e-6);
    CHECK_NEAR(x[2], -1 / s14, 1e-6);
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK(x[1] == 0.0f && x[3] == 0.0f && x[5] == 0.0f);
    dc_dataset_free(ds);

    /* The same feature shifted by 2^20: float accumulation of x^2 would lose
     * the spread entirely; double two-pass statistics keep it. */
    const float shifted[6] = {1048577, 5, 1048578, 5, 1048580, 5};
    CHECK_OK(dc_dataset_create(&ds, shifted, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_ZSCORE));
    x = dc_dataset_data(ds);
    CHECK_NEAR(x[0], -4 / s14, 1e-6);
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_NONE));
    CHECK_NEAR(x[4], 5 / s14, 1e-6);
    CHECK_ERR(dc_dataset_normalize(ds, (dc_normalization)9), DC_ERR_INVALID_ARG, "mode 9");
    CHECK_STATUS(dc_dataset_normalize(NULL, DC_NORM_ZSCORE), DC_ERR_NULL);
    dc_dataset_free(ds);

    dc_normalization m = DC_NORM_NONE;
    CHECK_OK(dc_normalization_from_name("zscore", &m));
    CHECK(m == DC_NORM_ZSCORE);
    CHECK_OK(dc_normalization_from_name("MinMax", &m));
    CHECK(m == DC_NORM_MINMAX);
    CHECK_OK(dc_normalization_from_name("scale255", &m));
    CHECK(m == DC_NORM_SCALE255);
    CHECK_OK(dc_normalization_from_name("none", &m));
    CHECK(m == DC_NORM_NONE);
    CHECK_ERR(dc_normalization_from_name("l2", &m), DC_ERR_UNKNOWN_NAME, "'l2'");
    CHECK_STATUS(dc_normalization_from_name(NULL, &m), DC_ERR_NULL);
}

/* ---------------------------------------------------------------- noise */

/* Mean and variance of the differences after - before over values [from, n). */
static void diff_moments(const float *before, const float *after, int64_t from, int64_t n,
                         double scale, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (int64_t i = from; i < n; i++) {
        double e = ((double)after[i] - before[i]) / scale;
        s += e;
        s2 += e * e;
    }
    const double m = (double)(n - from);
    *mean = s / m;
    *var = s2 / m - *mean * *mean;
}

/* A 1000 x 1000 set of `fill`, except values 0 and 1 which set the data
 * range to [-100, 100]: wide enough that small noise is never clipped. */
static dc_dataset *noise_set(float fill, float **x) {
    const int64_t n = 1000 * 1000;
    *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) (*x)[i] = fill;
    (*x)[0] = -100.0f;
    (*x)[1] = 100.0f;
    dc_dataset *ds = NULL;
    CHECK_OK(dc_dataset_create(&ds, *x, 1000, 1000, DC_BORROW));
    return ds;
}

static void test_noise(void) {
    const int64_t n = 1000 * 1000;
    float *x;
    double mean, var;

    /* Gaussian: the added noise has mean 0 and the variance asked for. */
    dc_dataset *ds = noise_set(0.25f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, 0.04, 7));
    const float *y = dc_dataset_data(ds);
    CHECK(y != x && x[2] == 0.25f); /* borrowed: copied, the caller's array untouched */
    diff_moments(x, y, 2, n, 1.0, &mean, &var);
    CHECK_MSG(fabs(mean) < 1e-3 && fabs(var - 0.04) < 0.04 * 0.01, "mean %g var %g", mean, var);
    CHECK(y[0] >= -100.0f && y[1] <= 100.0f); /* clipped to the range */
    dc_dataset_free(ds);
    free(x);

    /* Speckle: x + x*n, so (y - x) / x has variance v. */
    ds = noise_set(2.0f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, 0.09, 7));
    diff_moments(x, dc_dataset_data(ds), 2, n, 2.0, &mean, &var);
    CHECK_MSG(fabs(mean) < 1e-3 && fabs(var - 0.09) < 0.09 * 0.01, "mean %g var %g", mean, var);
    dc_dataset_free(ds);
    free(x);

    /* Salt & pepper: density p, half at the minimum, half at the maximum,
     * the rest unchanged. */
    ds = noise_set(0.5f, &x);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 0.2, 3));
    y = dc_dataset_data(ds);
    int64_t salt = 0, pepper = 0, same = 0;
    for (int64_t i = 2; i < n; i++) {
        pepper += y[i] == -100.0f;
        salt += y[i] == 100.0f;
        same += y[i] == 0.5f;
    }
    CHECK(salt + pepper + same == n - 2);
    CHECK_MSG(fabs((double)salt / (double)n - 0.1) < 0.002 &&
                  fabs((double)pepper / (double)n - 0.1) < 0.002,
              "salt %lld pepper %lld", (long long)salt, (long long)pepper);

    /* Determinism: the seed alone decides the noise. */
    dc_dataset *again = NULL, *other = NULL;
    CHECK_OK(dc_dataset_create(&again, x, 1000, 1000, DC_COPY));
    CHECK_OK(dc_dataset_create(&other, x, 1000, 1000, DC_COPY));
    CHECK_OK(dc_dataset_add_noise(again, DC_NOISE_SALT_PEPPER, 0.2, 3));
    CHECK_OK(dc_dataset_add_noise(other, DC_NOISE_SALT_PEPPER, 0.2, 4));
    CHECK(memcmp(dc_dataset_data(again), y, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(dc_dataset_data(other), y, sizeof(float) * (size_t)n) != 0);
    dc_dataset_free(again);
    dc_dataset_free(other);
    dc_dataset_free(ds);
    free(x);

    /* Clipping to the data's range [0, 1]: large noise piles up at both ends. */
    float small[4000];
    for (int i = 0; i < 4000; i++) small[i] = (float)(i % 11) / 10.0f;
    int32_t labels[1000];
    for (int i = 0; i < 1000; i++) labels[i] = i % 3;
    CHECK_OK(dc_dataset_create(&ds, small, 1000, 4, DC_COPY));
    CHECK_OK(dc_dataset_set_labels(ds, labels, 1000));
    CHECK_OK(dc_dataset_normalize(ds, DC_NORM_MINMAX));
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, 1.0, 1));
    y = dc_dataset_data(ds);
    int inside = 1, at_lo = 0, at_hi = 0;
    for (int i = 0; i < 4000; i++) {
        inside &= y[i] >= 0.0f && y[i] <= 1.0f;
        at_lo += y[i] == 0.0f;
        at_hi += y[i] == 1.0f;
    }
    CHECK(inside && at_lo > 400 && at_hi > 400);
    CHECK(dc_dataset_normalization(ds) == DC_NORM_MINMAX && dc_dataset_labels(ds)[4] == 1);
    /* Speckle of zeros is zero: multiplicative noise leaves them alone. */
    float before[4000];
    memcpy(before, y, sizeof before);
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, 0.5, 2));
    y = dc_dataset_data(ds);
    int zeros_kept = 1;
    for (int i = 0; i < 4000; i++)
        if (before[i] == 0.0f) zeros_kept &= y[i] == 0.0f;
    CHECK(zeros_kept);

    /* Refused levels and kinds leave the set as it was. */
    memcpy(before, y, sizeof before);
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_GAUSSIAN, -0.1, 1), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, NAN, 1), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SPECKLE, INFINITY, 1), DC_ERR_INVALID_ARG,
              "variance");
    CHECK_ERR(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 1.5, 1), DC_ERR_INVALID_ARG,
              "density");
    CHECK_ERR(dc_dataset_add_noise(ds, (dc_noise_kind)7, 0.1, 1), DC_ERR_INVALID_ARG,
              "unknown noise kind 7");
    CHECK_STATUS(dc_dataset_add_noise(NULL, DC_NOISE_GAUSSIAN, 0.1, 1), DC_ERR_NULL);
    CHECK(memcmp(before, dc_dataset_data(ds), sizeof before) == 0);
    /* Level 0 changes nothing. */
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 0.0, 1));
    CHECK(memcmp(before, dc_dataset_data(ds), sizeof before) == 0);
    dc_dataset_free(ds);

    /* A constant set stays constant (every value clipped to the one value). */
    float flat[6] = {3, 3, 3, 3, 3, 3};
    CHECK_OK(dc_dataset_create(&ds, flat, 3, 2, DC_COPY));
    CHECK_OK(dc_dataset_add_noise(ds, DC_NOISE_SALT_PEPPER, 1.0, 1));
    CHECK(memcmp(flat, dc_dataset_data(ds), sizeof flat) == 0);
    dc_dataset_free(ds);

    /* The CLI's spelling. */
    dc_noise_kind kind;
    double level;
    CHECK_OK(dc_noise_parse("gaussian:0.1", &kind, &level));
    CHECK(kind == DC_NOISE_GAUSSIAN && level == 0.1);
    CHECK_OK(dc_noise_parse("saltpepper:1", &kind, &level));
    CHECK(kind == DC_NOISE_SALT_PEPPER && level == 1.0);
    CHECK_OK(dc_noise_parse("speckle:2e-1", &kind, &level));
    CHECK(kind == DC_NOISE_SPECKLE && level == 0.2);
    CHECK_ERR(dc_noise_parse("blur:0.1", &kind, &level), DC_ERR_INVALID_ARG, "unknown kind 'blur'");
    CHECK_ERR(dc_noise_parse("gaussian", &kind, &level), DC_ERR_INVALID_ARG, "KIND:LEVEL");
    CHECK_ERR(dc_noise_parse("gaussian:", &kind, &level), DC_ERR_INVALID_ARG, "not a number");
    CHECK_ERR(dc_noise_parse("gaussian:0.1x", &kind, &level), DC_ERR_INVALID_ARG, "not a number");
    CHECK_ERR(dc_noise_parse("saltpepper:1.01", &kind, &level), DC_ERR_INVALID_ARG, "density");
    CHECK_ERR(dc_noise_parse("speckle:-1", &kind, &level), DC_ERR_INVALID_ARG, "variance");
    CHECK_ERR(dc_noise_parse("speckle:nan", &kind, &level), DC_ERR_INVALID_ARG, "variance");
    CHECK(!strcmp(dc_noise_name(DC_NOISE_SALT_PEPPER), "saltpepper"));
    CHECK(dc_noise_name((dc_noise_kind)3) == NULL && dc_noise_name((dc_noise_kind)-1) == NULL);
}

int main(void) {
    make_dir();
    test_create();
    test_labels_shape_subset();
    test_normalize();
    test_noise();
    remove_dir();
    DC_TEST_END();
}
