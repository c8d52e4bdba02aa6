/* Distributed spectral embedding (spectral_mpi.h). Every rank holds the CSR
 * rows of its own points; the columns it touches that belong to other ranks
 * ("ghosts") are fetched by one MPI_Alltoallv per use (a halo exchange),
 * set up once from the graph. Numbering: global row ids throughout, local
 * index i <-> global row0 + i, ghost g <-> position in the sorted ghost list. */
#include "mpi/spectral_mpi.h"

#include <arpack/parpack.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/util.h"
#include "deepclust/mpi.h"
#include "graph/affinity.h"
#include "graph/eigen.h"
#include "graph/pca.h"
#include "mpi/comm.h"
#include "mpi/pca_mpi.h"

#define KNN_TILE 256
#define DEFLATE_SHIFT 3.0 /* as graph/spectral.c */

/* Of the last embedding, for the byte model (docs/scaling.md): mat-vecs and
 * the vector entries one halo exchange sends. */
static int64_t g_matvecs, g_halo_sent;

void dci_spectral_mpi_counts(int64_t *matvecs, int64_t *halo_sent) {
    *matvecs = g_matvecs;
    *halo_sent = g_halo_sent;
}

/* ---- halo exchange ---------------------------------------------------- */

typedef struct halo {
    int size;
    int64_t nl, row0, n;
    const int64_t *offs; /* size + 1: every rank's first row, then n (not owned) */
    int64_t ng;      /* ghosts */
    int64_t *gid;    /* ng global ids, ascending (so grouped by owner) */
    int *rcount, *rdisp, *scount, *sdisp; /* size each */
    int64_t ns;      /* entries sent per exchange */
    int64_t *sidx;   /* ns local indices to send */
    double *sbuf;    /* ns */
} halo;

static void halo_free(halo *h) {
    dci_free(h->gid);
    dci_free(h->rcount);
    dci_free(h->sidx);
    dci_free(h->sbuf);
    memset(h, 0, sizeof *h);
}

/* The rank holding global row g: the last one whose first row is <= g.
 * offs: size + 1 entries, every rank's first row in rank order, then n (the
 * blocks need not be dc_mpi_block's split: row_offsets). */
