"""FisherScoringGLM with an L1 or elastic-net penalty (``l1_ratio > 0``).

References: scikit-learn's ``ElasticNet``/``Lasso`` (normal family), glum's elastic net (fits
saved in ``tests/data/glum/`` with the script that made them, and live when glum is
installed), the KKT conditions checked with finite-difference gradients of an objective
written out here, and the ridge fit for ``l1_ratio=0``.
"""

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher.glm import _l1_solver

GLUM_DATA = Path(__file__).parent / "data" / "glum"


# ----------------------------------------------------------------------------------------------
# The objective, written out independently of the package
# ----------------------------------------------------------------------------------------------
def _unit_deviance(family, y, mu):
    if family == "normal":
        return (y - mu) ** 2
    if family == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * (np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
    if family == "binomial":
        return -2 * (y * np.log(mu) + (1 - y) * np.log1p(-mu))
    if family == "gamma":
        return 2 * ((y - mu) / mu - np.log(y / mu))
    raise ValueError(family)


_MEAN = {"normal": lambda e: e, "poisson": np.exp, "gamma": np.exp,
         "binomial": lambda e: 1 / (1 + np.exp(-e))}  # fmt: skip


def _smooth(family, X, y, coef, intercept, sample_weight=None, offset=None, l2=0.0):
    """``1/(2Σs) Σ s·dev + l2/2·Σ coef²`` (``l2`` may be a vector)."""
    s = np.ones_like(y) if sample_weight is None else sample_weight
    eta = X @ coef + intercept + (0.0 if offset is None else offset)
    dev = _unit_deviance(family, y, _MEAN[family](np.asarray(eta).ravel()))
    return (s @ dev) / (2 * s.sum()) + 0.5 * np.sum(l2 * coef**2)


def _objective(family, X, y, coef, intercept, alpha, l1_ratio, pf=None, sample_weight=None,
               offset=None):  # fmt: skip
    pf = np.ones(X.shape[1]) if pf is None else pf
    l2 = alpha * (1 - l1_ratio) * pf**2
    smooth = _smooth(family, X, y, coef, intercept, sample_weight, offset, l2)
    return smooth + alpha * l1_ratio * np.sum(pf * np.abs(coef))


def _kkt_violation(family, X, y, coef, intercept, alpha, l1_ratio, pf=None, sample_weight=None,
                   offset=None, fit_intercept=True, h=1e-6):  # fmt: skip
    """Largest KKT violation by central differences of the smooth part (estimator scaling)."""
    pf = np.ones(X.shape[1]) if pf is None else pf
    l2 = alpha * (1 - l1_ratio) * pf**2

    def f(c, b):
        return _smooth(family, X, y, c, b, sample_weight, offset, l2)

    grad = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        e = np.zeros(X.shape[1])
        e[j] = h
        grad[j] = (f(coef + e, intercept) - f(coef - e, intercept)) / (2 * h)
    l1 = alpha * l1_ratio * pf
    violation = np.where(coef == 0, np.maximum(np.abs(grad) - l1, 0),
                         np.abs(grad + l1 * np.sign(coef)))  # fmt: skip
    if fit_intercept:
        d_intercept = (f(coef, intercept + h) - f(coef, intercept - h)) / (2 * h)
        violation = np.append(violation, abs(d_intercept))
    return violation.max()


def _problem(family, seed, n=400, p=15, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    X[:, 1:] += 0.5 * X[:, :-1]
    beta = np.where(rng.random(p) < 0.4, rng.normal(scale=0.4, size=p), 0.0)
    eta = 0.3 + X @ beta
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    else:
        y = eta + rng.normal(size=n)
    if sparse:
        X[np.abs(X) < 0.8] = 0.0
        X = sp.csr_matrix(X)
    return X, y, rng


OURS = {"normal": "normal", "poisson": "poisson", "binomial": "bernoulli", "gamma": "gamma"}


# ----------------------------------------------------------------------------------------------
# Normal family: scikit-learn's ElasticNet and Lasso
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.15])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_normal_family_matches_sklearn_elastic_net(l1_ratio, fit_intercept, sparse):
    X, y, rng = _problem("normal", 3, n=300, p=25, sparse=sparse)
    weights = rng.uniform(0.3, 2.0, size=len(y))
    alpha = 0.05
    ours = FisherScoringGLM(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                            tol=1e-14).fit(X, y, sample_weight=weights)  # fmt: skip
    kind = Lasso(alpha=alpha) if l1_ratio == 1 else ElasticNet(alpha=alpha, l1_ratio=l1_ratio)
    reference = kind.set_params(fit_intercept=fit_intercept, tol=1e-14, max_iter=100_000)
    reference.fit(X, y, sample_weight=weights)
    assert ours.converged_
    if l1_ratio >= 0.5:
        assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-6)
    assert np.array_equal(ours.coef_ == 0, reference.coef_ == 0)


