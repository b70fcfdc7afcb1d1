"""Families and links against scipy.stats distributions, closed forms and finite differences."""

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.metrics import mean_tweedie_deviance

from skglm_fisher import glm


def _scipy(family, mu):
    """The scipy.stats distribution with mean ``mu`` that ``family`` describes."""
    name = type(family).__name__
    if name in ("Normal", "NormalReciprocal"):
        return stats.norm(mu, family.scale)
    if name in ("Poisson", "PoissonSoftplus"):
        return stats.poisson(mu)
    if name in ("Bernoulli", "BernoulliNormalCDF"):
        return stats.bernoulli(mu)
    if name == "Binomial":
        return stats.binom(family.total_count, mu / family.total_count)
    if name in ("Gamma", "GammaExp", "GammaSoftplus"):
        return stats.gamma(family.concentration, scale=mu / family.concentration)
    if name in ("LogNormal", "LogNormalSoftplus"):
        return stats.lognorm(family.scale, scale=np.exp(np.log(mu) - family.scale**2 / 2))
    if name in ("NegativeBinomial", "NegativeBinomialSoftplus"):
        r = family.total_count
        return stats.nbinom(r, r / (r + mu))
    if name == "InverseGaussian":
        return stats.invgauss(mu / family.shape, scale=family.shape)
    raise AssertionError(name)


# (family, eta grid): every TFP family and the R/sklearn families with each of their links.
CASES = [
    (glm.Bernoulli(), np.linspace(-3, 3, 7)),
    (glm.Bernoulli("probit"), np.linspace(-2, 2, 7)),
    (glm.Bernoulli("cloglog"), np.linspace(-2, 1, 7)),
    (glm.Bernoulli("log"), np.linspace(-3, -0.2, 7)),
    (glm.BernoulliNormalCDF(), np.linspace(-2, 2, 7)),
    (glm.Binomial(5.0), np.linspace(-2, 2, 7)),
    (glm.Binomial(4.0, "probit"), np.linspace(-2, 2, 7)),
    (glm.Binomial(4.0, "cloglog"), np.linspace(-2, 1, 7)),
    (glm.GammaExp(2.0), np.linspace(-2, 2, 7)),
    (glm.GammaSoftplus(2.0), np.linspace(-2, 2, 7)),
    (glm.Gamma(1.5), np.linspace(0.3, 3, 7)),
    (glm.Gamma(2.0, "log"), np.linspace(-2, 2, 7)),
    (glm.Gamma(2.0, "identity"), np.linspace(0.3, 3, 7)),
    (glm.InverseGaussian(2.0), np.linspace(0.3, 3, 7)),
    (glm.InverseGaussian(2.0, "log"), np.linspace(-1, 1, 7)),
    (glm.InverseGaussian(2.0, "identity"), np.linspace(0.3, 3, 7)),
    (glm.LogNormal(0.7), np.linspace(-2, 2, 7)),
    (glm.LogNormalSoftplus(0.7), np.linspace(-2, 2, 7)),
    (glm.NegativeBinomial(3.0), np.linspace(-2, 2, 7)),
    (glm.NegativeBinomialSoftplus(3.0), np.linspace(-2, 2, 7)),
    (glm.Normal(1.3), np.linspace(-2, 2, 7)),
    (glm.Normal(1.3, "log"), np.linspace(-2, 2, 7)),
    (glm.Normal(1.3, "inverse"), np.linspace(0.3, 3, 7)),
    (glm.NormalReciprocal(1.3), np.linspace(0.3, 2, 7)),
    (glm.Poisson(), np.linspace(-2, 2, 7)),
    (glm.Poisson("identity"), np.linspace(0.3, 5, 7)),
    (glm.Poisson("sqrt"), np.linspace(0.3, 3, 7)),
    (glm.PoissonSoftplus(), np.linspace(-2, 2, 7)),
]
IDS = [repr(f) for f, _ in CASES]