static int owner_of(const int64_t *offs, int size, int64_t g) {
    int lo = 0, hi = size - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (offs[mid] <= g) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Every rank's first row (offs[r]) and offs[size] = n, from an allgather of
 * the block sizes: the caller's blocks are any contiguous blocks in rank
 * order (deepclust/mpi.h), not necessarily dc_mpi_block's. Checks that b
 * agrees with them (row0, n), on every rank. *maxrows: the largest block.
 * Collective. */
static dc_status row_offsets(const dci_block *b, int64_t **offs_out, int64_t *maxrows) {
    const int size = dci_mpi_size();
    int64_t *offs = DCI_NEW_ARRAY(int64_t, (int64_t)size + 1, "row offsets");
    dc_status st = dci_mpi_agree(offs ? DC_OK : DC_ERR_NOMEM, "spectral embedding (distributed)");
    const int64_t nl = b->nl;
    if (st == DC_OK) st = dci_mpi_allgather(&nl, 1, MPI_INT64_T, offs, DCI_PH_SETUP, "rows per rank");
    int64_t big = 0, acc = 0;
    for (int r = 0; st == DC_OK && r < size; r++) {
        const int64_t c = offs[r];
        offs[r] = acc;
        acc += c;
        if (c > big) big = c;
    }
    if (st == DC_OK) {
        offs[size] = acc;
        if (offs[dci_mpi_rank()] != b->row0 || acc != b->n)
            st = dci_fail(DC_ERR_INVALID_ARG, "spectral embedding (distributed): rank %d's block "
                          "says rows %lld..%lld of %lld, the ranks' row counts put it at "
                          "%lld..%lld of %lld", dci_mpi_rank(), (long long)b->row0,
                          (long long)(b->row0 + nl), (long long)b->n,
                          (long long)offs[dci_mpi_rank()], (long long)(offs[dci_mpi_rank()] + nl),
                          (long long)acc);
        st = dci_mpi_agree(st, "spectral embedding (distributed)");
    }
    if (st != DC_OK) {
        dci_free(offs);
        return st;
    }
    *offs_out = offs;
    *maxrows = big;
    return DC_OK;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* From the ghost ids (sorted, unique, none own); takes ownership of gid. */
static dc_status halo_init(halo *h, const int64_t *offs, int64_t n, int64_t nl, int64_t row0,
                           int64_t *gid, int64_t ng) {
    const int size = dci_mpi_size();
    memset(h, 0, sizeof *h);
    *h = (halo){.size = size, .nl = nl, .row0 = row0, .n = n, .offs = offs, .ng = ng, .gid = gid};
    h->rcount = DCI_NEW_ZEROS(int, 4 * (int64_t)size, "halo counts");
    dc_status st = dci_mpi_agree(h->rcount ? DC_OK : DC_ERR_NOMEM, "halo");
    if (st != DC_OK) return st;
    h->rdisp = h->rcount + size;
    h->scount = h->rdisp + size;
    h->sdisp = h->scount + size;
    for (int64_t g = 0; g < ng; g++) h->rcount[owner_of(offs, size, gid[g])]++;
    for (int r = 1; r < size; r++) h->rdisp[r] = h->rdisp[r - 1] + h->rcount[r - 1];
    DCI_TRY(dci_mpi_alltoall(h->rcount, 1, MPI_INT, h->scount, DCI_PH_GRAPH, "halo counts"));
    for (int r = 0; r < size; r++) {
        if (r) h->sdisp[r] = h->sdisp[r - 1] + h->scount[r - 1];
        h->ns += h->scount[r];
    }
    h->sidx = DCI_NEW_ARRAY(int64_t, h->ns > 0 ? h->ns : 1, "halo send list");
    h->sbuf = DCI_NEW_ARRAY(double, h->ns > 0 ? h->ns : 1, "halo send buffer");
    st = dci_mpi_agree(h->sidx && h->sbuf ? DC_OK : DC_ERR_NOMEM, "halo");
    if (st != DC_OK) return st;
    /* who wants which of my rows: the requests, as global ids */
    DCI_TRY(dci_mpi_alltoallv(gid, h->rcount, h->rdisp, h->sidx, h->scount, h->sdisp,
                              MPI_INT64_T, DCI_PH_GRAPH, "halo requests"));
    for (int64_t e = 0; e < h->ns; e++) h->sidx[e] -= row0;
    return DC_OK;
}

/* ghost[g] = the owner's v at gid[g]. */
static dc_status halo_exchange(halo *h, const double *v, double *ghost, dci_mpi_phase ph) {
    for (int64_t e = 0; e < h->ns; e++) h->sbuf[e] = v[h->sidx[e]];
    return dci_mpi_alltoallv(h->sbuf, h->scount, h->sdisp, ghost, h->rcount, h->rdisp,
                             MPI_DOUBLE, ph, "halo exchange");
}

/* Local column index of global id g: own rows first, then ghosts. */
static int64_t local_col(const halo *h, int64_t g) {
    if (g >= h->row0 && g < h->row0 + h->nl) return g - h->row0;
    const int64_t *p = bsearch(&g, h->gid, (size_t)h->ng, sizeof *h->gid, cmp_i64);
    return h->nl + (p - h->gid);
}

/* ---- exact kNN around the ring -------------------------------------------- */

/* Row i's kk best so far, ascending by (distance, global id). */
static void knn_offer(double *bd, int64_t *bi, int64_t kk, int64_t *have, double d2, int64_t g) {
    int64_t h = *have;
    if (h == kk && (d2 > bd[h - 1] || (d2 == bd[h - 1] && g > bi[h - 1]))) return;
    int64_t pos = h < kk ? h : kk - 1;
    while (pos > 0 && (bd[pos - 1] > d2 || (bd[pos - 1] == d2 && bi[pos - 1] > g))) {
        bd[pos] = bd[pos - 1];
        bi[pos] = bi[pos - 1];
        pos--;
    }
    bd[pos] = d2;
    bi[pos] = g;
    if (h < kk) *have = h + 1;
}

/* The kk nearest other rows of every own row: bd (squared distances) and bi
 * (global ids), nl x kk. z: nl x q. Each rank's block travels once around
 * the ring (N - 1 MPI_Sendrecv_replace of maxrows rows, the largest block:
 * ceil(n/N) for dc_mpi_block's split); offs: row_offsets. */
static dc_status knn_ring(const dci_block *b, const int64_t *offs, int64_t maxrows, int64_t kk,
                          double *bd, int64_t *bi) {
    const float *z = b->x;
    const int64_t nl = b->nl, q = b->d, row0 = b->row0;
    const int size = dci_mpi_size(), rank = dci_mpi_rank();
    const int64_t stride = q + 1;
    double *blk = DCI_NEW_ARRAY(double, maxrows * stride, "kNN ring block");
    double *own = DCI_NEW_ARRAY(double, nl * stride, "kNN own rows");
    double *g = DCI_NEW_ARRAY(double, KNN_TILE * maxrows, "kNN distances");
    int64_t *have = DCI_NEW_ZEROS(int64_t, nl, "kNN counts");
    dc_status st = blk && own && g && have ? DC_OK : DC_ERR_NOMEM;
    st = dci_mpi_agree(st, "kNN");
    if (st == DC_OK) {
        /* rows as double with their squared norm in the last column */
        for (int64_t i = 0; i < nl; i++) {
            double s = 0.0;
            for (int64_t c = 0; c < q; c++) {
                own[i * stride + c] = z[i * q + c];
                s += (double)z[i * q + c] * z[i * q + c];
            }
            own[i * stride + q] = s;
        }
        memcpy(blk, own, sizeof(double) * (size_t)(nl * stride));
    }
    for (int step = 0; st == DC_OK && step < size; step++) {
        const int origin = (rank - step + size) % size;
        const int64_t f = offs[origin], nb = offs[origin + 1] - offs[origin];
        for (int64_t i0 = 0; i0 < nl; i0 += KNN_TILE) {
            const int64_t t = nl - i0 < KNN_TILE ? nl - i0 : KNN_TILE;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)nb, (int)q, -2.0,
                        own + i0 * stride, (int)stride, blk, (int)stride, 0.0, g, (int)nb);
            for (int64_t r = 0; r < t; r++) {
                const int64_t i = i0 + r, gi = row0 + i;
                const double ni = own[i * stride + q];
                for (int64_t j = 0; j < nb; j++) {
                    if (f + j == gi) continue;
                    double d2 = g[r * nb + j] + ni + blk[j * stride + q];
                    knn_offer(bd + i * kk, bi + i * kk, kk, &have[i], d2 > 0.0 ? d2 : 0.0, f + j);
                }
            }
        }
        if (step + 1 < size)
            st = dci_mpi_sendrecv_replace(blk, maxrows * stride, MPI_DOUBLE, (rank + 1) % size,
                                          (rank - 1 + size) % size, DCI_PH_KNN, "kNN ring");
        if (st == DC_OK) st = dci_cancel_check("spectral embedding (kNN)");
        st = dci_mpi_agree(st, "kNN");
    }
    dci_free(blk);
    dci_free(own);
    dci_free(g);
    dci_free(have);
    return st;
}

