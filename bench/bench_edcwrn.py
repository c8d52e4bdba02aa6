#!/usr/bin/python3
"""EDCWRN / IDEC / DEC on Fashion-MNIST: ACC and NMI (mean +- sd over seeds)
and time per phase, plus the ablation of EDCWRN Table 3 (representation
weighting on/off x neighbours on/off x formulation proposed/IDEC).

  /usr/bin/python3 bench/bench_edcwrn.py [--split test|full] [--seeds 0,1,2]
      [--methods edcwrn,idec,dec] [--ablation] [--pretrain-steps N] [--pretrain-epochs N]
      [--max-iter 8000] [--no-augment] [--threads N] [--subset N] [--set NAME=VALUE]
      [--data X.npy --labels Y.npy [--image-shape 28x28]]
      [--also-max-iter 0,2000]
      [--json out.json] [--verbose]
  /usr/bin/python3 bench/bench_edcwrn.py --smoke     # minutes, not hours

Data: /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist),
pixels / 255, image shape 28 x 28 x 1. --split test is the 10,000 test
images, full all 70,000. --data/--labels take any float .npy matrix and
integer label vector instead (--image-shape HxW marks images, which the
default augments). Per seed the autoencoder is pre-trained once (by
the first run) and every other run of that seed starts from the same
pre-trained autoencoder (dc_solver_use_pretrained), as in the paper's
ablation; the pre-training time is reported once per seed.

NMI is the paper's (Eq. 17, sqrt normalisation). The library is
DEEPCLUST_LIBRARY, else build/lib/libdeepclust.so next to this script's
repository, else /work/main/build/lib/libdeepclust.so.

Reference (paper, ACC / NMI %): Fashion-MNIST EDCWRN 62.5 / 68.0; DEC ~62 / 65;
IDEC 52.9 / 55.7 (other papers' runs). Every parameter not given is the
library's default (--set preset=authors: the authors' recipe). Run on a
quiet machine: the full runs take hours on 2 cores.
"""
import argparse
import ctypes as C
import gzip
import json
import os
import statistics
import sys
import time

FMNIST = "/usr/share/datasets/fashion-mnist"


def parse():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", choices=("test", "full"), default="test")
    p.add_argument("--subset", type=int, default=0, help="use the first N rows only")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--methods", default="edcwrn,idec,dec")
    p.add_argument("--ablation", action="store_true", help="EDCWRN Table 3 variants (on --split)")
    p.add_argument("--pretrain-epochs", type=int, default=None)
    p.add_argument("--pretrain-steps", type=int, default=None)
    p.add_argument("--data", default=None, help=".npy float matrix instead of Fashion-MNIST")
    p.add_argument("--labels", default=None, help=".npy integer labels of --data")
    p.add_argument("--image-shape", default=None, help="HxW of --data rows (images)")
    p.add_argument("--max-iter", type=int, default=None)
    p.add_argument("--n-init", type=int, default=None)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--also-max-iter", default="", metavar="N,N",
                   help="per seed, extra EDCWRN runs from the same pre-trained autoencoder "
                        "stopped after N iterations (0: k-means on the pre-trained embedding)")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE]",
                   help="per seed, an extra EDCWRN run from the same pre-trained autoencoder "
                        "with these parameters (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any solver parameter for every run, e.g. --set pretrain_optimizer=adam")
    p.add_argument("--smoke", action="store_true",
                   help="short run: test split, 1 seed, 5 pre-training epochs, 280 iterations")
    p.add_argument("--json", default=None, help="write all runs to this file")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")
    a = p.parse_args()
    if a.smoke:
        a.split = "test"
        a.seeds = a.seeds if a.seeds != "0,1,2" else "0"
        a.pretrain_steps = a.pretrain_steps or 200
        a.max_iter = a.max_iter or 280
        a.n_init = a.n_init or 5
    return a


args = parse()


def _value(text):
    try:
        return float(text)
    except ValueError:
        return text


fixed = {k: _value(v) for k, _, v in (item.partition("=") for item in args.set)}
if args.threads:
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)

import numpy as np  # noqa: E402


def library_path():
    env = os.environ.get("DEEPCLUST_LIBRARY")
    if env:
        return env
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "lib", "libdeepclust.so")
    return here if os.path.exists(here) else "/work/main/build/lib/libdeepclust.so"