# ----------------------------------------------------------------------------------------------
# Poisson and logistic: glum's elastic net at the same objective
# ----------------------------------------------------------------------------------------------
def _glum_case(name):
    case = dict(np.load(GLUM_DATA / f"{name}.npz"))
    if "X_data" in case:
        X = sp.csr_matrix((case["X_data"], case["X_indices"], case["X_indptr"]),
                          shape=tuple(case["X_shape"]))  # fmt: skip
    else:
        X = case.get("X", np.load(GLUM_DATA / "dense_X.npz")["X"])
    return X, case


@pytest.mark.parametrize("name", sorted(json.loads((GLUM_DATA / "INDEX.json").read_text())))
def test_glum_reference_objective_and_support(name):
    X, case = _glum_case(name)
    family = str(case["family"])
    alpha, l1_ratio = float(case["alpha"]), float(case["l1_ratio"])
    weights, offset = case.get("sample_weight"), case.get("offset")
    pf = case["penalty_factor"]
    model = FisherScoringGLM(family=OURS[family], alpha=alpha, l1_ratio=l1_ratio,
                             penalty_factor=pf, tol=1e-12)  # fmt: skip
    model.fit(X, case["y"], sample_weight=weights, offset=offset)
    args = (family, X, case["y"])
    kwargs = {"pf": pf, "sample_weight": weights, "offset": offset}
    ours = _objective(*args, model.coef_, model.intercept_, alpha, l1_ratio, **kwargs)
    theirs = _objective(*args, case["coef"], float(case["intercept"]), alpha, l1_ratio, **kwargs)
    assert model.converged_
    assert abs(ours - theirs) <= 1e-8 * theirs
    assert np.array_equal(model.coef_ == 0, case["coef"] == 0)
    assert np.count_nonzero(model.coef_) > 0
    if "penalty_factor" in case and np.any(pf == 0):
        assert np.all(model.coef_[pf == 0] != 0)


@pytest.mark.parametrize("family", ["poisson", "binomial"])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_glum_live_objective_and_support(family, l1_ratio):
    glum = pytest.importorskip("glum")
    X, y, rng = _problem(family, 11, n=800, p=30)
    offset = rng.normal(scale=0.2, size=len(y))
    reference = glum.GeneralizedLinearRegressor(family=family, alpha=0.01, l1_ratio=l1_ratio,
                                                gradient_tol=1e-10, max_iter=1000)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glum's line-search notices near convergence
        reference.fit(X, y, offset=offset)
    model = FisherScoringGLM(family=OURS[family], alpha=0.01, l1_ratio=l1_ratio, tol=1e-12)
    model.fit(X, y, offset=offset)
    ours = _objective(family, X, y, model.coef_, model.intercept_, 0.01, l1_ratio, offset=offset)
    theirs = _objective(family, X, y, reference.coef_, reference.intercept_, 0.01, l1_ratio,
                        offset=offset)  # fmt: skip
    assert abs(ours - theirs) <= 1e-8 * theirs
    assert np.array_equal(model.coef_ == 0, reference.coef_ == 0)


