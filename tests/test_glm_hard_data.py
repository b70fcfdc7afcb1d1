"""FisherScoringGLM and the functional core on hard data: aliasing, starts, edge cases, threads.

Each case once ended badly (wrong standard errors, silent nonsense, LAPACK errors, loops without
end); each now ends in a sane fit or a clear error or warning naming the problem.
"""

import threading
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_info

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher.exceptions import (
    BoundaryFitWarning,
    PerfectSeparationWarning,
    SingularInformationWarning,
)


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def _claims(seed=0, n=600):
    rng = np.random.default_rng(seed)
    region = rng.choice(["a", "b", "c", "d"], n)
    vehicle = rng.choice(["car", "van", "bike"], n)
    age = rng.uniform(18, 80, n)
    effect = {"a": 0.0, "b": 0.3, "c": -0.2, "d": 0.1, "car": 0.0, "van": 0.4, "bike": -0.5}
    levels = np.array([effect[r] + effect[v] for r, v in zip(region, vehicle, strict=True)])
    eta = -1.0 + levels + 0.01 * age
    y = rng.poisson(np.exp(eta)).astype(float)
    return np.column_stack([region, vehicle]), age, y


# ----------------------------------------------------------------------------------------------
# Aliasing, as R reports it
# ----------------------------------------------------------------------------------------------
def test_full_one_hot_with_an_intercept_aliases_the_last_levels():
    cats, age, y = _claims()
    full = OneHotEncoder(sparse_output=False).fit(cats)
    X = np.column_stack([full.transform(cats), age])
    with pytest.warns(SingularInformationWarning, match="rank 7 of 9"):
        model = FisherScoringGLM(family="poisson").fit(X, y)
    # R aliases a column that repeats earlier ones: here the last level of each categorical.
    expected = np.zeros(9, dtype=bool)
    expected[[4, 7]] = True
    np.testing.assert_array_equal(model.aliased_, expected)
    assert model.rank_ == 7 and model.df_resid_ == 600 - 7
    assert np.all(model.coef_[[3, 6]] == 0)
    assert np.isnan(model.std_errors_[[4, 7]]).all()
    assert np.isfinite(model.std_errors_[~expected]).all()
    assert np.isnan(model.covariance_matrix_[4]).all()
    # The model without the aliased columns: the same coefficients and standard errors ...
    last = [sorted(set(cats[:, j]))[-1] for j in range(2)]
    dropped = OneHotEncoder(sparse_output=False, drop=last).fit(cats)
    reference = FisherScoringGLM(family="poisson").fit(
        np.column_stack([dropped.transform(cats), age]), y
    )
    keep = ~expected[1:]
    np.testing.assert_allclose(model.coef_[keep], reference.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.std_errors_[~expected], reference.std_errors_, rtol=1e-8)
    np.testing.assert_allclose(model.deviance_, reference.deviance_, rtol=1e-12)
    # ... and the predictions of any reparametrisation (drop='first').
    first = OneHotEncoder(sparse_output=False, drop="first").fit(cats)
    Xf = np.column_stack([first.transform(cats), age])
    other = FisherScoringGLM(family="poisson").fit(Xf, y)
    np.testing.assert_allclose(model.predict(X), other.predict(Xf), rtol=1e-9)
    # summary() marks them as R does.
    text = str(model.summary())
    assert "(2 not defined because of singularities)" in text
    assert text.splitlines()[-5].split()[1:] == ["NA"] * 6


def test_aliasing_is_found_with_the_qr_solver_sparse_input_and_a_ridge():
    cats, age, y = _claims(1)
    X = OneHotEncoder().fit_transform(cats).tocsr()
    with pytest.warns(SingularInformationWarning):
        dense = FisherScoringGLM(family="poisson", solver="qr").fit(X.toarray(), y)
    with pytest.warns(SingularInformationWarning):
        sparse = FisherScoringGLM(family="poisson").fit(X, y)
    np.testing.assert_array_equal(dense.aliased_, sparse.aliased_)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-8, atol=1e-12)
    # A ridge identifies every coefficient: nothing aliased, the rank of the data stays 6.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ridge = FisherScoringGLM(family="poisson", alpha=1e-3).fit(X, y)
    assert not ridge.aliased_.any() and ridge.rank_ == 6
    assert np.isfinite(ridge.std_errors_).all()


