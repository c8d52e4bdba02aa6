"""Image segmentation (include/deepclust/slic.h, segment.h): SLIC
superpixels, and superpixels clustered by any method of the library.
Images are numpy arrays of shape (H, W) (grey) or (H, W, C) with C in 1-4,
8-bit (uint8; other integer types with values 0-255 are converted)."""
import ctypes

import numpy as np

from . import _lib
from .solver import Solver

#: The library's default weight of the centroid block (deepclust/segment.h).
POSITION_WEIGHT = 0.5


def _image(image):
    """(array as C-contiguous uint8 (H, W, C), H, W, C)."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or not 1 <= a.shape[2] <= 4:
        raise ValueError("expected an image of shape (H, W) or (H, W, C) with C in 1-4, got %s"
                         % (a.shape,))
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.integer) or a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError("expected 8-bit pixel values (uint8, or integers 0-255), got %s"
                             % a.dtype)
        a = a.astype(np.uint8)
    a = np.ascontiguousarray(a)
    return a, a.shape[0], a.shape[1], a.shape[2]


def _slic_options(n_segments, compactness, sigma, max_iter, enforce_connectivity,
                  min_size_factor):
    lib = _lib.lib()
    return _lib.config_struct(lib.dc_slic_options_size, lib.dc_slic_options_default,
                              lib.dc_slic_options_set, {
                                  "n_segments": n_segments, "compactness": compactness,
                                  "sigma": sigma, "max_iter": max_iter,
                                  "enforce_connectivity": enforce_connectivity,
                                  "min_size_factor": min_size_factor})


def read_image(path):
    """A PNG, PGM or PPM file as uint8 (H, W, C) (C = 1-4; see
    deepclust/image.h for what is expanded or refused)."""
    lib = _lib.lib()
    img = _lib.ImageStruct()
    lib.dc_image_read(_lib.cstr(str(path)), ctypes.byref(img))
    try:
        shape = (img.height, img.width, img.channels)
        return np.ctypeslib.as_array(img.pixels, shape=(int(np.prod(shape)),)).reshape(shape).copy()
    finally:
        lib.dc_image_free(ctypes.byref(img))


def write_image(path, image):
    """Writes uint8 (H, W) or (H, W, C) pixels as .png, .pgm (grey) or .ppm
    (RGB), chosen by the name; the file appears only on success."""
    a, h, w, c = _image(image)
    _lib.lib().dc_image_write(_lib.cstr(str(path)), a, w, h, c)


def segment_superpixels(image, superpixels, n_clusters, method="scdbas",
                        position_weight=POSITION_WEIGHT, random_state=0, **params):
    """Clusters given superpixels (int32 (H, W), indices 0 .. n-1 all used,
    e.g. from slic or scikit-image) as segment does; returns the label image."""
    a, h, w, c = _image(image)
    sp = np.ascontiguousarray(superpixels, dtype=np.int32)
    if sp.shape != (h, w):
        raise ValueError("superpixels of shape %s for an image of %d x %d" % (sp.shape, h, w))
    labels = np.empty((h, w), dtype=np.int32)
    with Solver(method, k=n_clusters, seed=random_state, **params) as s:
        _lib.lib().dc_segment_superpixels(s.handle, a, w, h, c, sp, int(sp.max()) + 1,
                                          float(position_weight), labels)
    return labels


def rgb2lab(image):
    """CIELAB (D65) of an 8-bit sRGB or grey image: float32 (..., 3)."""
    a, h, w, c = _image(image)
    out = np.empty((h, w, 3), dtype=np.float32)
    _lib.lib().dc_srgb_to_lab(a, h * w, c, out)
    return out


def slic(image, n_segments=200, compactness=10.0, sigma=0.0, max_iter=10,
         enforce_connectivity=True, min_size_factor=0.25):
    """SLIC superpixels: int32 (H, W) of indices 0 .. n-1 (n near n_segments).
    Parameters as scikit-image's slic (sigma: Gaussian pre-smoothing)."""
    a, h, w, c = _image(image)
    opt = _slic_options(n_segments, compactness, sigma, max_iter, enforce_connectivity,
                        min_size_factor)
    labels = np.empty((h, w), dtype=np.int32)
    n = ctypes.c_int(0)
    _lib.lib().dc_slic(a, w, h, c, opt, labels, ctypes.byref(n))
    return labels


def segment(image, n_clusters, n_segments=200, compactness=10.0, sigma=0.0,
            method="scdbas", position_weight=POSITION_WEIGHT, random_state=0,
            return_superpixels=False, **params):
    """Segments an image into n_clusters: SLIC superpixels, their mean
    CIELAB colour and centroid (position scaled by position_weight, see
    docs/segment.md) clustered with `method` (any of deepclust.methods();
    further method parameters by keyword). Returns the int32 (H, W) label
    image, and the superpixel image too when return_superpixels."""
    a, h, w, c = _image(image)
    opt = _slic_options(n_segments, compactness, sigma, None, None, None)
    labels = np.empty((h, w), dtype=np.int32)
    sp = np.empty((h, w), dtype=np.int32)
    n = ctypes.c_int(0)
    with Solver(method, k=n_clusters, seed=random_state, **params) as s:
        _lib.lib().dc_segment(s.handle, a, w, h, c, opt, float(position_weight), labels, sp,
                              ctypes.byref(n))
    return (labels, sp) if return_superpixels else labels


def boundary_recall(truth, pred, tolerance=2):
    """Fraction of the truth's boundary pixels with a boundary pixel of pred
    within `tolerance` pixels (label images of equal shape)."""
    t = np.ascontiguousarray(truth, dtype=np.int32)
    p = np.ascontiguousarray(pred, dtype=np.int32)
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError("expected two label images of one shape, got %s and %s"
                         % (t.shape, p.shape))
    out = ctypes.c_double()
    _lib.lib().dc_boundary_recall(t, p, t.shape[1], t.shape[0], int(tolerance), ctypes.byref(out))
    return out.value