# ----------------------------------------------------------------------------------------------
# KKT conditions on random problems
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(("family", "seed"), [("poisson", 0), ("binomial", 1), ("gamma", 2),
                                              ("normal", 3), ("poisson", 4), ("binomial", 5)])
def test_kkt_conditions_hold_on_random_problems(family, seed, sparse):
    X, y, rng = _problem(family, seed, n=300, p=20, sparse=sparse)
    weights = rng.uniform(0.2, 2.5, size=len(y))
    offset = rng.normal(scale=0.3, size=len(y)) if family != "normal" else None
    pf = rng.uniform(0.3, 2.0, size=X.shape[1])
    pf[rng.integers(X.shape[1])] = 0.0
    alpha, l1_ratio = rng.uniform(0.005, 0.05), rng.choice([0.3, 0.7, 1.0])
    # Gamma's log link is not canonical: Fisher scoring converges linearly there, Newton's
    # method (the observed information) quadratically, which the last step relies on.
    solver = "observed" if family == "gamma" else "cholesky"
    model = FisherScoringGLM(family=OURS[family], alpha=alpha, l1_ratio=l1_ratio, solver=solver,
                             penalty_factor=pf, tol=1e-12).fit(X, y, weights, offset)  # fmt: skip
    assert model.converged_
    assert 0 < np.count_nonzero(model.coef_) < X.shape[1]
    violation = _kkt_violation(family, X, y, model.coef_, model.intercept_, alpha, l1_ratio,
                               pf, weights, offset)  # fmt: skip
    assert violation < 1e-6 * alpha


def test_kkt_conditions_with_more_columns_than_rows():
    rng = np.random.default_rng(8)
    n, p = 60, 200
    X = rng.standard_normal((n, p))
    y = rng.poisson(np.exp(0.2 + X[:, :5] @ [0.4, -0.3, 0.3, 0.2, -0.2])).astype(float)
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=1.0, tol=1e-12).fit(X, y)
    assert model.converged_ and 0 < np.count_nonzero(model.coef_) < n
    violation = _kkt_violation("poisson", X, y, model.coef_, model.intercept_, 0.05, 1.0)
    assert violation < 1e-6 * 0.05


def test_one_hot_design_equals_the_dense_fit():
    X, case = _glum_case("poisson_1.0_onehot")
    kwargs = {"family": "poisson", "alpha": 0.002, "l1_ratio": 1.0, "tol": 1e-12}
    sparse_fit = FisherScoringGLM(**kwargs).fit(X, case["y"], offset=case["offset"])
    dense_fit = FisherScoringGLM(**kwargs).fit(X.toarray(), case["y"], offset=case["offset"])
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, atol=1e-8)
    assert np.array_equal(sparse_fit.coef_ == 0, dense_fit.coef_ == 0)


def test_solvers_reach_the_same_solution():
    X, y, _ = _problem("gamma", 6)
    fits = [FisherScoringGLM(family="gamma", alpha=0.02, l1_ratio=0.6, solver=solver,
                             tol=1e-12).fit(X, y) for solver in ("cholesky", "qr", "observed")]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef_, fits[0].coef_, atol=1e-7)
        assert np.array_equal(other.coef_ == 0, fits[0].coef_ == 0)


def test_working_set_information_is_only_computed_for_few_columns(monkeypatch):
    # After the first pass the information covers the non-zero columns and violators only.
    X, y, _ = _problem("poisson", 9, n=2000, p=40)
    sizes = []
    original = _l1_solver.working_set_pass

    def spy(block, y, offset, sample_weight, coef, spec):
        sizes.append(len(spec.columns))
        return original(block, y, offset, sample_weight, coef, spec)

    monkeypatch.setattr(_l1_solver, "working_set_pass", spy)
    model = FisherScoringGLM(family="poisson", alpha=0.03, l1_ratio=1.0).fit(X, y)
    assert sizes and max(sizes) < X.shape[1]
    assert max(sizes) >= np.count_nonzero(model.coef_)


