#!/usr/bin/env python3
"""`mpirun -np N deepclust cluster` (tests/mpi/meson.build): k-means on the
Fashion-MNIST test split (10,000 x 784, read by seeking into the raw IDX
file) with 1, 2 and 4 ranks gives the same labels and inertia; SCDBAS and
NJW on its first 3,000 images (a uint8 .npy) give the partition of the
single-process run (ARI >= 0.99; the whole split: bench/mpi_scaling.sh);
the bytes each phase sent agree exactly with the model of docs/scaling.md;
only rank 0 prints (one JSON object, one summary line) and writes; the bad inputs fail
cleanly: more ranks than rows, a file that differs between ranks, a
non-distributed command, an output naming the input; zscore uses the
statistics of all ranks; IDEC on 2 ranks writes one file from rank 0 and
reports the gradient bytes of the model (parameters + 5 floats per step);
predict on 2 ranks gives one process's labels and embedding.
Usage: check_mpi_cli.py DEEPCLUST WORKDIR"""
import gzip
import json
import os
import shutil
import subprocess
import sys

import numpy as np

cli, work = sys.argv[1], sys.argv[2]
FM = "/usr/share/datasets/fashion-mnist"
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OPENBLAS_NUM_THREADS="1")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)


def mpirun(np_, args, files=None):
    cmd = ["mpirun", "--oversubscribe", "-np", str(np_), cli] + args
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


os.makedirs(work, exist_ok=True)
img = os.path.join(work, "fm-images-idx3-ubyte")
lab = os.path.join(work, "fm-labels-idx1-ubyte")
if os.path.exists(FM + "/t10k-images-idx3-ubyte.gz"):
    for src, dst in ((FM + "/t10k-images-idx3-ubyte.gz", img), (FM + "/t10k-labels-idx1-ubyte.gz", lab)):
        with gzip.open(src) as f, open(dst, "wb") as g:
            shutil.copyfileobj(f, g)
    n_expect = 10000