lib = C.CDLL(library_path())
vp, i64, f64 = C.c_void_p, C.c_int64, C.c_double
PROGRESS = C.CFUNCTYPE(C.c_int, vp, C.c_char_p, C.c_longlong, C.c_longlong, C.c_double)
for name, res, argt in [
    ("dc_dataset_create", C.c_int, [C.POINTER(vp), vp, i64, i64, C.c_int]),
    ("dc_dataset_set_image_shape", C.c_int, [vp, i64, i64, i64]),
    ("dc_dataset_free", None, [vp]),
    ("dc_solver_create", C.c_int, [C.POINTER(vp), C.c_char_p]),
    ("dc_solver_free", None, [vp]),
    ("dc_solver_set", C.c_int, [vp, C.c_char_p, f64]),
    ("dc_solver_set_str", C.c_int, [vp, C.c_char_p, C.c_char_p]),
    ("dc_solver_set_progress", C.c_int, [vp, PROGRESS, vp]),
    ("dc_solver_fit", C.c_int, [vp, vp]),
    ("dc_solver_labels", C.c_int, [vp, vp, i64, C.POINTER(i64)]),
    ("dc_solver_stat", C.c_int, [vp, C.c_char_p, C.POINTER(f64)]),
    ("dc_solver_pretrained", C.c_int, [vp, C.POINTER(vp)]),
    ("dc_solver_use_pretrained", C.c_int, [vp, vp]),
    ("dc_model_free", None, [vp]),
    ("dc_metrics_acc", C.c_int, [vp, vp, i64, C.POINTER(f64)]),
    ("dc_metrics_nmi", C.c_int, [vp, vp, i64, C.c_int, C.POINTER(f64)]),
    ("dc_last_error", C.c_char_p, []),
]:
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = res, argt


def ok(status, what):
    if status != 0:
        raise RuntimeError(f"{what}: status {status}: {lib.dc_last_error().decode()}")


