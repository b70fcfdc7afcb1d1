"""FisherScoringGLM against scikit-learn and statsmodels, and its user-facing behaviour."""

import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import statsmodels.api as sm
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import (
    GammaRegressor,
    LogisticRegression,
    PoissonRegressor,
    TweedieRegressor,
)
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.tools.sm_exceptions import DomainWarning

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher.exceptions import (
    MissingOffsetWarning,
    PerfectSeparationWarning,
    SingularInformationWarning,
)

SM_LINKS = sm.families.links
INVERSE_LINK = {
    "identity": lambda eta: eta,
    "log": np.exp,
    "inverse": lambda eta: 1 / eta,
    "inverse_squared": lambda eta: 1 / np.sqrt(eta),
    "sqrt": np.square,
    "logit": lambda eta: 1 / (1 + np.exp(-eta)),
    "probit": stats.norm.cdf,
    "cloglog": lambda eta: -np.expm1(-np.exp(eta)),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    n = 300
    X = rng.uniform(0.2, 1.5, size=(n, 2))
    return {
        "X": X,
        "sample_weight": rng.uniform(0.5, 2.0, n),
        "offset": np.log(rng.uniform(0.5, 2.0, n)),
        "rng": rng,
    }


# ----------------------------------------------------------------------------------------------
# scikit-learn parity: same objective, alpha mapped one to one
# ----------------------------------------------------------------------------------------------
def _sk_problem(seed=0, n=200, p=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    eta = 0.3 + X @ np.linspace(0.3, -0.2, p)
    return rng, X, eta, rng.uniform(0.5, 2.0, n)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize(
    "family, sk_estimator, draw",
    [
        ("poisson", PoissonRegressor, lambda rng, mu: rng.poisson(mu)),
        ("gamma", GammaRegressor, lambda rng, mu: rng.gamma(2.0, mu / 2.0)),
        (
            "tweedie",
            lambda **kw: TweedieRegressor(power=1.5, link="log", **kw),
            lambda rng, mu: rng.gamma(2.0, mu / 2.0) * (rng.random(mu.size) < 0.7),
        ),
    ],
)
def test_matches_sklearn_regressors_on_weighted_data(family, sk_estimator, draw, alpha):
    rng, X, eta, sw = _sk_problem()
    y = draw(rng, np.exp(eta)).astype(float)
    ours = FisherScoringGLM(family=family, alpha=alpha, tol=1e-14).fit(X, y, sample_weight=sw)
    theirs = sk_estimator(alpha=alpha, solver="newton-cholesky", tol=1e-12).fit(
        X, y, sample_weight=sw
    )
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.score(X, y, sw), theirs.score(X, y, sw), rtol=1e-8)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-6)


@pytest.mark.parametrize("alpha", [1e-3, 0.05])
def test_matches_sklearn_logistic_regression(alpha):
    rng, X, eta, sw = _sk_problem(seed=3)
    y = (rng.random(eta.size) < 1 / (1 + np.exp(-eta))).astype(float)
    ours = FisherScoringGLM(family="bernoulli", alpha=alpha, tol=1e-14).fit(X, y, sample_weight=sw)
    # sklearn's C multiplies the summed log-loss: C = 1 / (alpha * sum(s)).
    theirs = LogisticRegression(C=1 / (alpha * sw.sum()), solver="newton-cholesky", tol=1e-12)
    theirs.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_.ravel(), rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_[0], rtol=1e-6)
    np.testing.assert_allclose(ours.predict(X), theirs.predict_proba(X)[:, 1], rtol=1e-7)


def test_penalty_factor_matches_rescaled_features():
    # pf scales the penalty of one coefficient: the same as dividing the feature by pf.
    rng, X, eta, sw = _sk_problem(seed=4)
    y = rng.poisson(np.exp(eta)).astype(float)
    pf = np.array([2.0, 1.0, 0.5, 1.0])
    ours = FisherScoringGLM(family="poisson", alpha=0.2, penalty_factor=pf, tol=1e-14)
    ours.fit(X, y, sample_weight=sw)
    theirs = PoissonRegressor(alpha=0.2, solver="newton-cholesky", tol=1e-12)
    theirs.fit(X / pf, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_ / pf, rtol=1e-6)
    free = FisherScoringGLM(family="poisson", alpha=0.2, penalty_factor=[0, 0, 0, 0]).fit(X, y)
    plain = FisherScoringGLM(family="poisson").fit(X, y)
    np.testing.assert_allclose(free.coef_, plain.coef_, rtol=1e-7)


