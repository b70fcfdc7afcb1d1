"""The coordinate-descent kernel for penalised quadratic models.

References: closed forms (diagonal H, l1 = 0), L-BFGS-B on the split formulation b = u - v,
scikit-learn's ``Lasso``/``ElasticNet`` on least squares, and the KKT conditions.
"""

import itertools

import numpy as np
import pytest
import scipy.optimize
from sklearn.linear_model import ElasticNet, Lasso

from skglm_fisher.glm._coordinate_descent import (
    kkt_violation,
    quadratic_model_gradient,
    soft_threshold,
    solve_penalized_quadratic,
)


def _random_problem(seed, p=12, n=40, correlated=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if correlated:
        X[:, 1:] += 0.7 * X[:, :-1]
    w = rng.uniform(0.2, 2.0, size=n)  # Fisher weights
    H = X.T @ (w[:, None] * X)
    g = rng.normal(size=p) * np.sqrt(np.diag(H))
    b0 = rng.normal(size=p) * 0.3
    l1 = rng.uniform(0.0, 1.5, size=p) * np.sqrt(np.diag(H))
    l2 = rng.uniform(0.0, 1.0, size=p)
    return H, g, b0, l1, l2


def _objective(H, g, b0, l1, l2, b):
    d = b - b0
    return -g @ d + 0.5 * d @ H @ d + np.sum(l1 * np.abs(b)) + 0.5 * np.sum(l2 * b**2)


def _split_lbfgs(H, g, b0, l1, l2):
    """Minimise Q over b = u - v with u, v >= 0, where the L1 term is linear."""
    p = len(g)

    def fun(uv):
        b = uv[:p] - uv[p:]
        d = b - b0
        value = -g @ d + 0.5 * d @ H @ d + 0.5 * np.sum(l2 * b**2) + l1 @ (uv[:p] + uv[p:])
        smooth = H @ d - g + l2 * b
        return value, np.concatenate([smooth + l1, -smooth + l1])

    start = np.concatenate([np.maximum(b0, 0), np.maximum(-b0, 0)])
    result = scipy.optimize.minimize(
        fun, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * p),
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 20000, "maxcor": 30},
    )  # fmt: skip
    return result.x[:p] - result.x[p:]


@pytest.mark.parametrize("seed", range(3))
def test_matches_lbfgs_on_the_split_formulation(seed):
    H, g, b0, l1, l2 = _random_problem(seed)
    coef, _, converged = solve_penalized_quadratic(H, g, l1, l2, b0, tol=1e-20)
    reference = _split_lbfgs(H, g, b0, l1, l2)
    assert converged
    assert 0 < np.count_nonzero(coef) < len(coef)  # the L1 term is active on some coordinates
    assert _objective(H, g, b0, l1, l2, coef) <= _objective(H, g, b0, l1, l2, reference) + 1e-10
    np.testing.assert_allclose(coef, reference, atol=1e-6)


def _enumerated_optimum(H, g, b0, l1, l2):
    """The optimum of a small problem by trying every sign pattern in {-1, 0, 1}^p: on the
    support S with signs s, stationarity is the linear system
    (H + diag l2)_SS b_S = (g + H b0 - H_{S,¬S}·0 - l1 ⊙ s)_S; keep the consistent pattern."""
    p = len(g)
    rhs = g + H @ b0
    A = H + np.diag(l2)
    for signs in itertools.product((-1, 0, 1), repeat=p):
        signs = np.array(signs)
        support = signs != 0
        b = np.zeros(p)
        if support.any():
            b[support] = np.linalg.solve(
                A[np.ix_(support, support)], rhs[support] - l1[support] * signs[support]
            )
        if np.any(np.sign(b[support]) != signs[support]):
            continue
        gradient = A @ b - rhs
        if np.all(np.abs(gradient[~support]) <= l1[~support] + 1e-12):
            return b
    raise AssertionError("no sign pattern is stationary")


@pytest.mark.parametrize("seed", range(4))
def test_matches_enumeration_of_sign_patterns(seed):
    H, g, b0, l1, l2 = _random_problem(seed, p=6, n=8)
    coef, _, converged = solve_penalized_quadratic(H, g, l1, l2, b0, tol=1e-26)
    reference = _enumerated_optimum(H, g, b0, l1, l2)
    assert converged and 0 < np.count_nonzero(reference) < 6
    np.testing.assert_allclose(coef, reference, atol=1e-10)
    assert np.array_equal(coef == 0, reference == 0)


