#include "graph/knn_select.h"

#include <math.h>
#include <stdlib.h>

static inline int cand_less(const knn_cand *a, const knn_cand *b) {
    return a->key < b->key || (a->key == b->key && a->j < b->j);
}

static int cmp_cand(const void *pa, const void *pb) {
    const knn_cand *a = pa, *b = pb;
    return cand_less(b, a) - cand_less(a, b);
}

static inline void swap_cand(knn_cand *a, knn_cand *b) {
    knn_cand t = *a;
    *a = *b;
    *b = t;
}

/* Hoare partition of a[lo..hi] (hi - lo >= 2) around the median of three: on
 * return a[lo..*pj] <= pivot <= a[*pi..hi] and *pj < *pi; with no equal
 * elements, at most the pivot itself lies between. */
static void partition(knn_cand *a, int64_t lo, int64_t hi, int64_t *pi, int64_t *pj) {
    int64_t mid = lo + (hi - lo) / 2;
    if (cand_less(&a[mid], &a[lo])) swap_cand(&a[mid], &a[lo]);
    if (cand_less(&a[hi], &a[lo])) swap_cand(&a[hi], &a[lo]);
    if (cand_less(&a[hi], &a[mid])) swap_cand(&a[hi], &a[mid]);
    const knn_cand pivot = a[mid];
    int64_t i = lo, j = hi;
    while (i <= j) {
        while (cand_less(&a[i], &pivot)) i++;
        while (cand_less(&pivot, &a[j])) j--;
        if (i <= j) swap_cand(&a[i++], &a[j--]);
    }
    *pi = i;
    *pj = j;
}

void dci_knn_select_smallest(knn_cand *a, int64_t n, int64_t k) {
    int64_t lo = 0, hi = n - 1;
    const int64_t t = k - 1;
    for (int rounds = 0; hi - lo > 1; rounds++) {
        if (rounds == 64) {
            qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, cmp_cand);
            return;
        }
        int64_t i, j;
        partition(a, lo, hi, &i, &j);
        if (t <= j) hi = j;
        else if (t >= i) lo = i;
        else return;
    }
    if (hi > lo && cand_less(&a[hi], &a[lo])) swap_cand(&a[lo], &a[hi]);
}

static void sort_cands_depth(knn_cand *a, int64_t n, int depth) {
    while (n > 16) {
        if (depth-- == 0) {
            qsort(a, (size_t)n, sizeof *a, cmp_cand);
            return;
        }
        int64_t i, j;
        partition(a, 0, n - 1, &i, &j);
        sort_cands_depth(a, j + 1, depth); /* the left part recursively, the right in the loop */
        a += i;
        n -= i;
    }
    for (int64_t i = 1; i < n; i++) {
        knn_cand c = a[i];
        int64_t p = i;
        while (p > 0 && cand_less(&c, &a[p - 1])) {
            a[p] = a[p - 1];
            p--;
        }
        a[p] = c;
    }
}

void dci_knn_sort_cands(knn_cand *a, int64_t n) {
    sort_cands_depth(a, n, 64);
}

double dci_knn_kth_smallest(double *a, double *b, int64_t n, int64_t k) {
    for (int rounds = 0; n > 16 && rounds < 64; rounds++) {
        double x = a[0], y = a[n / 2], z = a[n - 1];
        double p = fmax(fmin(x, y), fmin(fmax(x, y), z)); /* median of three */
        int64_t lo = 0, hi = n - 1;
        for (int64_t i = 0; i < n; i++) {
            /* lo <= hi before each step, so neither write hits a kept slot. */
            const double v = a[i];
            b[lo] = v;
            lo += v < p;
            b[hi] = v;
            hi -= v > p;
        }
        /* b[0..lo) < p, b[lo..hi] == p (not written), b(hi..n) > p. */
        if (k <= lo) {
            n = lo;
        } else if (k <= hi + 1) {
            return p;
        } else {
            k -= hi + 1;
            n -= hi + 1;
            b += hi + 1;
        }
        double *t = a;
        a = b;
        b = t;
    }
    /* Few left, or unlucky pivots: sort what remains. */
    for (int64_t i = 1; i < n; i++) {
        double v = a[i];
        int64_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
    return a[k - 1];
}
