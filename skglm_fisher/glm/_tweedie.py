"""The Tweedie family: variance ``dispersion · mu^power``, including the compound Poisson-gamma."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from skglm_fisher.glm._families import ExponentialFamily, _check_positive_parameter

__all__ = ["Tweedie"]


class Tweedie(ExponentialFamily):
    """Tweedie response with variance ``dispersion · mu^power``.

    ``power`` 0 is Normal, 1 Poisson, 2 Gamma, 3 inverse Gaussian, and 1 < power < 2 the compound
    Poisson-gamma distribution (a point mass at zero plus a continuous part), as in scikit-learn's
    ``TweedieRegressor``. Powers in (0, 1) do not define a distribution.

    Parameters
    ----------
    power : float, default=1.5
    link : {'log', 'identity'} or Link, default='log'
    dispersion : float, default=1.0

    Examples
    --------
    >>> import numpy as np
    >>> Tweedie(1.5).unit_deviance(np.array([1.0]), np.array([1.0]))
    array([0.])
    """

    name = "Tweedie"

    def __init__(self, power=1.5, link="log", dispersion=1.0):
        power = float(power)
        if 0 < power < 1 or not np.isfinite(power):
            raise ValueError(f"Tweedie power must be <= 0 or >= 1; got {power!r}.")
        self.power = power
        self.dispersion = _check_positive_parameter(dispersion, "dispersion")
        super().__init__(link)

    @property
    def canonical_link(self):
        if self.power == 1:
            return "log"
        return {0.0: "identity", 2.0: "inverse", 3.0: "inverse_squared"}.get(self.power)

    @property
    def has_free_dispersion(self):
        return self.power != 1

    def _bounds(self):
        if self.power <= 0:
            return (-np.inf, False, np.inf, False)
        if self.power < 2:
            return (0.0, True, np.inf, False)
        return (0.0, False, np.inf, False)

    def starting_mean(self, y, sample_weight=None):
        y = np.asarray(y, dtype=float)
        return y + 0.1 * (y == 0) if self.power > 0 else y.copy()  # statmod's tweedie()

    def variance(self, mu):
        return self.dispersion * np.power(mu, self.power)

    def variance_derivative(self, mu):
        return self.dispersion * self.power * np.power(mu, self.power - 1.0)

    def unit_deviance(self, y, mu):
        p = self.power
        if p == 0:
            dev = np.square(y - mu)
        elif p == 1:
            dev = 2.0 * (special.xlogy(y, y / mu) - y + mu)
        elif p == 2:
            dev = 2.0 * (np.log(mu / y) + y / mu - 1.0)
        else:
            term = np.power(np.maximum(y, 0), 2 - p) / ((1 - p) * (2 - p))
            dev = 2.0 * (term - y * np.power(mu, 1 - p) / (1 - p) + np.power(mu, 2 - p) / (2 - p))
        return dev / self.dispersion

    def _log_prob(self, y, mu):
        p, phi = self.power, self.dispersion
        if p == 0:
            return stats.norm.logpdf(y, mu, np.sqrt(phi))
        if p == 1 and phi == 1:
            return special.xlogy(y, mu) - mu - special.gammaln(y + 1.0)
        if p == 2:
            return stats.gamma.logpdf(y, 1.0 / phi, scale=mu * phi)
        if p == 3:
            return stats.invgauss.logpdf(y, mu * phi, scale=1.0 / phi)
        if 1 < p < 2:
            return _compound_poisson_gamma_logpdf(y, mu, phi, p)
        raise NotImplementedError(f"Tweedie log_prob has no closed form for power={p}.")

    def _weighted_log_likelihood(self, y, mu, s, phi):
        """The density at dispersion ``self.dispersion · phi / s`` (NaN for other powers)."""
        p = self.power
        scale = self.dispersion * phi / s
        if p == 0:
            return -0.5 * (np.square(y - mu) / scale + np.log(2 * np.pi * scale))
        if p == 1:
            return (special.xlogy(y, mu) - mu - special.gammaln(y + 1)) / scale
        if p == 2:
            return stats.gamma.logpdf(y, 1 / scale, scale=mu * scale)
        if p == 3:
            return stats.invgauss.logpdf(y, mu * scale, scale=1 / scale)
        if 1 < p < 2:
            out = np.empty_like(y)
            # The series takes one dispersion at a time: group rows by weight.
            values, inverse = np.unique(scale, return_inverse=True)
            for i, value in enumerate(values):
                rows = inverse == i
                out[rows] = _compound_poisson_gamma_logpdf(y[rows], mu[rows], value, p)
            return out
        return np.full_like(y, np.nan)

    def _sample(self, mu, rng, size):
        p, phi = self.power, self.dispersion
        if p == 0:
            return rng.normal(mu, np.sqrt(phi), size)
        if p == 2:
            return rng.gamma(1.0 / phi, mu * phi, size)
        if p == 3:
            return rng.wald(mu, 1.0 / phi, size)
        if 1 < p < 2:
            # Sum of N ~ Poisson(lam) gamma(alpha, gamma) variables (Jorgensen's construction).
            lam = np.power(mu, 2 - p) / (phi * (2 - p))
            alpha = (2 - p) / (p - 1)
            scale = phi * (p - 1) * np.power(mu, p - 1)
            counts = rng.poisson(lam, size)
            out = np.zeros(size)
            positive = counts > 0
            scale = np.broadcast_to(scale, size)[positive]
            out[positive] = rng.gamma(alpha * counts[positive], scale)
            return out
        raise NotImplementedError(f"Tweedie sampling is not implemented for power={p}.")


def _compound_poisson_gamma_logpdf(y, mu, phi, p, n_terms=None):
    """Log-density of the Tweedie distribution for 1 < p < 2 by the Dunn & Smyth (2005) series.

    ``y = 0`` has probability ``exp(-kappa/phi)``; for ``y > 0`` the density is
    ``exp((y·theta - kappa)/phi) / y · sum_j W_j``, ``W_j = z^j / (j! · Gamma(-j·alpha))``,
    with ``alpha = (2-p)/(1-p)`` and ``theta``, ``kappa`` the canonical parameter and cumulant.
    The series is summed in log space over enough terms around its largest one.
    """
    y, mu = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(mu, dtype=float))
    alpha = (2.0 - p) / (1.0 - p)  # negative
    theta = np.power(mu, 1.0 - p) / (1.0 - p)
    kappa = np.power(mu, 2.0 - p) / (2.0 - p)
    out = np.where(y == 0, -kappa / phi, 0.0)
    pos = y > 0
    if np.any(pos):
        yp = y[pos]
        # log W_j = j·log z - lgamma(j+1) - lgamma(-j·alpha), with
        # log z = -alpha·log y + alpha·log(p-1) - (1-alpha)·log(phi) - log(2-p).
        log_z = -alpha * np.log(yp) + alpha * np.log(p - 1.0) - (1 - alpha) * np.log(phi)
        log_z -= np.log(2.0 - p)
        j_max = np.maximum(1.0, np.power(yp, 2.0 - p) / (phi * (2.0 - p)))
        span = n_terms or int(np.ceil(10 + 10 * np.sqrt(np.max(j_max))))
        j = np.arange(1, int(np.max(j_max)) + span + 1, dtype=float)[:, None]
        log_w = j * log_z - special.gammaln(j + 1.0) - special.gammaln(-j * alpha)
        log_series = special.logsumexp(log_w, axis=0)
        out[pos] = log_series - np.log(yp) + (yp * theta[pos] - kappa[pos]) / phi
    return out