def test_warm_start_reaches_the_same_fit():
    X, y, _ = _problem("binomial", 10)
    model = FisherScoringGLM(family="bernoulli", alpha=0.02, l1_ratio=1.0, warm_start=True,
                             tol=1e-12).fit(X, y)  # fmt: skip
    cold = model.coef_.copy()
    model.set_params(alpha=0.01).fit(X, y)
    reference = FisherScoringGLM(family="bernoulli", alpha=0.01, l1_ratio=1.0, tol=1e-12)
    np.testing.assert_allclose(model.coef_, reference.fit(X, y).coef_, atol=1e-8)
    assert np.count_nonzero(model.coef_) >= np.count_nonzero(cold)


# ----------------------------------------------------------------------------------------------
# l1_ratio = 0 is today's ridge fit
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["poisson", "binomial"])
def test_l1_ratio_zero_is_the_ridge_fit(family, monkeypatch):
    X, y, rng = _problem(family, 12)
    weights = rng.uniform(0.5, 2.0, size=len(y))
    ridge = FisherScoringGLM(family=OURS[family], alpha=0.1).fit(X, y, weights)

    def refuse(*args, **kwargs):
        raise AssertionError("l1_ratio=0 must not reach the L1 solver")

    monkeypatch.setattr("skglm_fisher._glm_problem.L1IRLSSolver", refuse)
    zero = FisherScoringGLM(family=OURS[family], alpha=0.1, l1_ratio=0.0).fit(X, y, weights)
    for name in ("coef_", "std_errors_", "covariance_matrix_", "information_"):
        assert np.array_equal(getattr(zero, name), getattr(ridge, name))
    assert (zero.intercept_, zero.n_iter_, zero.rank_) == (ridge.intercept_, ridge.n_iter_,
                                                           ridge.rank_)  # fmt: skip
    # alpha=0 has no penalty at all, whatever l1_ratio: the unpenalised fit and its statistics.
    free = FisherScoringGLM(family=OURS[family], l1_ratio=0.5).fit(X, y, weights)
    assert np.all(np.isfinite(free.std_errors_))


def test_elastic_net_between_ridge_and_lasso():
    X, y, _ = _problem("poisson", 13)
    counts = [np.count_nonzero(FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=r)
                               .fit(X, y).coef_) for r in (0.0, 0.5, 1.0)]  # fmt: skip
    assert counts[0] == X.shape[1] and counts[0] >= counts[1] >= counts[2] > 0


# ----------------------------------------------------------------------------------------------
# Statistics after selection
# ----------------------------------------------------------------------------------------------
def test_statistics_after_selection():
    X, y, _ = _problem("poisson", 14)
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=1.0).fit(X, y)
    nonzero = np.count_nonzero(model.coef_)
    assert 0 < nonzero < X.shape[1]
    assert np.all(np.isnan(model.std_errors_)) and np.all(np.isnan(model.covariance_matrix_))
    assert np.all(np.isnan(model.p_values_)) and np.all(np.isnan(model.conf_int()))
    assert model.rank_ == nonzero + 1 and model.df_resid_ == len(y) - nonzero - 1
    assert not model.aliased_.any()
    # The deviance and likelihood are those of the returned coefficients.
    mu = np.exp(X @ model.coef_ + model.intercept_)
    np.testing.assert_allclose(model.deviance_, _unit_deviance("poisson", y, mu).sum(), rtol=1e-10)
    expected_llf = glm.Poisson().log_prob(y, X @ model.coef_ + model.intercept_).sum()
    np.testing.assert_allclose(model.llf_, expected_llf, rtol=1e-10)
    assert model.aic == pytest.approx(-2 * model.llf_ + 2 * (nonzero + 1))
    # The Fisher information of every column at the returned coefficients (ridge part: none).
    design = np.column_stack([np.ones(len(y)), X])
    np.testing.assert_allclose(model.information_, design.T @ (mu[:, None] * design), rtol=1e-10)
    text = str(model.summary())
    assert "Standard errors: not computed" in text and "not valid" in text
    with pytest.warns(UserWarning, match="no covariance"):
        _, std = model.predict(X[:3], return_std=True)
    assert np.all(np.isnan(std))