# ----------------------------------------------------------------------------------------------
# statsmodels (and R) parity: coefficients, standard errors, deviance, dispersion, llf
# ----------------------------------------------------------------------------------------------
STATSMODELS_CASES = [
    # (family, link, statsmodels family, draw(rng, mu), true coefficients)
    ("normal", "identity", sm.families.Gaussian(SM_LINKS.Identity()), "normal", [1.0, 0.5, -0.3]),
    ("normal", "log", sm.families.Gaussian(SM_LINKS.Log()), "normal", [0.5, 0.3, -0.2]),
    ("normal", "inverse", sm.families.Gaussian(SM_LINKS.InversePower()), "normal_small",
     [0.5, 0.3, 0.2]),
    ("poisson", "log", sm.families.Poisson(SM_LINKS.Log()), "poisson", [0.5, 0.3, -0.2]),
    ("poisson", "identity", sm.families.Poisson(SM_LINKS.Identity()), "poisson", [1.0, 0.5, 0.8]),
    ("poisson", "sqrt", sm.families.Poisson(SM_LINKS.Sqrt()), "poisson", [1.0, 0.5, 0.3]),
    ("gamma", "log", sm.families.Gamma(SM_LINKS.Log()), "gamma", [0.5, 0.3, -0.2]),
    ("gamma", "inverse", sm.families.Gamma(SM_LINKS.InversePower()), "gamma", [0.5, 0.3, 0.2]),
    ("gamma", "identity", sm.families.Gamma(SM_LINKS.Identity()), "gamma", [1.0, 0.5, 0.8]),
    ("inverse_gaussian", "log", sm.families.InverseGaussian(SM_LINKS.Log()), "wald",
     [0.2, 0.3, -0.2]),
    ("inverse_gaussian", "inverse_squared",
     sm.families.InverseGaussian(SM_LINKS.InverseSquared()), "wald", [0.5, 0.3, 0.2]),
    ("bernoulli", "logit", sm.families.Binomial(SM_LINKS.Logit()), "bernoulli", [-0.5, 0.8, -0.4]),
    ("bernoulli", "probit", sm.families.Binomial(SM_LINKS.Probit()), "bernoulli",
     [-0.5, 0.8, -0.4]),
    ("bernoulli", "cloglog", sm.families.Binomial(SM_LINKS.CLogLog()), "bernoulli",
     [-0.5, 0.8, -0.4]),
    ("negative_binomial", "log", sm.families.NegativeBinomial(SM_LINKS.Log(), alpha=1.0), "nb",
     [0.5, 0.3, -0.2]),
    ("tweedie", "log", sm.families.Tweedie(SM_LINKS.Log(), var_power=1.5), "tweedie",
     [0.5, 0.3, -0.2]),
]  # fmt: skip


def _draw(kind, rng, mu):
    n = mu.size
    return {
        "normal": lambda: mu + 0.4 * rng.normal(size=n),
        "normal_small": lambda: mu + 0.05 * rng.normal(size=n),
        "poisson": lambda: rng.poisson(mu),
        "gamma": lambda: rng.gamma(3.0, mu / 3.0),
        "wald": lambda: rng.wald(mu, 5.0),
        "bernoulli": lambda: rng.random(n) < mu,
        "nb": lambda: rng.negative_binomial(1.0, 1 / (1 + mu)),
        "tweedie": lambda: rng.gamma(2.0, mu / 2.0) * (rng.random(n) < 0.7),
    }[kind]().astype(float)


