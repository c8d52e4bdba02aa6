#!/usr/bin/env python3
"""The Python binding under mpirun with mpi4py (tests/mpi/meson.build): each
rank loads its block with deepclust.mpi.load_block, the scikit-learn style
estimators fit collectively, rank 0's labels_ hold all rows and equal the
single-process partition (ARI >= 0.99), EDCWRN with its defaults (the
neighbour branch, weights updated in training) as well as one process.
Usage: mpirun -np N python3 check_mpi_python.py WORKDIR"""
import os
import sys

import numpy as np
from mpi4py import MPI

import deepclust
import deepclust.mpi as dmpi

comm = MPI.COMM_WORLD
rank, work = comm.rank, sys.argv[1]
failed = passed = 0


def check(cond, what):
    global failed, passed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"rank {rank}: FAIL: {what}", file=sys.stderr)


path = os.path.join(work, f"py_blobs_{comm.size}.npy")
if rank == 0:
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    y = np.arange(900) % 3
    X_all = (rng.normal(size=(900, 4)) + 3.0 * (y[:, None] == np.arange(4) % 3)).astype(np.float32)
    np.save(path, X_all)
comm.Barrier()
X_all = np.load(path)

check(dmpi.enabled(), "the library is an MPI build")
dmpi.set_comm(comm)
check(dmpi.rank() == rank and dmpi.size() == comm.size, "rank and size")
X, n = dmpi.load_block(path)
first, count = dmpi.block(n)
check(n == 900 and X.shape == (count, 4) and np.array_equal(X, X_all[first:first + count]),
      "load_block gives this rank's rows")
results = {}
for name, est in (("SCDBAS", deepclust.SCDBAS(n_clusters=3, random_state=0, dbas_beetles=2,
                                             dbas_iters=20)),
                  ("NJW", deepclust.NJW(n_clusters=3, random_state=0)),
                  ("KMeans", deepclust.KMeans(n_clusters=3, random_state=0))):
    est.fit(X)
    check(est.labels_.shape == ((n,) if rank == 0 else (count,)), f"{name}: labels_ shape")
    results[name] = est.labels_
# EDCWRN's defaults but a small network: data-parallel, neighbours from the global batch
edcwrn_kw = dict(n_clusters=3, random_state=0, hidden1=16, hidden2=8, hidden3=0, embed_dim=3,
                 batch_size=90, pretrain_steps=300, max_iter=60)
est = deepclust.EDCWRN(**edcwrn_kw).fit(X)
check(est.labels_.shape == ((n,) if rank == 0 else (count,)), "EDCWRN: labels_ shape")
edcwrn_labels = est.labels_
check(dmpi.bytes_sent("lloyd") > 0 or comm.size == 1, "byte counters")
dmpi.set_comm(None)
if rank == 0:
    from sklearn.metrics import adjusted_rand_score
    for name, cls in (("SCDBAS", deepclust.SCDBAS), ("NJW", deepclust.NJW),
                      ("KMeans", deepclust.KMeans)):
        kw = dict(n_clusters=3, random_state=0)
        if name != "KMeans":
            kw["affinity"] = "sparse"
        ref = cls(**kw).fit(X_all).labels_
        ari = adjusted_rand_score(ref, results[name])
        check(ari >= 0.99, f"{name}: ARI {ari} vs one process")
    # another SGD trajectory of the same model: as good as one process
    y = np.arange(900) % 3
    ari = adjusted_rand_score(y, edcwrn_labels)
    ari1 = adjusted_rand_score(y, deepclust.EDCWRN(**edcwrn_kw).fit(X_all).labels_)
    check(ari > 0.5 and abs(ari - ari1) <= 0.05,
          f"EDCWRN under MPI: ARI {ari} against the blobs, {ari1} in one process")
res = comm.allreduce(np.array([passed, failed]))
if rank == 0:
    print(f"{res[0]} passed, {res[1]} failed (over {comm.size} ranks)")
sys.exit(1 if res[1] else 0)