/* ---- the affinity rows and the graph ---------------------------------------- */

typedef struct edge {
    int64_t col; /* global */
    double dist; /* as float, like the single-process graph */
} edge;

static int cmp_edge(const void *a, const void *b) {
    const edge *x = a, *y = b;
    if (x->col != y->col) return (x->col > y->col) - (x->col < y->col);
    return (x->dist > y->dist) - (x->dist < y->dist);
}

/* The local graph: CSR rows of the symmetrised m-NN affinity, columns local
 * (own rows, then ghosts), plus everything the operator needs. */
typedef struct lgraph {
    int64_t nl, n, row0, K;
    const int64_t *offs;   /* row_offsets (not owned) */
    halo h;
    int64_t *rowptr, *col; /* col: local column index */
    double *val;           /* W, then S = D^-1/2 W D^-1/2 */
    double *dinv;          /* nl: D^-1/2 (0 for isolated points) */
    double *v;             /* nl: the known eigenvector entry of the point's component */
    int64_t *comp;         /* nl: component number */
    int64_t c, c_graph;    /* components of the operator's graph and of W */
    double tau;
    double *xfull;         /* nl + ng: a vector with its ghosts */
    double *csum;          /* c + 1 */
} lgraph;

static void lgraph_free(lgraph *g) {
    halo_free(&g->h);
    dci_free(g->rowptr);
    dci_free(g->col);
    dci_free(g->val);
    dci_free(g->dinv);
    dci_free(g->v);
    dci_free(g->comp);
    dci_free(g->xfull);
    dci_free(g->csum);
}

/* Rows of W from the first m neighbours of each own row (bi, bd: nl x kk)
 * and the sigmas: the forward edges, plus the reverse ones sent by the
 * owners of the other ends; a pair present both ways keeps the smaller
 * distance on both sides, so W stays exactly symmetric. */