@pytest.mark.parametrize(
    "family, link, sm_family, kind, beta", STATSMODELS_CASES, ids=lambda v: str(v)[:16]
)
def test_matches_statsmodels_glm(data, family, link, sm_family, kind, beta):
    # R: glm(y ~ x1 + x2, family = <family>(link = <link>), weights = w, offset = o)
    X, sw = data["X"], data["sample_weight"]
    offset = data["offset"] if link == "log" else None
    eta = beta[0] + X @ beta[1:] + (0 if offset is None else offset)
    rng = np.random.default_rng(zlib.crc32(f"{family}-{link}".encode()))
    y = _draw(kind, rng, INVERSE_LINK[link](eta))
    ours = FisherScoringGLM(family=family, link=link, tol=1e-14, max_iter=200)
    ours.fit(X, y, sample_weight=sw, offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=sw, offset=offset)
        theirs = theirs.fit(tol=1e-14, maxiter=200)
    assert ours.converged_
    # statsmodels stops on the deviance change, so a coefficient near zero agrees to ~1e-8 absolute.
    np.testing.assert_allclose(np.r_[ours.intercept_, ours.coef_], theirs.params, rtol=1e-6,
                               atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-6)
    np.testing.assert_allclose(ours.deviance_, theirs.deviance, rtol=1e-8)
    np.testing.assert_allclose(ours.null_deviance_, theirs.null_deviance, rtol=1e-7)
    np.testing.assert_allclose(ours.dispersion_, theirs.scale, rtol=1e-7)
    np.testing.assert_allclose(ours.pearson_chi2_, theirs.pearson_chi2, rtol=1e-7)
    np.testing.assert_allclose(ours.llf, theirs.llf, rtol=1e-8)
    np.testing.assert_allclose(ours.aic, theirs.aic, rtol=1e-8)
    np.testing.assert_allclose(ours.bic, theirs.bic_llf, rtol=1e-8)
    assert ours.df_resid_ == theirs.df_resid


def test_poisson_exposure_matches_statsmodels_exposure(data):
    # statsmodels' exposure is the offset log(exposure); R: offset = log(exposure).
    X, rng = data["X"], np.random.default_rng(7)
    exposure = rng.uniform(0.1, 3.0, X.shape[0])
    y = rng.poisson(exposure * np.exp(0.2 + X @ [0.4, -0.3])).astype(float)
    ours = FisherScoringGLM(family="poisson", tol=1e-14).fit(X, y, offset=np.log(exposure))
    theirs = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), exposure=exposure)
    theirs = theirs.fit(tol=1e-14)
    np.testing.assert_allclose(np.r_[ours.intercept_, ours.coef_], theirs.params, rtol=1e-8)
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-7)
    np.testing.assert_allclose(ours.null_deviance_, theirs.null_deviance, rtol=1e-8)
    rate = ours.predict(X, offset=np.log(exposure)) / exposure
    with pytest.warns(MissingOffsetWarning, match="rate per unit of exposure"):
        np.testing.assert_allclose(rate, ours.predict(X), rtol=1e-12)


def test_binomial_proportions_with_trials_as_weights():
    # R: glm(cbind(k, m - k) ~ x, family = binomial) == glm(k/m ~ x, weights = m, binomial)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 2))
    trials = rng.integers(1, 20, 150).astype(float)
    successes = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-(0.3 + X @ [1.0, -0.5]))))
    ours = FisherScoringGLM(family="binomial", tol=1e-14).fit(X, successes / trials, trials)
    endog = np.column_stack([successes, trials - successes])
    theirs = sm.GLM(endog, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(np.r_[ours.intercept_, ours.coef_], theirs.params, rtol=1e-8)
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-7)
    np.testing.assert_allclose(ours.deviance_, theirs.deviance, rtol=1e-8)


def test_negative_binomial_instance_and_link_override(data):
    X, sw = data["X"], data["sample_weight"]
    rng = np.random.default_rng(5)
    y = rng.negative_binomial(2.0, 1 / (1 + np.square(1 + X @ [0.5, 0.3]) / 2.0)).astype(float)
    family = glm.NegativeBinomial(total_count=2.0)
    ours = FisherScoringGLM(family=family, link="sqrt", tol=1e-14).fit(X, y, sample_weight=sw)
    with warnings.catch_warnings():  # statsmodels warns that sqrt can leave the mean's domain
        warnings.simplefilter("ignore", DomainWarning)
        sm_family = sm.families.NegativeBinomial(SM_LINKS.Sqrt(), alpha=0.5)
        theirs = sm.GLM(y, sm.add_constant(X), family=sm_family, var_weights=sw).fit(tol=1e-14)
    # statsmodels stops on the deviance change, so a coefficient near zero agrees to ~1e-8 absolute.
    np.testing.assert_allclose(np.r_[ours.intercept_, ours.coef_], theirs.params, rtol=1e-6,
                               atol=1e-7)  # fmt: skip
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-6)
    assert family.link.name == "log"  # the user's instance is not modified


