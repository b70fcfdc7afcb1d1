"""Dispersion, covariance, log-likelihood and the coefficient table."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher._inference import (
    CoefficientTable,
    covariance_matrix,
    estimate_dispersion,
    information_criteria,
)
from skglm_fisher.glm._linalg import cholesky_factor, qr_factor


def test_dobson_poisson_example_matches_r():
    # R, example(glm):
    #   counts <- c(18,17,15,20,10,20,25,13,12); outcome <- gl(3,1,9); treatment <- gl(3,3)
    #   summary(glm(counts ~ outcome + treatment, family = poisson()))
    # Coefficients: 3.045e+00 (0.1709), -4.543e-01 (0.2022), -2.930e-01 (0.1927),
    #               ~0 (0.2000), ~0 (0.2000); Null deviance 10.5814 on 8 df,
    #               Residual deviance 5.1291 on 4 df, AIC 56.761.
    counts = np.array([18, 17, 15, 20, 10, 20, 25, 13, 12], dtype=float)
    outcome, treatment = np.tile([0, 1, 2], 3), np.repeat([0, 1, 2], 3)
    X = np.column_stack([outcome == 1, outcome == 2, treatment == 1, treatment == 2]).astype(float)
    model = FisherScoringGLM(family="poisson").fit(X, counts)
    np.testing.assert_allclose(model.intercept_, 3.044522, atol=1e-6)
    np.testing.assert_allclose(model.coef_, [-0.4542553, -0.2929871, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(model.std_errors_, [0.1708987, 0.2021708, 0.1927423, 0.2, 0.2],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(model.null_deviance_, 10.58145, atol=1e-5)
    np.testing.assert_allclose(model.deviance_, 5.129141, atol=1e-6)
    np.testing.assert_allclose(model.aic, 56.76132, atol=1e-5)
    # R: "Number of Fisher Scoring iterations: 4"; starting from R's first iterate (R's start
    # is the better candidate here) takes one fewer.
    assert model.df_resid_ == 4 and model.n_iter_ <= 4


def test_r_examples_converge_in_no_more_iterations_than_r():
    # R, ?glm (McCullagh & Nelder's clotting times):
    #   clotting <- data.frame(u = c(5,10,15,20,30,40,60,80,100),
    #                          lot1 = c(118,58,42,35,27,25,21,19,18))
    #   summary(glm(lot1 ~ log(u), data = clotting, family = Gamma))
    # (Intercept) -0.0165544 (0.0009275), log(u) 0.0153431 (0.0004150); residual deviance
    # 0.01673 on 7 df; "Number of Fisher Scoring iterations: 3".
    u = np.array([5, 10, 15, 20, 30, 40, 60, 80, 100.0])
    lot1 = np.array([118, 58, 42, 35, 27, 25, 21, 19, 18.0])
    model = FisherScoringGLM(family="gamma", link="inverse").fit(np.log(u)[:, None], lot1)
    np.testing.assert_allclose([model.intercept_, model.coef_[0]], [-0.0165544, 0.0153431],
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(model.std_errors_, [0.0009275, 0.0004150], rtol=1e-3)
    np.testing.assert_allclose(model.deviance_, 0.01673, rtol=1e-3)
    assert model.converged_ and model.n_iter_ <= 3
    # Venables & Ripley's budworm (MASS, chapter 7):
    #   ldose <- rep(0:5, 2); numdead <- c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16)
    #   sex <- factor(rep(c("M", "F"), c(6, 6))); SF <- cbind(numdead, numalive = 20 - numdead)
    #   glm(SF ~ sex*ldose, family = binomial)
    # (Intercept) -2.9935 (0.5527), sexM 0.1750 (0.7783), ldose 0.9060 (0.1671),
    # sexM:ldose 0.3529 (0.2700); residual deviance 4.994 on 8 df; 4 iterations.
    ldose, sex_m = np.tile(np.arange(6.0), 2), np.repeat([1.0, 0.0], 6)
    dead = np.array([1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16.0])
    X = np.column_stack([sex_m, ldose, sex_m * ldose])
    model = FisherScoringGLM(family="binomial").fit(X, dead / 20, sample_weight=np.full(12, 20.0))
    np.testing.assert_allclose(np.r_[model.intercept_, model.coef_],
                               [-2.9935, 0.1750, 0.9060, 0.3529], atol=5e-5)  # fmt: skip
    np.testing.assert_allclose(model.std_errors_, [0.5527, 0.7783, 0.1671, 0.2700], atol=5e-5)
    np.testing.assert_allclose(model.deviance_, 4.994, atol=5e-4)
    assert model.converged_ and model.n_iter_ <= 4


def test_dispersion_rules():
    assert estimate_dispersion(None, glm.Poisson(), 20.0, 10.0, 12, 2) == 1.0
    assert estimate_dispersion(None, glm.Bernoulli(), 20.0, 10.0, 12, 2) == 1.0
    assert estimate_dispersion(None, glm.NegativeBinomial(2.0), 20.0, 10.0, 12, 2) == 1.0
    assert estimate_dispersion(None, glm.Gamma(), 20.0, 10.0, 12, 2) == 2.0
    assert estimate_dispersion(None, glm.Tweedie(1.5), 20.0, 10.0, 12, 2) == 2.0
    assert estimate_dispersion("deviance", glm.Poisson(), 20.0, 10.0, 12, 2) == 1.0
    assert estimate_dispersion("pearson", glm.Poisson(), 20.0, 10.0, 12, 2) == 2.0
    assert estimate_dispersion(3.5, glm.Gamma(), 20.0, 10.0, 12, 2) == 3.5
    assert np.isnan(estimate_dispersion(None, glm.Gamma(), 20.0, 10.0, 2, 2))


def test_covariance_formulas():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20, 3))
    information, meat = a.T @ a, np.diag([1.0, 2.0, 3.0])
    inverse = np.linalg.inv(information)
    factor = cholesky_factor(information)
    np.testing.assert_allclose(covariance_matrix(factor, 2.0), 2.0 * inverse, rtol=1e-12)
    hc0 = covariance_matrix(factor, 2.0, "HC0", meat, 20, 3)
    np.testing.assert_allclose(hc0, inverse @ meat @ inverse, rtol=1e-12)
    hc1 = covariance_matrix(factor, 2.0, "HC1", meat, 20, 3)
    np.testing.assert_allclose(hc1, hc0 * 20 / 17, rtol=1e-12)
    # The second column repeats the first: it is aliased (NaN), the first keeps its variance.
    rows = np.array([[1.0, 1.0], [2.0, 2.0]])
    cov = covariance_matrix(qr_factor(rows)[0], 1.0)
    np.testing.assert_allclose(cov[0, 0], 1 / 5.0)
    assert np.isnan(cov[1]).all() and np.isnan(cov[:, 1]).all()
    robust = covariance_matrix(qr_factor(rows)[0], 1.0, "HC0", np.eye(2), 2, 1)
    np.testing.assert_allclose(robust[0, 0], 1 / 25.0)
    assert np.isnan(robust[1]).all()


def test_sandwich_for_a_non_canonical_link_uses_the_expected_information():
    # R: sandwich::vcovHC(glm(y ~ x, family = Gamma(link = "log")), type = "HC0") -- its bread
    # is the expected (Fisher) information and its meat the squared working scores.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = rng.gamma(2.0, np.exp(0.3 + X @ [0.5, -0.2]) / 2.0)
    model = FisherScoringGLM(family="gamma", cov_type="HC0", tol=1e-14).fit(X, y)
    design = np.column_stack([np.ones(200), X])
    mu = model.predict(X)
    bread = design.T @ design  # Gamma-log Fisher weight (dmu/deta)² / V(mu) = 1
    scores = design * ((y - mu) / mu)[:, None]
    inverse = np.linalg.inv(bread)
    expected = inverse @ (scores.T @ scores) @ inverse
    np.testing.assert_allclose(model.covariance_matrix_, expected, rtol=1e-8)


@pytest.mark.parametrize(
    "family, sm_family, draw",
    [
        (glm.Normal(), sm.families.Gaussian(), lambda rng, mu: mu + rng.normal(size=mu.size)),
        (glm.Poisson(), sm.families.Poisson(), lambda rng, mu: rng.poisson(mu)),
        (glm.Gamma(), sm.families.Gamma(), lambda rng, mu: rng.gamma(2.0, mu / 2.0)),
        (glm.InverseGaussian(), sm.families.InverseGaussian(), lambda rng, mu: rng.wald(mu, 3.0)),
        (glm.Bernoulli(), sm.families.Binomial(), lambda rng, mu: rng.random(mu.size) < mu / 3),
        (glm.NegativeBinomial(2.0), sm.families.NegativeBinomial(alpha=0.5),
         lambda rng, mu: rng.negative_binomial(2.0, 2.0 / (2.0 + mu))),
    ],
    ids=lambda v: getattr(v, "name", ""),
)  # fmt: skip
def test_family_log_likelihood_matches_statsmodels(family, sm_family, draw):
    rng = np.random.default_rng(2)
    mu = rng.uniform(0.5, 2.5, 40)
    y = draw(rng, mu).astype(float)
    if family.name == "Bernoulli":
        mu = mu / 3
    weights = rng.uniform(0.5, 2.0, 40)
    scale = 1.7 if family.has_free_dispersion else 1.0
    ours = family.log_likelihood(y, mu, weights, scale)
    theirs = sm_family.loglike_obs(y, mu, var_weights=weights, scale=scale)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_information_criteria():
    aic, bic = information_criteria(-10.0, 3, 50)
    assert aic == 26.0
    np.testing.assert_allclose(bic, 20.0 + 3 * np.log(50))


def test_coefficient_table():
    table = CoefficientTable(["(Intercept)", "x"], np.array([1.0, -0.5]), np.array([0.5, 0.25]),
                             use_t=True, df_resid=10, level=0.9)  # fmt: skip
    np.testing.assert_allclose(table.statistic, [2.0, -2.0])
    np.testing.assert_allclose(table.p_value, 2 * stats.t(10).sf(2.0))
    q = stats.t(10).ppf(0.95)
    np.testing.assert_allclose(table.ci_lower, [1.0 - q * 0.5, -0.5 - q * 0.25])
    frame = table.to_frame()
    assert list(frame.columns) == ["Estimate", "Std. Error", "t value", "Pr(>|t|)", "[0.05",
                                   "0.95]"]  # fmt: skip
    text = str(table)
    assert text.splitlines()[0] == "Coefficients:" and "x" in text.splitlines()[-1]
    z = CoefficientTable(["a"], np.array([3.0]), np.array([1.0]))
    np.testing.assert_allclose(z.p_value, 2 * stats.norm.sf(3.0))


def test_coefficient_table_marks_aliased_coefficients_as_r_does():
    table = CoefficientTable(
        ["(Intercept)", "a", "b"], np.array([1.0, 0.5, 0.0]), np.array([0.1, 0.2, np.nan]),
        aliased=[False, False, True],
    )
    lines = str(table).splitlines()
    assert lines[0] == "Coefficients: (1 not defined because of singularities)"
    assert lines[-1].split()[1:] == ["NA"] * 6
    frame = table.to_frame()
    assert np.isnan(frame.loc["b"]).all() and not np.isnan(frame.loc["a"]).any()
