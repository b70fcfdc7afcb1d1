"""Fisher scoring core: departures from TFP, weights, sparse and float32 input, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import optimize

from skglm_fisher import glm
from skglm_fisher.exceptions import SingularInformationWarning
from skglm_fisher.glm._gram import weighted_gram


def _poisson_data(n=200, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    y = rng.poisson(np.exp(X @ np.linspace(0.3, -0.2, p))).astype(float)
    return X, y


def _tfp_step(X, y, family, coef, l2=0.0, learning_rate=1.0):
    """Literal transcription of TFP's fit_one_step: w masked, z not, penalty not damped."""
    eta = X @ coef
    mean, variance, grad_mean = family(eta)
    valid = np.isfinite(grad_mean) & (grad_mean != 0) & np.isfinite(variance) & (variance > 0)
    w = np.where(valid, grad_mean / np.sqrt(variance), 0.0)
    z = eta + learning_rate * (y - mean) / grad_mean
    A = w[:, None] * X
    return np.linalg.solve(A.T @ A + l2 * np.eye(X.shape[1]), A.T @ (w * z))


def _penalized_optimum(X, y, family, l2):
    """Minimiser of NLL + l2/2·||b||² by a generic optimizer, independent of Fisher scoring."""

    def objective(b):
        eta = X @ b
        return -family.log_prob(y, eta).sum() + 0.5 * l2 * b @ b

    def gradient(b):
        return -X.T @ family.score(y, X @ b) + l2 * b

    return optimize.minimize(objective, np.zeros(X.shape[1]), jac=gradient, method="BFGS",
                             options={"gtol": 1e-10}).x  # fmt: skip


def test_fit_reaches_the_penalized_optimum():
    X, y = _poisson_data()
    coef, eta, converged, _ = glm.fit(X, y, glm.Poisson(), l2_regularizer=3.0,
                                      convergence_criteria_fn=_tight())  # fmt: skip
    assert converged
    np.testing.assert_allclose(coef, _penalized_optimum(X, y, glm.Poisson(), 3.0), rtol=1e-6)
    np.testing.assert_allclose(eta, X @ coef)


def _tight():
    return glm.convergence_criteria_small_relative_norm_weights_change(tolerance=1e-12)


def test_damped_penalized_steps_converge_to_the_requested_penalty_unlike_tfp():
    X, y = _poisson_data()
    l2, r = 3.0, 0.5
    coef = glm.fit(X, y, glm.Poisson(), l2_regularizer=l2, learning_rate=r,
                   convergence_criteria_fn=_tight(), maximum_iterations=500)[0]  # fmt: skip
    np.testing.assert_allclose(coef, _penalized_optimum(X, y, glm.Poisson(), l2), rtol=1e-6)
    # TFP's damped iteration settles at the optimum of l2 / learning_rate instead.
    tfp_coef = np.zeros(X.shape[1])
    for _ in range(200):
        tfp_coef = _tfp_step(X, y, glm.Poisson(), tfp_coef, l2=l2, learning_rate=r)
    np.testing.assert_allclose(tfp_coef, _penalized_optimum(X, y, glm.Poisson(), l2 / r), rtol=1e-6)
    assert not np.allclose(tfp_coef, coef, rtol=1e-3)


def test_damped_step_equals_tfp_without_penalty():
    X, y = _poisson_data()
    start = np.array([0.1, 0.0, 0.2])
    ours, _ = glm.fit_one_step(X, y, glm.Poisson(), start, learning_rate=0.3)
    np.testing.assert_allclose(ours, _tfp_step(X, y, glm.Poisson(), start, learning_rate=0.3),
                               rtol=1e-12)  # fmt: skip
    # ... and, with a penalty, it is the damped full step b0 + r·(b_newton - b0).
    newton, _ = glm.fit_one_step(X, y, glm.Poisson(), start, l2_regularizer=2.0)
    damped, _ = glm.fit_one_step(X, y, glm.Poisson(), start, l2_regularizer=2.0, learning_rate=0.3)
    np.testing.assert_allclose(damped, start + 0.3 * (newton - start), rtol=1e-12)


