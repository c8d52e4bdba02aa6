"""Shared pieces of the reproduction scripts (bench/repro_*.py): running the
CLI with --json, a resumable store of finished runs, the machine, Markdown
tables, SVG charts, and the sections of docs/reproduction.md each script
owns (between <!-- BEGIN name --> and <!-- END name -->)."""
import html
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The binding of this source tree (it finds build/lib by itself).
sys.path.insert(0, str(ROOT / "bindings" / "python"))
DOC = ROOT / "docs" / "reproduction.md"
IMG = ROOT / "docs" / "img"


def cli_path():
    """$DEEPCLUST_CLI, else the build tree's deepclust."""
    path = os.environ.get("DEEPCLUST_CLI") or str(ROOT / "build" / "src" / "deepclust")
    if not os.access(path, os.X_OK):
        sys.exit("deepclust CLI not found at %s (build first, or set DEEPCLUST_CLI)" % path)
    return path


def run_cli(args):
    """The JSON object of `deepclust ARGS --json --quiet`; exits with the
    CLI's message when it fails."""
    cmd = [cli_path(), *map(str, args), "--json", "--quiet"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed (exit %d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return json.loads(p.stdout)


class Store:
    """Finished runs by key, saved after each one (atomically), so that an
    interrupted script continues where it stopped when run again with the
    same --state file."""

    def __init__(self, path, config):
        self.path = pathlib.Path(path)
        self.data = {"config": config, "runs": {}}
        if self.path.exists():
            old = json.loads(self.path.read_text())
            if old.get("config") == config:
                self.data = old
            else:
                print("state %s was made with other settings: starting again" % self.path)

    def get(self, key, compute):
        if key not in self.data["runs"]:
            t0 = time.monotonic()
            result = compute()
            self.data["runs"][key] = {"result": result, "wall": time.monotonic() - t0}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)
        return self.data["runs"][key]["result"]

    def wall(self):
        """Seconds the stored runs took when they ran (a resumed script's
        own elapsed time would leave out the runs it found stored)."""
        return sum(r["wall"] for r in self.data["runs"].values())


def machine():
    """One line: CPU, cores, load, OS, library version."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([cli_path(), "--version"], capture_output=True, text=True).stdout
    load = os.getloadavg()[0]
    return "%s, %d cores (load %.1f at the start), %s %s, %s" % (
        cpu, os.cpu_count() or 0, load, platform.system(), platform.release(), version.strip())


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mean_sd(values):
    """(mean, sample sd) of a list; sd None for a single value."""
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 \
        if len(values) > 1 else None
    return mean, sd


def pm(mean, sd, scale=100.0, digits=1):
    """'62.5 ± 1.2' (percent by default); sd None (one run): the mean alone."""
    if mean is None:
        return "–"
    if sd is None:
        return "%.*f" % (digits, mean * scale)
    return "%.*f ± %.*f" % (digits, mean * scale, digits, sd * scale)


COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _svg(width, height, title, body):
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="sans-serif" font-size="12">\n'
            '<rect width="100%%" height="100%%" fill="white"/>\n'
            '<text x="%d" y="20" text-anchor="middle" font-size="14">%s</text>\n%s</svg>\n'
            % (width, height, width // 2, html.escape(title), body))


def _frame(left, top, pw, ph, ylabel):
    """The axes, the grid of a [0, 1] y axis and its label: (SVG elements,
    the y coordinate of a value)."""
    y = lambda v: top + ph * (1 - v)
    out = ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left, top, left, top + ph),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
           % (left, top + ph, left + pw, top + ph),
           '<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>'
           % (top + ph // 2, top + ph // 2, html.escape(ylabel))]
    for t in range(6):
        v = t / 5
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.1f</text>' % (left - 5, y(v) + 4, v))
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>'
                   % (left, y(v), left + pw, y(v)))
    return out, y


def svg_lines(path, title, xlabel, ylabel, xticks, series):
    """Line chart: series = {name: [(mean, sd) per x tick]} with error bars;
    y from 0 to 1 (ACC, NMI)."""
    w, h, left, right, top, bottom = 640, 360, 60, 150, 35, 50
    pw, ph = w - left - right, h - top - bottom
    x = lambda i: left + pw * (i + 0.5) / len(xticks)
    out, y = _frame(left, top, pw, ph, ylabel)
    for i, t in enumerate(xticks):
        out.append('<text x="%.1f" y="%d" text-anchor="end" transform="rotate(-30 %.1f %d)" '
                   'font-size="10">%s</text>' % (x(i), top + ph + 14, x(i), top + ph + 14,
                                                 html.escape(t)))
    out.append('<text x="%d" y="%d" text-anchor="middle">%s</text>'
               % (left + pw // 2, h - 4, html.escape(xlabel)))
    for k, (name, pts) in enumerate(series.items()):
        c = COLOURS[k % len(COLOURS)]
        xy = [(x(i), y(m)) for i, (m, _) in enumerate(pts) if m is not None]
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                   % (c, " ".join("%.1f,%.1f" % p for p in xy)))
        for i, (m, sd) in enumerate(pts):
            if m is None:
                continue
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x(i), y(m), c))
            if sd:
                out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                           % (x(i), y(min(1, m + sd)), x(i), y(max(0, m - sd)), c))
        out.append('<text x="%d" y="%d" fill="%s">%s</text>'
                   % (left + pw + 10, top + 15 + 18 * k, c, html.escape(name)))
    write_file(path, _svg(w, h, title, "\n".join(out)))


def svg_bars(path, title, ylabel, groups, names):
    """Grouped bars with ± sd whiskers: groups = [(label, [(mean, sd) per
    name])], values in [0, 1]."""
    w, h, left, right, top, bottom = 680, 360, 60, 130, 35, 60
    pw, ph = w - left - right, h - top - bottom
    gw = pw / max(len(groups), 1)
    bw = gw * 0.8 / max(len(names), 1)
    out, y = _frame(left, top, pw, ph, ylabel)
    for g, (label, vals) in enumerate(groups):
        gx = left + g * gw + gw * 0.1
        for k, (m, sd) in enumerate(vals):
            if m is None:
                continue
            c = COLOURS[k % len(COLOURS)]
            bx = gx + k * bw
            out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                       % (bx, y(m), bw * 0.9, top + ph - y(m), c))
            if sd:
                cx = bx + bw * 0.45
                out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>'
                           % (cx, y(min(1, m + sd)), cx, y(max(0, m - sd))))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%s</text>'
                   % (left + g * gw + gw / 2, top + ph + 16, html.escape(label)))
    for k, name in enumerate(names):
        out.append('<text x="%d" y="%d" fill="%s">%s</text>'
                   % (left + pw + 10, top + 15 + 18 * k, COLOURS[k % len(COLOURS)],
                      html.escape(name)))
    write_file(path, _svg(w, h, title, "\n".join(out)))


def write_file(path, text):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def update_section(name, text):
    """Replaces the section `name` of docs/reproduction.md (appended when
    missing), leaving the other scripts' sections as they are."""
    begin, end = "<!-- BEGIN %s -->" % name, "<!-- END %s -->" % name
    doc = DOC.read_text() if DOC.exists() else "# Reproducing the papers' experiments\n"
    block = "%s\n%s\n%s" % (begin, text.strip(), end)
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        doc = head + block + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    write_file(DOC, doc)


# The smoke runs' network and schedule (seconds, not results).
SMOKE = ["hidden1=32", "hidden2=16", "hidden3=0", "embed_dim=3", "pretrain_steps=100",
         "max_iter=40"]
FMNIST = "/usr/share/datasets/fashion-mnist"


def add_run_args(ap):
    """The options every deep reproduction script takes."""
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--subset", type=int, default=None, help="the first N images only")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--state", default=None)