static dc_status build_graph(lgraph *g, const int64_t *bi, const double *bd, int64_t kk,
                             int64_t m, const double *sigma) {
    const int size = dci_mpi_size();
    const int64_t nl = g->nl, n = g->n, row0 = g->row0;
    int *cnt = DCI_NEW_ZEROS(int, 4 * (int64_t)size, "edge counts");
    dc_status st = dci_mpi_agree(cnt ? DC_OK : DC_ERR_NOMEM, "affinity");
    if (st != DC_OK) { /* another rank's failure: this one may hold cnt */
        dci_free(cnt);
        return st;
    }
    int *sdisp = cnt + size, *rcnt = sdisp + size, *rdisp = rcnt + size;
    for (int64_t i = 0; i < nl; i++)
        for (int64_t l = 0; l < m; l++) cnt[owner_of(g->offs, size, bi[i * kk + l])] += 3;
    for (int r = 1; r < size; r++) sdisp[r] = sdisp[r - 1] + cnt[r - 1];
    const int64_t nsend = (int64_t)sdisp[size - 1] + cnt[size - 1];
    double *sb = DCI_NEW_ARRAY(double, nsend > 0 ? nsend : 1, "reverse edges");
    int *fill = DCI_NEW_ARRAY(int, size, "edge fill");
    st = dci_mpi_agree(sb && fill ? DC_OK : DC_ERR_NOMEM, "affinity");
    double *rb = NULL;
    edge *items = NULL;
    int64_t *gh = NULL;
    if (st != DC_OK) goto done;
    memcpy(fill, sdisp, sizeof(int) * (size_t)size);
    for (int64_t i = 0; i < nl; i++)
        for (int64_t l = 0; l < m; l++) {
            const int64_t j = bi[i * kk + l];
            int r = owner_of(g->offs, size, j);
            double *t = sb + fill[r];
            fill[r] += 3;
            t[0] = (double)j;
            t[1] = (double)(row0 + i);
            t[2] = (double)(float)sqrt(bd[i * kk + l]);
        }
    if ((st = dci_mpi_alltoall(cnt, 1, MPI_INT, rcnt, DCI_PH_GRAPH, "edge counts"))) goto done;
    int64_t nrecv = 0;
    for (int r = 0; r < size; r++) {
        rdisp[r] = (int)nrecv;
        nrecv += rcnt[r];
    }
    rb = DCI_NEW_ARRAY(double, nrecv > 0 ? nrecv : 1, "reverse edges");
    st = dci_mpi_agree(rb ? DC_OK : DC_ERR_NOMEM, "affinity");
    if (st != DC_OK) goto done;
    if ((st = dci_mpi_alltoallv(sb, cnt, sdisp, rb, rcnt, rdisp, MPI_DOUBLE, DCI_PH_GRAPH,
                                "reverse edges")))
        goto done;
    /* per row: forward m + the reverse edges it received */
    g->rowptr = DCI_NEW_ZEROS(int64_t, nl + 1, "CSR rows");
    items = DCI_NEW_ARRAY(edge, nl * m + nrecv / 3 + 1, "CSR entries");
    st = g->rowptr && items ? DC_OK : DC_ERR_NOMEM;
    if (st == DC_OK) {
        for (int64_t i = 0; i < nl; i++) g->rowptr[i + 1] = m;
        for (int64_t e = 0; e < nrecv; e += 3) g->rowptr[(int64_t)rb[e] - row0 + 1]++;
        for (int64_t i = 0; i < nl; i++) g->rowptr[i + 1] += g->rowptr[i];
        int64_t *pos = DCI_NEW_ARRAY(int64_t, nl > 0 ? nl : 1, "CSR fill");
        if (!pos) st = DC_ERR_NOMEM;
        else {
            memcpy(pos, g->rowptr, sizeof(int64_t) * (size_t)nl);
            for (int64_t i = 0; i < nl; i++)
                for (int64_t l = 0; l < m; l++)
                    items[pos[i]++] = (edge){bi[i * kk + l], (double)(float)sqrt(bd[i * kk + l])};
            for (int64_t e = 0; e < nrecv; e += 3) {
                int64_t i = (int64_t)rb[e] - row0;
                items[pos[i]++] = (edge){(int64_t)rb[e + 1], rb[e + 2]};
            }
            dci_free(pos);
        }
    }
    st = dci_mpi_agree(st, "affinity");
    if (st != DC_OK) goto done;
    /* sort each row by column, merge duplicates (the smaller distance: first after sorting) */
    int64_t nnz = 0, ng = 0;
    for (int64_t i = 0; i < nl; i++) {
        int64_t a = g->rowptr[i], b = g->rowptr[i + 1], begin = nnz;
        qsort(items + a, (size_t)(b - a), sizeof *items, cmp_edge);
        for (int64_t e = a; e < b; e++)
            if (nnz == begin || items[nnz - 1].col != items[e].col) items[nnz++] = items[e];
        g->rowptr[i] = begin;
    }
    g->rowptr[nl] = nnz;
    /* the ghosts: columns outside the own rows, sorted and unique */
    gh = DCI_NEW_ARRAY(int64_t, nnz > 0 ? nnz : 1, "ghost ids");
    st = dci_mpi_agree(gh ? DC_OK : DC_ERR_NOMEM, "affinity");
    if (st != DC_OK) goto done;
    for (int64_t e = 0; e < nnz; e++)
        if (items[e].col < row0 || items[e].col >= row0 + nl) gh[ng++] = items[e].col;
    qsort(gh, (size_t)ng, sizeof *gh, cmp_i64);
    int64_t u = 0;
    for (int64_t e = 0; e < ng; e++)
        if (u == 0 || gh[u - 1] != gh[e]) gh[u++] = gh[e];
    st = halo_init(&g->h, g->offs, n, nl, row0, gh, u);
    gh = NULL; /* owned by the halo now */
    if (st != DC_OK) goto done;
    g->col = DCI_NEW_ARRAY(int64_t, nnz > 0 ? nnz : 1, "CSR columns");
    g->val = DCI_NEW_ARRAY(double, nnz > 0 ? nnz : 1, "CSR values");
    g->xfull = DCI_NEW_ARRAY(double, nl + u + 1, "vector with ghosts");
    st = dci_mpi_agree(g->col && g->val && g->xfull ? DC_OK : DC_ERR_NOMEM, "affinity");
    if (st != DC_OK) goto done;
    /* the ghosts' sigmas, then W */
    memcpy(g->xfull, sigma, sizeof(double) * (size_t)nl);
    if ((st = halo_exchange(&g->h, sigma, g->xfull + nl, DCI_PH_GRAPH))) goto done;
    for (int64_t i = 0; i < nl; i++)
        for (int64_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++) {
            const int64_t c = local_col(&g->h, items[e].col);
            g->col[e] = c;
            g->val[e] = exp(-(items[e].dist * items[e].dist) / (sigma[i] * g->xfull[c]));
        }
done:
    dci_free(cnt);
    dci_free(sb);
    dci_free(fill);
    dci_free(rb);
    dci_free(items);
    dci_free(gh);
    return st;
}

/* Degrees, components (label propagation: every point takes the lowest
 * global id it is connected to, one halo exchange per round until nothing
 * changes), regularisation when there are more components than K, the
 * known eigenvectors v and D^-1/2; then W becomes S in place. */
