"""Image segmentation against independent references: the example program's
PNG against the example's true regions, and the superpixel features of
docs/segment.md rebuilt here with scikit-image and numpy, clustered by the
binding's KMeans, against deepclust.segment_superpixels."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import shapes_scene

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")
skcolor = pytest.importorskip("skimage.color")
skseg = pytest.importorskip("skimage.segmentation")
optimize = pytest.importorskip("scipy.optimize")
sk_metrics = pytest.importorskip("sklearn.metrics")

ROOT = Path(__file__).resolve().parents[2]
SHAPES = ROOT / "examples" / "data" / "shapes.png"
SHAPES_TRUTH = ROOT / "examples" / "data" / "shapes_truth.png"


def contingency(a, b):
    """Counts of (a, b) label pairs: (a.max() + 1) x (b.max() + 1)."""
    a, b = np.asarray(a).ravel().astype(int), np.asarray(b).ravel().astype(int)
    c = np.zeros((a.max() + 1, b.max() + 1), np.int64)
    np.add.at(c, (a, b), 1)
    return c


def best_match(truth, pred):
    """{pred label: truth label} maximising the matched pixels (Hungarian on
    the contingency table), and the pixel accuracy of that matching."""
    c = contingency(truth, pred)
    rows, cols = optimize.linear_sum_assignment(c, maximize=True)
    return dict(zip(cols, rows)), c[rows, cols].sum() / np.asarray(truth).size


def example_program(name):
    """The built example program, as meson's example tests run it."""
    build = os.environ.get("DEEPCLUST_BUILD_DIR")
    if not build and os.environ.get("DEEPCLUST_LIBRARY"):
        build = Path(os.environ["DEEPCLUST_LIBRARY"]).resolve().parents[1]
    exe = Path(build or "build") / "examples" / name
    if not exe.is_file():
        pytest.skip("example program %s not built (set DEEPCLUST_BUILD_DIR)" % exe)
    return exe


