"""FisherScoringClassifier against statsmodels and scikit-learn, and its estimator contract."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import skops.io
import statsmodels.api as sm
from scipy import optimize, special
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglm_fisher import FisherScoringClassifier, FisherScoringGLM
from skglm_fisher._binary_links import binary_log_probabilities
from skglm_fisher._classifier_inputs import unique_labels
from skglm_fisher.exceptions import PerfectSeparationWarning, SingularInformationWarning
from skglm_fisher.glm._categorical_rows import CategoricalRows, pairs
from skglm_fisher.glm._design import make_design
from skglm_fisher.glm._families import Bernoulli
from skglm_fisher.glm._multinomial import MultinomialProblem, MultinomialSolver
from skglm_fisher.glm._solver import IRLSProblem, IRLSSolver
from skglm_fisher.losses import CategoricalLogitsNegativeLogProbLoss


def _binary(link="logit", n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    eta = 0.3 + X @ [0.8, -0.5, 0.2]
    p = {"logit": special.expit, "probit": special.ndtr,
         "cloglog": lambda e: -np.expm1(-np.exp(e))}[link](eta)  # fmt: skip
    return X, (rng.random(n) < p).astype(int)


def _multinomial(n=900, p=3, labels=("a", "b", "c", "d"), seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    coef = rng.normal(size=(len(labels) - 1, p))
    logits = np.column_stack([np.zeros(n), X @ coef.T + rng.normal(size=len(labels) - 1)])
    probs = special.softmax(logits, axis=1)
    codes = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return X, np.asarray(labels)[codes], codes


# --------------------------------------------------------------------------------------------
# Parity with statsmodels
# --------------------------------------------------------------------------------------------
def test_binary_logit_matches_statsmodels_logit():
    # statsmodels: sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12)
    X, y = _binary()
    model = FisherScoringClassifier().fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    np.testing.assert_allclose(model._coefficients(), ref.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.std_errors_, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(model.llf, ref.llf, rtol=1e-10)
    np.testing.assert_allclose([model.aic, model.bic], [ref.aic, ref.bic], rtol=1e-10)
    np.testing.assert_allclose(model.null_deviance_, -2 * ref.llnull, rtol=1e-10)
    np.testing.assert_allclose(model.p_values_, ref.pvalues, rtol=1e-5)
    np.testing.assert_allclose(model.conf_int(), ref.conf_int(), rtol=1e-5)
    assert model.coef_.shape == (1, 3) and model.intercept_.shape == (1,)
    assert model.std_errors_.shape == (4,)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_probit_with_the_observed_information_matches_statsmodels_probit(cov_type):
    # statsmodels: sm.Probit(y, sm.add_constant(X)).fit(method="newton", cov_type=cov_type),
    # whose covariance (and sandwich bread) is the observed information, as statsmodels' GLM
    # sandwich is. Newton's steps (solver='observed') converge quadratically, as Probit's do.
    X, y = _binary("probit")
    Xc = sm.add_constant(X)
    probit = sm.Probit(y, Xc).fit(method="newton", tol=1e-12, disp=0, cov_type=cov_type)
    model = FisherScoringClassifier(link="probit", solver="observed", information="observed",
                                    cov_type=cov_type).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(model._coefficients(), probit.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.std_errors_, probit.bse, rtol=1e-5)
    np.testing.assert_allclose(model.llf, probit.llf, rtol=1e-10)
    if cov_type == "HC0":
        family = sm.families.Binomial(sm.families.links.Probit())
        glm = sm.GLM(y, Xc, family=family).fit(tol=1e-12, cov_type="HC0")
        np.testing.assert_allclose(model.std_errors_, glm.bse, rtol=1e-5)


def test_probit_with_the_expected_information_matches_r_glm():
    # statsmodels: sm.GLM(y, Xc, family=Binomial(Probit())).fit() -- R's glm -- for the model-
    # based covariance; the sandwich with the expected information as bread is R's
    # sandwich::vcovHC(type="HC0"), written out below. Fisher scoring converges linearly under
    # the probit link and stops within tol, about 1e-6 relative from the optimum at tol=1e-8.
    X, y = _binary("probit")
    Xc = sm.add_constant(X)
    glm = sm.GLM(y, Xc, family=sm.families.Binomial(sm.families.links.Probit())).fit(tol=1e-12)
    model = FisherScoringClassifier(link="probit").fit(X, y)
    np.testing.assert_allclose(model._coefficients(), glm.params, rtol=1e-5)
    np.testing.assert_allclose(model.std_errors_, glm.bse, rtol=1e-5)
    np.testing.assert_allclose(model.llf, glm.llf, rtol=1e-10)
    probit = sm.Probit(y, Xc).fit(method="newton", tol=1e-12, disp=0)
    # The two informations differ by O(1/sqrt(n)) relative, which the option is for.
    assert 1e-4 < np.max(np.abs(model.std_errors_ / probit.bse - 1)) < 0.05
    robust = FisherScoringClassifier(link="probit", cov_type="HC0", tol=1e-14).fit(X, y)
    eta = Xc @ robust._coefficients()
    p, density = special.ndtr(eta), np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi)
    bread = np.linalg.inv(Xc.T @ (Xc * (density**2 / (p * (1 - p)))[:, None]))
    scores = Xc * ((y - p) * density / (p * (1 - p)))[:, None]
    # The bread is the information at the returned coefficients to about sqrt(1e-15).
    np.testing.assert_allclose(robust.covariance_matrix_, bread @ scores.T @ scores @ bread,
                               rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize(("link", "sm_link"), [("cloglog", "CLogLog"), ("log", "Log")])
def test_other_binary_links_match_statsmodels_glm(link, sm_link):
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, size=(800, 2))
    eta = -1.5 + X @ [0.6, -0.4]  # probabilities below 1 for the log link too
    mean = {"cloglog": lambda e: -np.expm1(-np.exp(e)), "log": np.exp}[link](eta)
    y = (rng.random(800) < mean).astype(int)
    family = sm.families.Binomial(getattr(sm.families.links, sm_link)())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels: the log link leaves the unit interval
        ref = sm.GLM(y, sm.add_constant(X), family=family).fit(tol=1e-12)
    model = FisherScoringClassifier(link=link).fit(X, y)
    np.testing.assert_allclose(model._coefficients(), ref.params, rtol=1e-6)
    np.testing.assert_allclose(model.std_errors_, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(model.llf, ref.llf, rtol=1e-10)
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], ref.predict(sm.add_constant(X)), rtol=1e-6)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
def test_multinomial_matches_statsmodels_mnlogit_in_its_layout(cov_type):
    # statsmodels: sm.MNLogit(codes, sm.add_constant(X)).fit(method="newton", cov_type=...):
    # params and bse are (n_features + 1, n_classes - 1), reference class 0; ours are their
    # transposes in std_errors_, and coef_ / intercept_ hold a zero row for the reference.
    X, y, codes = _multinomial()
    model = FisherScoringClassifier(cov_type=cov_type).fit(X, y)
    ref = sm.MNLogit(codes, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0,
                                                     maxiter=100, cov_type=cov_type)  # fmt: skip
    assert list(model.classes_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(model.coef_[0], 0.0)
    assert model.intercept_[0] == 0.0
    np.testing.assert_allclose(model.coef_[1:], ref.params[1:].T, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.intercept_[1:], ref.params[0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.std_errors_, ref.bse.T, rtol=1e-5)
    np.testing.assert_allclose(model.covariance_matrix_, _mnlogit_covariance(ref), rtol=1e-5,
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(model.llf, ref.llf, rtol=1e-10)
    np.testing.assert_allclose([model.aic, model.bic], [ref.aic, ref.bic], rtol=1e-10)
    np.testing.assert_allclose(model.null_deviance_, -2 * ref.llnull, rtol=1e-8)
    np.testing.assert_allclose(model.p_values_, ref.pvalues.T, rtol=1e-4)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict(sm.add_constant(X)),
                               rtol=1e-6)  # fmt: skip
    # statsmodels' MNLogit conf_int has our layout: (class, parameter, lower/upper).
    np.testing.assert_allclose(model.conf_int(), ref.conf_int(), rtol=1e-5)


def _mnlogit_covariance(ref):
    # statsmodels orders MNLogit's covariance by parameter within class, like ours.
    return np.asarray(ref.cov_params())


def test_robust_hc1_scales_hc0_by_the_residual_degrees_of_freedom():
    X, y, _ = _multinomial(n=400)
    hc0 = FisherScoringClassifier(cov_type="HC0").fit(X, y)
    hc1 = FisherScoringClassifier(cov_type="HC1").fit(X, y)
    ratio = 400 / (400 - hc0.rank_)
    np.testing.assert_allclose(hc1.covariance_matrix_, hc0.covariance_matrix_ * ratio, rtol=1e-12)


def test_logit_with_alpha_is_logistic_regression_with_c():
    # scikit-learn: C Σ s·logloss + ½||w||², ours Σ s·logloss + ½ alpha Σs ||w||² (both with the
    # class weights folded into s), so C = 1 / (alpha · Σs).
    X, y = _binary(n=500, seed=4)
    weights = np.random.default_rng(5).uniform(0.5, 2.0, size=500)
    for class_weight in (None, "balanced", {0: 2.0, 1: 0.5}):
        model = FisherScoringClassifier(alpha=0.05, class_weight=class_weight)
        model.fit(X, y, sample_weight=weights)
        per_class = model.sum_sample_weight_
        ref = LogisticRegression(C=1.0 / (0.05 * per_class), solver="newton-cholesky", tol=1e-12,
                                 max_iter=100, class_weight=class_weight)  # fmt: skip
        ref.fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-6)
        np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-6)


def test_multinomial_penalty_applies_to_the_free_rows():
    # Reference: the documented objective minimised by scipy, written from the definition
    # (½ Σ s·deviance + ½ alpha Σs Σ_k ||coef_k||² over the non-reference rows).
    X, y, codes = _multinomial(n=300, labels=("a", "b", "c"), seed=6)
    weights = np.random.default_rng(7).uniform(0.5, 1.5, size=300)
    alpha, n_free, q = 0.02, 2, X.shape[1] + 1
    design = np.column_stack([np.ones(300), X])

    def objective(theta):
        coef = theta.reshape(n_free, q)
        logits = np.column_stack([np.zeros(300), design @ coef.T])
        log_p = logits - special.logsumexp(logits, axis=1, keepdims=True)
        nll = -weights @ log_p[np.arange(300), codes]
        residual = np.eye(3)[codes] - np.exp(log_p)
        gradient = -((weights[:, None] * residual[:, 1:]).T @ design)
        ridge = alpha * weights.sum()
        penalty = coef[:, 1:]
        gradient[:, 1:] += ridge * penalty
        return nll + 0.5 * ridge * np.sum(penalty**2), gradient.ravel()

    ref = optimize.minimize(objective, np.zeros(n_free * q), jac=True, method="L-BFGS-B",
                            options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10000})  # fmt: skip
    model = FisherScoringClassifier(alpha=alpha).fit(X, y, sample_weight=weights)
    ours = model._coefficients().ravel()
    value, gradient = objective(ours)
    assert np.max(np.abs(gradient)) < 1e-6 * value  # stationary: the documented optimum
    assert value <= ref.fun + 1e-10 * abs(ref.fun)
    np.testing.assert_allclose(ours, ref.x, rtol=1e-4, atol=1e-5)
    # LogisticRegression penalises all three rows symmetrically: another model.
    sk = LogisticRegression(C=1.0 / (alpha * weights.sum()), tol=1e-10, max_iter=1000)
    sk.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(sk.coef_.sum(axis=0), 0.0, atol=1e-6)
    assert np.max(np.abs((sk.coef_ - sk.coef_[0])[1:] - model.coef_[1:])) > 1e-3


# --------------------------------------------------------------------------------------------
# The multinomial solver
# --------------------------------------------------------------------------------------------
def test_multinomial_information_is_the_categorical_fisher_kronecker_x():
    # Brute force from the K-FAC loss: Σ_i s_i (F_i without the reference) ⊗ x_i x_iᵀ, and the
    # gradient against finite differences of the deviance.
    X, _, codes = _multinomial(n=60, labels=("a", "b", "c"), seed=8)
    weights = np.random.default_rng(9).uniform(0.5, 2.0, size=60)
    problem = MultinomialProblem(make_design(X, codes, None, weights), 3, np.zeros(8),
                                 max_iter=1)  # fmt: skip
    solver = MultinomialSolver(problem)
    theta = np.random.default_rng(10).normal(scale=0.3, size=8)
    sums = solver._evaluate(theta, information=True)
    design = np.column_stack([np.ones(60), X])
    logits = np.column_stack([np.zeros(60), design @ theta.reshape(2, 4).T])
    loss = CategoricalLogitsNegativeLogProbLoss(logits, targets=codes)
    # Column j of every row's 3 × 3 Fisher, then each row's block without the reference.
    columns = [loss.multiply_fisher(np.broadcast_to(np.eye(3)[j], (60, 3))) for j in range(3)]
    expected = np.zeros((8, 8))
    for i in range(60):
        fisher = np.column_stack([column[i] for column in columns])
        expected += weights[i] * np.kron(fisher[1:, 1:], np.outer(design[i], design[i]))
    np.testing.assert_allclose(solver._assemble(sums.gram), expected, rtol=1e-12, atol=1e-12)

    def deviance(t):
        return solver._evaluate(t, information=False).deviance

    numeric = optimize.approx_fprime(theta, deviance, 1e-6)
    np.testing.assert_allclose(sums.gradient, -0.5 * numeric, rtol=1e-5, atol=1e-5)


def test_multinomial_with_two_classes_equals_the_bernoulli_fit():
    X, y = _binary(n=400, seed=11)
    weights = np.random.default_rng(12).uniform(0.5, 2.0, size=400)
    penalty = np.array([0.0, 3.0, 3.0, 3.0])
    multinomial = MultinomialSolver(MultinomialProblem(make_design(X, y, None, weights), 2,
                                                       penalty)).solve()  # fmt: skip
    bernoulli = IRLSSolver(IRLSProblem(make_design(X, y.astype(float), None, weights),
                                       Bernoulli(), penalty)).solve()  # fmt: skip
    np.testing.assert_allclose(multinomial.coef, bernoulli.coef, rtol=1e-7)
    np.testing.assert_allclose(multinomial.information, bernoulli.information, rtol=1e-7)
    np.testing.assert_allclose(multinomial.deviance, bernoulli.deviance, rtol=1e-10)


def test_multinomial_chord_steps_resume_newton_when_the_final_check_fails(monkeypatch):
    X, _, codes = _multinomial(n=3000, labels=("a", "b", "c"), seed=14)
    penalty = np.r_[0.0, np.full(3, 1.0), 0.0, np.full(3, 1.0)]

    def fit():
        solver = MultinomialSolver(MultinomialProblem(make_design(X, codes), 3, penalty,
                                                      tol=1e-12))  # fmt: skip
        return solver, solver.solve()

    solver, expected = fit()
    assert solver.n_information < expected.n_iter  # chord steps were taken
    calls = []
    check = IRLSSolver._converged_after_chord

    def refuse_once(self, sums):
        calls.append(1)
        return len(calls) > 1 and check(self, sums)

    monkeypatch.setattr(IRLSSolver, "_converged_after_chord", refuse_once)
    solver, resumed = fit()
    assert len(calls) == 1 and not solver._chord.enabled and resumed.converged
    np.testing.assert_allclose(resumed.coef, expected.coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(resumed.deviance, expected.deviance, rtol=1e-13)
    np.testing.assert_allclose(resumed.factor.inverse(), expected.factor.inverse(), rtol=1e-7)


def test_multinomial_solvers_and_inputs_agree():
    X, y, _ = _multinomial(n=1500, seed=13)
    dense = FisherScoringClassifier().fit(X, y)
    qr = FisherScoringClassifier(solver="qr").fit(X, y)
    sparse = FisherScoringClassifier().fit(sp.csr_matrix(X), y)
    float32 = FisherScoringClassifier().fit(X.astype(np.float32), y)
    for other, rtol in ((qr, 1e-7), (sparse, 1e-7), (float32, 1e-5)):
        np.testing.assert_allclose(other.coef_, dense.coef_, rtol=rtol, atol=1e-9)
        np.testing.assert_allclose(other.std_errors_, dense.std_errors_, rtol=rtol)


def test_multinomial_one_hot_design_equals_dense():
    # A CSR design of one-hot blocks takes the Gram from per-level counts.
    rng = np.random.default_rng(14)
    n = 3000
    levels = rng.integers(0, 4, n)
    one_hot = sp.csr_matrix((np.ones(n), (np.arange(n), levels)), shape=(n, 4))[:, 1:]
    X = sp.hstack([one_hot, sp.csr_matrix(rng.normal(size=(n, 1)))], format="csr")
    logits = np.column_stack([np.zeros(n), (X @ rng.normal(size=(4, 2))) + [0.2, -0.3]])
    y = (special.softmax(logits, axis=1).cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    assert make_design(X, y).structure is not None
    sparse = FisherScoringClassifier().fit(X, y)
    dense = FisherScoringClassifier().fit(X.toarray(), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(sparse.std_errors_, dense.std_errors_, rtol=1e-8)


def test_sample_weights_are_frequency_weights():
    X, y, _ = _multinomial(n=300, seed=15)
    counts = np.random.default_rng(16).integers(0, 4, size=300)
    weighted = FisherScoringClassifier().fit(X, y, sample_weight=counts)
    repeated = FisherScoringClassifier().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weighted.std_errors_, repeated.std_errors_, rtol=1e-8)
    np.testing.assert_allclose(weighted.llf, repeated.llf, rtol=1e-10)
    assert weighted.n_obs_ == np.count_nonzero(counts) and repeated.n_obs_ == counts.sum()


def test_class_weight_dict_equals_sample_weights():
    X, y, _ = _multinomial(n=300, labels=("a", "b", "c"), seed=17)
    class_weight = {"a": 2.0, "b": 1.0, "c": 0.5}
    model = FisherScoringClassifier(class_weight=class_weight).fit(X, y)
    rows = np.vectorize(class_weight.get)(y)
    ref = FisherScoringClassifier().fit(X, y, sample_weight=rows)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.std_errors_, ref.std_errors_, rtol=1e-12)


def test_aliased_columns_are_reported_like_r():
    X, y, _ = _multinomial(n=500, labels=("a", "b", "c"), seed=18)
    collinear = np.column_stack([X, X[:, 0] - 2 * X[:, 1]])
    with pytest.warns(SingularInformationWarning, match="aliased"):
        model = FisherScoringClassifier().fit(collinear, y)
    np.testing.assert_array_equal(model.aliased_[:, -1], True)
    assert not model.aliased_[:, :-1].any()
    assert np.all(np.isnan(model.std_errors_[:, -1])) and np.all(model.coef_[:, -1] == 0)
    reduced = FisherScoringClassifier().fit(X, y)
    np.testing.assert_allclose(model.coef_[:, :-1], reduced.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.std_errors_[:, :-1], reduced.std_errors_, rtol=1e-6)
    assert "not defined because of singularities" in str(model.summary())


# --------------------------------------------------------------------------------------------
# Predictions and labels
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels", [("no", "yes"), (1, 2), (False, True), (-1.0, 2.0), ("x", "y", "z"), (3, 7, 9)]
)
def test_labels_of_any_type(labels):
    rng = np.random.default_rng(19)
    X = rng.normal(size=(300, 2))
    codes = (X[:, 0] + rng.normal(size=300) > 0).astype(int)
    if len(labels) == 3:
        codes = codes + (X[:, 1] + rng.normal(size=300) > 1)
    y = np.asarray(labels, dtype=object if isinstance(labels[0], str) else None)[codes]
    model = FisherScoringClassifier().fit(X, y)
    assert list(model.classes_) == sorted(labels)
    predictions = model.predict(X)
    assert set(predictions) <= set(labels) and predictions.dtype == model.classes_.dtype
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(predictions, model.classes_[proba.argmax(axis=1)])
    assert model.score(X, y) > 0.6


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog"])
def test_decision_function_is_the_log_odds(link):
    X, y = _binary(link, seed=20)
    model = FisherScoringClassifier(link=link).fit(X, y)
    X_far = np.vstack([X[:20], 40 * X[:5], -40 * X[:5]])
    log_proba = model.predict_log_proba(X_far)
    decision = model.decision_function(X_far)
    np.testing.assert_allclose(decision, log_proba[:, 1] - log_proba[:, 0], rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X_far), model.classes_[(decision > 0) * 1])
    assert np.all(np.isfinite(log_proba))  # no log(0), even where p rounds to 0 or 1
    if link == "logit":
        eta = X_far @ model.coef_[0] + model.intercept_[0]
        np.testing.assert_array_equal(decision, eta)


def test_log_link_warns_when_probabilities_exceed_one():
    rng = np.random.default_rng(21)
    X = rng.uniform(0, 1, size=(500, 1))
    y = (rng.random(500) < np.exp(-1.0 + 0.5 * X[:, 0])).astype(int)
    model = FisherScoringClassifier(link="log").fit(X, y)
    with pytest.warns(UserWarning, match="probabilities above 1 for 1 rows"):
        proba = model.predict_proba(np.array([[100.0]]))
    np.testing.assert_array_equal(proba, [[0.0, 1.0]])


def test_errors_name_the_problem():
    X, y, _ = _multinomial(n=200, labels=("a", "b", "c"))
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        FisherScoringClassifier(link="probit").fit(X, y)
    with pytest.raises(ValueError, match="one class"):
        FisherScoringClassifier().fit(X, np.full(200, "a"))
    with pytest.raises(ValueError, match=r"classes \['c'\] have no rows of positive weight"):
        FisherScoringClassifier().fit(X, y, sample_weight=(y != "c").astype(float))
    with pytest.raises(ValueError, match="Unknown label type"):
        FisherScoringClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="classes must be passed"):
        FisherScoringClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        FisherScoringClassifier().partial_fit(X, np.full(200, "a"), classes=["a"])
    with pytest.raises(ValueError, match="Unknown label type"):
        FisherScoringClassifier().partial_fit(X, y, classes=[0.5, 1.5])
    with pytest.raises(ValueError, match="'balanced' is not available for partial_fit"):
        FisherScoringClassifier(class_weight="balanced").partial_fit(X, y, classes=["a", "b", "c"])


# --------------------------------------------------------------------------------------------
# Workflows
# --------------------------------------------------------------------------------------------
def test_pipeline_and_grid_search_with_roc_auc_on_string_labels():
    X, codes = _binary(n=400, seed=22)
    y = np.array(["no", "yes"])[codes]
    pipeline = make_pipeline(StandardScaler(), FisherScoringClassifier())
    folds = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(pipeline, {"fisherscoringclassifier__alpha": [0.0, 0.1]},
                          scoring="roc_auc", cv=folds).fit(X, y)  # fmt: skip
    # The search's scores are the AUCs of each fold's predict_proba, computed here by hand.
    by_hand = []
    for train, test in folds.split(X):
        model = clone(pipeline).set_params(fisherscoringclassifier__alpha=0.0)
        model.fit(X[train], y[train])
        by_hand.append(roc_auc_score(y[test] == "yes", model.predict_proba(X[test])[:, 1]))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"][0], np.mean(by_hand))
    assert search.best_score_ > 0.7
    accuracy = cross_val_score(pipeline, X, y, scoring="accuracy", cv=folds)
    assert np.all(accuracy > 0.6)


@pytest.mark.parametrize("labels", [("no", "yes"), ("a", "b", "c")])
def test_pickle_and_skops_round_trips(labels, tmp_path):
    X, y, _ = _multinomial(n=300, labels=labels, seed=23)
    model = FisherScoringClassifier(alpha=0.01, cov_type="HC1").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(model))
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    untrusted = skops.io.get_untrusted_types(file=path)
    assert untrusted == ["skglm_fisher._classifier.FisherScoringClassifier"]
    for other in (loaded, skops.io.load(path, trusted=untrusted)):
        np.testing.assert_array_equal(other.predict_proba(X), model.predict_proba(X))
        np.testing.assert_array_equal(other.std_errors_, model.std_errors_)
        assert str(other.summary()) == str(model.summary())


@pytest.mark.parametrize("labels", [("no", "yes"), ("a", "b", "c")])
def test_partial_fit_resumed_after_unpickling_equals_the_uninterrupted_stream(labels):
    X, y, _ = _multinomial(n=1200, labels=labels, seed=24)
    batches = np.array_split(np.arange(1200), 6)
    stream = FisherScoringClassifier(alpha=0.001)
    for rows in batches:
        stream.partial_fit(X[rows], y[rows], classes=list(labels))
    resumed = FisherScoringClassifier(alpha=0.001)
    for rows in batches[:3]:
        resumed.partial_fit(X[rows], y[rows], classes=list(labels))
    resumed = pickle.loads(pickle.dumps(resumed))
    for rows in batches[3:]:
        resumed.partial_fit(X[rows], y[rows])
    for name in ("coef_", "intercept_", "std_errors_", "information_", "covariance_matrix_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(stream, name))
    for name in ("deviance_", "null_deviance_", "llf_", "n_obs_", "n_iter_"):
        assert getattr(resumed, name) == getattr(stream, name)
    # The stream is close to the fit on all rows: a fraction of a standard error.
    full = FisherScoringClassifier(alpha=0.001).fit(X, y)
    gap = np.abs(stream._coefficients() - full._coefficients()) / full.std_errors_
    assert gap.max() < 0.3
    np.testing.assert_allclose(stream.std_errors_, full.std_errors_, rtol=0.05)
    np.testing.assert_allclose(stream.null_deviance_, full.null_deviance_, rtol=1e-12)


def test_partial_fit_batches_may_miss_classes():
    X, y, _ = _multinomial(n=900, labels=("a", "b", "c"), seed=25)
    order = np.argsort(y, kind="stable")  # later batches hold one or two classes only
    model = FisherScoringClassifier()
    model.partial_fit(X[::9], y[::9], classes=["a", "b", "c"])
    for rows in np.array_split(order, 5):
        with pytest.warns(UserWarning, match="class shares"):
            model.partial_fit(X[rows], y[rows])
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.std_errors_))


def test_warm_start_starts_from_the_previous_fit():
    X, y, _ = _multinomial(n=600, seed=26)
    cold = FisherScoringClassifier().fit(X, y)
    warm = FisherScoringClassifier(warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ <= 1
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-8, atol=1e-10)


# --------------------------------------------------------------------------------------------
# Separation and failures
# --------------------------------------------------------------------------------------------
def test_binary_separation_names_the_class_and_direction():
    rng = np.random.default_rng(27)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 1] > 0, "yes", "no")
    with pytest.warns(PerfectSeparationWarning) as record:
        model = FisherScoringClassifier().fit(X, y)
    message = str(record[0].message)
    assert "class 'yes' (against 'no')" in message
    assert "diverge along +x1" in message
    assert np.all(np.isfinite(model.coef_)) and np.max(np.abs(model.coef_)) < 1e6
    assert np.all(np.isfinite(model.std_errors_))


def test_multinomial_separation_names_the_class_and_direction():
    rng = np.random.default_rng(28)
    X = rng.normal(size=(300, 2))
    codes = rng.integers(0, 2, size=300)
    codes[X[:, 0] < -0.5] = 2  # class 'c' is separated by low x0
    y = np.array(["a", "b", "c"])[codes]
    with pytest.warns(PerfectSeparationWarning) as record:
        model = FisherScoringClassifier().fit(X, y)
    message = str(record[0].message)
    assert "class 'c' (against the reference 'a')" in message
    assert "diverge along -x0" in message
    assert "class 'b' (against the reference 'a')" not in message
    assert np.all(np.isfinite(model.coef_)) and np.max(np.abs(model.coef_)) < 1e6
    # The classes that are not separated keep sensible estimates.
    np.testing.assert_allclose(model.coef_[1], 0.0, atol=0.5)


def test_a_failed_call_changes_nothing():
    X, y, _ = _multinomial(n=300, labels=("a", "b", "c"), seed=29)
    model = FisherScoringClassifier().fit(X, y)
    before = pickle.dumps(model)
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    calls = [
        lambda: model.fit(bad_X, y),
        lambda: model.partial_fit(X, np.where(y == "c", "z", y)),  # an unknown label
        lambda: model.partial_fit(X[:, :2], y),
        lambda: model.set_params(link="probit").fit(X, y),  # three classes
        lambda: model.set_params(link="logit", max_iter=0).fit(X, y),
        lambda: model.fit(X, y, sample_weight=-np.ones(300)),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
        model.set_params(link="logit", max_iter=100)
        assert pickle.dumps(model) == before
    fresh = FisherScoringClassifier(link="probit")
    with pytest.raises(ValueError):
        fresh.fit(X, y)
    assert not hasattr(fresh, "coef_") and not hasattr(fresh, "n_features_in_")


def test_max_iter_reached_warns():
    X, y, _ = _multinomial(n=300, seed=30)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = FisherScoringClassifier(max_iter=1).fit(X, y)
    assert not model.converged_


def test_summary_has_one_block_per_non_reference_class():
    X, y, _ = _multinomial(n=300, labels=("a", "b", "c"), seed=31)
    table = FisherScoringClassifier().fit(X, y).summary()
    text = str(table)
    assert "reference class 'a'" in text and "b vs a:" in text and "c vs a:" in text
    frame = table.to_frame()
    assert list(frame.index.get_level_values(0).unique()) == ["b vs a", "c vs a"]
    assert frame.shape == (8, 6)


def test_fisher_scoring_glm_still_fits_bernoulli_proportions():
    # Proportions with the number of trials as weights stay FisherScoringGLM's job.
    rng = np.random.default_rng(32)
    X = rng.normal(size=(100, 2))
    trials = rng.integers(1, 20, size=100)
    successes = rng.binomial(trials, special.expit(0.2 + X @ [0.5, -0.5]))
    glm = FisherScoringGLM(family="bernoulli").fit(X, successes / trials, sample_weight=trials)
    # The same likelihood as the classifier on the expanded 0/1 rows.
    rows = np.repeat(np.arange(100), trials)
    labels = np.concatenate(
        [np.r_[np.ones(s), np.zeros(t - s)] for s, t in zip(successes, trials, strict=True)]
    )
    model = FisherScoringClassifier().fit(X[rows], labels.astype(int))
    np.testing.assert_allclose(model.coef_[0], glm.coef_, rtol=1e-8)
    np.testing.assert_allclose(model.std_errors_, glm.std_errors_, rtol=1e-8)


@pytest.mark.parametrize(
    "y",
    [np.array([3, 1, 3, 7]), np.array([True, False]), np.array([-2, 5], dtype=np.int8),
     np.array([10**12, 0]), np.array(["b", "a", "b"]), np.array([2.0, 1.0, 2.0])],
)  # fmt: skip
def test_unique_labels_equals_numpy_unique(y):
    classes, codes = unique_labels(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, expected_classes)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(codes, expected_codes)


def test_partial_fit_warns_about_batches_unlike_the_stream():
    # A stream sorted by class breaks the quadratic model of the earlier rows that recursive
    # Fisher scoring relies on; shuffled batches do not trigger the warning.
    X, y, _ = _multinomial(n=2000, labels=("a", "b", "c"), seed=33)
    shuffled = FisherScoringClassifier()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for rows in np.array_split(np.arange(2000), 10):
            shuffled.partial_fit(X[rows], y[rows], classes=["a", "b", "c"])
    ordered = FisherScoringClassifier().partial_fit(X[::20], y[::20], classes=["a", "b", "c"])
    rows = np.flatnonzero(y == "c")[:200]
    with pytest.warns(UserWarning, match=r"class shares \(a: 0.00, b: 0.00, c: 1.00\)"):
        ordered.partial_fit(X[rows], y[rows])


def test_categorical_rows_are_the_categorical_loss():
    # The solver's per-row formulas against the K-FAC loss object (row-major, all K classes).
    rng = np.random.default_rng(34)
    eta = rng.normal(scale=3.0, size=(3, 50))
    y = rng.integers(0, 4, size=50)
    weights = rng.uniform(0.5, 2.0, size=50)
    rows = CategoricalRows(y, eta, weights)
    loss = CategoricalLogitsNegativeLogProbLoss(np.vstack([np.zeros(50), eta]).T, targets=y)
    np.testing.assert_allclose(rows.probabilities.T, loss.dist.probs, rtol=1e-13)
    np.testing.assert_allclose(rows.log_probability, loss.dist.log_prob(y), rtol=1e-13)
    np.testing.assert_allclose(rows.score, -(weights[:, None] * loss.gradient()).T[1:],
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    columns = [loss.multiply_fisher(np.broadcast_to(np.eye(4)[j], (50, 4))) for j in range(4)]
    expected = np.array([weights * columns[l + 1][:, k + 1] for k, l in pairs(3)])
    np.testing.assert_allclose(rows.pair_weights(), expected, rtol=1e-12, atol=1e-15)
    b, t = rows.factor_rows()
    for j in range(4):
        column = loss.multiply_fisher_factor_replicated_one_hot((j,))[:, 1:]
        np.testing.assert_allclose(b[:, j], np.sqrt(weights)[:, None] * column, atol=1e-14)
    # Σ_j b_j t_j is the score: the QR rows' normal equations are the information and score.
    np.testing.assert_allclose(np.einsum("ijk,ij->ki", b, t), rows.score, atol=1e-12)


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "log"])
def test_binary_log_probabilities_match_the_inverse_links(link):
    eta = np.linspace(-30, 0 if link == "log" else 30, 121)
    log_q, log_p = binary_log_probabilities(link, eta)
    np.testing.assert_allclose(np.exp(log_p), Bernoulli(link).mean(eta), rtol=1e-12)
    np.testing.assert_allclose(np.logaddexp(log_q, log_p), 0.0, atol=1e-15)
    assert np.all(np.isfinite(log_q[eta < 0])) and np.all(np.isfinite(log_p))