@pytest.mark.parametrize(("family", "eta"), CASES, ids=IDS)
def test_moments_match_scipy(family, eta):
    mean, variance, _ = family(eta)
    dist = _scipy(family, mean)
    np.testing.assert_allclose(mean, dist.mean(), rtol=1e-12)
    np.testing.assert_allclose(variance, dist.var(), rtol=1e-10)


@pytest.mark.parametrize(("family", "eta"), CASES, ids=IDS)
def test_log_prob_matches_scipy(family, eta):
    mean = family.mean(eta)
    dist = _scipy(family, mean)
    y = family.sample(eta, seed=1)
    expected = dist.logpmf(y) if hasattr(dist.dist, "pmf") else dist.logpdf(y)
    np.testing.assert_allclose(family.log_prob(y, eta), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("family", "eta"), CASES, ids=IDS)
def test_grad_mean_and_score_match_finite_differences(family, eta):
    h = 1e-6
    _, _, grad_mean = family(eta)
    fd = (family.mean(eta + h) - family.mean(eta - h)) / (2 * h)
    np.testing.assert_allclose(grad_mean, fd, rtol=1e-7, atol=1e-10)
    y = family.sample(eta, seed=2)
    fd_score = (family.log_prob(y, eta + h) - family.log_prob(y, eta - h)) / (2 * h)
    np.testing.assert_allclose(family.score(y, eta), fd_score, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("family", "eta"), CASES, ids=IDS)
def test_unit_deviance_is_twice_log_likelihood_ratio(family, eta):
    mean = family.mean(eta)
    y = family.sample(eta, seed=3)
    dist_at_mean = _scipy(family, mean)
    is_discrete = hasattr(dist_at_mean.dist, "pmf")
    log_density = "logpmf" if is_discrete else "logpdf"
    saturated = getattr(_scipy(family, y), log_density)(y)
    if isinstance(family, glm.LogNormal):
        # The log-normal likelihood peaks where log y is the location, at m = y·exp(s²/2).
        saturated = _scipy(family, y * np.exp(family.scale**2 / 2)).logpdf(y)
    expected = 2 * (saturated - getattr(dist_at_mean, log_density)(y))
    deviance = family.unit_deviance(y, mean)
    np.testing.assert_allclose(deviance, expected, rtol=1e-7, atol=1e-9)
    assert np.all(deviance >= -1e-12)
    peak = mean * np.exp(family.scale**2 / 2) if isinstance(family, glm.LogNormal) else mean
    np.testing.assert_allclose(family.unit_deviance(mean, peak), 0.0, atol=1e-12)


@pytest.mark.parametrize(("family", "eta"), CASES, ids=IDS)
def test_samples_have_the_family_moments(family, eta):
    eta = eta[[1, 5]]
    mean, variance, _ = family(eta)
    draws = family.sample(eta, seed=4, sample_shape=40_000)
    assert draws.shape == (40_000, 2)
    family.check_response(draws)
    np.testing.assert_allclose(draws.mean(axis=0), mean, rtol=0.05, atol=0.02)
    np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.12, atol=0.02)


@pytest.mark.parametrize(
    ("family", "bad"),
    [
        (glm.Poisson(), [1.0, -1.0]),
        (glm.Bernoulli(), [0.0, 1.5]),
        (glm.Binomial(3.0), [4.0]),
        (glm.Gamma(), [0.0, 1.0]),
        (glm.InverseGaussian(), [-1.0]),
        (glm.LogNormal(1.0), [0.0]),
        (glm.NegativeBinomial(2.0), [-0.5]),
        (glm.Tweedie(1.5), [-1.0]),
        (glm.Tweedie(3.0), [0.0]),
        (glm.Normal(), [np.nan]),
        (glm.Normal(), [np.inf]),
    ],
)
def test_response_outside_domain_raises(family, bad):
    with pytest.raises(ValueError, match="response y"):
        family.check_response(np.asarray(bad))


def test_response_inside_domain_passes():
    glm.Poisson().check_response([0.0, 3.0])
    glm.Bernoulli().check_response([0.0, 0.3, 1.0])  # proportions are allowed
    glm.Tweedie(1.5).check_response([0.0, 2.5])
    glm.Tweedie(0.0).check_response([-2.0, 2.5])


