/* The library's communicator, the counting MPI wrappers and the public
 * dc_mpi_* queries (see comm.h and deepclust/mpi.h). */
#include "mpi/comm.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "deepclust/mpi.h"
#include "core/util.h"
#include "methods/method.h"

const char *const dci_mpi_phase_names[DCI_PH_COUNT] = {
    "setup", "load", "seed", "lloyd", "gather", "pca", "knn", "graph", "eigen", "search",
    "pretrain", "train", "embed", "checkpoint"};

static MPI_Comm g_comm = MPI_COMM_NULL;
static int g_rank = -1, g_size = 0;
static int64_t g_sent[DCI_PH_COUNT];

int dci_mpi_active(void) { return g_comm != MPI_COMM_NULL; }
MPI_Comm dci_mpi_comm(void) { return g_comm; }
int dci_mpi_rank(void) { return g_rank; }
int dci_mpi_size(void) { return g_size; }
int64_t dci_mpi_counter(dci_mpi_phase ph) { return g_sent[ph]; }

int dc_mpi_rank(void) { return g_rank; }
int dc_mpi_size(void) { return g_size; }

void dc_mpi_reset_counters(void) { memset(g_sent, 0, sizeof g_sent); }

int64_t dc_mpi_bytes_sent(const char *phase) {
    if (!phase) return -1;
    for (int i = 0; i < DCI_PH_COUNT; i++)
        if (strcmp(phase, dci_mpi_phase_names[i]) == 0) return g_sent[i];
    return -1;
}

void dc_mpi_block(int64_t n, int rank, int size, int64_t *first, int64_t *count) {
    int64_t f = 0, c = 0;
    if (n > 0 && size > 0 && rank >= 0 && rank < size) {
        /* floor(r n / N) without overflowing r n */
        const int64_t q = n / size, r = n % size;
        f = q * rank + (r * rank) / size;
        int64_t next = q * (rank + 1) + (r * (rank + 1)) / size;
        c = next - f;
    }
    if (first) *first = f;
    if (count) *count = c;
}

static dc_status mpi_error(int rc, const char *call, const char *what) {
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return dci_fail(DC_ERR_IO, "MPI: %s (%s) failed on rank %d of %d: %s", call, what, g_rank,
                    g_size, msg);
}

static dc_status check_count(int64_t count, const char *what) {
    if (count < 0 || count > INT_MAX)
        return dci_fail(DC_ERR_UNSUPPORTED, "MPI: %s: %lld elements in one call, at most %d",
                        what, (long long)count, INT_MAX);
    return DC_OK;
}

static dc_status need_comm(void) {
    if (g_comm == MPI_COMM_NULL)
        return dci_fail(DC_ERR_STATE, "MPI: no communicator set (dc_mpi_set_comm)");
    return DC_OK;
}

static int64_t type_size(MPI_Datatype t) {
    int s = 0;
    MPI_Type_size(t, &s);
    return s;
}

dc_status dc_mpi_set_comm(MPI_Fint comm) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin) return dci_fail(DC_ERR_STATE, "dc_mpi_set_comm: MPI is not initialised");
    MPI_Comm c = MPI_Comm_f2c(comm);
    if (g_comm != MPI_COMM_NULL) {
        MPI_Comm_free(&g_comm);
        g_comm = MPI_COMM_NULL;
        g_rank = -1;
        g_size = 0;
    }
    dc_mpi_reset_counters();
    if (c == MPI_COMM_NULL) return DC_OK;
    MPI_Comm dup;
    int rc = MPI_Comm_dup(c, &dup);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Comm_dup", "dc_mpi_set_comm");
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    g_comm = dup;
    MPI_Comm_rank(dup, &g_rank);
    MPI_Comm_size(dup, &g_size);
    return DC_OK;
}