static dc_status graph_finish(lgraph *g, int regularize) {
    const int64_t nl = g->nl, n = g->n, K = g->K;
    g->dinv = DCI_NEW_ARRAY(double, nl > 0 ? nl : 1, "degrees");
    g->v = DCI_NEW_ARRAY(double, nl > 0 ? nl : 1, "component vectors");
    g->comp = DCI_NEW_ARRAY(int64_t, nl > 0 ? nl : 1, "components");
    double *lab = DCI_NEW_ARRAY(double, nl > 0 ? nl : 1, "component labels");
    double *vol = NULL;
    int64_t *roots = NULL;
    dc_status st = dci_mpi_agree(g->dinv && g->v && g->comp && lab ? DC_OK : DC_ERR_NOMEM,
                                 "graph");
    if (st != DC_OK) goto done;
    for (int64_t i = 0; i < nl; i++) {
        double s = 0.0;
        for (int64_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++) s += g->val[e];
        g->dinv[i] = s;
        lab[i] = (double)(g->row0 + i);
    }
    for (;;) {
        memcpy(g->xfull, lab, sizeof(double) * (size_t)nl);
        if ((st = halo_exchange(&g->h, lab, g->xfull + nl, DCI_PH_GRAPH))) goto done;
        double changed = 0.0;
        for (int64_t i = 0; i < nl; i++) {
            double best = lab[i];
            for (int64_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++)
                if (g->val[e] > 0.0 && g->xfull[g->col[e]] < best) best = g->xfull[g->col[e]];
            if (best < lab[i]) {
                lab[i] = best;
                changed += 1.0;
            }
        }
        if ((st = dci_mpi_allreduce(&changed, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_GRAPH,
                                    "components")))
            goto done;
        if (changed == 0.0) break;
    }
    double c = 0.0;
    for (int64_t i = 0; i < nl; i++) c += lab[i] == (double)(g->row0 + i);
    if ((st = dci_mpi_allreduce(&c, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_GRAPH, "components"))) goto done;
    g->c = g->c_graph = (int64_t)c;
    if (g->c > K && !regularize) {
        st = dci_fail(DC_ERR_DEGENERATE,
                      "spectral embedding: the affinity graph has %lld connected components, "
                      "more than k = %lld; raise the graph's neighbours (parameter 'm'), lower "
                      "k, or let the graph be regularised (parameter 'disconnected' = regularize)",
                      (long long)g->c, (long long)K);
        goto done;
    }
    vol = DCI_NEW_ZEROS(double, (g->c > K ? 1 : g->c) + 1, "component volumes");
    st = dci_mpi_agree(vol ? DC_OK : DC_ERR_NOMEM, "graph");
    if (st != DC_OK) goto done;
    if (g->c > K) { /* the regularised graph: one component (graph/spectral.c) */
        double s = 0.0;
        for (int64_t i = 0; i < nl; i++) s += g->dinv[i];
        if ((st = dci_mpi_allreduce(&s, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_GRAPH, "degrees"))) goto done;
        g->tau = s > 0.0 ? s / (double)n : 1.0;
        for (int64_t i = 0; i < nl; i++) {
            g->dinv[i] += g->tau;
            g->comp[i] = 0;
        }
        g->c = 1;
        dci_log(DC_LOG_WARN, "spectral embedding (distributed): the affinity graph has %lld "
                "connected components, more than k = %lld; embedded the regularised graph "
                "instead (tau / n = %g added to every affinity, tau = %g, the mean degree; "
                "parameter 'disconnected' = error refuses)",
                (long long)g->c_graph, (long long)K, g->tau / (double)n, g->tau);
    } else { /* component numbers in the order of their lowest member */
        int64_t mine = 0;
        for (int64_t i = 0; i < nl; i++) mine += lab[i] == (double)(g->row0 + i);
        const int size = dci_mpi_size();
        int *cnt = DCI_NEW_ARRAY(int, 2 * (int64_t)size, "roots");
        roots = DCI_NEW_ARRAY(int64_t, g->c + 1, "roots");
        int64_t *mr = DCI_NEW_ARRAY(int64_t, mine + 1, "roots");
        st = dci_mpi_agree(cnt && roots && mr ? DC_OK : DC_ERR_NOMEM, "graph");
        int im = (int)mine;
        if (st == DC_OK) st = dci_mpi_allgather(&im, 1, MPI_INT, cnt, DCI_PH_GRAPH, "roots");
        if (st == DC_OK) {
            int64_t k = 0;
            for (int64_t i = 0; i < nl; i++)
                if (lab[i] == (double)(g->row0 + i)) mr[k++] = g->row0 + i;
            int *disp = cnt + size;
            disp[0] = 0;
            for (int r = 1; r < size; r++) disp[r] = disp[r - 1] + cnt[r - 1];
            int rc = MPI_Allgatherv(mr, im, MPI_INT64_T, roots, cnt, disp, MPI_INT64_T,
                                    dci_mpi_comm());
            if (rc != MPI_SUCCESS) st = dci_fail(DC_ERR_IO, "MPI: MPI_Allgatherv (roots) failed "
                                                 "on rank %d", dci_mpi_rank());
        }
        dci_free(cnt);
        dci_free(mr);
        if (st != DC_OK) goto done;
        /* roots arrive in rank order, each ascending: globally ascending */
        for (int64_t i = 0; i < nl; i++) {
            int64_t r = (int64_t)lab[i];
            const int64_t *p = bsearch(&r, roots, (size_t)g->c, sizeof *roots, cmp_i64);
            g->comp[i] = p - roots;
        }
    }
    for (int64_t i = 0; i < nl; i++) vol[g->comp[i]] += g->dinv[i];
    if ((st = dci_mpi_allreduce(vol, g->c, MPI_DOUBLE, MPI_SUM, DCI_PH_GRAPH, "volumes"))) goto done;
    for (int64_t i = 0; i < nl; i++) {
        double deg = g->dinv[i];
        g->v[i] = deg > 0.0 ? sqrt(deg / vol[g->comp[i]]) : 1.0;
        g->dinv[i] = deg > 0.0 ? 1.0 / sqrt(deg) : 0.0;
    }
    /* S = D^-1/2 W D^-1/2 with the ghosts' D^-1/2 */
    if ((st = halo_exchange(&g->h, g->dinv, g->xfull + nl, DCI_PH_GRAPH))) goto done;
    memcpy(g->xfull, g->dinv, sizeof(double) * (size_t)nl);
    for (int64_t i = 0; i < nl; i++)
        for (int64_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++)
            g->val[e] *= g->dinv[i] * g->xfull[g->col[e]];
    g->csum = DCI_NEW_ARRAY(double, g->c + 1, "component sums");
    st = dci_mpi_agree(g->csum ? DC_OK : DC_ERR_NOMEM, "graph");
done:
    dci_free(lab);
    dci_free(vol);
    dci_free(roots);
    return st;
}

