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


# ----------------------------------------------------------------------------------------------
# A real cluster: two worker processes
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)  # fmt: skip
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.mark.parametrize("family", ["poisson", "bernoulli", "gamma"])
def test_cluster_fit_equals_the_in_memory_fit(client, problem, family):
    X, _, offset, sw = problem
    rng = np.random.default_rng(3)
    eta = 0.2 + X @ [0.3, -0.2, 0.1] + offset
    y = {"poisson": lambda: rng.poisson(np.exp(eta)).astype(float),
         "bernoulli": lambda: (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float),
         "gamma": lambda: rng.gamma(2.0, np.exp(eta) / 2.0)}[family]()  # fmt: skip
    expected = FisherScoringGLM(family=family, cov_type="HC1").fit(X, y, sample_weight=sw,
                                                                   offset=offset)  # fmt: skip
    rows = [da.from_array(v, chunks=500) for v in (y, sw, offset)]
    model = FisherScoringGLM(family=family, cov_type="HC1")
    model.fit(da.from_array(X, chunks=(500, 3)), rows[0], sample_weight=rows[1], offset=rows[2])
    for name in ATTRIBUTES:
        np.testing.assert_allclose(getattr(model, name), getattr(expected, name), rtol=1e-10)
    assert model.n_iter_ == expected.n_iter_


def test_cluster_ftrl_streams_the_blocks_in_order(client, problem):
    from skglm_fisher import FTRLLogisticRegression

    X, y, _, sw = problem
    labels = (y > np.median(y)).astype(int)
    X_dask = da.from_array(X, chunks=(400, 3))
    streamed = FTRLLogisticRegression(batch_size=100, l1_regularization_strength=0.1)
    for rows in np.split(np.arange(len(X)), np.arange(400, len(X), 400)):
        streamed.partial_fit(X[rows], labels[rows], classes=[0, 1], sample_weight=sw[rows])
    model = FTRLLogisticRegression(batch_size=100, l1_regularization_strength=0.1)
    model.partial_fit(X_dask, da.from_array(labels, chunks=400), classes=[0, 1],
                      sample_weight=sw)  # fmt: skip
    # Equal to rounding: BLAS may split the batches' products differently from run to run.
    for name in ("coef_", "intercept_", "accumulator_", "linear_"):
        np.testing.assert_allclose(getattr(model, name), getattr(streamed, name), rtol=1e-12)
    assert model.t_ == len(X)
    # fit: epochs of the blocks in order; blocks of whole batches give the in-memory fit.
    in_memory = FTRLLogisticRegression(batch_size=100, shuffle=False, max_iter=3, tol=None)
    in_memory.fit(X, labels)
    on_dask = FTRLLogisticRegression(batch_size=100, shuffle=False, max_iter=3, tol=None)
    on_dask.fit(X_dask, labels)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, rtol=1e-12)
    np.testing.assert_allclose(on_dask.predict_proba(X), in_memory.predict_proba(X), rtol=1e-12)


def test_a_bad_dask_block_changes_nothing(problem):
    from skglm_fisher import FTRLLogisticRegression

    X, y, _, _ = problem
    labels = (y > np.median(y)).astype(int)
    model = FTRLLogisticRegression(batch_size=100).partial_fit(X[:500], labels[:500],
                                                              classes=[0, 1])  # fmt: skip
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(model).items()}
    bad = X.copy()
    bad[1700, 1] = np.nan  # in the last block: the earlier blocks were already learned
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(da.from_array(bad, chunks=(400, 3)), labels)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)


def test_wide_dask_fit_takes_float32_steps_and_reports_the_float64_fit(monkeypatch):
    import skglm_fisher.glm._solver as solver_module

    rng = np.random.default_rng(3)
    n, p = 3000, 110
    X = rng.normal(size=(n, p))
    y = rng.poisson(np.exp(0.1 + X @ rng.normal(scale=0.3 / np.sqrt(p), size=p))).astype(float)
    single = []
    original = solver_module.iteration_pass

    def recording(block, y_, offset_, weight_, coef, spec):
        single.append(spec.single_precision)
        return original(block, y_, offset_, weight_, coef, spec)

    monkeypatch.setattr(solver_module, "iteration_pass", recording)
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_WORK", 0)
    with dask.config.set(scheduler="threads"):
        model = FisherScoringGLM(family="poisson", alpha=1e-3, tol=1e-12)
        model.fit(da.from_array(X, chunks=(700, p)), y)
    assert any(single)
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_COLUMNS", 10**9)
    expected = FisherScoringGLM(family="poisson", alpha=1e-3, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.std_errors_, expected.std_errors_, rtol=1e-9)
    np.testing.assert_allclose(model.deviance_, expected.deviance_, rtol=1e-12)