@pytest.mark.parametrize("cov_type", ["HC0", "HC1"])
def test_robust_covariance(data, cov_type):
    X, rng = data["X"], np.random.default_rng(3)
    y = 1.0 + X @ [0.5, -0.3] + rng.normal(size=X.shape[0]) * X[:, 0]
    ours = FisherScoringGLM(cov_type=cov_type, tol=1e-14).fit(X, y)
    # statsmodels applies the n/(n-k) correction of HC1 to OLS only (its GLM HC1 equals HC0).
    theirs = sm.OLS(y, sm.add_constant(X)).fit(cov_type=cov_type)
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-8)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    ours = FisherScoringGLM(family="poisson", cov_type="HC0", tol=1e-14).fit(X, y)
    theirs = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(cov_type="HC0")
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-7)


@pytest.mark.parametrize("rule", ["pearson", "deviance", 2.5])
def test_dispersion_options(data, rule):
    X, rng = data["X"], np.random.default_rng(4)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    plain = FisherScoringGLM(family="poisson").fit(X, y)
    model = FisherScoringGLM(family="poisson", dispersion=rule).fit(X, y)
    expected = {"pearson": plain.pearson_chi2_ / plain.df_resid_,
                "deviance": plain.deviance_ / plain.df_resid_}.get(rule, rule)  # fmt: skip
    assert plain.dispersion_ == 1.0
    np.testing.assert_allclose(model.dispersion_, expected)
    np.testing.assert_allclose(model.std_errors_, plain.std_errors_ * np.sqrt(expected))


def test_summary_table(data):
    X, rng = data["X"], np.random.default_rng(8)
    y = rng.gamma(2.0, np.exp(0.3 + X @ [0.5, -0.3]) / 2)
    frame = pd.DataFrame(X, columns=["age", "density"])
    model = FisherScoringGLM(family="gamma").fit(frame, y)
    table = model.summary()
    text = str(table)
    assert "(Intercept)" in text and "density" in text and "t value" in text
    df = table.to_frame()
    theirs = sm.GLM(y, sm.add_constant(X), family=sm.families.Gamma(SM_LINKS.Log())).fit()
    # R's summary.glm uses t with df_resid degrees of freedom for estimated dispersions.
    p_t = 2 * stats.t(theirs.df_resid).sf(np.abs(theirs.tvalues))
    np.testing.assert_allclose(df["Pr(>|t|)"].to_numpy(), p_t, rtol=1e-4)
    assert list(df.index) == ["(Intercept)", "age", "density"]
    poisson = FisherScoringGLM(family="poisson").fit(X, rng.poisson(np.ones(X.shape[0])))
    assert "z value" in str(poisson.summary(level=0.9))


# ----------------------------------------------------------------------------------------------
# Numerics: starts, step halving, separation, rank deficiency, solvers
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["cholesky", "qr", "observed"])
def test_solvers_agree(data, solver):
    X, rng = data["X"], np.random.default_rng(9)
    y = rng.gamma(2.0, np.exp(0.3 + X @ [0.5, -0.3]) / 2)
    reference = FisherScoringGLM(family="gamma", tol=1e-14).fit(X, y)
    model = FisherScoringGLM(family="gamma", solver=solver, tol=1e-14).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-7)
    np.testing.assert_allclose(model.std_errors_, reference.std_errors_, rtol=1e-6)


def test_observed_information_needs_fewer_iterations_for_gamma_log():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = rng.gamma(0.7, np.exp(1 + X @ [1.0, -0.8, 0.5]) / 0.7)
    fisher = FisherScoringGLM(family="gamma", tol=1e-12).fit(X, y)
    newton = FisherScoringGLM(family="gamma", solver="observed", tol=1e-12).fit(X, y)
    assert newton.n_iter_ < fisher.n_iter_
    np.testing.assert_allclose(newton.coef_, fisher.coef_, rtol=1e-5)


def test_inverse_link_never_leaves_its_domain():
    # x spans both signs: coefficients must keep eta = 1/mu positive on every row.
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(300, 1))
    y = rng.gamma(5.0, 1 / (1.0 + 0.9 * x[:, 0]) / 5.0)
    model = FisherScoringGLM(family="gamma", link="inverse").fit(x, y)
    assert np.all(model.linear_predictor(x) > 0)
    assert model.converged_


