"""Pickle, joblib and skops round trips, the version stamp, and the check of the fitted state
on loading (FTRLLogisticRegression; FisherScoringGLM once it has the hook)."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import skops.io

import skglm_fisher
from skglm_fisher import FisherScoringGLM, FTRLLogisticRegression, glm
from skglm_fisher._persistence import VERSION_KEY, FittedStateError


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


# --------------------------------------------------------------------------- live object, loading
def _pickle_round_trip(model):
    return pickle.loads(pickle.dumps(model))


def _skops_round_trip(model):
    data = skops.io.dumps(model)
    return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))


ROUND_TRIPS = [_pickle_round_trip, _skops_round_trip]


@pytest.fixture
def ftrl():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 4))
    y = (X @ [1.0, -1.0, 0.5, 0.0] + rng.logistic(size=200) > 0).astype(int)
    return FTRLLogisticRegression(batch_size=16, max_iter=3, tol=None).fit(X, y), X, y


def test_pickling_does_not_touch_the_live_object(fitted, ftrl):
    for model in (fitted[0], ftrl[0]):
        before = dict(vars(model))
        pickle.dumps(model)
        skops.io.dumps(model)
        assert VERSION_KEY not in vars(model)
        assert vars(model).keys() == before.keys()
        assert all(vars(model)[name] is value for name, value in before.items())


@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=["pickle", "skops"])
def test_intact_and_unfitted_ftrl_models_load(round_trip, ftrl):
    model, X, _ = ftrl
    loaded = round_trip(model)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    unfitted = FTRLLogisticRegression(l1_regularization_strength=0.5)
    assert round_trip(unfitted).get_params() == unfitted.get_params()
    loaded_sparse = round_trip(model.sparsify())
    np.testing.assert_array_equal(loaded_sparse.predict_proba(X), model.predict_proba(X))


def _nan_first(array):
    array = array.copy()
    array.flat[0] = np.nan
    return array


# (what is done to the fitted model, what the error names)
CORRUPTIONS = {
    "missing coef_": (lambda m: delattr(m, "coef_"), r"lacks \['coef_'\]"),
    "missing classes_": (lambda m: delattr(m, "classes_"), r"lacks \['classes_'\]"),
    "missing slots": (lambda m: delattr(m, "accumulator_"), r"lacks \['accumulator_'\]"),
    "NaN coef_": (lambda m: setattr(m, "coef_", _nan_first(m.coef_)), "coef_ contains NaN"),
    "inf intercept_": (lambda m: setattr(m, "intercept_", m.intercept_ + np.inf),
                       "intercept_ contains NaN or infinity"),
    "short coef_": (lambda m: setattr(m, "coef_", m.coef_[:, :3]),
                    r"coef_ has shape \(1, 3\), expected \(1, 4\)"),
    "coef_ for 3 classes": (lambda m: setattr(m, "coef_", np.zeros((3, 4))),
                            r"coef_ has shape \(3, 4\), expected \(1, 4\)"),
    "negative accumulator": (lambda m: setattr(m, "accumulator_", -m.accumulator_),
                             "accumulator_ has negative entries"),
    "NaN linear_": (lambda m: setattr(m, "linear_", _nan_first(m.linear_)), "linear_ contains"),
    "one class": (lambda m: setattr(m, "classes_", m.classes_[:1]), "at least 2"),
    "bad n_features_in_": (lambda m: setattr(m, "n_features_in_", -1), "n_features_in_ is -1"),
    "coef_ not an array": (lambda m: setattr(m, "coef_", m.coef_.tolist()), "is a list"),
    "slots not an array": (lambda m: setattr(m, "accumulator_", None), "is a NoneType"),
    "classes_ unordered": (lambda m: setattr(m, "classes_", m.classes_[::-1]), "sorted unique"),
}


@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=["pickle", "skops"])
@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_loading_a_damaged_ftrl_model_fails_naming_the_attribute(round_trip, corruption, ftrl):
    damage, match = CORRUPTIONS[corruption]
    model = pickle.loads(pickle.dumps(ftrl[0]))  # a private copy to damage
    damage(model)
    with pytest.raises(FittedStateError, match=match):
        round_trip(model)


def test_damaged_sparse_coef_is_caught(ftrl):
    model = pickle.loads(pickle.dumps(ftrl[0])).sparsify()
    model.coef_.data[0] = np.nan
    with pytest.raises(FittedStateError, match="coef_ contains NaN"):
        _pickle_round_trip(model)




@pytest.mark.parametrize("round_trip", ROUND_TRIPS, ids=["pickle", "skops"])
def test_loading_a_glm_with_nan_coef_fails(round_trip, fitted):
    model = pickle.loads(pickle.dumps(fitted[0]))
    model.coef_ = _nan_first(model.coef_)
    with pytest.raises(FittedStateError, match="coef_"):
        round_trip(model)


def test_loading_a_glm_without_coef_fails(fitted):
    model = pickle.loads(pickle.dumps(fitted[0]))
    del model.coef_
    with pytest.raises(FittedStateError, match="coef_"):
        _pickle_round_trip(model)


def test_loading_a_glm_with_a_short_coef_fails(fitted):
    model = pickle.loads(pickle.dumps(fitted[0]))
    model.coef_ = model.coef_[:2]
    with pytest.raises(FittedStateError, match="coef_"):
        _pickle_round_trip(model)


def test_glm_partial_fit_does_not_restart_a_damaged_model():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, -1.0] + rng.normal(size=100)
    model = FisherScoringGLM().partial_fit(X, y)
    del model.information_
    with pytest.raises(FittedStateError):
        model.partial_fit(X, y)