def test_example_segment_png_matches_true_regions(tmp_path):
    """tests/meson.build's example_segment_png run (shapes.png, k = 3, default
    200 superpixels): the written PNG against shapes_truth.png (grey levels
    0, 1, 2 = background, disc, square), and the printed sizes against the
    written image."""
    exe = example_program("segment_png")
    out = tmp_path / "segment_png_out.png"
    p = subprocess.run([str(exe), str(SHAPES), "3", str(out)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    truth = np.asarray(Image.open(SHAPES_TRUTH))
    assert truth.ndim == 2 and set(np.unique(truth)) == {0, 1, 2}
    seg = np.asarray(Image.open(out))
    assert seg.shape == truth.shape, seg.shape
    # The example writes segment i as grey level i * 255 / (k - 1) (integer division).
    levels = {i * 255 // 2: i for i in range(3)}
    assert set(np.unique(seg)) <= set(levels), np.unique(seg)
    labels = np.vectorize(levels.get)(seg)
    match, acc = best_match(truth, labels)
    assert acc >= 0.95, acc
    true_sizes = np.bincount(truth.ravel(), minlength=3)
    sizes = np.bincount(labels.ravel(), minlength=3)
    for lab, region in match.items():
        assert abs(sizes[lab] - true_sizes[region]) <= 0.05 * true_sizes[region], \
            (lab, region, sizes[lab], true_sizes[region])
    # "segments 3 of N superpixels, sizes a b c": a b c are segments 0, 1, 2.
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("segments ")]
    assert len(line) == 1, p.stdout
    m = re.fullmatch(r"segments 3 of (\d+) superpixels, sizes (\d+) (\d+) (\d+)", line[0])
    assert m, line
    assert [int(w) for w in m.groups()[1:]] == sizes.tolist(), (line, sizes)


def reference_features(img, sp, position_weight):
    """docs/segment.md, "Features and clustering", written out with
    scikit-image and numpy: per superpixel its mean CIELAB colour
    (skimage.color.rgb2lab of the unsmoothed image) and centroid (x = column,
    y = row, in pixels); each block divided by its spread (root mean squared
    distance of its rows to their mean, 1 if 0); the position block then
    multiplied by position_weight."""
    lab = skcolor.rgb2lab(img).reshape(-1, 3)
    h, w = sp.shape
    yy, xx = np.mgrid[:h, :w]
    n = sp.max() + 1
    idx = sp.ravel()
    count = np.bincount(idx, minlength=n)
    feat = np.stack([np.bincount(idx, weights=v, minlength=n)
                     for v in (lab[:, 0], lab[:, 1], lab[:, 2], xx.ravel(), yy.ravel())],
                    axis=1) / count[:, None]

    def spread(block):
        s = np.sqrt(((block - block.mean(axis=0)) ** 2).sum(axis=1).mean())
        return s if s > 0 else 1.0

    return np.concatenate([feat[:, :3] / spread(feat[:, :3]),
                           feat[:, 3:] * (position_weight / spread(feat[:, 3:]))], axis=1)


@pytest.fixture(scope="module")
def striped_photo():
    """A photo on which k-means with k = 5 depends on the feature scaling:
    a disc and a square on a background striped in two shades, noisy."""
    img, truth = shapes_scene(90, 130, noise=8.0, stripes=25.0, seed=3)
    return img, truth


@pytest.mark.parametrize("source", ["skimage", "deepclust"])
@pytest.mark.parametrize("position_weight", [0.0, 0.5, 1.0, 2.0])
def test_segment_features_as_documented(striped_photo, source, position_weight):
    """segment_superpixels(method="kmeans", seed s) puts the superpixels in
    the clusters that the binding's KMeans (same k, seed s, the kmeans
    solver's defaults: n_init 10, max_iter 300, tol 1e-4) finds on the
    features built here from docs/segment.md."""
    deepclust = pytest.importorskip("deepclust")
    img, truth = striped_photo
    if source == "skimage":
        sp = skseg.slic(img, n_segments=80, compactness=10, sigma=1, start_label=0)
    else:
        sp = deepclust.slic(img, n_segments=80, sigma=1)
    sp = sp.astype(np.int32)
    n = sp.max() + 1
    assert set(np.unique(sp)) == set(range(n))
    first = np.unique(sp.ravel(), return_index=True)[1]  # one pixel of each superpixel
    feat = reference_features(img, sp, position_weight).astype(np.float32)
    for seed in (0, 1, 2):
        lab = deepclust.segment_superpixels(img, sp, 5, method="kmeans",
                                            position_weight=position_weight, random_state=seed)
        per_sp = lab.ravel()[first]
        # Every pixel takes its superpixel's cluster.
        np.testing.assert_array_equal(lab, per_sp[sp])
        ref = deepclust.KMeans(5, random_state=seed).fit(feat).labels_
        assert sk_metrics.adjusted_rand_score(ref, per_sp) == 1.0, (seed, ref, per_sp)


def two_squares(noise=3.0, seed=0):
    """Two red squares of one colour, far apart, on a light background:
    (uint8 (90, 160, 3), masks of the left and the right square)."""
    rng = np.random.default_rng(seed)
    h, w = 90, 160
    left, right = np.zeros((h, w), bool), np.zeros((h, w), bool)
    left[30:60, 15:45] = True
    right[30:60, 115:145] = True
    img = np.zeros((h, w, 3)) + [200, 200, 190]
    img[left | right] = [200, 40, 40]
    img = np.clip(np.rint(img + rng.normal(scale=noise, size=img.shape)), 0, 255)
    return img.astype(np.uint8), left, right


def check_squares(lab, left, right, position_weight):
    a, b, bg = np.unique(lab[left]), np.unique(lab[right]), np.unique(lab[~(left | right)])
    if position_weight == 0:
        # Colour alone: the squares are one segment, the background the other.
        assert len(a) == 1 and np.array_equal(a, b), (a, b)
        assert np.array_equal(bg, np.setdiff1d([0, 1], a)), (a, bg)
    else:
        # Position dominates: the left and the right square are apart.
        assert len(a) == 1 and len(b) == 1 and a[0] != b[0], (a, b)


@pytest.mark.parametrize("method", ["kmeans", "scdbas"])
@pytest.mark.parametrize("position_weight", [0.0, 10.0])
def test_position_weight_separates_same_coloured_squares(tmp_path, method, position_weight):
    deepclust = pytest.importorskip("deepclust")
    img, left, right = two_squares()
    lab = deepclust.segment(img, 2, method=method, position_weight=position_weight)
    check_squares(lab, left, right, position_weight)
    # The CLI's --position-weight does the same.
    cli = os.environ.get("DEEPCLUST_CLI")
    if not cli:
        pytest.skip("DEEPCLUST_CLI is not set")
    Image.fromarray(img).save(tmp_path / "squares.png")
    p = subprocess.run([cli, "segment", "--image", str(tmp_path / "squares.png"), "--k", "2",
                        "--method", method, "--position-weight", str(position_weight),
                        "--labels-out", str(tmp_path / "l.npy"), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["position_weight"] == position_weight
    check_squares(np.load(tmp_path / "l.npy").reshape(left.shape), left, right, position_weight)