else:  # without the Debian package: a synthetic IDX file of the same layout
    print("Fashion-MNIST not installed (dataset-fashion-mnist): a synthetic IDX set instead")
    check(os.environ.get("DEEPCLUST_REQUIRE_REFERENCES", "0") in ("", "0"),
          "Fashion-MNIST missing although DEEPCLUST_REQUIRE_REFERENCES is set")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 3000).astype(np.uint8)
    x = np.clip(rng.normal(25.0 * y[:, None], 20, (3000, 784)), 0, 255).astype(np.uint8)
    with open(img, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (3000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + x.tobytes())
    with open(lab, "wb") as f:
        f.write(bytes([0, 0, 8, 1]) + (3000).to_bytes(4, "big") + y.tobytes())
    n_expect = 3000

def model_kmeans(n, d, k, r, iters, ranks):
    """Bytes rank 0 hands to MPI in the k-means phases (docs/scaling.md)."""
    t = 2 + int(np.log(k))
    seed = 16 * d + r * (4 * d + (k - 1) * (8 + 4 * t * d + 8 * t))
    lloyd = 8 * (k * d + k + 2) * iters + 8 * r
    return {"seed": seed, "lloyd": lloyd}


def check_model(j, label, spectral):
    """Measured against the model; j: the JSON of a run (rank 0's counters)."""
    n, N = j["n"], j["ranks"]
    if spectral:
        K, q, c = j["k"], j["pca_dims"] or j["d"], j["components"]
        want = model_kmeans(n, K, K, j.get("n_init", 10), j["lloyd_iterations_total"], N)
        want["pca"] = 8 * (j["d"] ** 2 + 2 * j["d"] + 1) if j["pca_dims"] else 0
        want["knn"] = (N - 1) * -(-n // N) * (q + 1) * 8
        want["eigen"] = j["matvecs"] * (8 * j["halo_sent"] + 8 * (c + 1) + 8) + 24 * (K - c)
    else:
        want = model_kmeans(n, j["d"], j["k"], j["n_init"], j["lloyd_iterations_total"], N)
    for ph, b in want.items():
        got = j.get("mpi_bytes_" + ph, 0)
        check(got == b, f"{label}: phase {ph}: measured {got} bytes, model {b}")


runs = {}
for np_ in (1, 2, 4):
    out = os.path.join(work, f"labels_np{np_}.npy")
    r = mpirun(np_, ["cluster", "--method", "kmeans", "--data", img, "--labels", lab,
                     "--normalize", "scale255", "--k", "10", "--seed", "0", "--n-init", "2",
                     "--json", "--out", out])
    check(r.returncode == 0, f"np {np_}: exit {r.returncode}: {r.stderr}")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    check(len(lines) == 1, f"np {np_}: one JSON object on stdout, got {len(lines)} lines")
    summary = [l for l in r.stderr.splitlines() if l.startswith("kmeans: n=")]
    check(len(summary) == 1, f"np {np_}: one summary line on stderr, got {len(summary)}")
    if r.returncode or len(lines) != 1:
        continue
    j = json.loads(lines[0])
    check(j["ranks"] == np_ and j["n"] == n_expect and j["d"] == 784, f"np {np_}: {j}")
    check(j["rows_local"] in (n_expect // np_, n_expect // np_ + 1), f"np {np_}: rows_local")
    runs[np_] = (np.load(out), j)
    check_model(j, f"kmeans np {np_}", False)
if len(runs) == 3:
    base, jb = runs[1]
    for np_ in (2, 4):
        lab_np, j = runs[np_]
        check(np.array_equal(base, lab_np), f"np {np_}: labels differ from np 1")
        check(abs(j["inertia"] - jb["inertia"]) <= 1e-9 * jb["inertia"], f"np {np_}: inertia")
        check(j["acc"] == jb["acc"], f"np {np_}: acc")
    check(jb["acc"] > 0.45, f"ACC {jb['acc']}")
    print(f"k-means 1/2/4 ranks: same labels, inertia {jb['inertia']:.6g}, ACC {jb['acc']:.4f}")

# SCDBAS / NJW: the distributed partition is the single-process one
import struct  # noqa: E402
with open(img, "rb") as f:
    raw = f.read()
n_img = struct.unpack(">I", raw[4:8])[0]
sub = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n_img, 784)[:3000]
sub_path = os.path.join(work, "fm3000.npy")
np.save(sub_path, sub)
from sklearn.metrics import adjusted_rand_score  # noqa: E402
for method, extra, ranks in (("scdbas", ["--dbas-beetles", "3", "--dbas-iters", "40"], (1, 2, 4)),
                             ("njw", [], (2,))):
    args = ["cluster", "--method", method, "--data", sub_path, "--normalize", "scale255", "--k",
            "10", "--seed", "0", "--json", "--quiet"] + extra
    ref_path = os.path.join(work, f"{method}_ref.npy")
    r = subprocess.run([cli] + args + ["--affinity", "sparse", "--out", ref_path], env=env,
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"{method} single process: {r.stderr}")
    for np_ in ranks:
        out = os.path.join(work, f"{method}_np{np_}.npy")
        r = mpirun(np_, args + ["--out", out])
        check(r.returncode == 0, f"{method} np {np_}: {r.stderr}")
        if r.returncode == 0 and os.path.exists(ref_path):
            j = json.loads(r.stdout)
            if method == "njw":
                check_model(j, f"njw np {np_}", True)
            ari = adjusted_rand_score(np.load(ref_path), np.load(out))
            check(ari >= 0.99, f"{method} np {np_}: ARI {ari} vs one process")
            check(j["ranks"] == np_ and j["components"] >= 1, f"{method} np {np_}: {j}")
            print(f"{method} np {np_}: ARI {ari:.4f} vs one process, {j['seconds']:.1f} s")

# bad input: more ranks than rows
tiny = os.path.join(work, "tiny.npy")
np.save(tiny, np.arange(9, dtype=np.float32).reshape(3, 3))
r = mpirun(4, ["cluster", "--method", "kmeans", "--data", tiny, "--k", "2"])
check(r.returncode == 1, f"4 ranks, 3 rows: exit {r.returncode}")
check("every rank needs at least one row" in r.stderr, "4 ranks, 3 rows: " + r.stderr)
# a file that differs between ranks (MPMD: each rank its own path, same size)
a, b = os.path.join(work, "a.npy"), os.path.join(work, "b.npy")
np.save(a, np.arange(40, dtype=np.float32).reshape(10, 4))
np.save(b, np.arange(40, dtype=np.float32).reshape(10, 4) + 1)
cmd = ["mpirun", "--oversubscribe", "-np", "1", cli, "cluster", "--method", "kmeans", "--data", a,
       "--k", "2", ":", "-np", "1", cli, "cluster", "--method", "kmeans", "--data", b, "--k", "2"]
r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
check(r.returncode == 1, f"differing files: exit {r.returncode}")
check("differs between ranks" in r.stderr and "rank 1" in r.stderr, "differing files: " + r.stderr)
# what is not distributed
r = mpirun(2, ["info", tiny])
check(r.returncode == 2 and "only 'cluster'" in r.stderr, "info under mpirun: " + r.stderr)
# the JSON under mpirun: the one-process run's keys (metrics, phases,
# warnings) plus the distributed ones; a library warning (three separate
# groups, k = 2: a regularised graph) reaches stderr and the JSON once, and
# --quiet keeps it off stderr only
three, three_y = os.path.join(work, "three.npy"), os.path.join(work, "three_y.npy")
rng3 = np.random.default_rng(0)
np.save(three, np.concatenate([rng3.normal(c, 0.1, (15, 2)) for c in (0, 10, 20)]).astype(np.float32))
np.save(three_y, np.repeat([0, 1, 2], 15).astype(np.int32))
njw3 = ["cluster", "--method", "njw", "--data", three, "--labels", three_y, "--k", "2", "--json"]
r1 = subprocess.run([cli] + njw3, env=env, capture_output=True, text=True, timeout=120)
r2 = mpirun(2, njw3)
check(r1.returncode == 0 and r2.returncode == 0, f"njw 3 groups: {r1.stderr} {r2.stderr}")
if r1.returncode == 0 and r2.returncode == 0:
    j1, j2 = json.loads(r1.stdout), json.loads(r2.stdout)
    extra = {k for k in j2 if k in ("ranks", "rows_local", "matvecs", "halo_sent",
                                    "lloyd_iterations_total") or k.startswith("mpi_bytes_")}
    check(set(j2) - extra == set(j1), f"mpirun JSON keys {sorted(set(j2) - extra)} vs {sorted(j1)}")
    check(set(j2["phases"]) == set(j1["phases"]) | {"load"}, f"phases {j2['phases']}")
    check(j2["f1"] == j1["f1"] and j2["components"] == 3, f"njw 3 groups np 2: {j2}")
    check(len(j2.get("warnings", [])) == 1 and "3 connected components" in j2["warnings"][0]
          and r2.stderr.count("warning: ") == 1, f"warnings np 2: {j2.get('warnings')} {r2.stderr}")
r = mpirun(2, njw3 + ["--quiet"])
check(r.returncode == 0 and "warning" not in r.stderr and "warnings" in json.loads(r.stdout or "{}"),
      f"njw --quiet np 2: {r.stderr}")
# zscore with the statistics of all rows: the same labels with 1 and 2 ranks
zl = []
for np_ in (1, 2):
    out = os.path.join(work, f"zscore_np{np_}.npy")
    r = mpirun(np_, ["cluster", "--method", "kmeans", "--data", sub_path, "--normalize", "zscore",
                     "--k", "10", "--n-init", "1", "--out", out, "--quiet"])
    check(r.returncode == 0, f"zscore np {np_}: {r.stderr}")
    zl.append(np.load(out) if r.returncode == 0 else None)
check(zl[0] is not None and zl[1] is not None and np.array_equal(zl[0], zl[1]),
      "zscore: labels differ between 1 and 2 ranks")
# EDCWRN with its defaults (the neighbour branch, weights updated in
# training) on 2 ranks: one JSON object, its ranks, the clusters of two
# far-apart groups
two = os.path.join(work, "two.npy")
np.save(two, np.concatenate([np.zeros((20, 4)), np.full((20, 4), 10.0)]).astype(np.float32)
         + np.random.default_rng(1).normal(scale=0.3, size=(40, 4)).astype(np.float32))
r = mpirun(2, ["cluster", "--method", "edcwrn", "--data", two, "--k", "2", "--hidden1", "16",
               "--hidden2", "8", "--hidden3", "0", "--embed-dim", "3", "--batch", "20",
               "--pretrain-steps", "200", "--max-iter", "40", "--update-interval", "10", "--json",
               "--out", os.path.join(work, "two_labels.npy")])
check(r.returncode == 0, f"edcwrn np 2: exit {r.returncode}: {r.stderr}")
if r.returncode == 0:
    j = json.loads(r.stdout)
    lab = np.load(os.path.join(work, "two_labels.npy"))
    check(j["ranks"] == 2 and len(lab) == 40 and len(set(lab[:20])) == 1 and len(set(lab[20:])) == 1
          and lab[0] != lab[20], f"edcwrn np 2: {j.get('ranks')} ranks, labels {lab}")

# IDEC on 2 ranks: rank 0 alone writes (one file in a fresh directory), the
# JSON has the ranks and the byte counts of docs/scaling.md's model
deep_dir = os.path.join(work, "idec_out")
shutil.rmtree(deep_dir, ignore_errors=True)
os.makedirs(deep_dir)
sub600 = os.path.join(work, "fm600.npy")
np.save(sub600, sub[:600])
out = os.path.join(deep_dir, "labels.npy")
r = mpirun(2, ["cluster", "--method", "idec", "--data", sub600, "--normalize", "scale255",
               "--k", "10", "--hidden1", "32", "--hidden2", "16", "--hidden3", "0",
               "--embed-dim", "5", "--batch", "200", "--pretrain-steps", "10", "--max-iter", "10",
               "--update-interval", "5", "--n-init", "2", "--json", "--out", out])
check(r.returncode == 0, f"idec np 2: exit {r.returncode}: {r.stderr}")
check(os.listdir(deep_dir) == ["labels.npy"], f"idec np 2: files written {os.listdir(deep_dir)}")
lines = [l for l in r.stdout.splitlines() if l.strip()]
check(len(lines) == 1, f"idec np 2: one JSON object, got {len(lines)} lines")
if r.returncode == 0 and len(lines) == 1:
    j = json.loads(lines[0])
    check(j["ranks"] == 2 and j["n"] == 600 and len(np.load(out)) == 600, f"idec np 2: {j}")
    # parameters: encoder 784-32-16-5 and decoder 5-16-32-784 (weights and
    # biases), centres 10 x 5
    enc = 784 * 32 + 32 + 32 * 16 + 16 + 16 * 5 + 5
    dec = 5 * 16 + 16 + 16 * 32 + 32 + 32 * 784 + 784
    P_ae, P = enc + dec, enc + dec + 10 * 5
    check(j.get("mpi_bytes_train") == (P + 5) * 4 * j["iterations"],
          f"idec np 2: train bytes {j.get('mpi_bytes_train')}, model {(P + 5) * 4 * j['iterations']}")
    check(j.get("mpi_bytes_pretrain") == (P_ae + 5) * 4 * j["pretrain_steps"],
          f"idec np 2: pretrain bytes {j.get('mpi_bytes_pretrain')}")
    nl = j["rows_local"]
    check(j.get("mpi_bytes_embed") == 4 * nl * 5 * (j["updates"] + 2),
          f"idec np 2: embed bytes {j.get('mpi_bytes_embed')}")
    print(f"idec np 2: ACC {j.get('acc', float('nan')):.4f}, train {j['mpi_bytes_train']} B, "
          f"pretrain {j['mpi_bytes_pretrain']} B, embed {j['mpi_bytes_embed']} B")

# predict under mpirun: an EDCWRN model fitted in one process predicts on 2
# ranks exactly what one process predicts (labels; embedding to float
# rounding); rank 0 alone writes; --out naming --data is refused on every
# command and the input is untouched
pdir = os.path.join(work, "predict_out")
shutil.rmtree(pdir, ignore_errors=True)
os.makedirs(pdir)
model = os.path.join(work, "edcwrn600.dcm")
with open(os.path.join(work, "fm-labels-idx1-ubyte"), "rb") as f:
    truth600 = np.frombuffer(f.read()[8:], dtype=np.uint8)[:600].astype(np.int32)
sub600_y = os.path.join(work, "fm600_y.npy")
np.save(sub600_y, truth600)
small = ["--k", "10", "--hidden1", "32", "--hidden2", "16", "--hidden3", "0", "--embed-dim", "5",
         "--batch", "200", "--pretrain-steps", "30", "--max-iter", "20", "--update-interval", "10",
         "--n-init", "2"]
r = subprocess.run([cli, "cluster", "--method", "edcwrn", "--data", sub600, "--normalize", "scale255",
                    *small, "--save-model", model, "--quiet"], env=env, capture_output=True,
                   text=True, timeout=300)
check(r.returncode == 0, f"edcwrn fit for predict: {r.stderr}")
one_l, one_e = os.path.join(work, "pred1.npy"), os.path.join(work, "emb1.npy")
r1 = subprocess.run([cli, "predict", "--model", model, "--data", sub600, "--out", one_l,
                     "--embedding-out", one_e, "--quiet"], env=env, capture_output=True, text=True,
                    timeout=300)
check(r1.returncode == 0, f"predict, one process: {r1.stderr}")
two_l, two_e = os.path.join(pdir, "pred2.npy"), os.path.join(pdir, "emb2.npy")
r = mpirun(2, ["predict", "--model", model, "--data", sub600, "--labels", sub600_y, "--out", two_l,
               "--embedding-out", two_e, "--json"])
check(r.returncode == 0, f"predict np 2: exit {r.returncode}: {r.stderr}")
if r.returncode == 0 and r1.returncode == 0:
    j = json.loads(r.stdout)
    p1, p2 = np.load(one_l), np.load(two_l)
    e1, e2 = np.load(one_e), np.load(two_e)
    check(j["ranks"] == 2 and j["n"] == 600 and j["normalization_source"] == "model",
          f"predict np 2: {j}")
    check(np.array_equal(p1, p2), f"predict np 2: {np.sum(p1 != p2)} labels differ from one process")
    check(e2.shape == (600, 5) and np.allclose(e1, e2, rtol=1e-5, atol=1e-5),
          f"predict np 2: embedding differs by {np.max(np.abs(e1 - e2)) if e2.shape == e1.shape else e2.shape}")
    check(sorted(os.listdir(pdir)) == ["emb2.npy", "pred2.npy"], f"predict np 2: files {os.listdir(pdir)}")
    # the metrics rank 0 reports are those of the gathered labels
    from sklearn.metrics import normalized_mutual_info_score  # noqa: E402
    check(abs(j["nmi"] - normalized_mutual_info_score(truth600, p2, average_method="geometric")) < 1e-6,
          f"predict np 2: NMI {j['nmi']} is not the labels'")
    print(f"predict np 2: ACC {j['acc']:.4f}, labels equal to one process")
keep = open(sub600, "rb").read()
for args in (["cluster", "--method", "kmeans", "--data", sub600, "--k", "3", "--out", sub600],
             ["predict", "--model", model, "--data", sub600, "--embedding-out", sub600]):
    r = mpirun(2, args)
    check(r.returncode == 2 and "is the same file as --data" in r.stderr,
          f"{args[0]} --out = --data under mpirun: exit {r.returncode}: {r.stderr}")
    check(open(sub600, "rb").read() == keep, f"{args[0]} under mpirun overwrote its --data")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
