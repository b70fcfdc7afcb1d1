"""Fitting on Dask arrays by reducing per-block sums, against the in-memory fit."""

import numpy as np
import pytest

from skglm_fisher import FisherScoringGLM

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 3))
    offset = np.log(rng.uniform(0.5, 2.0, n))
    sw = rng.uniform(0.5, 2.0, n)
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1] + offset)).astype(float)
    return X, y, offset, sw


ATTRIBUTES = ("coef_", "intercept_", "std_errors_", "deviance_", "null_deviance_",
              "dispersion_", "llf_")  # fmt: skip


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
@pytest.mark.parametrize("lazy_rows", [False, True])
def test_dask_fit_equals_numpy_fit(problem, scheduler, lazy_rows):
    X, y, offset, sw = problem
    X_dask = da.from_array(X, chunks=(450, 3))  # uneven row blocks
    rows = (y, offset, sw)
    if lazy_rows:
        rows = tuple(da.from_array(v, chunks=300) for v in rows)  # blocks not aligned with X
    expected = FisherScoringGLM(family="poisson", cov_type="HC0").fit(
        X, y, sample_weight=sw, offset=offset
    )
    with dask.config.set(scheduler=scheduler):
        model = FisherScoringGLM(family="poisson", cov_type="HC0")
        model.fit(X_dask, rows[0], sample_weight=rows[2], offset=rows[1])
        predicted = model.predict(X_dask, offset=rows[1])
        assert isinstance(predicted, da.Array)
        predicted = predicted.compute()
    for name in ATTRIBUTES:
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), rtol=1e-9)
    assert model.n_iter_ == expected.n_iter_
    np.testing.assert_allclose(predicted, expected.predict(X, offset), rtol=1e-12)
    np.testing.assert_allclose(model.predict(X, offset), expected.predict(X, offset), rtol=1e-9)


def test_dask_gamma_with_penalty(problem):
    X, _, _, _ = problem
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, np.exp(0.1 + X @ [0.2, 0.1, -0.3]) / 2)
    expected = FisherScoringGLM(family="gamma", alpha=0.1).fit(X, y)
    model = FisherScoringGLM(family="gamma", alpha=0.1).fit(da.from_array(X, chunks=(700, 3)), y)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.dispersion_, expected.dispersion_, rtol=1e-9)


def test_dask_bad_input_raises(problem):
    X, y, _, _ = problem
    bad = y.copy()
    bad[1500] = -1.0
    with pytest.raises(ValueError, match="Poisson family must lie"):
        FisherScoringGLM(family="poisson").fit(da.from_array(X, chunks=(500, 3)), bad)
    X_nan = X.copy()
    X_nan[10, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FisherScoringGLM(family="poisson").fit(da.from_array(X_nan, chunks=(500, 3)), y)
    model = FisherScoringGLM(family="poisson").fit(da.from_array(X, chunks=(500, 3)), y)
    assert model.n_features_in_ == 3
    with pytest.raises(ValueError, match="features"):
        model.predict(da.from_array(X[:, :2], chunks=(500, 2)))
    with pytest.raises(ValueError, match="in-memory batches"):
        model.partial_fit(da.from_array(X, chunks=(500, 3)), y)
