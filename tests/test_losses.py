"""Tests of the K-FAC style loss objects in ``skglm_fisher.losses``.

Dense matrices are built by applying a loss's products to unit vectors; derivatives are checked
against central finite differences of ``evaluate()`` and ``gradient()``; densities against
``scipy.stats``; sampling and Fisher identities by Monte Carlo with fixed seeds.
"""

import numpy as np
import pytest
from scipy import special, stats

from skglm_fisher import glm
from skglm_fisher.glm._fisher import _working_quantities
from skglm_fisher.losses import (
    CategoricalLogitsNegativeLogProbLoss,
    GLMNegativeLogProbLoss,
    MultiBernoulliNegativeLogProbLoss,
    NaturalParamsNegativeLogProbLoss,
    NormalMeanNegativeLogProbLoss,
    NormalMeanVarianceNegativeLogProbLoss,
    OnehotCategoricalLogitsNegativeLogProbLoss,
)

BATCH, DIM = 3, 4
RNG = np.random.default_rng(1234)
MEAN = RNG.normal(size=(BATCH, DIM))
VARIANCE = RNG.uniform(0.5, 2.0, size=(BATCH, DIM))
Y_REAL = RNG.normal(size=(BATCH, DIM))
CLASSES = np.array([0, 3, 1])
ONE_HOT = np.eye(DIM)[CLASSES]
Y_BINARY = (RNG.random((BATCH, DIM)) < 0.5).astype(float)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _tweedie_logpdf(y, mu, p=1.5, phi=1.0):
    # Compound Poisson-gamma: N ~ Poisson(lam) gamma(alpha, scale) jumps (Jorgensen).
    lam = mu ** (2 - p) / (phi * (2 - p))
    alpha, scale = (2 - p) / (p - 1), phi * (p - 1) * mu ** (p - 1)
    n = np.arange(1, 300)[:, None]
    density = np.sum(stats.poisson.pmf(n, lam) * stats.gamma.pdf(y, n * alpha, scale=scale), 0)
    return np.where(y == 0, -lam, np.log(np.where(y == 0, 1.0, density)))


_LOC_SHIFT = 0.5 * 0.7**2  # LogNormal: loc = log(mean) - scale²/2
# (id, family factory, scipy log-density of y at eta)
GLM_FAMILIES = [
    ("Bernoulli", glm.Bernoulli, lambda y, e: stats.bernoulli.logpmf(y, special.expit(e))),
    ("BernoulliNormalCDF", glm.BernoulliNormalCDF,
     lambda y, e: stats.bernoulli.logpmf(y, stats.norm.cdf(e))),
    ("Binomial", lambda: glm.Binomial(5), lambda y, e: stats.binom.logpmf(y, 5, special.expit(e))),
    ("GammaExp", lambda: glm.GammaExp(2), lambda y, e: stats.gamma.logpdf(y, 2, scale=np.exp(e))),
    ("GammaSoftplus", lambda: glm.GammaSoftplus(2),
     lambda y, e: stats.gamma.logpdf(y, 2, scale=_softplus(e))),
    ("LogNormal", lambda: glm.LogNormal(0.7),
     lambda y, e: stats.lognorm.logpdf(y, 0.7, scale=np.exp(e - _LOC_SHIFT))),
    ("LogNormalSoftplus", lambda: glm.LogNormalSoftplus(0.7),
     lambda y, e: stats.lognorm.logpdf(y, 0.7, scale=_softplus(e) * np.exp(-_LOC_SHIFT))),
    ("NegativeBinomial", lambda: glm.NegativeBinomial(3),
     lambda y, e: stats.nbinom.logpmf(y, 3, 3 / (3 + np.exp(e)))),
    ("NegativeBinomialSoftplus", lambda: glm.NegativeBinomialSoftplus(3),
     lambda y, e: stats.nbinom.logpmf(y, 3, 3 / (3 + _softplus(e)))),
    ("Normal", lambda: glm.Normal(1.3), lambda y, e: stats.norm.logpdf(y, e, 1.3)),
    ("NormalReciprocal", lambda: glm.NormalReciprocal(1.3),
     lambda y, e: stats.norm.logpdf(y, 1 / e, 1.3)),
    ("Poisson", glm.Poisson, lambda y, e: stats.poisson.logpmf(y, np.exp(e))),
    ("PoissonSoftplus", glm.PoissonSoftplus, lambda y, e: stats.poisson.logpmf(y, _softplus(e))),
    ("GammaLog", lambda: glm.Gamma(2, "log"),
     lambda y, e: stats.gamma.logpdf(y, 2, scale=np.exp(e) / 2)),
    ("InverseGaussian", glm.InverseGaussian, lambda y, e: stats.invgauss.logpdf(y, e**-0.5)),
    ("Tweedie", lambda: glm.Tweedie(1.5), lambda y, e: _tweedie_logpdf(y, np.exp(e))),
]  # fmt: skip
GLM_IDS = [case[0] for case in GLM_FAMILIES]
FAMILY = {name: factory for name, factory, _ in GLM_FAMILIES}
EXPONENTIAL_DISPERSION = [n for n in GLM_IDS if not n.startswith("LogNormal")]