def test_start_without_intercept_where_zero_coefficients_are_invalid():
    # eta = 0 is outside the inverse link's domain; R's start (a weighted least-squares fit at
    # eta = link(starting mean)) is used. R: glm(y ~ 0 + x1 + x2, family = Gamma()).
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 2, size=(300, 2))
    y = rng.gamma(5.0, 1 / (X @ [0.4, 0.3]) / 5.0)
    ours = FisherScoringGLM(family="gamma", link="inverse", fit_intercept=False, tol=1e-14)
    ours.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = sm.GLM(y, X, family=sm.families.Gamma()).fit(tol=1e-14)
    np.testing.assert_allclose(ours.coef_, theirs.params, rtol=1e-8)
    np.testing.assert_allclose(ours.std_errors_, theirs.bse, rtol=1e-7)


def test_step_halving_recovers_from_a_bad_warm_start():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2))
    y = rng.poisson(np.exp(0.5 + X @ [1.0, -1.0])).astype(float)
    model = FisherScoringGLM(family="poisson", warm_start=True).fit(X, y)
    expected = model.coef_.copy()
    model.coef_ = np.array([25.0, -25.0])  # exp(eta) overflows on many rows
    model.fit(X, y)
    np.testing.assert_allclose(model.coef_, expected, rtol=1e-6)


def test_separation_is_reported():
    X = np.array([[-2.0], [-1.0], [-0.5], [0.5], [1.0], [2.0]])
    y = (X[:, 0] > 0).astype(float)
    with pytest.warns(PerfectSeparationWarning, match="separated"):
        model = FisherScoringGLM(family="bernoulli", max_iter=50).fit(X, y)
    assert abs(model.coef_[0]) > 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FisherScoringGLM(family="bernoulli", alpha=0.1).fit(X, y)


def test_rank_deficiency_is_reported():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    y = rng.poisson(np.exp(0.2 + X[:, 0] * 0.3)).astype(float)
    with pytest.warns(SingularInformationWarning, match="rank 3 of 4"):
        model = FisherScoringGLM(family="poisson").fit(X, y)
    full = FisherScoringGLM(family="poisson").fit(X[:, :2], y)
    np.testing.assert_allclose(model.predict(X), full.predict(X[:, :2]), rtol=1e-6)
    assert model.rank_ == 3 and model.df_resid_ == 97
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FisherScoringGLM(family="poisson", alpha=0.01).fit(X, y)  # the ridge identifies it


def test_convergence_warning_at_max_iter(data):
    X, rng = data["X"], np.random.default_rng(4)
    y = rng.gamma(2.0, np.exp(0.3 + X @ [0.5, -0.3]) / 2)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = FisherScoringGLM(family="gamma", link="inverse", max_iter=1).fit(X, y)
    assert not model.converged_ and model.n_iter_ == 1


def test_learning_rate_damps_but_reaches_the_same_optimum(data):
    X, rng = data["X"], np.random.default_rng(5)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    full = FisherScoringGLM(family="poisson", alpha=0.1, tol=1e-14).fit(X, y)
    damped = FisherScoringGLM(family="poisson", alpha=0.1, learning_rate=0.5, tol=1e-14)
    damped.fit(X, y)
    assert damped.n_iter_ > full.n_iter_
    np.testing.assert_allclose(damped.coef_, full.coef_, rtol=1e-6)


def test_warm_start_reuses_the_solution(data):
    X, rng = data["X"], np.random.default_rng(6)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    model = FisherScoringGLM(family="poisson", warm_start=True).fit(X, y)
    model.fit(X, y)
    assert model.n_iter_ <= 1