@pytest.mark.parametrize("power", [0.0, 1.0, 1.5, 2.0, 2.5, 3.0])
def test_tweedie_deviance_matches_sklearn(power):
    rng = np.random.default_rng(0)
    mu = rng.uniform(0.5, 3.0, 50)
    y = rng.uniform(0.1, 4.0, 50)
    if power < 2:
        y[:5] = 0.0
    ours = glm.Tweedie(power).unit_deviance(y, mu).mean()
    assert ours == pytest.approx(mean_tweedie_deviance(y, mu, power=power), rel=1e-12)


@pytest.mark.parametrize(
    ("mu", "phi", "power"), [(1.0, 1.0, 1.5), (2.5, 0.7, 1.2), (0.6, 2.0, 1.8)]
)
def test_tweedie_compound_poisson_density_is_a_distribution(mu, phi, power):
    family = glm.Tweedie(power, link="identity", dispersion=phi)
    eta = np.array([mu])
    point_mass = np.exp(family.log_prob(np.array([0.0]), eta))[0]
    density = lambda y: np.exp(family.log_prob(np.array([y]), eta))[0]  # noqa: E731
    mass, _ = integrate.quad(density, 0, np.inf, limit=200)
    first, _ = integrate.quad(lambda y: y * density(y), 0, np.inf, limit=200)
    second, _ = integrate.quad(lambda y: (y - mu) ** 2 * density(y), 0, np.inf, limit=200)
    assert point_mass + mass == pytest.approx(1.0, abs=1e-6)
    assert first == pytest.approx(mu, rel=1e-6)
    assert second + point_mass * mu**2 == pytest.approx(phi * mu**power, rel=1e-5)


@pytest.mark.parametrize("power", [0.0, 1.5, 2.0, 3.0])
def test_tweedie_special_powers_agree_with_named_families(power):
    mu = np.array([0.5, 1.0, 2.0])
    y = np.array([0.7, 1.4, 1.9])
    tweedie = glm.Tweedie(power, link="identity")
    named = {0.0: glm.Normal(1.0), 2.0: glm.Gamma(1.0, "identity"),
             3.0: glm.InverseGaussian(1.0, "identity")}.get(power)  # fmt: skip
    if named is None:  # 1.5: the series against its moments is tested above
        samples = tweedie.sample(np.array([1.0]), seed=0, sample_shape=50_000)
        assert samples.mean() == pytest.approx(1.0, rel=0.03)
        return
    np.testing.assert_allclose(tweedie.unit_deviance(y, mu), named.unit_deviance(y, mu))
    np.testing.assert_allclose(tweedie.log_prob(y, mu), named.log_prob(y, mu), rtol=1e-10)