def _eta_grid(family, n=5):
    eta = np.linspace(-0.8, 0.9, n)
    return eta if np.all(family.link.valid_eta(eta)) else np.linspace(0.4, 1.6, n)


def _glm_case(name, weighted=False):
    family = FAMILY[name]()
    eta = _eta_grid(family)
    y = family.sample(eta, seed=7)
    kwargs = {}
    if weighted:
        kwargs = {"sample_weight": np.linspace(0.5, 2.0, eta.size), "dispersion": 1.7}
    return (lambda x: GLMNegativeLogProbLoss(x, family, targets=y, **kwargs)), eta


# (id, make(inputs) -> loss with fixed targets, inputs)
VECTOR_CASES = {
    "NormalMean": (lambda x: NormalMeanNegativeLogProbLoss(x, 0.7, targets=Y_REAL), MEAN),
    "NormalMeanArrayVar": (
        lambda x: NormalMeanNegativeLogProbLoss(x, VARIANCE[:1], targets=Y_REAL), MEAN),
    "NormalMeanVariance": (
        lambda x: NormalMeanVarianceNegativeLogProbLoss(*x, targets=Y_REAL), (MEAN, VARIANCE)),
    "Categorical": (lambda x: CategoricalLogitsNegativeLogProbLoss(x, targets=CLASSES), MEAN),
    "OnehotCategorical": (
        lambda x: OnehotCategoricalLogitsNegativeLogProbLoss(x, targets=ONE_HOT), MEAN),
    "MultiBernoulli": (lambda x: MultiBernoulliNegativeLogProbLoss(x, targets=Y_BINARY), MEAN),
}  # fmt: skip
CASES = dict(VECTOR_CASES)
CASES.update({f"GLM-{name}": _glm_case(name) for name in GLM_IDS})
CASES["GLM-Poisson-weighted"] = _glm_case("Poisson", weighted=True)
CASES["GLM-GammaLog-weighted"] = _glm_case("GammaLog", weighted=True)


# --------------------------------------------------------------------------------------------
# Helpers: every input space as rows [batch, k] (pairs concatenated, GLM [batch] -> [batch, 1])
# --------------------------------------------------------------------------------------------
def _rows(x):
    if isinstance(x, tuple):
        return np.concatenate(x, axis=-1)
    x = np.asarray(x, dtype=float)
    return x[:, None] if x.ndim == 1 else x


def _from_rows(rows, template):
    if isinstance(template, tuple):
        return tuple(np.split(rows, 2, axis=-1))
    return rows[:, 0] if np.ndim(template) == 1 else rows


def _dense(fn, template):
    """Matrix of the linear map ``fn`` (rows ordering on both sides)."""
    shape = _rows(template).shape
    columns = []
    for k in range(int(np.prod(shape))):
        unit = np.zeros(int(np.prod(shape)))
        unit[k] = 1.0
        columns.append(_rows(fn(_from_rows(unit.reshape(shape), template))).ravel())
    return np.array(columns).T


def _fd(fn, x0, h=1e-6):
    """Central differences of ``fn`` (scalar or array valued) in every coordinate of ``x0``."""
    rows = _rows(x0)
    columns = []
    for idx in np.ndindex(rows.shape):
        step = h * max(1.0, abs(rows[idx]))
        plus, minus = rows.copy(), rows.copy()
        plus[idx] += step
        minus[idx] -= step
        diff = np.asarray(_rows_or_scalar(fn(_from_rows(plus, x0))))
        diff = diff - np.asarray(_rows_or_scalar(fn(_from_rows(minus, x0))))
        columns.append(np.ravel(diff) / (2 * step))
    return np.array(columns).T


