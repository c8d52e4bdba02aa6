#include "cluster/hungarian.h"

#include <math.h>

#include "core/alloc.h"
#include "core/error.h"

/* Minimum-cost assignment of every one of the n "agents" to a distinct one of
 * the m >= n "tasks", cost(i, j) = -w[i * agent_stride + j * task_stride].
 * The strides let the caller present w or its transpose without a copy.
 * Classic O(n^2 m) formulation (1-based, task 0 is a sentinel): each new
 * agent grows a Dijkstra-like tree over the tasks on reduced costs until it
 * reaches a free task, then the path is flipped. match[j] is the agent (1..n)
 * on task j, 0 if free. */
static dc_status solve_min_cost(const double *w, int64_t n, int64_t m, int64_t agent_stride,
                                int64_t task_stride, int64_t *match) {
    double *u = DCI_NEW_ZEROS(double, n + 1, "hungarian potentials");
    double *v = DCI_NEW_ZEROS(double, m + 1, "hungarian potentials");
    double *minv = DCI_NEW_ARRAY(double, m + 1, "hungarian slack");
    int64_t *way = DCI_NEW_ZEROS(int64_t, m + 1, "hungarian path");
    unsigned char *used = DCI_NEW_ARRAY(unsigned char, m + 1, "hungarian marks");
    dc_status st = DC_OK;
    if (!u || !v || !minv || !way || !used) {
        st = DC_ERR_NOMEM;
        goto done;
    }
    for (int64_t j = 0; j <= m; j++) match[j] = 0;

    for (int64_t i = 1; i <= n; i++) {
        match[0] = i;
        int64_t j0 = 0;
        for (int64_t j = 0; j <= m; j++) {
            minv[j] = INFINITY;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            int64_t i0 = match[j0], j1 = 0;
            double delta = INFINITY;
            const double *row = w + (i0 - 1) * agent_stride;
            for (int64_t j = 1; j <= m; j++) {
                if (used[j]) continue;
                double cur = -row[(j - 1) * task_stride] - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            /* j1 == 0 cannot happen with finite costs and m >= n; guard anyway
             * so a logic error cannot turn into an out-of-bounds walk. */
            if (j1 == 0) {
                st = dci_fail(DC_ERR_INTERNAL, "hungarian: no augmenting path for row %lld",
                              (long long)i);
                goto done;
            }
            for (int64_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[match[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (match[j0] != 0);
        do {
            int64_t j1 = way[j0];
            match[j0] = match[j1];
            j0 = j1;
        } while (j0 != 0);
    }

done:
    dci_free(u);
    dci_free(v);
    dci_free(minv);
    dci_free(way);
    dci_free(used);
    return st;
}

dc_status dci_hungarian_max(const double *w, int64_t rows, int64_t cols,
                            int64_t *assign_row_to_col, double *total) {
    DCI_CHECK_NULL(w);
    DCI_CHECK_NULL(assign_row_to_col);
    if (rows < 1 || cols < 1)
        return dci_fail(DC_ERR_SHAPE, "hungarian: matrix is %lld x %lld, need at least 1 x 1",
                        (long long)rows, (long long)cols);
    if (rows > INT64_MAX / cols)
        return dci_fail(DC_ERR_SHAPE, "hungarian: %lld x %lld matrix is too large",
                        (long long)rows, (long long)cols);
    for (int64_t k = 0; k < rows * cols; k++)
        if (!isfinite(w[k]))
            return dci_fail(DC_ERR_NONFINITE, "hungarian: weight (%lld, %lld) is not finite",
                            (long long)(k / cols), (long long)(k % cols));

    /* The shorter side plays the agents so that every agent gets a task. */
    int transposed = rows > cols;
    int64_t n = transposed ? cols : rows, m = transposed ? rows : cols;
    int64_t *match = DCI_NEW_ARRAY(int64_t, m + 1, "hungarian matching");
    if (!match) return DC_ERR_NOMEM;
    dc_status st = transposed ? solve_min_cost(w, n, m, 1, cols, match)
                              : solve_min_cost(w, n, m, cols, 1, match);
    if (st == DC_OK) {
        for (int64_t i = 0; i < rows; i++) assign_row_to_col[i] = -1;
        for (int64_t j = 1; j <= m; j++) {
            if (match[j] == 0) continue;
            if (transposed) assign_row_to_col[j - 1] = match[j] - 1;
            else assign_row_to_col[match[j] - 1] = j - 1;
        }
        if (total) {
            double sum = 0.0;
            for (int64_t i = 0; i < rows; i++)
                if (assign_row_to_col[i] >= 0) sum += w[i * cols + assign_row_to_col[i]];
            *total = sum;
        }
    }
    dci_free(match);
    return st;
}