# ----------------------------------------------------------------------------------------------
# Inputs: sparse, one-hot, float32, pandas, bad input
# ----------------------------------------------------------------------------------------------
def _one_hot_design(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    codes = [rng.integers(0, k, n) for k in (3, 5, 4)]
    blocks = [sp.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, k))
              for c, k in zip(codes, (3, 5, 4), strict=True)]  # fmt: skip
    numeric = rng.normal(size=(n, 2))
    X = sp.hstack(blocks + [sp.csr_matrix(numeric)], format="csr")
    eta = -1.0 + 0.3 * codes[0] - 0.1 * codes[1] + numeric @ [0.2, -0.1]
    exposure = rng.uniform(0.2, 1.0, n)
    y = rng.poisson(exposure * np.exp(eta)).astype(float)
    return X, y, np.log(exposure)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_equals_dense(fmt):
    X, y, offset = _one_hot_design()
    dense = FisherScoringGLM(family="poisson", alpha=1e-4).fit(X.toarray(), y, offset=offset)
    sparse = FisherScoringGLM(family="poisson", alpha=1e-4).fit(X.asformat(fmt), y, offset=offset)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sparse.std_errors_, dense.std_errors_, rtol=1e-7)
    np.testing.assert_allclose(sparse.predict(X, offset), dense.predict(X.toarray(), offset))


def test_one_hot_design_with_dropped_levels_and_no_intercept():
    # Full first categorical (it plays the intercept), reference level dropped from the others:
    # rows at a reference level store nothing in that block.
    X, y, offset = _one_hot_design(seed=1)
    X = X[:, [0, 1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13]].tocsr()
    model = FisherScoringGLM(family="poisson", fit_intercept=False).fit(X, y, offset=offset)
    dense = FisherScoringGLM(family="poisson", fit_intercept=False)
    dense.fit(X.toarray(), y, offset=offset)
    np.testing.assert_allclose(model.coef_, dense.coef_, rtol=1e-8)
    np.testing.assert_allclose(model.std_errors_, dense.std_errors_, rtol=1e-7)


def test_float32_input_stays_float32(data):
    X, rng = data["X"], np.random.default_rng(6)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    m64 = FisherScoringGLM(family="poisson").fit(X, y)
    m32 = FisherScoringGLM(family="poisson").fit(X.astype(np.float32), y)
    assert m32.coef_.dtype == np.float32
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-5)


def test_pandas_feature_names_and_offset_series(data):
    X, rng = data["X"], np.random.default_rng(7)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    frame = pd.DataFrame(X, columns=["a", "b"])
    offset = pd.Series(data["offset"])
    model = FisherScoringGLM(family="poisson").fit(frame, pd.Series(y), offset=offset)
    assert list(model.feature_names_in_) == ["a", "b"]
    with pytest.warns(UserWarning, match="feature names"):
        from_array = model.predict(X, offset.to_numpy())
    np.testing.assert_allclose(model.predict(frame, offset), from_array)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y": np.array([1.0, -1.0, 2.0, 3.0])}, "Poisson family must lie"),
        ({"X": np.array([[1.0], [np.nan], [2.0], [3.0]])}, "NaN"),
        ({"y": np.array([1.0, np.inf, 2.0, 3.0])}, "infinity"),
        ({"sample_weight": np.array([1.0, -1.0, 1.0, 1.0])}, "Negative values"),
        ({"sample_weight": np.zeros(4)}, "non-zero"),
        ({"sample_weight": np.ones(3)}, "sample_weight"),
        ({"offset": np.ones(3)}, "offset has shape"),
        ({"offset": np.array([0.0, np.nan, 0.0, 0.0])}, "offset"),
        ({"y": np.ones(3)}, "inconsistent numbers of samples"),
    ],
)
def test_bad_input_raises_value_error(kwargs, match):
    args = {"X": np.array([[1.0], [2.0], [3.0], [4.0]]), "y": np.array([1.0, 0.0, 2.0, 3.0]),
            "sample_weight": None, "offset": None}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        FisherScoringGLM(family="poisson").fit(args["X"], args["y"], args["sample_weight"],
                                               args["offset"])  # fmt: skip


@pytest.mark.parametrize(
    "params, match",
    [
        ({"dispersion": -1.0}, "dispersion"),
        ({"dispersion": 0.0}, "dispersion"),
        ({"family": "cauchy"}, "family"),
        ({"family": "poisson", "link": "logit"}, "does not support the 'logit' link"),
        ({"family": "tweedie", "power": 0.5}, "Tweedie power"),
        ({"penalty_factor": [1.0, 2.0], "alpha": 1.0}, "penalty_factor has 2 entries"),
        ({"penalty_factor": [-1.0], "alpha": 1.0}, "non-negative"),
    ],
)
def test_bad_parameters_raise_value_error(params, match):
    with pytest.raises(ValueError, match=match):
        FisherScoringGLM(**params).fit(np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 2.0]))