@pytest.mark.parametrize("seed", range(10))
def test_kkt_conditions_on_random_problems(seed):
    H, g, b0, l1, l2 = _random_problem(seed, p=30, n=20 + 10 * seed)  # p > n for small seeds
    coef, n_sweeps, converged = solve_penalized_quadratic(
        H, g, l1, l2, b0, tol=1e-22, max_sweeps=10_000
    )
    assert converged
    gradient = quadratic_model_gradient(H, g, b0, coef, l2)
    scale = np.max(np.abs(g)) + np.max(np.abs(H))
    assert kkt_violation(coef, gradient, l1) < 1e-9 * scale


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.1])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_matches_sklearn_elastic_net(l1_ratio, fit_intercept):
    # sklearn: 1/(2n)·||y - Xw - c||² + α·ρ·||w||₁ + α(1-ρ)/2·||w||².
    # Here at b0 = 0: H = AᵀA/n, g = Aᵀy/n (the score at 0), l1 = α·ρ, l2 = α(1-ρ), with
    # A = [1, X] and an unpenalised first coordinate when there is an intercept.
    rng = np.random.default_rng(7)
    n, p = 200, 25
    X = rng.normal(size=(n, p)) + 0.5 * rng.normal(size=(n, 1))
    y = X @ np.where(rng.random(p) < 0.4, rng.normal(size=p), 0.0) + 3.0 + rng.normal(size=n)
    alpha = 0.05
    A = np.column_stack([np.ones(n), X]) if fit_intercept else X
    H, g = A.T @ A / n, A.T @ y / n
    l1 = np.full(A.shape[1], alpha * l1_ratio)
    l2 = np.full(A.shape[1], alpha * (1 - l1_ratio))
    if fit_intercept:
        l1[0] = l2[0] = 0.0
    coef, _, converged = solve_penalized_quadratic(H, g, l1, l2, tol=1e-22)
    estimator = Lasso if l1_ratio == 1.0 else ElasticNet
    kwargs = {} if l1_ratio == 1.0 else {"l1_ratio": l1_ratio}
    reference = estimator(
        alpha=alpha, fit_intercept=fit_intercept, tol=1e-14, max_iter=100_000, **kwargs
    ).fit(X, y)
    assert converged
    np.testing.assert_allclose(coef[1:] if fit_intercept else coef, reference.coef_, atol=1e-8)
    if fit_intercept:
        np.testing.assert_allclose(coef[0], reference.intercept_, atol=1e-8)
    assert np.array_equal(coef[-p:] == 0, reference.coef_ == 0)


def test_diagonal_closed_form():
    rng = np.random.default_rng(2)
    p = 20
    h = rng.uniform(0.1, 3.0, size=p)
    g, b0 = rng.normal(size=p), rng.normal(size=p)
    l1, l2 = rng.uniform(0, 1.5, size=p), rng.uniform(0, 1, size=p)
    coef, n_sweeps, converged = solve_penalized_quadratic(np.diag(h), g, l1, l2, b0)
    # Stationarity of -g_j + h_j (b_j - b0_j) + l2_j b_j + l1_j ∂|b_j|, coordinate by coordinate.
    expected = soft_threshold(g + h * b0, l1) / (h + l2)
    np.testing.assert_allclose(coef, expected, rtol=1e-14, atol=1e-15)
    assert converged and n_sweeps <= 2  # one sweep solves a separable problem; one confirms


def test_no_l1_is_the_linear_solve():
    H, g, b0, _, l2 = _random_problem(3, p=15)
    coef, _, converged = solve_penalized_quadratic(H, g, 0.0, l2, b0, tol=1e-26)
    expected = np.linalg.solve(H + np.diag(l2), g + H @ b0)
    assert converged
    np.testing.assert_allclose(coef, expected, rtol=1e-9, atol=1e-10)


def test_warm_start_equals_cold_start():
    H, g, b0, l1, l2 = _random_problem(4, p=25)
    cold, cold_sweeps, _ = solve_penalized_quadratic(H, g, l1, l2, b0, tol=1e-24)
    start = cold + 0.05 * np.random.default_rng(0).normal(size=25) * (cold != 0)
    warm, warm_sweeps, converged = solve_penalized_quadratic(
        H, g, l1, l2, b0, coef_start=start, tol=1e-24
    )
    assert converged
    np.testing.assert_allclose(warm, cold, atol=1e-10)
    exact, exact_sweeps, _ = solve_penalized_quadratic(H, g, l1, l2, b0, coef_start=cold, tol=1e-24)
    np.testing.assert_allclose(exact, cold, atol=1e-12)
    assert exact_sweeps <= 2 < cold_sweeps


def test_path_of_warm_starts_matches_cold_solutions():
    H, g, b0, l1, l2 = _random_problem(5, p=20)
    coef = None
    for scale in (4.0, 2.0, 1.0, 0.5):
        coef, _, converged = solve_penalized_quadratic(
            H, g, scale * l1, l2, b0, coef_start=coef, tol=1e-24
        )
        cold = solve_penalized_quadratic(H, g, scale * l1, l2, b0, tol=1e-24).coef
        assert converged
        np.testing.assert_allclose(coef, cold, atol=1e-10)


