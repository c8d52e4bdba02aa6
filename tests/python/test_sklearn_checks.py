"""scikit-learn's own estimator checks (sklearn.utils.estimator_checks, as
check_estimator runs them) for all six estimators, one pytest case per
check. The deep estimators run with a tiny network, few iterations and
learning rates that stay stable on the checks' unscaled data (values near
100)."""
import os

import pytest

pytest.importorskip("numpy")
pytest.importorskip("sklearn")

if not os.environ.get("DEEPCLUST_LIBRARY"):
    pytest.skip("DEEPCLUST_LIBRARY is not set", allow_module_level=True)

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import deepclust as dc  # noqa: E402

TINY = dict(hidden1=16, hidden2=0, hidden3=0, embed_dim=2, batch_size=16, pretrain_epochs=5,
            pretrain_optimizer="adam", pretrain_lr=0.01, lr=1e-4, update_interval=5,
            max_iter=20, n_init=2)

ESTIMATORS = [
    dc.KMeans(3, n_init=2),
    dc.NJW(3, n_init=2),
    dc.SCDBAS(3, dbas_iters=20),
    dc.EDCWRN(3, **TINY),
    dc.IDEC(3, **TINY),
    dc.DEC(3, **TINY),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