/* y = A x on the own rows: S x (halo for the ghosts), isolated points
 * kept, the regularisation's rank-one term, minus 3 V V^T x. */
static dc_status op_apply(lgraph *g, const double *x, double *y) {
    const int64_t nl = g->nl, c = g->c;
    memcpy(g->xfull, x, sizeof(double) * (size_t)nl);
    DCI_TRY(halo_exchange(&g->h, x, g->xfull + nl, DCI_PH_EIGEN));
    for (int64_t i = 0; i < nl; i++) {
        double s = 0.0;
        for (int64_t e = g->rowptr[i]; e < g->rowptr[i + 1]; e++) s += g->val[e] * g->xfull[g->col[e]];
        y[i] = g->dinv[i] > 0.0 ? s : x[i];
    }
    memset(g->csum, 0, sizeof(double) * (size_t)(c + 1));
    for (int64_t i = 0; i < nl; i++) {
        g->csum[g->comp[i]] += g->v[i] * x[i];
        g->csum[c] += g->dinv[i] * x[i];
    }
    DCI_TRY(dci_mpi_allreduce(g->csum, c + 1, MPI_DOUBLE, MPI_SUM, DCI_PH_EIGEN, "mat-vec sums"));
    const double a = g->tau > 0.0 ? g->csum[c] * g->tau / (double)g->n : 0.0;
    for (int64_t i = 0; i < nl; i++)
        y[i] += g->dinv[i] * a - DEFLATE_SHIFT * g->v[i] * g->csum[g->comp[i]];
    return DC_OK;
}

/* The r largest eigenpairs of A by PARPACK, descending; z: r x nl. */
static dc_status eig_parpack(lgraph *g, int64_t r, uint64_t seed, double *lam, double *z) {
    const int64_t nl = g->nl, n = g->n;
    const a_int nloc = (a_int)nl, nev = (a_int)r;
    const double tol = 1e-10;
    dci_arpack_ws w;
    dc_status st = dci_arpack_ws_alloc(&w, nl, n, r);
    const a_int ncv = w.ncv, lworkl = w.lworkl;
    double *resid = w.resid, *v = w.v, *workd = w.workd, *workl = w.workl, *d = w.d, *zz = w.zz;
    a_int *select = w.select;
    st = dci_mpi_agree(st, "eigensolver");
    if (st != DC_OK) goto done;
    /* the single-process start vector, cut to the own rows */
    dci_rng rng;
    dci_rng_init(&rng, seed, DCI_STREAM_SPECTRAL);
    for (int64_t i = 0; i < g->row0; i++) (void)dci_rng_uniform(&rng);
    for (int64_t i = 0; i < nl; i++) resid[i] = dci_rng_uniform(&rng) - 0.5;
    a_int iparam[11] = {0}, ipntr[11] = {0};
    iparam[0] = 1;
    iparam[2] = (a_int)(n < 30000 ? 30000 : n);
    iparam[6] = 1;
    a_int ido = 0, info = 1;
    const MPI_Fint comm = MPI_Comm_c2f(dci_mpi_comm());
    int64_t matvecs = 0;
    for (;;) {
        pdsaupd_c(comm, &ido, "I", nloc, "LA", nev, tol, resid, ncv, v, nloc, iparam, ipntr,
                  workd, workl, lworkl, &info);
        if (ido != 1 && ido != -1) break;
        /* a cancel on any rank: every rank leaves at the same mat-vec */
        double stop = dci_cancel_requested() ? 1.0 : 0.0;
        if ((st = dci_mpi_allreduce(&stop, 1, MPI_DOUBLE, MPI_SUM, DCI_PH_EIGEN, "cancel"))) goto done;
        if (stop > 0.0) {
            st = dci_fail(DC_ERR_CANCELLED, "spectral embedding (PARPACK): cancelled");
            goto done;
        }
        if ((st = op_apply(g, workd + ipntr[0] - 1, workd + ipntr[1] - 1))) goto done;
        matvecs++;
    }
    if (info == 0) {
        a_int ierr = 0;
        pdseupd_c(comm, 1, "A", select, d, zz, nloc, 0.0, "I", nloc, "LA", nev, tol, resid, ncv,
                  v, nloc, iparam, ipntr, workd, workl, lworkl, &ierr);
        info = ierr;
    }
    if (info != 0 || iparam[4] < nev) {
        st = dci_fail(DC_ERR_NOT_CONVERGED,
                      "spectral embedding: PARPACK did not converge (info %d, %d of %d "
                      "eigenpairs after %d restarts)", (int)info, (int)iparam[4], (int)nev,
                      (int)iparam[2]);
        goto done;
    }
    dci_log(DC_LOG_INFO, "PARPACK: %lld mat-vecs, %d restarts", (long long)matvecs, (int)iparam[2]);
    g_matvecs = matvecs;
    g_halo_sent = 0;
    for (int q = 0; q < g->h.size; q++)
        if (q != dci_mpi_rank()) g_halo_sent += g->h.scount[q];
    st = dci_eigen_sort_desc(d, zz, nev, nl, lam, z);
done:
    dci_arpack_ws_free(&w);
    return st;
}

