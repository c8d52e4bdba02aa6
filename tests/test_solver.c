/* The generic solver handle through the public API, using the kmeans method. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deepclust.h"

static int cancel_after_first(void *user, const char *phase, long long done, long long total, double v) {
    (void)phase, (void)done, (void)total, (void)v;
    return ++*(int *)user >= 1;
}

int main(void) {
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
        CHECK(cur == def && lo <= def && def <= hi && strlen(dc_solver_param_help(s, name)) > 0);
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
