"""FisherScoringGLMCV against scikit-learn's ElasticNetCV (normal family) and its own parts."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import ElasticNetCV, LassoCV
from sklearn.metrics import mean_poisson_deviance
from sklearn.model_selection import KFold

from skglm_fisher import FisherScoringGLM, FisherScoringGLMCV, glm
from skglm_fisher.glm import regularization_path


def _data(family="poisson", seed=0, n=400, p=10):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:4] = [0.5, -0.4, 0.3, 0.2]
    eta = 0.3 + X @ beta
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = eta + rng.normal(size=n)
    return X, y, rng


@pytest.mark.parametrize("l1_ratio", [1.0, [0.3, 0.9]])
def test_normal_family_matches_sklearn_cv(l1_ratio):
    X, y, _ = _data("normal", 1)
    folds = list(KFold(4, shuffle=True, random_state=0).split(X))
    alphas = np.geomspace(0.5, 5e-4, 20)
    ours = FisherScoringGLMCV(l1_ratio=l1_ratio, alphas=alphas, cv=folds, tol=1e-12).fit(X, y)
    if l1_ratio == 1.0:
        reference = LassoCV(alphas=alphas, cv=folds, tol=1e-12, max_iter=100_000)
    else:
        reference = ElasticNetCV(l1_ratio=l1_ratio, alphas=alphas, cv=folds, tol=1e-12,
                                 max_iter=100_000)  # fmt: skip
    reference.fit(X, y)
    # scikit-learn keeps one grid for every l1_ratio when alphas are given.
    np.testing.assert_allclose(np.atleast_2d(ours.alphas_)[0], reference.alphas_, rtol=1e-12)
    # Held-out deviance of the normal family per row is the mean squared error.
    np.testing.assert_allclose(-ours.cv_scores_, reference.mse_path_, rtol=1e-6)
    assert ours.alpha_ == pytest.approx(reference.alpha_, rel=1e-12)
    assert ours.l1_ratio_ == getattr(reference, "l1_ratio_", 1.0)
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-6)


def test_default_grid_is_scikit_learns():
    # Least squares: alpha_max = max |Xᵀ(y - ȳ)| / (n · l1_ratio), down to 1e-3 of it.
    X, y, _ = _data("normal", 8)
    model = FisherScoringGLMCV(l1_ratio=[0.5, 1.0], n_alphas=7, cv=3).fit(X, y)
    top = np.max(np.abs(X.T @ (y - y.mean()))) / len(y)
    np.testing.assert_allclose(model.alphas_[:, 0], [top / 0.5, top], rtol=1e-10)
    np.testing.assert_allclose(model.alphas_[:, -1], [top / 0.5e3, top / 1e3], rtol=1e-10)


def test_scores_are_held_out_deviances_of_the_fold_paths():
    X, y, rng = _data("poisson", 2)
    weights = rng.uniform(0.5, 2.0, size=len(y))
    folds = list(KFold(3, shuffle=True, random_state=1).split(X))
    model = FisherScoringGLMCV(family="poisson", n_alphas=8, cv=folds).fit(X, y, weights)
    assert model.cv_scores_.shape == (8, 3)
    train, test = folds[1]
    path = regularization_path(X[train], y[train], glm.Poisson(), alphas=model.alphas_,
                               sample_weight=weights[train])  # fmt: skip
    for k in (0, 5):
        mu = np.exp(X[test] @ path.coefs[k] + path.intercepts[k])
        expected = -mean_poisson_deviance(y[test], mu, sample_weight=weights[test])
        assert model.cv_scores_[k, 1] == pytest.approx(expected, rel=1e-12)
    best = np.argmax(model.cv_scores_.mean(axis=1))
    assert model.alpha_ == model.alphas_[best]


def test_refit_is_the_estimator_at_the_chosen_penalty():
    X, y, _ = _data("poisson", 3)
    model = FisherScoringGLMCV(family="poisson", l1_ratio=[0.5, 1.0], n_alphas=10, cv=3)
    model.fit(X, y)
    assert model.alphas_.shape == (2, 10) and model.cv_scores_.shape == (2, 10, 3)
    np.testing.assert_allclose(model.alphas_[0], 2 * model.alphas_[1], rtol=1e-12)
    refit = FisherScoringGLM(family="poisson", alpha=model.alpha_, l1_ratio=model.l1_ratio_)
    refit.fit(X, y)
    np.testing.assert_array_equal(model.coef_, refit.coef_)
    np.testing.assert_array_equal(model.predict(X[:5]), refit.predict(X[:5]))
    assert model.score(X, y) == refit.score(X, y)
    assert "Standard errors: not computed" in str(model.estimator_.summary())


def test_offsets_by_argument_and_by_column():
    X, y, rng = _data("poisson", 4)
    exposure = rng.uniform(0.5, 2.0, size=len(y))
    y = rng.poisson(exposure * np.exp(0.2 + X[:, 0] * 0.4)).astype(float)
    folds = list(KFold(3).split(X))
    kwargs = {"family": "poisson", "n_alphas": 6, "cv": folds}
    by_argument = FisherScoringGLMCV(**kwargs).fit(X, y, offset=np.log(exposure))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["log_exposure"] = np.log(exposure)
    by_column = FisherScoringGLMCV(offset_column="log_exposure", **kwargs).fit(frame, y)
    np.testing.assert_allclose(by_column.cv_scores_, by_argument.cv_scores_, rtol=1e-12)
    np.testing.assert_allclose(by_column.coef_, by_argument.coef_, rtol=1e-12)
    assert list(by_column.estimator_.feature_names_in_) == [f"f{i}" for i in range(10)]
    np.testing.assert_allclose(by_column.predict(frame[:4]),
                               by_argument.predict(X[:4], offset=np.log(exposure[:4])))  # fmt: skip
    # A scorer sees X alone: with an offset argument it would score offset-free predictions.
    with pytest.raises(ValueError, match="offset_column"):
        FisherScoringGLMCV(scoring="r2", **kwargs).fit(X, y, offset=np.log(exposure))
    scored = FisherScoringGLMCV(scoring="neg_mean_poisson_deviance", offset_column="log_exposure",
                                **kwargs).fit(frame, y)  # fmt: skip
    # Unweighted, the scorer's mean deviance is minus the default score.
    np.testing.assert_allclose(scored.cv_scores_, by_column.cv_scores_, rtol=1e-10)


def test_parallel_folds_give_the_same_result():
    X, y, _ = _data("poisson", 5)
    serial = FisherScoringGLMCV(family="poisson", n_alphas=6, cv=3).fit(X, y)
    parallel = FisherScoringGLMCV(family="poisson", n_alphas=6, cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(serial.cv_scores_, parallel.cv_scores_)
    assert serial.alpha_ == parallel.alpha_


def test_given_grid_with_a_ridge_ratio():
    X, y, _ = _data("poisson", 6)
    model = FisherScoringGLMCV(family="poisson", alphas=[0.001, 0.1, 0.01], l1_ratio=[0.0, 1.0],
                               cv=3).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(model.alphas_, [[0.1, 0.01, 0.001]] * 2)
    with pytest.raises(ValueError, match="no alpha_max"):
        FisherScoringGLMCV(family="poisson", l1_ratio=[0.0, 1.0], cv=3).fit(X, y)


def test_pickled_model_predicts_the_same():
    X, y, _ = _data("poisson", 9)
    model = FisherScoringGLMCV(family="poisson", n_alphas=6, cv=3).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X[:5]), model.predict(X[:5]))
    assert loaded.alpha_ == model.alpha_


def test_dask_input_is_refused():
    da = pytest.importorskip("dask.array")
    X, y, _ = _data("poisson", 7)
    with pytest.raises(ValueError, match="in memory"):
        FisherScoringGLMCV(family="poisson").fit(da.from_array(X), da.from_array(y))