/* U (nl x K): component vectors, then the eigenvectors with the sign rule of
 * graph/spectral.c over all n entries (the first entry of at least half the
 * largest magnitude is positive); rows normalised into Y. */
static dc_status assemble(lgraph *g, int64_t r, const double *z, float *Y) {
    const int64_t nl = g->nl, K = g->K, c = g->c;
    double *big = DCI_NEW_ZEROS(double, 3 * r + 1, "eigenvector signs");
    double *U = DCI_NEW_ZEROS(double, nl * K + 1, "eigenvectors");
    dc_status st = dci_mpi_agree(big && U ? DC_OK : DC_ERR_NOMEM, "embedding");
    if (st != DC_OK) goto done;
    double *first = big + r, *sign = first + r;
    for (int64_t l = 0; l < r; l++)
        for (int64_t i = 0; i < nl; i++) big[l] = fmax(big[l], fabs(z[l * nl + i]));
    if ((st = dci_mpi_allreduce(big, r, MPI_DOUBLE, MPI_MAX, DCI_PH_EIGEN, "signs"))) goto done;
    for (int64_t l = 0; l < r; l++) {
        first[l] = (double)g->n;
        for (int64_t i = 0; i < nl; i++)
            if (fabs(z[l * nl + i]) >= 0.5 * big[l]) {
                first[l] = (double)(g->row0 + i);
                break;
            }
    }
    if ((st = dci_mpi_allreduce(first, r, MPI_DOUBLE, MPI_MIN, DCI_PH_EIGEN, "signs"))) goto done;
    for (int64_t l = 0; l < r; l++) {
        int64_t gi = (int64_t)first[l];
        sign[l] = 0.0;
        if (gi >= g->row0 && gi < g->row0 + nl) sign[l] = z[l * nl + gi - g->row0] < 0.0 ? -1.0 : 1.0;
    }
    if ((st = dci_mpi_allreduce(sign, r, MPI_DOUBLE, MPI_SUM, DCI_PH_EIGEN, "signs"))) goto done;
    for (int64_t i = 0; i < nl; i++) {
        U[i * K + g->comp[i]] = g->v[i];
        for (int64_t l = 0; l < r; l++) U[i * K + c + l] = (sign[l] < 0.0 ? -1.0 : 1.0) * z[l * nl + i];
    }
    dci_spectral_normalize_rows(U, nl, K, Y);
done:
    dci_free(big);
    dci_free(U);
    return st;
}

/* ---- the pipeline ------------------------------------------------------------ */