def _rows_or_scalar(value):
    return value if np.isscalar(value) else _rows(value)


def _matrices(loss):
    inner = np.zeros(loss.fisher_factor_inner_shape)
    F = _dense(loss.multiply_fisher, loss.inputs)
    B = _dense(loss.multiply_fisher_factor, inner)
    Bt = _dense(loss.multiply_fisher_factor_transpose, loss.inputs)
    return F, B, Bt


# --------------------------------------------------------------------------------------------
# Identities of every loss
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_factor_times_transpose_is_fisher(case):
    make, x0 = CASES[case]
    F, B, Bt = _matrices(make(x0))
    np.testing.assert_allclose(B @ B.T, F, atol=1e-12)
    np.testing.assert_allclose(Bt, B.T, atol=1e-12)
    np.testing.assert_allclose(F, F.T, atol=1e-12)
    assert np.linalg.eigvalsh(F).min() > -1e-12


@pytest.mark.parametrize("case", list(CASES))
def test_replicated_one_hot(case):
    make, x0 = CASES[case]
    loss = make(x0)
    F, B, _ = _matrices(loss)
    inner_shape = loss.fisher_factor_inner_shape
    k = 1 if len(inner_shape) == 1 else inner_shape[1]
    per_row = np.zeros((inner_shape[0], _rows(x0).shape[1], _rows(x0).shape[1]))
    for j in range(k):
        column = loss.multiply_fisher_factor_replicated_one_hot((j,))
        replicated = np.zeros(_rows(np.zeros(inner_shape)).shape)
        replicated[:, j] = 1.0
        np.testing.assert_allclose(_rows(column).ravel(), B @ replicated.ravel(), atol=1e-12)
        per_row += np.einsum("bi,bj->bij", _rows(column), _rows(column))
    size = per_row.shape[1]
    for b in range(per_row.shape[0]):
        block = F[b * size : (b + 1) * size, b * size : (b + 1) * size]
        np.testing.assert_allclose(per_row[b], block, atol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_matches_finite_differences_of_evaluate(case):
    make, x0 = CASES[case]
    gradient = _rows(make(x0).gradient()).ravel()
    expected = _fd(lambda x: make(x).evaluate(), x0).ravel()
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)


def _natural(case):
    make, x0 = CASES[case]
    return make(x0).natural_params


NATURAL = [case for case in CASES if _natural(case)]


def test_natural_parameter_cases():
    expected = {"Bernoulli", "Binomial", "Normal", "Poisson", "InverseGaussian"}
    assert {c[4:] for c in NATURAL if c.startswith("GLM-")} == expected | {"Poisson-weighted"}
    assert set(VECTOR_CASES) - {c for c in NATURAL} == {"NormalMeanVariance"}
    for case in VECTOR_CASES:
        loss = CASES[case][0](CASES[case][1])
        assert isinstance(loss, NaturalParamsNegativeLogProbLoss) == loss.natural_params


@pytest.mark.parametrize("case", NATURAL)
def test_hessian_is_fisher_for_natural_parameters(case):
    make, x0 = CASES[case]
    loss = make(x0)
    F, B, _ = _matrices(loss)
    hessian_fd = _fd(lambda x: make(x).gradient(), x0)
    np.testing.assert_allclose(hessian_fd, F, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_dense(loss.multiply_hessian, x0), F, atol=1e-14)
    inner = np.zeros(loss.hessian_factor_inner_shape)
    assert loss.hessian_factor_inner_static_shape == loss.fisher_factor_inner_shape
    np.testing.assert_allclose(_dense(loss.multiply_hessian_factor, inner), B, atol=1e-14)
    Bt = _dense(loss.multiply_hessian_factor_transpose, x0)
    np.testing.assert_allclose(Bt, B.T, atol=1e-14)
    replicated = loss.multiply_hessian_factor_replicated_one_hot((0,))
    np.testing.assert_array_equal(replicated, loss.multiply_fisher_factor_replicated_one_hot((0,)))