# ----------------------------------------------------------------------------------------------
# Starts
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "family, sm_family, draw",
    [
        (glm.NegativeBinomial(1.0), sm.families.NegativeBinomial(alpha=1.0),
         lambda rng, mu: rng.negative_binomial(1, 1 / (1 + mu))),
        ("gamma", sm.families.Gamma(sm.families.links.Log()),
         lambda rng, mu: rng.gamma(2.0, mu / 2)),
    ],
    ids=["negative_binomial", "gamma"],
)  # fmt: skip
def test_without_an_intercept_no_more_iterations_than_statsmodels(seed, family, sm_family, draw):
    # The constant is a column of X and fit_intercept=False: the start is the better of zeros
    # and R's start. (From zeros alone, the negative binomial needed over 100 iterations.)
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(20), rng.normal(size=(20, 2))])
    y = draw(rng, np.exp(X @ [1.0, 0.5, -0.3])).astype(float)
    model = FisherScoringGLM(family=family, fit_intercept=False).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm.GLM(y, X, family=sm_family).fit(tol=1e-8)
        exact = sm.GLM(y, X, family=sm_family).fit(tol=1e-14, maxiter=500)
    assert model.converged_ and model.n_iter_ <= theirs.fit_history["iteration"]
    # At the default tolerance the coefficients are within a thousandth of a standard error
    # (the non-canonical links converge linearly).
    assert np.all(np.abs(model.coef_ - exact.params) < 1e-3 * model.std_errors_)


# ----------------------------------------------------------------------------------------------
# Edge cases of the estimator
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_identity_link_poisson_on_few_rows_keeps_its_means_positive(seed):
    # Once: "LinAlgError: SVD did not converge", with LAPACK printing to stdout.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 3))
    y = rng.poisson(np.exp(0.3 + X @ [0.3, -0.2, 0.1])).astype(float)
    with warnings.catch_warnings():
        # No LAPACK noise and no other warning (where the optimum sits on the boundary of
        # positive means, convergence is slow and may take more than max_iter).
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = FisherScoringGLM(family="poisson", link="identity").fit(X, y)
    assert np.all(model.predict(X) > 0)
    # statsmodels reaches the same optimum where its iterates stay valid.
    design = sm.add_constant(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm.GLM(y, design, family=sm.families.Poisson(sm.families.links.Identity()))
        theirs = theirs.fit(tol=1e-14, maxiter=500)
    if model.converged_ and np.all(design @ theirs.params > 0):
        gap = np.abs(np.r_[model.intercept_, model.coef_] - theirs.params)
        assert np.all(gap < 1e-3 * model.std_errors_)


@pytest.mark.parametrize("where", ["y", "sample_weight", "tiny y"])
def test_values_beyond_double_precision_are_refused(rng, where):
    X = rng.normal(size=(50, 2))
    y = rng.gamma(2.0, 1.0, 50)
    sw = np.ones(50)
    if where == "y":
        y = y * 1e300
    elif where == "sample_weight":
        sw = sw * 1e200
    else:
        y = y * 1e-300
    model = FisherScoringGLM(family="gamma")
    with pytest.raises(ValueError, match="Rescale"):
        model.fit(X, y, sample_weight=sw)
    assert not hasattr(model, "coef_")


def test_a_design_scaled_by_1e160_gives_the_scaled_fit(rng):
    # Its weighted Gram overflows: the steps and the standard errors come from QR factors.
    X = rng.normal(size=(200, 3))
    y = rng.poisson(np.exp(0.3 + X @ [0.3, -0.2, 0.1])).astype(float)
    reference = FisherScoringGLM(family="poisson").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = FisherScoringGLM(family="poisson").fit(X * 1e160, y)
    np.testing.assert_allclose(model.coef_ * 1e160, reference.coef_, rtol=1e-10)
    np.testing.assert_allclose(model.std_errors_ * np.r_[1.0, np.full(3, 1e160)],
                               reference.std_errors_, rtol=1e-8)  # fmt: skip
    np.testing.assert_allclose(model.predict(X * 1e160), reference.predict(X), rtol=1e-12)


def test_normal_log_link_with_nonpositive_responses_reports_the_boundary(rng):
    X = rng.normal(size=(200, 3))
    y = rng.normal(-1, 1, 200)
    y[:10] = np.abs(y[:10])
    # Once: intercept_ = -1.9e57 with converged_=True after 0 iterations and no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularInformationWarning)
        with pytest.warns(BoundaryFitWarning):
            model = FisherScoringGLM(family="normal", link="log").fit(X, y)
    assert np.all(np.isfinite(model.coef_)) and np.isfinite(model.intercept_)
    assert model.n_iter_ > 0


def test_all_zero_counts_warn_that_the_intercept_is_at_minus_infinity(rng):
    X = rng.normal(size=(100, 2))
    with pytest.warns(BoundaryFitWarning, match="infinite intercept"):
        model = FisherScoringGLM(family="poisson").fit(X, np.zeros(100))
    assert model.intercept_ < -20 and np.all(model.predict(X) < 1e-8)
    assert model.null_deviance_ < 1e-8 and model.deviance_ < 1e-8


def test_separation_is_reported_and_bounded(rng):
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(float)
    with pytest.warns(PerfectSeparationWarning):
        model = FisherScoringGLM(family="bernoulli").fit(X, y)
    assert np.all(np.isfinite(model.coef_))


# ----------------------------------------------------------------------------------------------
# Edge cases of the functional core
# ----------------------------------------------------------------------------------------------
def _poisson_core(rng, n=200):
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = rng.poisson(np.exp(X @ [0.3, 0.2, -0.1])).astype(float)
    return X, y


def test_core_large_offset_converges(rng):
    # exp(700) is near the top of double precision (once: all-zero coefficients). Newton steps
    # from means far above y shrink eta by about one each.
    X, y = _poisson_core(rng)
    offset = np.full(len(y), 700.0)
    coef, _, converged, _ = glm.fit(X, y, glm.Poisson(), offset=offset, maximum_iterations=1000)
    reference, *_ = glm.fit(X, y, glm.Poisson())
    assert converged
    # Both stop by TFP's criterion, a relative change below 1e-5.
    np.testing.assert_allclose(coef + [700.0, 0, 0], reference, rtol=1e-4)


def test_core_far_start_stops_with_a_warning_instead_of_zeros(rng):
    X, y = _poisson_core(rng)
    offset = np.full(len(y), -700.0)
    with pytest.warns(ConvergenceWarning, match="no step"), pytest.warns(BoundaryFitWarning):
        coef, _, converged, iterations = glm.fit(X, y, glm.Poisson(), offset=offset)
    assert not converged and iterations == 0


def test_core_huge_counts_converge_by_step_halving(rng):
    X, _ = _poisson_core(rng)
    y = np.full(len(X), 1e12)
    coef, _, converged, _ = glm.fit(X, y, glm.Poisson())
    assert converged
    np.testing.assert_allclose(coef, [np.log(1e12), 0.0, 0.0], atol=1e-8)


def test_core_invalid_default_start_is_an_error(rng):
    X, _ = _poisson_core(rng)
    y = rng.gamma(2.0, 1.0, len(X))
    with pytest.raises(ValueError, match="model_coefficients_start"):
        glm.fit(X, y, glm.Gamma(1.0, "inverse"))
    coef, _, converged, _ = glm.fit(X, y, glm.Gamma(1.0, "inverse"),
                                    model_coefficients_start=[1.0, 0.0, 0.0])  # fmt: skip
    assert converged and np.all(X @ coef > 0)


@pytest.mark.parametrize("maximum_iterations", [100, None])
def test_core_separation_stops_and_reports_non_convergence(rng, maximum_iterations):
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = (X[:, 1] > 0).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularInformationWarning)
        with pytest.warns(PerfectSeparationWarning):
            coef, _, converged, iterations = glm.fit(
                X, y, glm.Bernoulli(), maximum_iterations=maximum_iterations
            )
    assert not converged and iterations < 100 and np.all(np.isfinite(coef))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sample_weight": np.zeros(200)}, "nothing to fit"),
        ({"maximum_iterations": -3}, "non-negative"),
        ({"maximum_iterations": 2.5}, "integer"),
        ({"model_matrix": "complex"}, "complex"),
        ({"response": "complex"}, "complex"),
        ({"model_matrix": "empty"}, "no rows"),
    ],
)
def test_core_refuses_inputs_with_nothing_to_fit(rng, kwargs, match):
    X, y = _poisson_core(rng)
    args = {"model_matrix": X, "response": y, "model": glm.Poisson()}
    args.update(kwargs)
    if kwargs.get("model_matrix") == "complex":
        args["model_matrix"] = X + 1j
    if kwargs.get("response") == "complex":
        args["response"] = y + 0j
    if kwargs.get("model_matrix") == "empty":
        args["model_matrix"], args["response"] = X[:0], y[:0]
    with pytest.raises(ValueError, match=match):
        glm.fit(**args)