def finish_run_args(args, seeds, state):
    """Smoke defaults (500 images, two seeds, SMOKE), then the seeds and the
    state file (/tmp/deepclust_repro/STATE[_smoke].json) when not given."""
    if args.smoke:
        args.subset = args.subset or 500
        args.seeds = args.seeds or "0,1"
        args.set = SMOKE + args.set
    args.seeds = args.seeds or seeds
    args.state = args.state or "/tmp/deepclust_repro/%s%s.json" % (state, "_smoke" if args.smoke else "")


def fmnist_test_args(subset, state):
    """CLI options for the Fashion-MNIST test split, pixels / 255: the IDX
    files, or (subset N) the first N images written once as .npy beside the
    state file."""
    images = "%s/t10k-images-idx3-ubyte.gz" % FMNIST
    labels = "%s/t10k-labels-idx1-ubyte.gz" % FMNIST
    if not subset:
        return ["--data", images, "--labels", labels, "--normalize", "scale255"]
    import deepclust
    import numpy as np
    folder = pathlib.Path(state).parent
    folder.mkdir(parents=True, exist_ok=True)
    x, y = folder / ("fmnist_%d_x.npy" % subset), folder / ("fmnist_%d_y.npy" % subset)
    with deepclust.Dataset.load(images, labels) as ds, ds.subset(0, subset) as sub:
        np.save(x, sub.to_numpy() / 255.0)
        np.save(y, sub.labels)
    return ["--data", x, "--labels", y, "--image-shape", "28x28"]


def cli_param_args(args):
    """--param NAME=VALUE for each --set, and --threads."""
    out = []
    for s in args.set:
        out += ["--param", s]
    return out + (["--threads", args.threads] if args.threads else [])


class Clock:
    """Progress lines: '[i/n] what ... 1.2 s (elapsed 34 s)'."""

    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.monotonic()

    def step(self, what, fn):
        self.done += 1
        print("[%d/%d] %s ..." % (self.done, self.total, what), end="", flush=True)
        t0 = time.monotonic()
        result = fn()
        print(" %.1f s (elapsed %.0f s)" % (time.monotonic() - t0, self.elapsed()), flush=True)
        return result

    def elapsed(self):
        return time.monotonic() - self.start