@pytest.mark.parametrize("name", [n for n in EXPONENTIAL_DISPERSION if f"GLM-{n}" not in NATURAL])
def test_glm_observed_information_off_the_canonical_link(name):
    make, eta = CASES[f"GLM-{name}"]
    loss = make(eta)
    hessian_fd = np.diag(_fd(lambda x: make(x).gradient(), eta))
    np.testing.assert_allclose(loss.hessian_diagonal(), hessian_fd, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss.multiply_hessian(np.ones_like(eta)), hessian_fd, rtol=1e-5)
    # It differs from the Fisher (it depends on y) and has no factor.
    assert not np.allclose(loss.hessian_diagonal(), loss.fisher_diagonal())
    for method, arg in [("multiply_hessian_factor", eta),
                        ("multiply_hessian_factor_transpose", eta),
                        ("multiply_hessian_factor_replicated_one_hot", (0,))]:  # fmt: skip
        with pytest.raises(NotImplementedError):
            getattr(loss, method)(arg)
    with pytest.raises(NotImplementedError):
        _ = loss.hessian_factor_inner_shape


def test_glm_weighted_observed_information():
    make, eta = CASES["GLM-GammaLog-weighted"]
    hessian_fd = np.diag(_fd(lambda x: make(x).gradient(), eta))
    np.testing.assert_allclose(make(eta).hessian_diagonal(), hessian_fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["LogNormal", "LogNormalSoftplus"])
def test_lognormal_has_quasi_fisher_and_no_hessian(name):
    make, eta = CASES[f"GLM-{name}"]
    loss = make(eta)
    with pytest.raises(NotImplementedError):
        loss.multiply_hessian(eta)
    with pytest.raises(NotImplementedError):
        loss.multiply_hessian_factor(eta)
    mean, variance, grad_mean = loss.family(eta)
    # The Fisher is TFP's mean-variance information; the gradient is the log-normal score.
    np.testing.assert_allclose(loss.fisher_diagonal(), grad_mean**2 / variance, rtol=1e-14)
    y = loss.targets
    np.testing.assert_allclose(loss.quasi_gradient(), (mean - y) * grad_mean / variance)
    assert not np.allclose(loss.gradient(), loss.quasi_gradient())


@pytest.mark.parametrize("name", EXPONENTIAL_DISPERSION)
def test_glm_quasi_gradient_is_gradient_for_exponential_dispersion_families(name):
    make, eta = CASES[f"GLM-{name}"]
    loss = make(eta)
    np.testing.assert_allclose(loss.quasi_gradient(), loss.gradient(), rtol=1e-12, atol=1e-14)


def test_normal_mean_variance_hessian_not_implemented():
    make, x0 = CASES["NormalMeanVariance"]
    loss = make(x0)
    for method in ("multiply_hessian", "multiply_hessian_factor",
                   "multiply_hessian_factor_transpose"):  # fmt: skip
        with pytest.raises(NotImplementedError):
            getattr(loss, method)(x0)
    with pytest.raises(NotImplementedError):
        loss.multiply_hessian_factor_replicated_one_hot((0,))
    with pytest.raises(NotImplementedError):
        _ = loss.hessian_factor_inner_shape
    f_mean, f_var = loss.multiply_fisher((np.ones_like(MEAN), np.ones_like(MEAN)))
    np.testing.assert_allclose(f_mean, 1 / VARIANCE)
    np.testing.assert_allclose(f_var, 1 / (2 * VARIANCE**2))


# --------------------------------------------------------------------------------------------
# Densities against scipy.stats
# --------------------------------------------------------------------------------------------
def test_vector_losses_match_scipy():
    nll = -np.sum(stats.norm.logpdf(Y_REAL, MEAN, np.sqrt(0.7)))
    assert np.isclose(NormalMeanNegativeLogProbLoss(MEAN, 0.7, Y_REAL).evaluate(), nll)
    nll = -np.sum(stats.norm.logpdf(Y_REAL, MEAN, np.sqrt(VARIANCE)))
    loss = NormalMeanVarianceNegativeLogProbLoss(MEAN, VARIANCE, Y_REAL)
    assert np.isclose(loss.evaluate(), nll)
    probs = special.softmax(MEAN, axis=1)
    nll = -np.sum(stats.multinomial.logpmf(ONE_HOT, 1, probs))
    assert np.isclose(CategoricalLogitsNegativeLogProbLoss(MEAN, CLASSES).evaluate(), nll)
    assert np.isclose(OnehotCategoricalLogitsNegativeLogProbLoss(MEAN, ONE_HOT).evaluate(), nll)
    nll = -np.sum(special.log_softmax(MEAN, axis=1)[np.arange(BATCH), CLASSES])
    assert np.isclose(CategoricalLogitsNegativeLogProbLoss(MEAN, CLASSES).evaluate(), nll)
    nll = -np.sum(stats.bernoulli.logpmf(Y_BINARY, special.expit(MEAN)))
    assert np.isclose(MultiBernoulliNegativeLogProbLoss(MEAN, Y_BINARY).evaluate(), nll)