def test_predict_checks_feature_count_and_fit(data):
    X = data["X"]
    with pytest.raises(NotFittedError):
        FisherScoringGLM().predict(X)
    model = FisherScoringGLM().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :1])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :1], X[:, 0])


# ----------------------------------------------------------------------------------------------
# partial_fit: recursive Fisher scoring
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::skglm_fisher.exceptions.SingularInformationWarning")
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_partial_fit_normal_is_exact_recursive_least_squares(alpha):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = X @ [1.0, -0.5, 0.2, 0.0] + 0.3 + rng.normal(size=600)
    sw = rng.uniform(0.5, 2.0, 600)
    full = FisherScoringGLM(alpha=alpha).fit(X, y, sample_weight=sw)
    for splits in ([3, 100, 450], [300], list(range(50, 600, 50))):
        stream = FisherScoringGLM(alpha=alpha)
        for rows in np.split(np.arange(600), splits):
            stream.partial_fit(X[rows], y[rows], sample_weight=sw[rows])
        np.testing.assert_allclose(stream.coef_, full.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(stream.intercept_, full.intercept_, rtol=1e-9)
        np.testing.assert_allclose(stream.information_, full.information_, rtol=1e-9)


def test_partial_fit_poisson_stays_close_to_the_full_fit():
    # One Fisher step per batch at the running coefficients. Measured on this stream: the gap
    # to the full fit is ~1e-4 after 2,000 rows and ~5e-5 after 20,000, about 1% of a standard
    # error throughout (the streamed estimate is as efficient as the full fit).
    rng = np.random.default_rng(1)
    n = 20_000
    X = rng.normal(size=(n, 3))
    offset = np.log(rng.uniform(0.5, 2.0, n))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1] + offset)).astype(float)
    gaps = {}
    stream = FisherScoringGLM(family="poisson")
    for start in range(0, n, 1000):
        rows = slice(start, start + 1000)
        stream.partial_fit(X[rows], y[rows], offset=offset[rows])
        seen = start + 1000
        if seen in (2000, n):
            full = FisherScoringGLM(family="poisson")
            full.fit(X[:seen], y[:seen], offset=offset[:seen])
            gaps[seen] = np.max(np.abs(stream.coef_ - full.coef_))
            assert gaps[seen] < 0.05 * full.std_errors_.min()
            np.testing.assert_allclose(stream.std_errors_, full.std_errors_, rtol=1e-2)
    assert gaps[n] < 2e-4