def test_rows_with_overflowed_mean_are_masked_in_weights_and_response():
    X, y = _poisson_data()
    X_bad = np.vstack([X, [1.0, 800.0, 0.0]])  # exp(0.8·800 ...) overflows at the start below
    y_bad = np.append(y, 1.0)
    start = np.array([0.0, 1.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        tfp = _tfp_step(X_bad, y_bad, glm.Poisson(), start)
        ours, _ = glm.fit_one_step(X_bad, y_bad, glm.Poisson(), start)
    assert np.all(np.isnan(tfp))  # TFP: NaN working response poisons every coefficient
    expected, _ = glm.fit_one_step(X, y, glm.Poisson(), start)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_maximum_iterations_is_bounded_by_default():
    X, y = _poisson_data()
    never = lambda **kwargs: False  # noqa: E731
    coef, _, converged, iterations = glm.fit(X, y, glm.Poisson(), convergence_criteria_fn=never)
    assert (converged, iterations) == (False, 100)
    assert np.all(np.isfinite(coef))


def test_sample_weights_equal_repeated_rows():
    X, y = _poisson_data(n=60)
    counts = np.random.default_rng(1).integers(0, 4, size=60)
    weighted = glm.fit(X, y, glm.Poisson(), sample_weight=counts.astype(float))[0]
    repeated = glm.fit(np.repeat(X, counts, axis=0), np.repeat(y, counts), glm.Poisson())[0]
    np.testing.assert_allclose(weighted, repeated, rtol=1e-9)


def test_offset_shifts_the_linear_predictor():
    X, y = _poisson_data()
    exposure = np.random.default_rng(2).uniform(0.5, 2.0, size=len(y))
    y = np.random.default_rng(3).poisson(exposure * np.exp(X @ [0.2, 0.1, -0.1])).astype(float)
    coef, eta, _, _ = glm.fit(X, y, glm.Poisson(), offset=np.log(exposure))
    np.testing.assert_allclose(eta, X @ coef + np.log(exposure))
    # Score equations of the offset model: Xᵀ(y - exposure·exp(X b)) = 0.
    np.testing.assert_allclose(X.T @ (y - np.exp(eta)), 0.0, atol=1e-6)


@pytest.mark.parametrize("fast", [True, False])
def test_sparse_and_dense_agree(fast):
    X, y = _poisson_data()
    X[:, 1][np.abs(X[:, 1]) < 0.7] = 0.0
    dense = glm.fit(X, y, glm.Poisson(), l2_regularizer=0.5, fast_unsafe_numerics=fast)[0]
    sparse = glm.fit(sp.csr_matrix(X), y, glm.Poisson(), l2_regularizer=0.5,
                     fast_unsafe_numerics=fast)[0]  # fmt: skip
    np.testing.assert_allclose(sparse, dense, rtol=1e-10)


def test_float32_input_stays_float32():
    X, y = _poisson_data()
    coef, eta, converged, _ = glm.fit(X.astype(np.float32), y.astype(np.float32), glm.Poisson(),
                                      convergence_criteria_fn=_loose())  # fmt: skip
    assert coef.dtype == np.float32 and eta.dtype == np.float32
    np.testing.assert_allclose(coef, glm.fit(X, y, glm.Poisson())[0], rtol=1e-4, atol=1e-5)


def _loose():
    return glm.convergence_criteria_small_relative_norm_weights_change(tolerance=1e-4)


def test_collinear_columns_fall_back_to_minimum_norm_with_a_warning():
    X, y = _poisson_data()
    X = np.column_stack([X, X[:, 1]])  # duplicated column: singular information
    with pytest.warns(SingularInformationWarning):
        coef = glm.fit(X, y, glm.Poisson())[0]
    assert np.all(np.isfinite(coef))
    assert coef[1] == pytest.approx(coef[3], rel=1e-6)  # the minimum-norm split is even


def test_weighted_gram_chunks_match_direct_product():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1001, 7))
    w = rng.uniform(size=1001)
    expected = X.T @ (w[:, None] * X)
    np.testing.assert_allclose(weighted_gram(X, w, chunk_bytes=7 * 8 * 10), expected, rtol=1e-12)
    np.testing.assert_allclose(weighted_gram(sp.csr_matrix(X), w, chunk_bytes=500), expected,
                               rtol=1e-12)  # fmt: skip
    ones = np.column_stack([np.ones(1001), X])
    np.testing.assert_allclose(weighted_gram(X, w, intercept=True), ones.T @ (w[:, None] * ones),
                               rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_matrix": np.full((3, 2), np.nan)}, "model_matrix contains NaN"),
        ({"response": np.array([1.0, np.inf, 0.0])}, "response contains NaN"),
        ({"response": np.array([1.0, 2.0])}, "response has shape"),
        ({"response": np.array([1.0, -2.0, 0.0])}, "must lie in"),
        ({"dispersion": -1.0}, "dispersion must be positive"),
        ({"l2_regularizer": -0.1}, "l2_regularizer must be non-negative"),
        ({"model_coefficients_start": np.zeros(3)}, "model_coefficients_start has shape"),
        ({"offset": np.zeros(4)}, "offset has shape"),
        ({"sample_weight": np.array([1.0, -1.0, 1.0])}, "sample_weight must be non-negative"),
        ({"model": "poisson"}, "ExponentialFamily"),
        ({"model_matrix": np.ones(3)}, r"\[..., n, p\]"),
    ],
)
def test_bad_input_raises_a_named_value_error(kwargs, message):
    args = {"model_matrix": np.ones((3, 2)), "response": np.array([1.0, 2.0, 0.0]),
            "model": glm.Poisson()}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        glm.fit_one_step(**args)
    with pytest.raises(ValueError, match=message):
        glm.fit(**args)