def test_tweedie_invalid_power():
    with pytest.raises(ValueError, match="power"):
        glm.Tweedie(0.5)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: glm.Normal(scale=-1.0), "scale"),
        (lambda: glm.Binomial(total_count=0.0), "total_count"),
        (lambda: glm.GammaExp(concentration=np.nan), "concentration"),
        (lambda: glm.Poisson(link="logit"), "does not support"),
        (lambda: glm.Gamma(link="nope"), "Unknown link"),
    ],
)
def test_invalid_family_parameters(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_canonical_links_and_constant_fisher_weights():
    assert glm.Bernoulli().is_canonical and glm.Poisson().is_canonical
    assert glm.Gamma().is_canonical and not glm.GammaExp(2.0).is_canonical
    assert not glm.Poisson("sqrt").is_canonical
    assert glm.Tweedie(2.0, link="inverse").is_canonical
    eta = np.linspace(-2, 2, 5)
    for family in (glm.Normal(2.0), glm.Gamma(3.0, "log"), glm.GammaExp(2.0), glm.LogNormal(0.5)):
        assert family.fisher_weights_are_constant
        weights = family.fisher_weights(eta)
        np.testing.assert_allclose(weights, weights[0], rtol=1e-12)
    assert not glm.Poisson().fisher_weights_are_constant


def test_custom_family_matches_builtin_poisson():
    custom = glm.CustomExponentialFamily(lambda mean: stats.poisson(mean), np.exp)
    eta = np.linspace(-1, 2, 6)
    y = np.array([0.0, 1.0, 2.0, 1.0, 5.0, 7.0])
    for ours, ref in zip(custom(eta), glm.Poisson()(eta), strict=True):
        np.testing.assert_allclose(ours, ref, rtol=1e-12)
    np.testing.assert_allclose(custom.log_prob(y, eta), glm.Poisson().log_prob(y, eta), rtol=1e-12)
    np.testing.assert_allclose(custom.score(y, eta), glm.Poisson().score(y, eta), rtol=1e-6)
    X = np.column_stack([np.ones(6), eta])
    coef_custom = glm.fit(X, y, custom)[0]
    np.testing.assert_allclose(coef_custom, glm.fit(X, y, glm.Poisson())[0], rtol=1e-10)


LINKS = [
    (glm.IdentityLink(), np.linspace(-2, 2, 5)),
    (glm.LogLink(), np.linspace(0.2, 3, 5)),
    (glm.LogitLink(), np.linspace(0.05, 0.95, 5)),
    (glm.ProbitLink(), np.linspace(0.05, 0.95, 5)),
    (glm.CloglogLink(), np.linspace(0.05, 0.95, 5)),
    (glm.InverseLink(), np.linspace(0.2, 3, 5)),
    (glm.InverseSquaredLink(), np.linspace(0.2, 3, 5)),
    (glm.SqrtLink(), np.linspace(0.2, 3, 5)),
    (glm.SoftplusLink(), np.linspace(0.2, 30, 5)),
    (glm.PowerLink(0.5), np.linspace(0.2, 3, 5)),
    (glm.PowerLink(-1.0), np.linspace(0.2, 3, 5)),
    (glm.PowerLink(0.0), np.linspace(0.2, 3, 5)),
]


@pytest.mark.parametrize(("link", "mu"), LINKS, ids=[repr(lk) for lk, _ in LINKS])
def test_link_inverse_and_derivatives(link, mu):
    eta = link.link(mu)
    assert np.all(link.valid_eta(eta))
    np.testing.assert_allclose(link.inverse(eta), mu, rtol=1e-12)
    h = 1e-5
    first = (link.inverse(eta + h) - link.inverse(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.inverse_derivative(eta), first, rtol=1e-7)
    second = (link.inverse_derivative(eta + h) - link.inverse_derivative(eta - h)) / (2 * h)
    np.testing.assert_allclose(link.inverse_second_derivative(eta), second, rtol=1e-6, atol=1e-9)


def test_links_are_stable_at_extremes():
    eta = np.array([-800.0, 800.0])
    with np.errstate(over="raise", invalid="raise"):
        assert np.all(np.isfinite(glm.SoftplusLink().inverse(eta)))
        assert np.all(np.isfinite(glm.LogitLink().inverse(eta)))
    assert glm.Bernoulli().log_prob(np.array([1.0]), np.array([-800.0]))[0] == pytest.approx(-800.0)


def test_get_link():
    assert glm.get_link("cloglog") == glm.CloglogLink()
    assert glm.get_link(glm.PowerLink(2.0)) == glm.PowerLink(2.0)
    with pytest.raises(ValueError, match="Unknown link"):
        glm.get_link("banana")


@pytest.mark.parametrize(("family", "eta"), CASES + [(glm.Tweedie(1.5), np.linspace(-1, 1, 5)),
                                                     (glm.Tweedie(3.0, "identity"), np.ones(3))],
                         ids=IDS + ["Tweedie(1.5)", "Tweedie(3)"])  # fmt: skip
def test_variance_derivative_matches_finite_differences(family, eta):
    mu = family.mean(eta)
    h = 1e-6 * np.maximum(np.abs(mu), 1e-3)
    fd = (family.variance(mu + h) - family.variance(mu - h)) / (2 * h)
    np.testing.assert_allclose(family.variance_derivative(mu), fd, rtol=1e-7, atol=1e-9)
    assert family.has_quasi_score == (not isinstance(family, glm.LogNormal))
