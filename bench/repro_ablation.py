#!/usr/bin/python3
"""EDCWRN Table 3 (ablation: representation weighting x neighbours x
formulation) and Table 4 (inter-cluster variance of the embedding with the
proposed kernel + cross-entropy against Student-t + KL) on the Fashion-MNIST
test split, or on any image set given with --data/--labels/--image-shape.
Per seed the autoencoder is pre-trained once (`--max-iter 0
--save-pretrained`, which also gives the start: the `init` clustering of
the pre-trained embedding) and the eight variants start from it
(`--load-pretrained`), so that only the switches differ, as in the
paper's table. Writes docs/reproduction.md (section "ablation") and docs/img/repro_ablation_acc.svg.

  bench/repro_ablation.py                    # Fashion-MNIST test split, seeds 0,1 (hours)
  bench/repro_ablation.py --smoke            # 500 images, tiny networks (a minute)
  [--seeds 0,1] [--data X.npy --labels Y.npy --image-shape 28x28 --name digits]
  [--set NAME=VALUE ...] [--threads N] [--state FILE]

Finished runs are kept in --state (default /tmp/deepclust_repro/ablation*.json)
with the pre-trained autoencoders beside it: run the same command again
after an interruption and it continues. An autoencoder placed there as
ae_seedS.dcm before the run (from `--save-pretrained` with the same
parameters) is used for seed S instead of pre-training.
"""
import argparse
import pathlib
import time

import repro_common as rc

# (weighting, neighbours, formulation) in the paper's row order.
VARIANTS = [(w, n, f) for w in (True, False) for n in (True, False) for f in ("proposed", "idec")]
# EDCWRN paper Table 3, ACC / NMI %: Fashion-MNIST and MNIST-test columns.
PAPER3 = {
    "fashion-mnist": [(62.50, 68.09), (62.36, 67.80), (62.40, 67.88), (62.44, 68.03),
                      (62.46, 68.08), (58.56, 63.41), (62.36, 67.84), (62.42, 67.96)],
    "digits": [(98.66, 96.35), (98.58, 96.19), (98.54, 96.07), (98.59, 96.23),
               (98.60, 96.19), (98.64, 96.34), (98.51, 96.00), (98.59, 96.23)],
}
# Table 4: inter-cluster variance, (KL + Student-t, cross-entropy + proposed).
PAPER4 = {"fashion-mnist": (0.73, 1.66), "digits": (0.57, 2.539)}


def variant_name(w, n, f):
    return "w%s n%s %s" % ("+" if w else "-", "+" if n else "-", f)


