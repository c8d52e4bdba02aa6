"""Deep clustering with deepclust: EDCWRN on scikit-learn's handwritten
digits (1797 images of 8 x 8 pixels, 10 classes), then the model's life
after the fit: save, load, predict; and IDEC started from EDCWRN's
pre-trained autoencoder instead of pre-training again.

Run from the repository root after building (meson setup build && ninja -C build):
    PYTHONPATH=bindings/python python3 bindings/python/examples/deep_example.py

The networks here are small so that the example runs in seconds; the
library's defaults are the published sizes (500-500-2000, embedding 10).
"""
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

import deepclust
from deepclust import metrics

SMALL = dict(hidden1=128, hidden2=64, hidden3=0, embed_dim=10, pretrain_epochs=60,
             batch_size=64, update_interval=50, max_iter=1000)


def report(name, y, labels, extra=""):
    print("%-7s ACC %.4f  NMI %.4f  ARI %.4f%s" % (
        name, metrics.acc(y, labels), metrics.nmi(y, labels), metrics.ari(y, labels), extra))


def main():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixels in [0, 1]; float32 C order: no copy

    report("kmeans", y, deepclust.KMeans(n_clusters=10, random_state=0).fit_predict(X))

    est = deepclust.EDCWRN(n_clusters=10, random_state=0, **SMALL).fit(X)
    s = est.stats_
    report("edcwrn", y, est.labels_, "  (pre-training %.2f s, clustering %.2f s, %d iterations)"
           % (s["seconds_pretrain"], s["seconds_cluster"], est.n_iter_))
    print("embedding %s, centres %s, representation weights %s" % (
        est.embedding_.shape, est.cluster_centers_.shape, est.weights_.shape))
    print("last loss: total %.4f = reconstruction %.4f + %.2f x clustering %.4f"
          % (*est.loss_history_[-1][:2], est.lam, est.loss_history_[-1][2]))

    # The model outlives the estimator: save it, load it, label data with it.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits.dcm")
        est.save(path)
        loaded = deepclust.EDCWRN.load(path)
        print("reloaded %r: predictions identical to the fit: %s"
              % (loaded.model_, np.array_equal(loaded.predict(X), est.labels_)))

    # Reuse the pre-trained autoencoder: IDEC skips pre-training.
    idec = deepclust.IDEC(n_clusters=10, random_state=0, **SMALL)
    idec.fit(X, pretrained=est.pretrained_)
    report("idec", y, idec.labels_, "  (pre-training %.2f s: reused %r)"
           % (idec.stats_["seconds_pretrain"], est.pretrained_))

    # Bad input raises a deepclust error with the library's detail message.
    try:
        deepclust.EDCWRN(n_clusters=10, augment=True, **SMALL).fit(X)
    except deepclust.InvalidArgumentError as e:
        print("expected error: %s" % e.detail)


if __name__ == "__main__":
    main()
