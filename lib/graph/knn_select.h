/* The selections of the kNN search (graph/knn.c): its candidates ordered by
 * (key, position), and the k-th smallest of an array of doubles. Not
 * installed. */
#ifndef DCI_GRAPH_KNN_SELECT_H
#define DCI_GRAPH_KNN_SELECT_H

#include <stdint.h>

/* A candidate: key = exact squared distance or a lower bound on it; j = its
 * position in the reference set (the sets are ascending, so comparing
 * positions compares rows). (key, j) is a strict total order. */
typedef struct knn_cand {
    double key;
    int64_t j;
} knn_cand;

/* Rearranges a[0..n) so that a[0..k) are its k smallest and a[k-1] the k-th
 * (1 <= k <= n). Quickselect; a bounded number of rounds, then a sort, so
 * unlucky pivots cannot make it quadratic. */
void dci_knn_select_smallest(knn_cand *a, int64_t n, int64_t k);
/* Sorts a[0..n) ascending (introsort: quicksort, then qsort past a depth). */
void dci_knn_sort_cands(knn_cand *a, int64_t n);
/* The k-th smallest (1 <= k <= n) of a[0..n); a and b (n doubles each) are
 * clobbered. Quickselect with out-of-place, branch-free three-way partitions:
 * on keys in random order a comparison branch mispredicts about every other
 * time, and this is the selection run each time a candidate buffer fills. */
double dci_knn_kth_smallest(double *a, double *b, int64_t n, int64_t k);

#endif