def data_args(args):
    if args.data:
        out = ["--data", args.data, "--labels", args.labels]
        return out + (["--image-shape", args.image_shape] if args.image_shape else [])
    return rc.fmnist_test_args(args.subset, args.state)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    rc.add_run_args(ap)
    ap.add_argument("--data", default=None)
    ap.add_argument("--labels", default=None)
    ap.add_argument("--image-shape", default=None)
    ap.add_argument("--name", default=None, help="the set's name in the text (paper column: "
                    "fashion-mnist or digits = MNIST-test)")
    args = ap.parse_args()
    args.name = args.name or ("fashion-mnist" if not args.data else pathlib.Path(args.data).stem)
    rc.finish_run_args(args, "0,1", "ablation_" + args.name)
    seeds = [int(s) for s in args.seeds.split(",")]
    config = {k: getattr(args, k) for k in ("smoke", "seeds", "subset", "data", "labels",
                                            "image_shape", "set")}
    store = rc.Store(args.state, config)
    folder = pathlib.Path(args.state).with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    machine = rc.machine()
    base = ["cluster", "--method", "edcwrn", *data_args(args), "--k", 10, *rc.cli_param_args(args)]
    clock = rc.Clock(len(seeds) * (1 + len(VARIANTS)))
    start, runs, reused = {}, {}, set()
    for seed in seeds:
        ae = folder / ("ae_seed%d.dcm" % seed)
        # The start (iteration 0) and the autoencoder every variant of the seed uses;
        # an autoencoder already there (a --save-pretrained file made with the
        # same parameters) is used instead of pre-training again.
        if "start|%d" % seed not in store.data["runs"] and ae.exists():
            print("seed %d: using the autoencoder %s" % (seed, ae), flush=True)
            reused.add(seed)
            first = ["--load-pretrained", ae]
        else:
            first = ["--save-pretrained", ae]
        start[seed] = clock.step("pre-training, seed %d" % seed, lambda: store.get(
            "start|%d" % seed, lambda: dict(rc.run_cli(base + ["--seed", seed, "--max-iter", 0]
                                                       + first), reused=seed in reused)))
        for w, n, f in VARIANTS:
            opts = ["--weighting", "true" if w else "false", "--neighbors",
                    "true" if n else "false", "--formulation", f]
            runs[seed, w, n, f] = clock.step(
                "%s, seed %d" % (variant_name(w, n, f), seed),
                lambda: store.get("%d|%s|%s|%s" % (seed, w, n, f), lambda: rc.run_cli(
                    base + ["--seed", seed, "--load-pretrained", ae] + opts)))

    paper3 = PAPER3.get(args.name)
    header = ["weighting", "neighbours", "formulation", "ACC %", "NMI %", "inter-cluster var.",
              "paper ACC / NMI"]
    rows, bars = [], []
    for i, (w, n, f) in enumerate(VARIANTS):
        acc = rc.mean_sd([runs[s, w, n, f]["acc"] for s in seeds])
        nmi = rc.mean_sd([runs[s, w, n, f]["nmi"] for s in seeds])
        icv = rc.mean_sd([runs[s, w, n, f]["inter_cluster_variance"] for s in seeds])
        rows.append(["✓" if w else "✗", "✓" if n else "✗", f, rc.pm(*acc), rc.pm(*nmi),
                     rc.pm(*icv, scale=1.0, digits=3),
                     "%.2f / %.2f" % paper3[i] if paper3 else "–"])
        bars.append((variant_name(w, n, f), [acc, nmi]))
    k_acc = rc.mean_sd([start[s]["acc"] for s in seeds])
    k_nmi = rc.mean_sd([start[s]["nmi"] for s in seeds])
    rows.append(["start: the init (default spectral) on the pre-trained embedding", "", "", rc.pm(*k_acc), rc.pm(*k_nmi),
                 "", ""])
    chart = rc.IMG / "repro_ablation_acc.svg"
    rc.svg_bars(chart, "%s: ablation, mean ± sd over seeds %s" % (args.name, args.seeds),
                "ACC / NMI", bars, ["ACC", "NMI"])

    paper4 = PAPER4.get(args.name)
    t4 = []
    for f, label, p in (("idec", "KL with Student-t (formulation idec)", 0),
                        ("proposed", "cross-entropy with the proposed kernel", 1)):
        icv = rc.mean_sd([runs[s, True, True, f]["inter_cluster_variance"] for s in seeds])
        t4.append([label, rc.pm(*icv, scale=1.0, digits=3),
                   "%g" % paper4[p] if paper4 else "–"])
    trained = [start[s]["phases"]["pretrain"] for s in seeds if not start[s].get("reused")]
    pre = "pre-training %.0f s" % rc.mean_sd(trained)[0] if trained else "pre-training not timed here"
    if len(trained) < len(seeds):
        pre += " (seeds %s reused autoencoders placed beside the state file)" % ",".join(
            str(s) for s in seeds if start[s].get("reused"))
    clu = rc.mean_sd([runs[s, w, n, f]["phases"]["cluster"] for s in seeds for w, n, f in VARIANTS])[0]
    label = "SMOKE RUN (not a result: %d images, tiny networks %s, seeds %s)" % (
        args.subset, " ".join(rc.SMOKE), args.seeds) if args.smoke else \
        "%s, seeds %s%s" % (args.name, args.seeds, ", %d images" % args.subset if args.subset else "")
    text = """## EDCWRN Tables 3 and 4: ablation and inter-cluster variance ({label})

Generated by `bench/repro_ablation.py{cmd}` on {date}; its runs took {seconds:.1f} s
(wall time, each as measured when it ran; {pre} and a
clustering phase {clu:.0f} s on average) on: {machine}.

Every parameter not named is the library's default ({extra}). Per seed one
autoencoder is pre-trained and every variant starts from it; ACC and NMI in
%, mean ± sample sd over the seeds; NMI with sqrt normalisation (the
paper's Eq. 17). The paper's column is its Table 3 for {paper_set}
(one run each, as published).

{table}

![ablation](img/repro_ablation_acc.svg)

Table 4, inter-cluster variance of the final embedding (mean squared
distance of the cluster means to the global mean), both with weighting and
neighbours. Its value depends on the embedding's scale, which differs
between implementations; the paper's point is the ratio of the two rows:

{table4}

Command of this run (resumable, progress on stdout):

```sh
./scripts/build.sh build
OPENBLAS_NUM_THREADS=2 bench/repro_ablation.py{cmd}
```
""".format(label=label, date=time.strftime("%Y-%m-%d %H:%M"), seconds=store.wall(), pre=pre,
           clu=clu, machine=machine, extra=" ".join(args.set) or "no --set",
           paper_set={"fashion-mnist": "Fashion-MNIST", "digits": "MNIST-test"}.get(
               args.name, "(no column for this set)"),
           table=rc.md_table(header, rows),
           table4=rc.md_table(["clustering loss", "inter-cluster variance", "paper"], t4),
           cmd=(" --smoke" if args.smoke else "") + "".join(
               " --%s %s" % (k.replace("_", "-"), getattr(args, k))
               for k in ("seeds", "data", "labels", "image_shape", "name")
               if getattr(args, k) and not (args.smoke and k == "seeds")))
    rc.update_section("ablation", text)
    print("wrote %s (section ablation) and %s; runs took %.1f s" % (rc.DOC, chart, store.wall()))


if __name__ == "__main__":
    main()
