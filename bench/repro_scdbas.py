#!/usr/bin/python3
"""The SCDBAS paper's tables: SCDBAS (the library's improved search and the
paper's as published), NJW and k-means on UCI sets from scikit-learn (iris,
wine and breast cancer z-scored, digits) and synthetic sets (two moons, two
circles, blobs): ACC, ARI, F1 and seconds per fit, mean ± sample sd over the
seeds (`deepclust cluster --seeds`), and the damped against the undamped
beetle search (the paper's Fig. 1, `--record-undamped --trace-svg`).
Writes docs/reproduction.md (section "scdbas"), docs/img/repro_scdbas_acc.svg
and docs/img/repro_scdbas_trace_{iris,wine}.svg.

  bench/repro_scdbas.py                # all sets, seeds 0-9
  bench/repro_scdbas.py --smoke        # iris, wine, moons, circles; seeds 0,1 (seconds)
  [--seeds 0-9] [--datasets iris,wine,...] [--state FILE]

Finished (set, method) cells are kept in --state (default
/tmp/deepclust_repro/scdbas[_smoke].json), so an interrupted run continues.
"""
import argparse
import time

import numpy as np
from sklearn import datasets

import repro_common as rc

ALL = "iris,wine,breast_cancer,digits,moons,circles,blobs"
SMOKE_SETS = "iris,wine,moons,circles"
METHODS = {  # name: CLI options
    "scdbas": ["--method", "scdbas"],
    "scdbas (paper mode)": ["--method", "scdbas", "--dbas-mode", "paper"],
    "njw": ["--method", "njw"],
    "kmeans": ["--method", "kmeans"],
}


def load(name):
    """(x, y, normalisation) of a set; synthetic sets with a fixed seed."""
    if name == "moons":
        x, y = datasets.make_moons(300, noise=0.05, random_state=0)
        return x, y, "none"
    if name == "circles":
        x, y = datasets.make_circles(300, factor=0.5, noise=0.05, random_state=0)
        return x, y, "none"
    if name == "blobs":
        x, y = datasets.make_blobs(300, centers=4, random_state=0)
        return x, y, "none"
    bunch = getattr(datasets, "load_" + name)()
    return bunch.data, bunch.target, "none" if name in ("iris", "digits") else "zscore"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--datasets", default=None)
    ap.add_argument("--state", default=None)
    args = ap.parse_args()
    args.seeds = args.seeds or ("0,1" if args.smoke else "0-9")
    args.datasets = args.datasets or (SMOKE_SETS if args.smoke else ALL)
    args.state = args.state or "/tmp/deepclust_repro/scdbas%s.json" % ("_smoke" if args.smoke else "")
    names = args.datasets.split(",")
    store = rc.Store(args.state, {"seeds": args.seeds, "datasets": args.datasets})
    folder = rc.pathlib.Path(args.state).parent
    folder.mkdir(parents=True, exist_ok=True)
    machine = rc.machine()
    clock = rc.Clock(len(names) * len(METHODS) + 2)
    results, shapes, inputs = {}, {}, {}
    for name in names:
        x, y, norm = load(name)
        xp, yp = folder / (name + "_x.npy"), folder / (name + "_y.npy")
        np.save(xp, x.astype(np.float32))
        np.save(yp, y.astype(np.int32))
        shapes[name] = (x.shape[0], x.shape[1], len(set(y)))
        inputs[name] = ["--data", xp, "--labels", yp, "--normalize", norm, "--k", shapes[name][2]]
        for method, opts in METHODS.items():
            cmd = ["cluster", *inputs[name], *opts, "--seeds", args.seeds]
            results[name, method] = clock.step(
                "%s %s" % (method, name),
                lambda: store.get("%s|%s" % (name, method), lambda: rc.run_cli(cmd)))

    traces = []
    for name in ("iris", "wine"):
        if name not in inputs:
            clock.done += 1
            continue
        svg = rc.IMG / ("repro_scdbas_trace_%s.svg" % name)
        clock.step("damped vs undamped trace %s" % name, lambda: rc.run_cli(
            ["cluster", *inputs[name], "--method", "scdbas", "--dbas-mode", "paper",
             "--record-undamped", "true", "--seed", 0, "--trace-svg", svg]))
        traces.append((name, svg.name))

    header = ["set (n × d, k)", "method", "ACC %", "ARI %", "F1 %", "seconds", "paper ACC"]
    rows = []
    for name in names:
        for method in METHODS:
            j = results[name, method]
            m, s = j["mean"], j["sd"]
            rows.append(["%s (%d × %d, %d)" % ((name,) + shapes[name]), method,
                         rc.pm(m["acc"], s["acc"]), rc.pm(m["ari"], s["ari"]),
                         rc.pm(m["f1"], s["f1"]), "%.3f" % m["seconds"], "not extracted"])
    chart = rc.IMG / "repro_scdbas_acc.svg"
    rc.svg_bars(chart, "ACC (mean ± sd over seeds %s)" % args.seeds, "ACC",
                [(name, [(results[name, m]["mean"]["acc"], results[name, m]["sd"]["acc"])
                         for m in METHODS]) for name in names], list(METHODS))
    label = "SMOKE RUN (not a result: sets %s, seeds %s)" % (args.datasets, args.seeds) \
        if args.smoke else "full run, seeds %s" % args.seeds
    trace_md = "\n".join("![%s: best fitness per iteration, damped and undamped BAS](img/%s)"
                         % (n, f) for n, f in traces)
    text = """## SCDBAS tables ({label})

Generated by `bench/repro_scdbas.py{smoke}` on {date}; its runs took {seconds:.1f} s
(wall time, each as measured when it ran) on: {machine}.

Mean ± sample sd over the seeds (`deepclust cluster --seeds`) with every
parameter at the library's default; wine and breast cancer z-scored.
"scdbas" is the library's improved search, "paper mode" the search as
published (docs/scdbas.md). The paper's values were not extracted.

{table}

![ACC by set and method](img/repro_scdbas_acc.svg)

Damped against undamped beetle search (paper mode, seed 0; the paper's Fig. 1):

{traces}

Real run (minutes; resumable, progress on stdout):

```sh
./scripts/build.sh build
OPENBLAS_NUM_THREADS=2 bench/repro_scdbas.py --seeds 0-9
```
""".format(label=label, smoke=" --smoke" if args.smoke else "",
           date=time.strftime("%Y-%m-%d %H:%M"), seconds=store.wall(), machine=machine,
           table=rc.md_table(header, rows), traces=trace_md)
    rc.update_section("scdbas", text)
    print("wrote %s (section scdbas) and %s; runs took %.1f s" % (rc.DOC, chart, store.wall()))


if __name__ == "__main__":
    main()