def test_strong_penalty_gives_zero_without_sweeps():
    H, g, b0, _, l2 = _random_problem(6)
    l1 = 1.0 + np.abs(quadratic_model_gradient(H, g, b0, np.zeros(len(g)), l2))
    coef, n_sweeps, converged = solve_penalized_quadratic(H, g, l1, l2, b0)
    assert converged and n_sweeps == 0 and not coef.any()


def test_unpenalised_intercept_is_fitted_when_everything_else_is_zero():
    H, g, b0, _, _ = _random_problem(8, p=6)
    l1 = np.full(6, 1e6)
    l1[0] = 0.0
    coef, _, converged = solve_penalized_quadratic(H, g, l1, 0.0, b0)
    assert converged and np.count_nonzero(coef) == 1
    np.testing.assert_allclose(coef[0], (g[0] + H[0] @ b0) / H[0, 0], rtol=1e-12)


@pytest.mark.parametrize(("l1", "expected"), [(0.0, 0.4), (0.3, 0.0)])
def test_zero_curvature_coordinate_is_left_or_zeroed_never_nan(l1, expected):
    H, g, b0, _, _ = _random_problem(9, p=5)
    H[2, :] = H[:, 2] = 0.0
    g[2] = 0.0
    start = np.zeros(5)
    start[2] = 0.4
    coef, _, converged = solve_penalized_quadratic(H, g, l1, 0.0, b0, coef_start=start)
    assert converged and np.all(np.isfinite(coef))
    assert coef[2] == expected
    # The other coordinates solve the problem without coordinate 2.
    keep = [0, 1, 3, 4]
    sub = solve_penalized_quadratic(H[np.ix_(keep, keep)], g[keep], l1, 0.0, b0[keep]).coef
    np.testing.assert_allclose(coef[keep], sub, atol=1e-10)


def test_unbounded_direction_is_not_reported_converged():
    H, g, b0, _, _ = _random_problem(9, p=5)
    H[2, :] = H[:, 2] = 0.0
    g[2] = 0.5  # Q decreases without bound along b_2 unless l1_2 >= 0.5
    coef, _, converged = solve_penalized_quadratic(H, g, 0.2, 0.0, b0)
    assert not converged and np.all(np.isfinite(coef))
    gradient = quadratic_model_gradient(H, g, b0, coef, 0.0)
    assert kkt_violation(coef, gradient, 0.2) == pytest.approx(0.3)
    assert solve_penalized_quadratic(H, g, 0.6, 0.0, b0).converged


def test_sweep_budget_is_respected_and_reported():
    H, g, b0, l1, l2 = _random_problem(10, p=40, n=41)  # nearly singular: slow convergence
    coef, n_sweeps, converged = solve_penalized_quadratic(
        H, g, l1 * 0.01, 0.0, b0, tol=1e-30, max_sweeps=3
    )
    assert n_sweeps == 3 and not converged and np.all(np.isfinite(coef))


def test_kkt_violation_values():
    coef = np.array([0.0, 0.0, 1.5, -2.0])
    gradient = np.array([0.5, -1.25, -1.0, 0.75])
    assert kkt_violation(coef, gradient, 1.0) == pytest.approx(0.25)  # coordinates 1 and 3
    assert kkt_violation(coef, gradient, np.array([1.0, 1.25, 1.0, 0.75])) == 0.0
    assert kkt_violation(np.array([]), np.array([]), 1.0) == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"H": np.ones((3, 2))}, "H must be a square matrix"),
        ({"H": np.full((3, 3), np.nan)}, "H contains NaN"),
        ({"H": -np.eye(3)}, "positive semi-definite"),
        ({"H": np.eye(3) + np.triu(np.ones((3, 3)), 1)}, "H must be symmetric"),
        ({"g": np.ones(2)}, r"g has shape \(2,\)"),
        ({"g": np.array([1.0, np.inf, 0.0])}, "g contains NaN"),
        ({"b0": np.ones(4)}, "b0 has shape"),
        ({"coef_start": np.ones(4)}, "coef_start has shape"),
        ({"l1": -1.0}, "l1 must be finite and non-negative"),
        ({"l1": np.ones(4)}, "l1 has shape"),
        ({"l2": np.array([0.0, np.nan, 0.0])}, "l2 must be finite and non-negative"),
        ({"tol": 0.0}, "tol must be positive"),
        ({"max_sweeps": 0}, "max_sweeps must be a positive integer"),
        ({"max_sweeps": 2.0}, "max_sweeps must be a positive integer"),
    ],
)
def test_invalid_input_raises(change, message):
    arguments = {"H": np.eye(3), "g": np.ones(3), "l1": 0.5, **change}
    with pytest.raises(ValueError, match=message):
        solve_penalized_quadratic(**arguments)