# ----------------------------------------------------------------------------------------------
# BLAS threads
# ----------------------------------------------------------------------------------------------
def _blas_threads():
    return sorted((info["internal_api"], info["num_threads"]) for info in threadpool_info()
                  if info["user_api"] == "blas")  # fmt: skip


def test_overlapping_fits_in_threads_restore_the_blas_limits(rng):
    before = _blas_threads()
    X = rng.normal(size=(3000, 20))
    y = rng.poisson(np.exp(0.2 + X[:, 0] * 0.1)).astype(float)
    start = threading.Barrier(4)
    errors = []

    def work(seed):
        try:
            start.wait()
            for _ in range(3):
                FisherScoringGLM(family="poisson", alpha=seed * 1e-3).fit(X, y)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert _blas_threads() == before


def test_a_wide_design_scaled_by_1e160_gives_the_scaled_fit(rng, monkeypatch):
    # 100 columns: the steps would take float32 Grams and chord steps; the float32 product
    # overflows first, then the float64 one, and the fit goes the QR way (plain Newton steps)
    # without a warning.
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_WORK", 0)
    X = rng.normal(size=(600, 100))
    y = rng.poisson(np.exp(0.3 + X @ rng.normal(scale=0.03, size=100))).astype(float)
    reference = FisherScoringGLM(family="poisson", tol=1e-12).fit(X, y)
    scale = np.r_[np.full(50, 1e160), np.ones(50)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = FisherScoringGLM(family="poisson", tol=1e-12).fit(X * scale, y)
    np.testing.assert_allclose(model.coef_ * scale, reference.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.std_errors_ * np.r_[1.0, scale], reference.std_errors_,
                               rtol=1e-8)  # fmt: skip