dc_status dci_spectral_embedding_mpi(const dci_block *b, int64_t K, const dci_spectral_opts *o,
                                     float *Y, dci_spectral_stats *st_out) {
    const float *x = b->x;
    const int64_t nl = b->nl, d = b->d, n = b->n, row0 = b->row0;
    dci_spectral_stats s = {0};
    g_matvecs = g_halo_sent = 0;
    if (o->mode == DCI_SPECTRAL_DENSE)
        return dci_fail(DC_ERR_UNSUPPORTED, "spectral embedding (distributed): the dense "
                        "affinity needs all n^2 pairs on one rank; use affinity = sparse");
    if (o->sigma_sample > 0)
        return dci_fail(DC_ERR_UNSUPPORTED, "spectral embedding (distributed): sampled sigmas "
                        "are not distributed yet; use sigma_sample = -1 (exact)");
    s.p = dci_affinity_p(n, K);
    s.m = o->m ? o->m : dci_affinity_default_m(n, s.p);
    s.p_sigma = s.p;
    const int64_t kk = s.p > s.m ? s.p : s.m;
    const int pca_auto = o->pca_dims == 0 && d > DCI_SPECTRAL_PCA_MIN_D && n >= 2;
    dci_pca pca = {0};
    float *z = NULL;
    double *bd = NULL, *sigma = NULL, *lam = NULL, *ev = NULL;
    int64_t *bi = NULL, *offs = NULL, maxrows = 0;
    double t0 = dci_now();
    dc_status st = row_offsets(b, &offs, &maxrows);
    if (st != DC_OK) return st;
    lgraph g = {.nl = nl, .n = n, .row0 = row0, .K = K, .offs = offs};
    const float *xs = x;
    int64_t q = d;
    if (pca_auto || o->pca_dims > 0) {
        int64_t qmax = pca_auto ? DCI_SPECTRAL_PCA_AUTO_MAX : o->pca_dims;
        if (qmax > d) qmax = d;
        if (pca_auto && qmax > n) qmax = n;
        st = dci_pca_mpi(x, nl, d, n, qmax, pca_auto ? DCI_SPECTRAL_PCA_AUTO_VARIANCE : 1.0, &pca);
        if (st == DC_OK) {
            z = DCI_NEW_ARRAY(float, nl * pca.q, "PCA projection");
            st = dci_mpi_agree(z ? dci_pca_transform(&pca, x, nl, z) : DC_ERR_NOMEM, "PCA");
            xs = z;
            q = pca.q;
            s.pca_dims = pca.q;
        }
        s.t_pca = dci_now() - t0;
        t0 = dci_now();
    }
    if (st == DC_OK) {
        bd = DCI_NEW_ARRAY(double, nl * kk, "kNN distances");
        bi = DCI_NEW_ARRAY(int64_t, nl * kk, "kNN indices");
        sigma = DCI_NEW_ARRAY(double, nl, "sigmas");
        st = dci_mpi_agree(bd && bi && sigma ? DC_OK : DC_ERR_NOMEM, "kNN");
    }
    if (st == DC_OK) st = knn_ring(&(dci_block){xs, nl, q, n, row0}, offs, maxrows, kk, bd, bi);
    /* sigma_i: mean distance to the p nearest; zeros raised to the smallest.
     * When every point's p nearest are duplicates, q = 2p, 4p, ... as one
     * process does (graph/affinity.c), within the kk neighbours found. */
    for (int64_t qn = s.p; st == DC_OK;) {
        double floor = INFINITY;
        for (int64_t i = 0; i < nl; i++) {
            double a = 0.0;
            for (int64_t l = 0; l < qn; l++) a += sqrt(bd[i * kk + l]);
            sigma[i] = a / (double)qn;
            if (sigma[i] > 0.0 && sigma[i] < floor) floor = sigma[i];
        }
        st = dci_mpi_allreduce(&floor, 1, MPI_DOUBLE, MPI_MIN, DCI_PH_GRAPH, "sigma floor");
        if (st != DC_OK) break;
        const int64_t wider = dci_affinity_wider(qn, n);
        if (!isfinite(floor) && qn < n - 1 && wider <= kk) {
            qn = wider;
            continue;
        }
        if (!isfinite(floor))
            st = dci_fail(DC_ERR_DEGENERATE, "affinity: every point coincides with its %lld "
                          "nearest neighbours%s, so no scale sigma can be set", (long long)qn,
                          qn == n - 1 ? " (all points identical)"
                                      : "; a larger m lets the scale come from more of them");
        for (int64_t i = 0; st == DC_OK && i < nl; i++)
            if (!(sigma[i] > 0.0)) sigma[i] = floor;
        if (st == DC_OK && qn != s.p && dci_mpi_rank() == 0) dci_affinity_warn_widened(s.p, qn);
        break;
    }
    s.t_knn = dci_now() - t0;
    t0 = dci_now();
    if (st == DC_OK) st = build_graph(&g, bi, bd, kk, s.m, sigma);
    if (st == DC_OK) st = graph_finish(&g, o->disconnected == DCI_DISCONNECTED_REGULARIZE);
    s.t_affinity = dci_now() - t0;
    t0 = dci_now();
    const int64_t r = st == DC_OK ? K - g.c : 0;
    if (st == DC_OK) {
        lam = DCI_NEW_ARRAY(double, r + 1, "eigenvalues");
        ev = DCI_NEW_ARRAY(double, r * nl + 1, "eigenvectors");
        st = dci_mpi_agree(lam && ev ? DC_OK : DC_ERR_NOMEM, "eigensolver");
    }
    if (st == DC_OK && r > 0) st = eig_parpack(&g, r, o->seed, lam, ev);
    if (st == DC_OK) st = assemble(&g, r, ev, Y);
    s.t_eigen = dci_now() - t0;
    s.components = g.c_graph;
    s.tau = g.tau;
    if (st_out) *st_out = s;
    dci_pca_free(&pca);
    dci_free(z);
    dci_free(bd);
    dci_free(bi);
    dci_free(sigma);
    dci_free(lam);
    dci_free(ev);
    lgraph_free(&g);
    dci_free(offs);
    return st;
}
