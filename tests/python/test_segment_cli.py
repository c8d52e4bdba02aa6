"""`deepclust segment` (its JSON, outputs that appear only on success, bad
input with a specific message and exit status) and deepclust.segment/slic."""
import json
import os
import subprocess

import pytest

from conftest import label_boundaries, shapes_scene

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")
sk_metrics = pytest.importorskip("sklearn.metrics")
linear_sum_assignment = pytest.importorskip("scipy.optimize").linear_sum_assignment

CLI = os.environ.get("DEEPCLUST_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="DEEPCLUST_CLI is not set")

# The CLI's SEG.png palette (docs/segment.md): Okabe-Ito, then mixed with white.
OKABE_ITO = np.array([[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66],
                      [0, 114, 178], [213, 94, 0], [204, 121, 167], [0, 0, 0]], float)


def palette(i):
    t = (i // 8) / 32.0
    return np.floor(OKABE_ITO[i % 8] * (1 - t) + 255 * t + 0.5).astype(np.uint8)


def run(*args):
    return subprocess.run([CLI, "segment", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture()
def files(tmp_path):
    img, truth = shapes_scene(90, 130, noise=6.0, stripes=0.0)
    Image.fromarray(img).save(tmp_path / "photo.png")
    Image.fromarray(truth).save(tmp_path / "truth.png")
    return tmp_path, img, truth


def test_contract_outputs_and_metrics(files):
    d, img, truth = files
    outs = {k: d / v for k, v in (("out", "seg.png"), ("overlay", "ov.png"),
                                  ("superpixels-out", "sp.png"), ("labels-out", "lab.npy"))}
    args = [x for k, v in outs.items() for x in ("--" + k, v)]
    p = run("--image", d / "photo.png", "--k", 3, "--superpixels", 60, "--sigma", 1,
            "--truth", d / "truth.png", "--json", "--seed", 2, *args)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    j = json.loads(lines[0])
    for key in ("n_superpixels", "slic_seconds", "seconds", "k", "method", "acc", "nmi", "ari",
                "boundary_recall"):
        assert key in j, key
    assert (j["k"], j["method"], j["seed"]) == (3, "scdbas", 2)
    assert 30 <= j["n_superpixels"] <= 90 and 0 <= j["slic_seconds"] <= j["seconds"]
    labels = np.load(outs["labels-out"]).reshape(truth.shape)
    assert set(np.unique(labels)) <= {0, 1, 2}
    t, pr = truth.ravel(), labels.ravel()
    assert j["ari"] == pytest.approx(sk_metrics.adjusted_rand_score(t, pr), abs=1e-9)
    assert j["nmi_arithmetic"] == pytest.approx(
        sk_metrics.normalized_mutual_info_score(t, pr), abs=1e-9)
    assert j["acc"] >= 0.95
    assert j["boundary_recall"] >= 0.9
    # SEG.png: palette colour i marks segment i.
    seg = np.asarray(Image.open(outs["out"]))
    np.testing.assert_array_equal(seg, np.stack([palette(i) for i in range(3)])[labels])
    # The overlay is the photo except on segment boundaries.
    ov = np.asarray(Image.open(outs["overlay"]))
    edge = label_boundaries(labels)
    np.testing.assert_array_equal(ov[~edge], img[~edge])
    assert set(np.unique(ov[edge])) <= {0, 255}
    assert np.asarray(Image.open(outs["superpixels-out"])).shape == img.shape


def write_ppm(path, w, h, maxval=255, data=b""):
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n%d\n" % (w, h, maxval) + data)


@pytest.mark.parametrize("case,status,message", [
    ("empty_ppm", 1, "no pixels"),
    ("one_pixel", 1, "1 x 1"),
    ("too_many_superpixels", 1, "superpixels asked of an image"),
    ("k_above_superpixels", 1, "superpixels"),
    ("compactness_zero", 2, "compactness must be in (0, 1e6]"),
    ("compactness_negative", 2, "compactness must be in (0, 1e6]"),
    ("compactness_huge", 2, "compactness must be in (0, 1e6]"),
    ("position_weight_huge", 2, "--position-weight takes a number in [0, 1e6]"),
    ("sixteen_bit", 1, "16-bit"),
    ("truth_size", 1, "truth"),
    ("truncated", 1, "trunc"),
    ("unknown_method", 2, "--method"),
    ("bad_output_name", 2, ".png or .ppm"),
])
def test_bad_input_writes_nothing(files, case, status, message):
    d, img, truth = files
    photo = d / "photo.png"
    extra = []
    if case == "empty_ppm":
        photo = d / "empty.ppm"
        write_ppm(photo, 0, 0)
    elif case == "one_pixel":
        photo = d / "one.png"
        Image.fromarray(img[:1, :1]).save(photo)
    elif case == "too_many_superpixels":
        extra = ["--superpixels", img.shape[0] * img.shape[1] + 1]
    elif case == "k_above_superpixels":
        extra = ["--superpixels", 10, "--k", 40]
    elif case == "compactness_zero":
        extra = ["--compactness", 0]
    elif case == "compactness_negative":
        extra = ["--compactness", -3]
    elif case == "compactness_huge":
        extra = ["--compactness", "1e20"]
    elif case == "position_weight_huge":
        extra = ["--position-weight", "1e300"]
    elif case == "sixteen_bit":
        photo = d / "wide.png"
        Image.fromarray((truth.astype(np.uint16) * 1000)).save(photo)
    elif case == "truth_size":
        Image.fromarray(truth[:-1]).save(d / "small_truth.png")
        extra = ["--truth", d / "small_truth.png"]
    elif case == "truncated":
        photo = d / "cut.png"
        photo.write_bytes((d / "photo.png").read_bytes()[:300])
    elif case == "unknown_method":
        extra = ["--method", "dbscan"]
    elif case == "bad_output_name":
        extra = ["--overlay", d / "ov.jpg"]
    if "--k" not in extra:
        extra += ["--k", 3]
    outs = [d / "seg.png", d / "lab.npy", d / "sp.png"]
    p = run("--image", photo, "--out", outs[0], "--labels-out", outs[1],
            "--superpixels-out", outs[2], "--json", *extra)
    assert p.returncode == status, (p.returncode, p.stderr)
    assert message.lower() in p.stderr.lower(), p.stderr
    assert p.stdout == ""
    assert not any(o.exists() for o in outs)


@pytest.mark.parametrize("flags", [("--out", "photo"), ("--overlay", "photo"),
                                   ("--out", "truth"), ("--labels-out", "link"),
                                   ("--out", "twice")])
def test_outputs_never_replace_inputs_or_each_other(files, flags):
    """An output naming an input (also through a link) or another output is
    refused before any work, exit 2, every file as it was."""
    d, img, truth = files
    flag, which = flags
    photo, tpng = d / "photo.png", d / "truth.png"
    before = {p: p.read_bytes() for p in (photo, tpng)}
    extra = []
    if which == "photo":
        target = photo
    elif which == "truth":
        target = tpng
    elif which == "link":
        (d / "lab.npy").symlink_to(photo)
        target = d / "lab.npy"
    else:
        target = d / "seg.png"
        extra = ["--overlay", target]
    p = run("--image", photo, "--truth", tpng, "--k", 3, flag, target, *extra)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "nothing was done" in p.stderr, p.stderr
    assert {p_: p_.read_bytes() for p_ in before} == before
    assert not (d / "seg.png").exists()


def test_failed_run_keeps_old_outputs(files):
    """A run refused before the work or failing while it writes its outputs
    leaves the outputs of an earlier run as they were, and no temporary."""
    d, img, truth = files
    seg = d / "seg.png"
    p = run("--image", d / "photo.png", "--k", 3, "--out", seg, "--seed", 1)
    assert p.returncode == 0, p.stderr
    old = seg.read_bytes()
    # --labels-out into a missing folder: refused before any work.
    p = run("--image", d / "photo.png", "--k", 4, "--out", seg, "--labels-out",
            d / "nodir" / "l.npy")
    assert p.returncode == 2 and "does not exist" in p.stderr, p.stderr
    assert seg.read_bytes() == old
    # A failure while writing: the label file's name is taken by a folder.
    (d / "l.npy").mkdir()
    p = run("--image", d / "photo.png", "--k", 4, "--out", seg, "--labels-out", d / "l.npy")
    assert p.returncode != 0, p.stderr
    assert seg.read_bytes() == old
    assert sorted(x.name for x in d.iterdir()) == ["l.npy", "photo.png", "seg.png", "truth.png"]


def test_name_equals_value_options(files):
    """--name=value as cluster takes it; the same run as --name value."""
    d, img, truth = files
    a, b = d / "a.npy", d / "b.npy"
    run("--image", d / "photo.png", "--k", 3, "--seed", 4, "--labels-out", a)
    p = run(f"--image={d / 'photo.png'}", "--k=3", "--seed=4", f"--labels-out={b}")
    assert p.returncode == 0, p.stderr
    assert np.array_equal(np.load(a), np.load(b))
    p = run("--image", d / "photo.png", "--k", 3, "--json=yes")
    assert p.returncode == 2 and "takes no value" in p.stderr


def test_palette_png_and_grey_photo(files):
    d, img, truth = files
    pal = Image.fromarray(img).convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.save(d / "pal.png")
    p = run("--image", d / "pal.png", "--k", 3, "--superpixels", 60, "--truth",
            d / "truth.png", "--json", "--method", "kmeans")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["acc"] >= 0.9
    grey = img.mean(axis=2).astype(np.uint8)
    Image.fromarray(grey).save(d / "grey.png")
    p = run("--image", d / "grey.png", "--k", 3, "--json", "--method", "njw", "--truth",
            d / "truth.png", "--labels-out", d / "grey.npy")
    assert p.returncode == 0, p.stderr
    acc = json.loads(p.stdout)["acc"]
    assert acc >= 0.9, acc
    labels = np.load(d / "grey.npy").reshape(truth.shape)
    # The JSON's ACC is the Hungarian accuracy of the written labels.
    c = np.zeros((3, 3))
    np.add.at(c, (truth.ravel(), labels.ravel()), 1)
    rows, cols = linear_sum_assignment(c, maximize=True)
    assert acc == pytest.approx(c[rows, cols].sum() / truth.size, abs=1e-9)
    # The binding, on the grey photo as one channel, gives the same labels
    # for the same settings (200 superpixels, compactness 10, seed 0).
    deepclust = pytest.importorskip("deepclust")
    np.testing.assert_array_equal(labels, deepclust.segment(grey[..., None], 3, method="njw"))


def test_superpixels_out_paints_mean_colours(files):
    """--superpixels-out: every superpixel in the mean colour of its pixels
    (of the unsmoothed photo), as scikit-image's label2rgb(kind="avg")
    paints deepclust.slic's superpixels at the same settings; label2rgb
    truncates the mean to uint8 where the CLI rounds, hence +-1."""
    deepclust = pytest.importorskip("deepclust")
    skcolor = pytest.importorskip("skimage.color")
    d, img, truth = files
    p = run("--image", d / "photo.png", "--k", 3, "--superpixels", 60, "--sigma", 1,
            "--compactness", 10, "--superpixels-out", d / "sp.png")
    assert p.returncode == 0, p.stderr
    out = np.asarray(Image.open(d / "sp.png"))
    assert out.shape == img.shape and out.dtype == np.uint8
    sp = deepclust.slic(img, n_segments=60, compactness=10, sigma=1)
    ref = skcolor.label2rgb(sp, img, kind="avg", bg_label=-1)
    diff = np.abs(out.astype(int) - np.asarray(ref, float))
    assert diff.max() <= 1, (diff.max(), (diff > 1).mean())


def test_binding_segment_and_slic(files):
    deepclust = pytest.importorskip("deepclust")
    d, img, truth = files
    sp = deepclust.slic(img, n_segments=60, sigma=1)
    assert sp.shape == truth.shape and sp.dtype == np.int32
    assert set(np.unique(sp)) == set(range(sp.max() + 1))
    for method in ("scdbas", "njw", "kmeans"):
        lab, sp2 = deepclust.segment(img, 3, n_segments=60, sigma=1, method=method,
                                     return_superpixels=True)
        np.testing.assert_array_equal(sp2, sp)
        acc = deepclust.metrics.acc(truth.ravel(), lab.ravel())
        assert acc >= 0.9, (method, acc)
    # The CLI gives the same segmentation for the same settings.
    lab = deepclust.segment(img, 3, n_segments=60, sigma=1)
    p = run("--image", d / "photo.png", "--k", 3, "--superpixels", 60, "--sigma", 1,
            "--labels-out", d / "l.npy")
    assert p.returncode == 0, p.stderr
    np.testing.assert_array_equal(np.load(d / "l.npy").reshape(lab.shape), lab)
    assert deepclust.boundary_recall(truth, lab) >= 0.9
    with pytest.raises(deepclust.InvalidArgumentError):
        deepclust.slic(img, compactness=0)
    with pytest.raises(deepclust.KRangeError):
        deepclust.segment(img, 50, n_segments=10)
    with pytest.raises(ValueError):
        deepclust.slic(np.zeros((4, 4, 5), np.uint8))


def test_binding_image_files_and_given_superpixels(files):
    deepclust = pytest.importorskip("deepclust")
    d, img, truth = files
    np.testing.assert_array_equal(deepclust.read_image(d / "photo.png"), img)
    for name, a in (("g.pgm", truth[..., None]), ("c.ppm", img), ("a.png", img[..., :2])):
        deepclust.write_image(d / name, a)
        np.testing.assert_array_equal(deepclust.read_image(d / name), a)
        np.testing.assert_array_equal(np.asarray(Image.open(d / name)).reshape(a.shape), a)
    with pytest.raises(deepclust.UnsupportedError):
        deepclust.write_image(d / "x.pgm", img)
    assert not (d / "x.pgm").exists()
    sp = deepclust.slic(img, n_segments=60, sigma=1)
    np.testing.assert_array_equal(deepclust.segment_superpixels(img, sp, 3),
                                  deepclust.segment(img, 3, n_segments=60, sigma=1))