dc_status dci_mpi_allreduce(void *buf, int64_t count, MPI_Datatype t, MPI_Op op,
                            dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    DCI_TRY(check_count(count, what));
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)count, t, op, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce", what);
    g_sent[ph] += count * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_bcast(void *buf, int64_t count, MPI_Datatype t, int root, dci_mpi_phase ph,
                        const char *what) {
    DCI_TRY(need_comm());
    DCI_TRY(check_count(count, what));
    int rc = MPI_Bcast(buf, (int)count, t, root, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Bcast", what);
    if (g_rank == root) g_sent[ph] += count * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_allgather(const void *send, int64_t count, MPI_Datatype t, void *recv,
                            dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    DCI_TRY(check_count(count, what));
    int rc = MPI_Allgather(send, (int)count, t, recv, (int)count, t, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allgather", what);
    g_sent[ph] += count * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_allgatherv_inplace(void *recv, const int64_t *counts, MPI_Datatype t,
                                     dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    int *cnt = DCI_NEW_ARRAY(int, 2 * (int64_t)g_size, what);
    if (!cnt) return DC_ERR_NOMEM;
    int *disp = cnt + g_size;
    int64_t off = 0;
    dc_status st = DC_OK;
    for (int r = 0; r < g_size && st == DC_OK; r++) {
        if (counts[r] > INT_MAX || off > INT_MAX)
            st = dci_fail(DC_ERR_UNSUPPORTED, "MPI: %s: more than %d elements gathered", what,
                          INT_MAX);
        cnt[r] = (int)counts[r];
        disp[r] = (int)off;
        off += counts[r];
    }
    /* the same counts on every rank: the same verdict, no agreement needed */
    if (st == DC_OK) {
        int rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, recv, cnt, disp, t, g_comm);
        if (rc != MPI_SUCCESS) st = mpi_error(rc, "MPI_Allgatherv", what);
        else g_sent[ph] += counts[g_rank] * type_size(t);
    }
    dci_free(cnt);
    return st;
}

dc_status dci_mpi_gatherv(const void *send, int64_t n_local, MPI_Datatype t, void *recv,
                          dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    DCI_TRY(check_count(n_local, what));
    int *cnt = NULL, *disp = NULL;
    int ln = (int)n_local, rc;
    if (g_rank == 0) {
        cnt = DCI_NEW_ARRAY(int, 2 * (int64_t)g_size, what);
        if (!cnt) return DC_ERR_NOMEM;
        disp = cnt + g_size;
    }
    /* The counts go to the root first (not counted: setup of the gather). */
    rc = MPI_Gather(&ln, 1, MPI_INT, cnt, 1, MPI_INT, 0, g_comm);
    dc_status st = rc == MPI_SUCCESS ? DC_OK : mpi_error(rc, "MPI_Gather", what);
    if (st == DC_OK && g_rank == 0) {
        int64_t off = 0;
        for (int r = 0; r < g_size; r++) {
            if (off > INT_MAX) {
                st = dci_fail(DC_ERR_UNSUPPORTED, "MPI: %s: more than %d elements gathered",
                              what, INT_MAX);
                break;
            }
            disp[r] = (int)off;
            off += cnt[r];
        }
    }
    /* every rank must enter the gather, or none */
    st = dci_mpi_agree(st, what);
    if (st == DC_OK) {
        rc = MPI_Gatherv(send, ln, t, recv, cnt, disp, t, 0, g_comm);
        if (rc != MPI_SUCCESS) st = mpi_error(rc, "MPI_Gatherv", what);
        else if (g_rank != 0) g_sent[ph] += n_local * type_size(t);
    }
    dci_free(cnt);
    return st;
}

dc_status dci_mpi_alltoall(const void *send, int count, MPI_Datatype t, void *recv,
                           dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    int rc = MPI_Alltoall(send, count, t, recv, count, t, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Alltoall", what);
    g_sent[ph] += (int64_t)count * (g_size - 1) * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_alltoallv(const void *send, const int *scount, const int *sdisp, void *recv,
                            const int *rcount, const int *rdisp, MPI_Datatype t,
                            dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    int rc = MPI_Alltoallv(send, scount, sdisp, t, recv, rcount, rdisp, t, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Alltoallv", what);
    int64_t sent = 0;
    for (int r = 0; r < g_size; r++)
        if (r != g_rank) sent += scount[r];
    g_sent[ph] += sent * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_sendrecv_replace(void *buf, int64_t count, MPI_Datatype t, int dest, int src,
                                   dci_mpi_phase ph, const char *what) {
    DCI_TRY(need_comm());
    DCI_TRY(check_count(count, what));
    int rc = MPI_Sendrecv_replace(buf, (int)count, t, dest, 0, src, 0, g_comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Sendrecv_replace", what);
    g_sent[ph] += count * type_size(t);
    return DC_OK;
}

dc_status dci_mpi_agree(dc_status st, const char *what) {
    DCI_TRY(need_comm());
    /* (status, rank) pairs: MINLOC picks the most negative code, lowest rank. */
    int pair[2] = {(int)st, g_rank};
    int rc = MPI_Allreduce(MPI_IN_PLACE, pair, 1, MPI_2INT, MPI_MINLOC, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce", what);
    g_sent[DCI_PH_SETUP] += 2 * (int64_t)sizeof(int);
    if (pair[0] == DC_OK || st != DC_OK) return st;
    return dci_fail((dc_status)pair[0], "%s: rank %d of %d failed (%s); see its own message",
                    what, pair[1], g_size, dc_strerror((dc_status)pair[0]));
}

dc_status dci_mpi_cancel_agree(const char *phase) {
    int flag = dci_cancel_requested();
    int rc = MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce", phase);
    g_sent[DCI_PH_SETUP] += (int64_t)sizeof(int);
    return flag ? dci_fail(DC_ERR_CANCELLED, "%s: cancelled (on some rank)", phase) : DC_OK;
}

dc_status dci_mpi_progress(const dc_solver *s, const char *phase, long long done,
                           long long total, double value) {
    return dci_mpi_agree(dci_solver_progress(s, phase, done, total, value), phase);
}

dc_status dci_mpi_put_labels(dc_solver *s, int32_t *labels, int64_t nl, int64_t n) {
    int32_t *all = NULL;
    if (g_rank == 0 && !(all = DCI_NEW_ARRAY(int32_t, n, "labels (all ranks)"))) {
        dci_free(labels);
        return dci_mpi_agree(DC_ERR_NOMEM, "labels");
    }
    dc_status st = dci_mpi_agree(DC_OK, "labels");
    if (st == DC_OK)
        st = dci_mpi_gatherv(labels, nl, MPI_INT32_T, all, DCI_PH_GATHER, "labels to rank 0");
    if (st != DC_OK) {
        dci_free(all);
        dci_free(labels);
        return st;
    }
    if (g_rank == 0) {
        dci_free(labels);
        dci_solver_put_labels(s, all, n);
    } else dci_solver_put_labels(s, labels, nl);
    return DC_OK;
}

dc_status dci_mpi_put_rows(dc_solver *s, const char *name, const float *rows, int64_t nl,
                           int64_t n, int64_t cols) {
    float *all = NULL;
    dc_status st = DC_OK;
    if (g_rank == 0 && !(all = DCI_NEW_ARRAY(float, n * cols, name))) st = DC_ERR_NOMEM;
    st = dci_mpi_agree(st, name);
    if (st == DC_OK) st = dci_mpi_gatherv(rows, nl * cols, MPI_FLOAT, all, DCI_PH_GATHER, name);
    if (st == DC_OK) {
        if (g_rank == 0) {
            st = dci_solver_put_output(s, name, all, n, cols);
            all = NULL;
        } else st = dci_solver_put_output_copy(s, name, rows, nl, cols);
    }
    dci_free(all);
    return st;
}

void dci_mpi_snapshot(int64_t *base) { memcpy(base, g_sent, sizeof g_sent); }

dc_status dci_mpi_put_stats(dc_solver *s, const int64_t *base) {
    int64_t mine[DCI_PH_COUNT], most[DCI_PH_COUNT];
    for (int i = 0; i < DCI_PH_COUNT; i++) mine[i] = most[i] = g_sent[i] - base[i];
    int rc = MPI_Allreduce(MPI_IN_PLACE, most, DCI_PH_COUNT, MPI_INT64_T, MPI_MAX, g_comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce", "byte counters");
    static const char *const own[DCI_PH_COUNT] = {
        "mpi_bytes_setup", "mpi_bytes_load", "mpi_bytes_seed",  "mpi_bytes_lloyd",
        "mpi_bytes_gather", "mpi_bytes_pca", "mpi_bytes_knn", "mpi_bytes_graph",
        "mpi_bytes_eigen", "mpi_bytes_search", "mpi_bytes_pretrain", "mpi_bytes_train",
        "mpi_bytes_embed", "mpi_bytes_checkpoint"};
    static const char *const max[DCI_PH_COUNT] = {
        "mpi_bytes_max_setup", "mpi_bytes_max_load", "mpi_bytes_max_seed",
        "mpi_bytes_max_lloyd", "mpi_bytes_max_gather", "mpi_bytes_max_pca",
        "mpi_bytes_max_knn", "mpi_bytes_max_graph", "mpi_bytes_max_eigen",
        "mpi_bytes_max_search", "mpi_bytes_max_pretrain", "mpi_bytes_max_train",
        "mpi_bytes_max_embed", "mpi_bytes_max_checkpoint"};
    DCI_TRY(dci_solver_put_stat(s, "ranks", (double)g_size));
    for (int i = 0; i < DCI_PH_COUNT; i++) {
        if (!most[i]) continue;
        DCI_TRY(dci_solver_put_stat(s, own[i], (double)mine[i]));
        DCI_TRY(dci_solver_put_stat(s, max[i], (double)most[i]));
    }
    return DC_OK;
}