def test_partial_fit_is_not_available_with_an_l1_penalty():
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=0.5)
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError) as info:
        model.partial_fit(np.ones((3, 1)), np.ones(3))
    assert "ridge penalty only" in str(info.value.__cause__)
    assert hasattr(clone(model).set_params(l1_ratio=0.0), "partial_fit")


def test_pickled_models_load_with_their_selection():
    X, y, _ = _problem("poisson", 20)
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=1.0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    assert np.all(np.isnan(loaded.std_errors_)) and "not computed" in str(loaded.summary())
    assert np.all(np.isfinite(loaded.information_))


def test_robust_covariance_is_nan_too():
    X, y, _ = _problem("poisson", 15)
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=1.0, cov_type="HC1")
    assert np.all(np.isnan(model.fit(X, y).std_errors_))


# ----------------------------------------------------------------------------------------------
# Penalty factor, convergence, failures
# ----------------------------------------------------------------------------------------------
def test_penalty_factor_and_its_deprecated_alias():
    X, y, _ = _problem("poisson", 16)
    pf = np.ones(X.shape[1])
    pf[[0, 4]] = 0.0
    model = FisherScoringGLM(family="poisson", alpha=10.0, l1_ratio=1.0, penalty_factor=pf)
    model.fit(X, y)
    # A large alpha zeroes every penalised coefficient; the unpenalised ones are fitted freely.
    assert np.flatnonzero(model.coef_).tolist() == [0, 4]
    with pytest.warns(FutureWarning, match="l2_penalty_factor is deprecated"):
        alias = FisherScoringGLM(family="poisson", alpha=10.0, l1_ratio=1.0,
                                 l2_penalty_factor=pf).fit(X, y)  # fmt: skip
    np.testing.assert_array_equal(alias.coef_, model.coef_)
    both = FisherScoringGLM(penalty_factor=pf, l2_penalty_factor=pf)
    with pytest.raises(ValueError, match="both set"):
        both.fit(X, y)


def test_max_iter_reached_warns_and_reports():
    X, y, _ = _problem("binomial", 17)
    with pytest.warns(ConvergenceWarning, match="L1 penalty did not converge"):
        model = FisherScoringGLM(family="bernoulli", alpha=0.01, l1_ratio=1.0, max_iter=1)
        model.fit(X, y)
    assert not model.converged_


def test_failed_fit_leaves_the_model_unchanged():
    X, y, _ = _problem("poisson", 18)
    model = FisherScoringGLM(family="poisson", alpha=0.05, l1_ratio=1.0).fit(X, y)
    before = model.coef_.copy()
    model.set_params(penalty_factor=np.ones(3))
    with pytest.raises(ValueError, match="penalty_factor has 3 entries"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, before)


def test_dask_input_matches_numpy():
    da = pytest.importorskip("dask.array")
    X, y, _ = _problem("poisson", 19, n=600)
    kwargs = {"family": "poisson", "alpha": 0.02, "l1_ratio": 0.8, "tol": 1e-12}
    local = FisherScoringGLM(**kwargs).fit(X, y)
    distributed = FisherScoringGLM(**kwargs).fit(da.from_array(X, chunks=(150, -1)),
                                                 da.from_array(y, chunks=150))  # fmt: skip
    np.testing.assert_allclose(distributed.coef_, local.coef_, atol=1e-10)