def load():
    if args.data:
        x = np.ascontiguousarray(np.load(args.data), dtype=np.float32)
        y = np.load(args.labels).astype(np.int32)
        if args.subset:
            x, y = np.ascontiguousarray(x[:args.subset]), y[:args.subset]
        return x, y
    names = [("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    if args.split == "full":
        names.insert(0, ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"))
    xs, ys = [], []
    for img, lab in names:
        with gzip.open(os.path.join(FMNIST, img), "rb") as f:
            xs.append(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784))
        with gzip.open(os.path.join(FMNIST, lab), "rb") as f:
            ys.append(np.frombuffer(f.read(), np.uint8, offset=8))
    x = np.ascontiguousarray(np.vstack(xs), dtype=np.float32) / np.float32(255.0)
    y = np.concatenate(ys).astype(np.int32)
    if args.subset:
        x, y = np.ascontiguousarray(x[:args.subset]), y[:args.subset]
    return x, y


@PROGRESS
def progress(user, phase, done, total, value):
    sys.stderr.write(f"\r  {phase.decode():9s} {done}/{total} value {value:.5g}   ")
    sys.stderr.flush()
    return 0


def run(ds, y, method, seed, settings, ae):
    """One fit; returns (result dict, pre-trained autoencoder or None)."""
    s = vp()
    ok(lib.dc_solver_create(C.byref(s), method.encode()), "create")
    try:
        ok(lib.dc_solver_set(s, b"k", 10), "k")
        ok(lib.dc_solver_set(s, b"seed", seed), "seed")
        if args.no_augment:
            ok(lib.dc_solver_set(s, b"augment", 0), "augment")
        for key, val in (("pretrain_epochs", args.pretrain_epochs),
                         ("pretrain_steps", args.pretrain_steps), ("max_iter", args.max_iter),
                         ("n_init", args.n_init)):
            if val is not None:
                ok(lib.dc_solver_set(s, key.encode(), val), key)
        for key, val in list(fixed.items()) + list(settings.items()):
            setter = lib.dc_solver_set_str if isinstance(val, str) else lib.dc_solver_set
            ok(setter(s, key.encode(), val.encode() if isinstance(val, str) else val), key)
        if ae:
            ok(lib.dc_solver_use_pretrained(s, ae), "use_pretrained")
        if args.verbose:
            lib.dc_solver_set_progress(s, progress, None)
        t0 = time.time()
        ok(lib.dc_solver_fit(s, ds), f"fit {method} {settings}")
        wall = time.time() - t0
        if args.verbose:
            sys.stderr.write("\n")
        n = len(y)
        labels = np.zeros(n, np.int32)
        ok(lib.dc_solver_labels(s, labels.ctypes.data, n, None), "labels")
        acc, nmi = f64(), f64()
        ok(lib.dc_metrics_acc(y.ctypes.data, labels.ctypes.data, n, C.byref(acc)), "acc")
        ok(lib.dc_metrics_nmi(y.ctypes.data, labels.ctypes.data, n, 0, C.byref(nmi)), "nmi")
        stat = {}
        for key in ("seconds_pretrain", "seconds_cluster", "iterations", "pretrain_loss", "label_change",
                    "pretrain_steps", "augment", "input_scale"):
            v = f64()
            if lib.dc_solver_stat(s, key.encode(), C.byref(v)) == 0:
                stat[key] = v.value
        new_ae = None
        if not ae:
            new_ae = vp()
            ok(lib.dc_solver_pretrained(s, C.byref(new_ae)), "pretrained")
        res = {"method": method, "settings": settings, "seed": seed, "acc": acc.value,
               "nmi": nmi.value, "wall": wall, **stat}
        return res, new_ae
    finally:
        lib.dc_solver_free(s)


def mean_sd(vals):
    if len(vals) == 1:
        return f"{100 * vals[0]:6.2f}      "
    return f"{100 * statistics.mean(vals):6.2f}±{100 * statistics.stdev(vals):4.2f}"


def main():
    x, y = load()
    n, d = x.shape
    ds = vp()
    ok(lib.dc_dataset_create(C.byref(ds), x.ctypes.data, n, d, 0), "dataset")
    shape = args.image_shape if args.data else "28x28"
    if shape:
        h, w = (int(v) for v in shape.split("x"))
        ok(lib.dc_dataset_set_image_shape(ds, h, w, 1), "image shape")
    seeds = [int(v) for v in args.seeds.split(",")]
    configs = [(m, {}) for m in args.methods.split(",") if m]
    if args.ablation:
        for w in (1, 0):
            for nb in (1, 0):
                for form in ("proposed", "idec"):
                    if (w, nb, form) != (1, 1, "proposed") or ("edcwrn", {}) not in configs:
                        configs.append(("edcwrn", {"weighting": w, "neighbors": nb, "formulation": form}))
    for v in args.also_max_iter.split(","):
        if v:
            configs.append(("edcwrn", {"max_iter": int(v)}))
    for v in args.variant:
        configs.append(("edcwrn", {k: _value(x) for k, _, x in
                                   (item.partition("=") for item in v.split(","))}))
    print(f"{args.data or 'Fashion-MNIST ' + args.split}: n = {n}, seeds {seeds}, "
          f"augment {'off' if args.no_augment else 'default'}, "
          f"pretrain_steps {args.pretrain_steps or args.pretrain_epochs and str(args.pretrain_epochs) + ' epochs' or 'default'}, "
          f"max_iter {args.max_iter or 'default'}, "
          f"threads {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, set {fixed or 'nothing'}",
          flush=True)
    runs = []
    for seed in seeds:
        ae = None
        try:
            for method, settings in configs:
                res, new_ae = run(ds, y, method, seed, settings, ae)
                if new_ae:
                    ae = new_ae
                runs.append(res)
                print(f"  seed {seed} {method:7s} {json.dumps(settings):60s} ACC {100 * res['acc']:6.2f} "
                      f"NMI {100 * res['nmi']:6.2f}  pretrain {res.get('seconds_pretrain', 0):7.1f}s "
                      f"cluster {res.get('seconds_cluster', 0):7.1f}s  iterations {res.get('iterations', 0):.0f}",
                      flush=True)
        finally:
            lib.dc_model_free(ae)
    print("\nmethod   settings                                                     ACC %         NMI %"
          "        pretrain s   cluster s")
    for method, settings in configs:
        rs = [r for r in runs if r["method"] == method and r["settings"] == settings]
        pre = [r["seconds_pretrain"] for r in rs if r.get("seconds_pretrain", 0) > 0]
        print(f"{method:8s} {json.dumps(settings):60s} {mean_sd([r['acc'] for r in rs])}  "
              f"{mean_sd([r['nmi'] for r in rs])}  "
              f"{statistics.mean(pre) if pre else 0:10.1f}  "
              f"{statistics.mean(r['seconds_cluster'] for r in rs):10.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    lib.dc_dataset_free(ds)


if __name__ == "__main__":
    main()
