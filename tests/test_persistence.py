"""Pickle, joblib and skops round trips of FisherScoringGLM, and the version stamp."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io

import skglm_fisher
from skglm_fisher import FisherScoringGLM, glm


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    offset = np.log(rng.uniform(0.5, 2.0, 300))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1] + offset)).astype(float)
    model = FisherScoringGLM(family="poisson", alpha=0.01, cov_type="HC1").fit(X, y, offset=offset)
    return model, X, y, offset


def _assert_same(a, b, X, offset):
    np.testing.assert_array_equal(a.predict(X, offset), b.predict(X, offset))
    for name in ("coef_", "covariance_matrix_", "std_errors_", "information_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    for name in ("intercept_", "deviance_", "dispersion_", "llf_", "n_iter_", "rank_"):
        assert getattr(a, name) == getattr(b, name)
    assert str(a.summary()) == str(b.summary())


def test_pickle_round_trip_is_stamped_with_the_version(fitted):
    model, X, _, offset = fitted
    state = model.__getstate__()
    assert state["_skglm_fisher_version"] == skglm_fisher.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(model))
    _assert_same(model, loaded, X, offset)


def test_fitted_state_is_plain_data(fitted):
    model = fitted[0]
    allowed = (np.ndarray, float, int, bool, str, type(None), np.floating, np.integer)
    for name, value in vars(model).items():
        if name.endswith("_"):
            assert isinstance(value, allowed), name


def test_loading_a_pickle_from_another_version_warns(fitted):
    model = fitted[0]
    state = model.__getstate__()
    state["_skglm_fisher_version"] = "0.0.1"
    clone = FisherScoringGLM.__new__(FisherScoringGLM)
    with pytest.warns(UserWarning, match="pickled with skglm_fisher 0.0.1"):
        clone.__setstate__(state)
    # An object pickled before the version was stamped says so.
    state = model.__getstate__()
    del state["_skglm_fisher_version"]
    with pytest.warns(UserWarning, match="skglm_fisher unknown"):
        FisherScoringGLM.__new__(FisherScoringGLM).__setstate__(state)


def test_joblib_round_trip(fitted, tmp_path):
    model, X, _, offset = fitted
    joblib.dump(model, tmp_path / "model.joblib")
    _assert_same(model, joblib.load(tmp_path / "model.joblib"), X, offset)


def test_skops_round_trip(fitted, tmp_path):
    model, X, _, offset = fitted
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert untrusted == ["skglm_fisher._glm.FisherScoringGLM"]
    _assert_same(model, skops.io.load(path, trusted=untrusted), X, offset)


def test_family_instance_parameter_survives_pickle():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = rng.negative_binomial(2.0, 0.5, 200).astype(float)
    model = FisherScoringGLM(family=glm.NegativeBinomial(2.0), link="sqrt").fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.family.total_count == 2.0


def test_streaming_resumes_after_a_round_trip():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(900, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=900)
    straight = FisherScoringGLM()
    resumed = FisherScoringGLM()
    for i, rows in enumerate(np.array_split(np.arange(900), 3)):
        straight.partial_fit(X[rows], y[rows])
        resumed.partial_fit(X[rows], y[rows])
        if i == 1:
            resumed = pickle.loads(pickle.dumps(resumed))
    np.testing.assert_array_equal(resumed.coef_, straight.coef_)
    np.testing.assert_allclose(straight.coef_, FisherScoringGLM().fit(X, y).coef_, rtol=1e-10)