def test_extreme_logits_stay_finite():
    logits = np.array([[800.0, -800.0, 0.0]])
    assert np.isfinite(CategoricalLogitsNegativeLogProbLoss(logits, [1]).evaluate())
    loss = MultiBernoulliNegativeLogProbLoss(logits, [[0.0, 1.0, 1.0]])
    assert np.isclose(loss.evaluate(), 1600 + np.log(2))


def test_bernoulli_loss_of_any_finite_logit_is_finite():
    # -log p = max(-x, 0) and -log(1 - p) = max(x, 0) in the tails, exactly.
    logits = np.array([[1e308, -1e308], [-1e308, 1e308]])
    loss = MultiBernoulliNegativeLogProbLoss(logits, [[0.0, 1.0], [0.0, 1.0]])
    per_element = -loss.dist.log_prob(loss.targets)
    np.testing.assert_array_equal(per_element, [[1e308, 1e308], [0.0, 0.0]])
    np.testing.assert_array_equal(loss.gradient(), [[1.0, -1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(loss.multiply_fisher(np.ones((2, 2))), np.zeros((2, 2)))


@pytest.mark.parametrize("name, factory, logpdf", GLM_FAMILIES, ids=GLM_IDS)
def test_glm_loss_matches_scipy(name, factory, logpdf):
    family = factory()
    eta = _eta_grid(family, 7)
    y = family.sample(eta, seed=3)
    weights = np.linspace(0.2, 2.0, eta.size)
    expected = -np.sum(weights * logpdf(y, eta)) / 1.5
    loss = GLMNegativeLogProbLoss(eta, family, y, dispersion=1.5, sample_weight=weights)
    np.testing.assert_allclose(loss.evaluate(), expected, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# Sampling and the Fisher as E[gradient gradientᵀ]
# --------------------------------------------------------------------------------------------
def test_vector_losses_sample_their_distribution():
    n = 40_000
    mean = np.tile([[0.5, -1.0]], (n, 1))
    draws = NormalMeanNegativeLogProbLoss(mean, var=0.3).sample(seed=0)
    np.testing.assert_allclose(draws.mean(0), [0.5, -1.0], atol=0.02)
    np.testing.assert_allclose(draws.var(0), [0.3, 0.3], rtol=0.05)
    draws = NormalMeanVarianceNegativeLogProbLoss(mean, np.tile([[0.2, 2.0]], (n, 1))).sample(1)
    np.testing.assert_allclose(draws.var(0), [0.2, 2.0], rtol=0.05)
    logits = np.tile([[0.0, 1.0, -1.0]], (n, 1))
    probs = special.softmax(logits[0])
    classes = CategoricalLogitsNegativeLogProbLoss(logits).sample(seed=np.random.default_rng(2))
    np.testing.assert_allclose(np.bincount(classes, minlength=3) / n, probs, atol=0.01)
    one_hot = OnehotCategoricalLogitsNegativeLogProbLoss(logits).sample(seed=3)
    assert np.all(one_hot.sum(1) == 1)
    np.testing.assert_allclose(one_hot.mean(0), probs, atol=0.01)
    draws = MultiBernoulliNegativeLogProbLoss(logits).sample(seed=4)
    np.testing.assert_allclose(draws.mean(0), special.expit(logits[0]), atol=0.01)


@pytest.mark.parametrize("name", GLM_IDS)
def test_glm_sample_moments(name):
    family = FAMILY[name]()
    eta = np.repeat(_eta_grid(family, 3), 20_000)
    draws = GLMNegativeLogProbLoss(eta, family).sample(seed=5).reshape(3, -1)
    mean, variance, _ = family(eta.reshape(3, -1)[:, 0])
    tolerance = 0.02 * np.abs(mean) + 4 * np.sqrt(variance / 2e4)  # 2% or 4 standard errors
    assert np.all(np.abs(draws.mean(1) - mean) < tolerance), (draws.mean(1), mean)
    np.testing.assert_allclose(draws.var(1), variance, rtol=0.15)


def test_vector_fisher_is_expected_outer_gradient():
    n = 40_000
    mean, var = np.tile([[0.3, -0.2]], (n, 1)), np.tile([[0.5, 1.5]], (n, 1))
    loss = NormalMeanVarianceNegativeLogProbLoss(mean, var)
    g_mean, g_var = NormalMeanVarianceNegativeLogProbLoss(mean, var, loss.sample(0)).gradient()
    np.testing.assert_allclose(np.mean(g_mean**2, 0), 1 / var[0], rtol=0.05)
    np.testing.assert_allclose(np.mean(g_var**2, 0), 1 / (2 * var[0] ** 2), rtol=0.08)
    logits = np.tile([[0.0, 1.0, -1.0]], (n, 1))
    loss = CategoricalLogitsNegativeLogProbLoss(logits)
    grad = CategoricalLogitsNegativeLogProbLoss(logits, loss.sample(1)).gradient()
    F = _dense(CategoricalLogitsNegativeLogProbLoss(logits[:1]).multiply_fisher, logits[:1])
    np.testing.assert_allclose(grad.T @ grad / n, F, atol=0.01)


@pytest.mark.parametrize(
    "name", ["Poisson", "BernoulliNormalCDF", "GammaExp", "NegativeBinomialSoftplus", "Tweedie"]
)
def test_glm_fisher_is_expected_squared_gradient(name):
    family = FAMILY[name]()
    eta = np.repeat(_eta_grid(family, 3), 30_000)
    y = GLMNegativeLogProbLoss(eta, family).sample(seed=6)
    loss = GLMNegativeLogProbLoss(eta, family, y)
    squared = np.square(loss.gradient()).reshape(3, -1).mean(1)
    np.testing.assert_allclose(squared, loss.fisher_diagonal().reshape(3, -1)[:, 0], rtol=0.06)


# --------------------------------------------------------------------------------------------
# Conventions: sums, seeds, dtypes, weights
# --------------------------------------------------------------------------------------------
def test_losses_are_summed_over_the_batch():
    one = NormalMeanNegativeLogProbLoss(MEAN[:1], targets=Y_REAL[:1]).evaluate()
    mean, targets = np.vstack([MEAN[:1]] * 2), np.vstack([Y_REAL[:1]] * 2)
    two = NormalMeanNegativeLogProbLoss(mean, targets=targets)
    assert np.isclose(two.evaluate(), 2 * one)


def test_seeds():
    loss = MultiBernoulliNegativeLogProbLoss(MEAN, seed=11)
    np.testing.assert_array_equal(loss.sample(3), loss.sample(3))
    assert loss.evaluate_on_sample() == loss.evaluate_on_sample()
    assert loss.evaluate_on_sample() == loss._evaluate(loss.sample(11))
    generator = np.random.default_rng(0)
    assert loss.sample(generator).shape == MEAN.shape
    glm_loss = GLMNegativeLogProbLoss(np.zeros(50), glm.Poisson(), seed=1)
    assert glm_loss.evaluate_on_sample() == glm_loss.evaluate_on_sample(1)


def test_float32_is_kept():
    x = MEAN.astype(np.float32)
    assert NormalMeanNegativeLogProbLoss(x).multiply_fisher(x).dtype == np.float32
    assert CategoricalLogitsNegativeLogProbLoss(x).multiply_fisher_factor(x).dtype == np.float32
    loss = GLMNegativeLogProbLoss(x[0], glm.Poisson(), targets=np.ones(DIM, np.float32))
    assert loss.gradient().dtype == np.float32
    assert loss.fisher_factor_diagonal().dtype == np.float32


def test_glm_weights_and_dispersion_scale_everything():
    family, eta = glm.GammaExp(2), np.linspace(-1, 1, 6)
    y = family.sample(eta, seed=0)
    s, phi = np.linspace(0, 2, 6), 0.8
    plain = GLMNegativeLogProbLoss(eta, family, y)
    weighted = GLMNegativeLogProbLoss(eta, family, y, dispersion=phi, sample_weight=s)
    np.testing.assert_allclose(weighted.gradient(), plain.gradient() * s / phi)
    np.testing.assert_allclose(weighted.fisher_diagonal(), plain.fisher_diagonal() * s / phi)
    np.testing.assert_allclose(weighted.hessian_diagonal(), plain.hessian_diagonal() * s / phi)
    np.testing.assert_array_equal(weighted.multiply_fisher_factor_replicated_one_hot(()),
                                  weighted.fisher_factor_diagonal())  # fmt: skip
    grad_mean = family(eta)[2]
    np.testing.assert_allclose(
        weighted.fisher_factor_diagonal(), grad_mean / np.sqrt(phi * family(eta)[1]) * np.sqrt(s)
    )


def test_fisher_scoring_uses_the_glm_loss():
    # Square-root weights and working response of a Fisher step, against TFP's formulas.
    family = glm.PoissonSoftplus()
    eta0 = np.array([-1.0, 0.2, 0.7, 1.5, 2.0, np.nan])
    y = np.array([0.0, 1.0, 3.0, 2.0, 5.0, 1.0])
    offset, s, r, phi = np.full(6, 0.1), np.array([1.0, 0.5, 0.0, 2.0, 1.0, 1.0]), 0.6, 1.4
    with np.errstate(invalid="ignore"):
        w, z = _working_quantities(family, y, eta0, offset, r, phi, s)
        mu, var, g = family(eta0)
    valid = np.array([True, True, False, True, True, False])  # zero weight, NaN eta
    np.testing.assert_allclose(w[valid], (g / np.sqrt(phi * var) * np.sqrt(s))[valid], rtol=1e-14)
    np.testing.assert_allclose(z[valid], (eta0 - offset + r * (y - mu) / g)[valid], rtol=1e-14)
    assert np.all(w[~valid] == 0) and np.all(z[~valid] == 0)
    # LogNormal steps along TFP's (y - mu) / g, not along its log-normal score.
    family = glm.LogNormal(0.7)
    eta0, y = np.array([0.1, 0.5]), np.array([0.5, 3.0])
    mu, var, g = family(eta0)
    w, z = _working_quantities(family, y, eta0, None, None, None, None)
    np.testing.assert_allclose(z, eta0 + (y - mu) / g, rtol=1e-14)
    np.testing.assert_allclose(w, g / np.sqrt(var), rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
_NAN = np.where(np.eye(BATCH, DIM) == 1, np.nan, MEAN)
BAD_INPUT = {
    "nan mean": lambda: NormalMeanNegativeLogProbLoss(_NAN),
    "1-d mean": lambda: NormalMeanNegativeLogProbLoss(MEAN[0]),
    "target shape": lambda: NormalMeanNegativeLogProbLoss(MEAN, targets=Y_REAL[:2]),
    "nan target": lambda: NormalMeanNegativeLogProbLoss(MEAN, targets=_NAN),
    "zero var": lambda: NormalMeanNegativeLogProbLoss(MEAN, var=0.0),
    "var shape": lambda: NormalMeanNegativeLogProbLoss(MEAN, var=np.ones(DIM + 1)),
    "variance shape": lambda: NormalMeanVarianceNegativeLogProbLoss(MEAN, VARIANCE[:, :2]),
    "negative variance": lambda: NormalMeanVarianceNegativeLogProbLoss(MEAN, -VARIANCE),
    "nan logits": lambda: CategoricalLogitsNegativeLogProbLoss(_NAN),
    "class out of range": lambda: CategoricalLogitsNegativeLogProbLoss(MEAN, [0, 1, DIM]),
    "fractional class": lambda: CategoricalLogitsNegativeLogProbLoss(MEAN, [0, 1.5, 2]),
    "class shape": lambda: CategoricalLogitsNegativeLogProbLoss(MEAN, ONE_HOT),
    "not one-hot": lambda: OnehotCategoricalLogitsNegativeLogProbLoss(MEAN, ONE_HOT * 2),
    "label outside [0,1]": lambda: MultiBernoulliNegativeLogProbLoss(MEAN, Y_BINARY + 1),
    "inf logits": lambda: MultiBernoulliNegativeLogProbLoss(MEAN * np.inf),
    "complex logits": lambda: MultiBernoulliNegativeLogProbLoss(MEAN + 1j),
    "glm nan eta": lambda: GLMNegativeLogProbLoss([0.0, np.nan], glm.Poisson()),
    "glm target shape": lambda: GLMNegativeLogProbLoss(np.zeros(3), glm.Poisson(), np.ones(2)),
    "glm response domain": lambda: GLMNegativeLogProbLoss(np.zeros(2), glm.Poisson(), [1, -1]),
    "glm eta domain": lambda: GLMNegativeLogProbLoss([-1.0], glm.NormalReciprocal()),
    "glm negative weight": lambda: GLMNegativeLogProbLoss([0.0], glm.Poisson(), sample_weight=-1),
    "glm zero dispersion": lambda: GLMNegativeLogProbLoss([0.0], glm.Poisson(), dispersion=0),
    "glm weight shape": lambda: GLMNegativeLogProbLoss(np.zeros(3), glm.Poisson(),
                                                       sample_weight=np.ones(2)),
    "glm not a family": lambda: GLMNegativeLogProbLoss([0.0], "poisson"),
    "no targets": lambda: NormalMeanNegativeLogProbLoss(MEAN).evaluate(),
    "no targets gradient": lambda: GLMNegativeLogProbLoss([0.0], glm.Poisson()).gradient(),
    "vector shape": lambda: NormalMeanNegativeLogProbLoss(MEAN).multiply_fisher(MEAN[:2]),
    "factor shape": lambda: CategoricalLogitsNegativeLogProbLoss(MEAN).multiply_fisher_factor(
        MEAN.T),
    "pair": lambda: NormalMeanVarianceNegativeLogProbLoss(MEAN, VARIANCE).multiply_fisher(MEAN),
    "inner shape": lambda: NormalMeanVarianceNegativeLogProbLoss(
        MEAN, VARIANCE).multiply_fisher_factor(MEAN),
    "index range": lambda: MultiBernoulliNegativeLogProbLoss(
        MEAN).multiply_fisher_factor_replicated_one_hot((DIM,)),
    "index length": lambda: CategoricalLogitsNegativeLogProbLoss(
        MEAN).multiply_fisher_factor_replicated_one_hot((0, 1)),
    "glm index": lambda: GLMNegativeLogProbLoss(
        [0.0], glm.Poisson()).multiply_fisher_factor_replicated_one_hot((1,)),
    "glm vector shape": lambda: GLMNegativeLogProbLoss(
        np.zeros(3), glm.Poisson()).multiply_fisher(np.ones(2)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_raises_value_error(case):
    with pytest.raises(ValueError):
        BAD_INPUT[case]()


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda x: NormalMeanNegativeLogProbLoss(x, var=0.7, targets=Y_REAL),
        lambda x: CategoricalLogitsNegativeLogProbLoss(x, targets=CLASSES),
        lambda x: MultiBernoulliNegativeLogProbLoss(x, targets=Y_BINARY),
        lambda x: GLMNegativeLogProbLoss(x[:, 0], glm.Poisson(), targets=np.array([0.0, 2, 1])),
        lambda x: GLMNegativeLogProbLoss(x[:, 0], glm.Gamma(2.0, "log"), targets=np.ones(3)),
    ],
    ids=["normal", "categorical", "multi_bernoulli", "glm_poisson", "glm_gamma_log"],
)
def test_value_and_gradients_function_agrees_with_each_loss_gradient(make_loss):
    """The library's differentiation utility and the losses' closed-form gradients agree."""
    from skglm_fisher.gradients import value_and_gradients_function

    x = MEAN.copy()
    loss = make_loss(x)
    # Losses refuse complex inputs, so complex step does not apply: central differences.
    evaluate = lambda z: make_loss(z).evaluate()  # noqa: E731
    differentiate = value_and_gradients_function(evaluate, method="central")
    value, (grad,) = differentiate(x)
    assert value == pytest.approx(loss.evaluate(), rel=1e-12)
    expected = np.zeros_like(x)
    closed_form = loss.gradient()
    expected[:, : np.shape(closed_form)[-1] if closed_form.ndim > 1 else 1] = (
        closed_form if closed_form.ndim > 1 else closed_form[:, None]
    )
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)
