"""Regularisation paths: each point equals the single fit at its alpha, alpha_max, the grid,
strong rules with their KKT re-check, unpenalised columns, input checks."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher.glm import _l1_solver, regularization_path
from skglm_fisher.glm._path import alpha_grid


def _data(family, seed=0, n=500, p=12, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] += 0.6 * X[:, :-1]
    beta = np.zeros(p)
    beta[: p // 2] = rng.normal(scale=0.4, size=p // 2)
    eta = 0.2 + X @ beta
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = eta + rng.normal(size=n)
    if sparse:
        X[np.abs(X) < 0.7] = 0.0
        X = sp.csr_matrix(X)
    return X, y, rng


FAMILIES = {"poisson": glm.Poisson(), "bernoulli": glm.Bernoulli(), "normal": glm.Normal()}


def _objective(model, X, y, alpha, l1_ratio, weights=None, offset=None, pf=None):
    family = FAMILIES[model.family]
    pf = np.ones(X.shape[1]) if pf is None else pf
    eta = X @ model.coef_ + model.intercept_ + (0 if offset is None else offset)
    s = np.ones(len(y)) if weights is None else weights
    smooth = family.deviance(y, family.mean(np.asarray(eta).ravel()), s) / (2 * s.sum())
    c = model.coef_
    return smooth + alpha * (l1_ratio * pf @ np.abs(c) + (1 - l1_ratio) / 2 * (pf**2) @ c**2)


class _Point:
    """A path point with the attributes :func:`_objective` reads."""

    def __init__(self, family, coef, intercept):
        self.family, self.coef_, self.intercept_ = family, coef, intercept


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(("family", "l1_ratio"), [("poisson", 1.0), ("bernoulli", 0.5),
                                                  ("normal", 0.8)])  # fmt: skip
def test_each_point_equals_the_single_fit(family, l1_ratio, sparse):
    X, y, rng = _data(family, 1, sparse=sparse)
    weights = rng.uniform(0.5, 2.0, size=len(y))
    offset = rng.normal(scale=0.2, size=len(y)) if family != "normal" else None
    path = regularization_path(X, y, FAMILIES[family], l1_ratio=l1_ratio, n_alphas=12,
                               sample_weight=weights, offset=offset, tol=1e-12)  # fmt: skip
    assert path.converged.all()
    assert not path.coefs[0].any() and np.count_nonzero(path.coefs[-1]) > X.shape[1] // 2
    for k in (1, 4, 8, 11):
        alpha = path.alphas[k]
        single = FisherScoringGLM(family=family, alpha=alpha, l1_ratio=l1_ratio, tol=1e-12)
        single.fit(X, y, sample_weight=weights, offset=offset)
        point = _Point(family, path.coefs[k], path.intercepts[k])
        ours = _objective(point, X, y, alpha, l1_ratio, weights, offset)
        reference = _objective(single, X, y, alpha, l1_ratio, weights, offset)
        assert abs(ours - reference) <= 1e-10 * reference
        assert np.array_equal(path.coefs[k] == 0, single.coef_ == 0)
        mu = FAMILIES[family].mean(np.asarray(X @ path.coefs[k]).ravel() + path.intercepts[k]
                                   + (0 if offset is None else offset))  # fmt: skip
        np.testing.assert_allclose(path.deviances[k], FAMILIES[family].deviance(y, mu, weights),
                                   rtol=1e-10)  # fmt: skip


def test_normal_path_matches_sklearn_enet_path():
    # enet_path fits no intercept: centre X and y (the intercept is then 0 in both).
    X, y, _ = _data("normal", 2, p=10)
    X, y = X - X.mean(axis=0), y - y.mean()
    path = regularization_path(X, y, glm.Normal(), l1_ratio=0.7, n_alphas=15,
                               fit_intercept=False, tol=1e-14)  # fmt: skip
    alphas, coefs, _ = enet_path(X, y, l1_ratio=0.7, alphas=path.alphas, tol=1e-14,
                                 max_iter=100_000)  # fmt: skip
    np.testing.assert_allclose(path.coefs, coefs.T, atol=1e-7)
    assert np.array_equal(path.coefs == 0, coefs.T == 0)
    # scikit-learn's and glmnet's alpha_max for least squares: max |Xᵀy| / (n · l1_ratio).
    np.testing.assert_allclose(path.alpha_max, np.max(np.abs(X.T @ y)) / (len(y) * 0.7),
                               rtol=1e-12)  # fmt: skip


def test_alpha_max_is_the_smallest_alpha_with_all_coefficients_zero():
    X, y, _ = _data("poisson", 3)
    path = regularization_path(X, y, glm.Poisson(), n_alphas=3)
    at = FisherScoringGLM(family="poisson", alpha=path.alpha_max, l1_ratio=1.0).fit(X, y)
    below = FisherScoringGLM(family="poisson", alpha=0.995 * path.alpha_max, l1_ratio=1.0)
    assert not at.coef_.any() and np.count_nonzero(below.fit(X, y).coef_) == 1
    # The intercept-only model with the intercept free: the mean of y through the log link.
    np.testing.assert_allclose(path.intercepts[0], np.log(y.mean()), rtol=1e-12)
    np.testing.assert_allclose(path.alphas, alpha_grid(path.alpha_max, 3, 1e-3))
    np.testing.assert_allclose(path.alphas[[0, -1]], [path.alpha_max, 1e-3 * path.alpha_max])
    half = regularization_path(X, y, glm.Poisson(), l1_ratio=0.5, n_alphas=3)
    np.testing.assert_allclose(half.alpha_max, 2 * path.alpha_max, rtol=1e-12)


def test_strong_rule_failures_are_caught_by_the_kkt_recheck(monkeypatch):
    # Screen out every column at every alpha: the solver must find the active ones itself.
    X, y, _ = _data("bernoulli", 4)
    reference = regularization_path(X, y, glm.Bernoulli(), n_alphas=10, tol=1e-12)
    original = _l1_solver.L1IRLSSolver.resume

    def resume_without_screening(self, previous, requested=None):
        original(self, previous, requested=None)

    monkeypatch.setattr(_l1_solver.L1IRLSSolver, "resume", resume_without_screening)
    unscreened = regularization_path(X, y, glm.Bernoulli(), n_alphas=10, tol=1e-12)
    assert unscreened.converged.all()
    np.testing.assert_allclose(unscreened.coefs, reference.coefs, atol=1e-8)
    assert np.array_equal(unscreened.coefs == 0, reference.coefs == 0)


def test_unpenalised_columns_are_in_the_null_model():
    X, y, _ = _data("poisson", 5)
    pf = np.ones(X.shape[1])
    pf[[2, 7]] = 0.0
    path = regularization_path(X, y, glm.Poisson(), penalty_factor=pf, n_alphas=5, tol=1e-12)
    assert np.flatnonzero(path.coefs[0]).tolist() == [2, 7]
    unpenalised = FisherScoringGLM(family="poisson", tol=1e-12).fit(X[:, [2, 7]], y)
    np.testing.assert_allclose(path.coefs[0, [2, 7]], unpenalised.coef_, rtol=1e-7)
    np.testing.assert_allclose(path.intercepts[0], unpenalised.intercept_, rtol=1e-7)
    below = FisherScoringGLM(family="poisson", alpha=0.99 * path.alpha_max, l1_ratio=1.0,
                             penalty_factor=pf).fit(X, y)  # fmt: skip
    assert np.count_nonzero(below.coef_) == 3


def test_given_alphas_and_the_ridge_path():
    X, y, _ = _data("poisson", 6)
    alphas = [0.01, 0.3, 0.1]
    path = regularization_path(X, y, glm.Poisson(), l1_ratio=0.0, alphas=alphas, tol=1e-12)
    np.testing.assert_array_equal(path.alphas, [0.3, 0.1, 0.01])
    assert np.isnan(path.alpha_max)
    for k, alpha in enumerate(path.alphas):
        ridge = FisherScoringGLM(family="poisson", alpha=alpha, tol=1e-12).fit(X, y)
        np.testing.assert_allclose(path.coefs[k], ridge.coef_, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError, match="no alpha_max"):
        regularization_path(X, y, glm.Poisson(), l1_ratio=0.0)


def test_unconverged_points_are_flagged_once():
    X, y, _ = _data("bernoulli", 7)
    with pytest.warns(ConvergenceWarning) as record:
        path = regularization_path(X, y, glm.Bernoulli(), n_alphas=6, max_iter=1)
    assert len([w for w in record if w.category is ConvergenceWarning]) == 1
    assert not path.converged.all() and path.converged[0]


def test_one_pass_per_point_on_a_fine_grid():
    # Warm starts make each new alpha cheap: passes over the rows stay close to one per point.
    X, y, _ = _data("poisson", 8, n=3000, p=20)
    path = regularization_path(X, y, glm.Poisson(), n_alphas=40)
    assert path.n_iter.sum() <= 2.5 * len(path.alphas)


def test_constant_response_gives_the_null_path():
    X, _, _ = _data("normal", 9)
    path = regularization_path(X, np.full(X.shape[0], 2.5), glm.Normal(), n_alphas=4)
    assert not path.coefs.any() and np.allclose(path.intercepts, 2.5)
    assert np.all(path.alphas > 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"family": "poisson"}, "ExponentialFamily instance"),
        ({"l1_ratio": 1.5}, "l1_ratio must lie in"),
        ({"n_alphas": 0}, "n_alphas must be a positive integer"),
        ({"min_alpha_ratio": 1.0}, "min_alpha_ratio must lie in"),
        ({"alphas": [0.1, -1.0]}, "alphas must be"),
        ({"penalty_factor": np.ones(3)}, "penalty_factor has 3 entries"),
        ({"sample_weight": -np.ones(500)}, "sample_weight must be non-negative"),
        ({"offset": np.ones(3)}, "offset has shape"),
        ({"y": -np.ones(500)}, "must lie in"),
        ({"X": np.full((500, 12), np.nan)}, "X contains NaN"),
    ],
)
def test_invalid_input_raises(change, message):
    X, y, _ = _data("poisson", 10)
    arguments = {"X": X, "y": y, "family": glm.Poisson(), **change}
    with pytest.raises(ValueError, match=message):
        regularization_path(arguments.pop("X"), arguments.pop("y"), arguments.pop("family"),
                            **arguments)  # fmt: skip


def test_all_zero_counts_have_no_path():
    X, _, _ = _data("poisson", 11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="no finite maximum"):
            regularization_path(X, np.zeros(X.shape[0]), glm.Poisson())