# ----------------------------------------------------------------------------------------------
# scikit-learn integration
# ----------------------------------------------------------------------------------------------
def test_pipeline_grid_search_and_clone(data):
    X, rng = data["X"], np.random.default_rng(8)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    pipe = make_pipeline(StandardScaler(), FisherScoringGLM(family="poisson"))
    search = GridSearchCV(pipe, {"fisherscoringglm__alpha": [0.0, 0.01, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["fisherscoringglm__alpha"] in (0.0, 0.01)
    model = FisherScoringGLM(family=glm.NegativeBinomial(3.0), penalty_factor=[1.0, 2.0])
    cloned = clone(model)
    assert cloned.family is not model.family and cloned.get_params()["family"].total_count == 3.0


def test_sample_weight_and_offset_routing(data):
    X, rng = data["X"], np.random.default_rng(9)
    y = rng.poisson(np.exp(0.3 + X @ [0.5, -0.3])).astype(float)
    sw, offset = data["sample_weight"], data["offset"]
    with sklearn.config_context(enable_metadata_routing=True):
        model = FisherScoringGLM(family="poisson").set_fit_request(sample_weight=True, offset=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), model)
        pipe.fit(X, y, sample_weight=sw, offset=offset)
        direct = FisherScoringGLM(family="poisson").fit(
            StandardScaler().fit_transform(X), y, sample_weight=sw, offset=offset
        )
        np.testing.assert_allclose(pipe[-1].coef_, direct.coef_)
        model = FisherScoringGLM(family="poisson").set_fit_request(sample_weight=True)
        model.set_score_request(sample_weight=True)
        search = GridSearchCV(model, {"alpha": [0.0, 0.1]}, cv=3).fit(X, y, sample_weight=sw)
        assert search.best_estimator_.n_features_in_ == 2


def test_partial_fit_statistics_stay_defined_and_accurate():
    # Low counts (mean 0.07), 20 batches: the hardest case of the docstring's table.
    rng = np.random.default_rng(3)
    n = 20_000
    X = rng.normal(size=(n, 5))
    y = rng.poisson(np.exp(np.log(0.07) + X @ rng.normal(scale=0.3, size=5))).astype(float)
    full = FisherScoringGLM(family="poisson").fit(X, y)
    stream = FisherScoringGLM(family="poisson")
    for rows in np.array_split(np.arange(n), 20):
        stream.partial_fit(X[rows], y[rows])
    gap = np.abs(np.r_[stream.intercept_, stream.coef_] - np.r_[full.intercept_, full.coef_])
    assert np.all(gap < 0.6 * full.std_errors_)
    np.testing.assert_allclose(stream.std_errors_, full.std_errors_, rtol=0.03)
    np.testing.assert_allclose(stream.null_deviance_, full.null_deviance_, rtol=1e-12)
    np.testing.assert_allclose(stream.deviance_, full.deviance_, rtol=2e-3)
    np.testing.assert_allclose(stream.llf_, full.llf_, rtol=2e-3)
    assert stream.n_obs_ == n and stream.df_resid_ == full.df_resid_
    assert np.isfinite(stream.aic) and np.isfinite(stream.pearson_chi2_)


def test_partial_fit_null_deviance_with_offsets_and_without_intercept():
    rng = np.random.default_rng(4)
    n = 6000
    X = rng.normal(size=(n, 2))
    offset = np.log(rng.uniform(0.5, 2.0, n))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2] + offset)).astype(float)
    for fit_intercept in (True, False):
        full = FisherScoringGLM(family="poisson", fit_intercept=fit_intercept)
        full.fit(X, y, offset=offset)
        stream = FisherScoringGLM(family="poisson", fit_intercept=fit_intercept)
        for rows in np.array_split(np.arange(n), 6):
            stream.partial_fit(X[rows], y[rows], offset=offset[rows])
        # Without an intercept the null model has nothing to estimate: exact.
        rtol = 1e-3 if fit_intercept else 1e-12
        np.testing.assert_allclose(stream.null_deviance_, full.null_deviance_, rtol=rtol)


def test_partial_fit_revalidates_parameters_and_refuses_a_changed_model():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 2))
    y = rng.poisson(np.exp(0.2 + X[:, 0] * 0.3)).astype(float)
    model = FisherScoringGLM(family="poisson").partial_fit(X[:100], y[:100])
    state = {k: v for k, v in vars(model).items()}
    model.set_params(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        model.partial_fit(X[100:], y[100:])
    model.set_params(alpha=0.0, family="gamma")
    with pytest.raises(ValueError, match="must not change"):
        model.partial_fit(X[100:], y[100:] + 1)
    model.set_params(family="poisson", alpha=0.5)  # the running penalty depends on alpha
    with pytest.raises(ValueError, match="must not change"):
        model.partial_fit(X[100:], y[100:])
    model.set_params(alpha=0.0, cov_type="HC0")  # so does the running meat
    with pytest.raises(ValueError, match="must not change"):
        model.partial_fit(X[100:], y[100:])
    model.set_params(cov_type="nonrobust")
    for name, value in state.items():
        np.testing.assert_array_equal(getattr(model, name), value)


def test_a_failed_fit_changes_nothing():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(100, 2))
    y = rng.poisson(np.exp(0.2 + X[:, 0] * 0.3)).astype(float)
    model = FisherScoringGLM(family="poisson")
    with pytest.raises(ValueError, match="must lie in"):
        model.fit(X, -y - 1)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert not hasattr(model, "n_features_in_")
    model.fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items()}
    wider = rng.normal(size=(100, 3))
    with pytest.raises(ValueError, match="must lie in"):
        model.fit(wider, -y - 1)  # another width, and a y outside the domain
    with pytest.raises(ValueError, match="must lie in"):
        model.partial_fit(X, -y - 1)
    assert set(vars(model)) == set(before)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model, name), value)
    reference = FisherScoringGLM(family="poisson").fit(X, y)
    np.testing.assert_allclose(model.predict(X), reference.predict(X))
