"""A family built from a user's scipy.stats distribution and numpy mean function (TFP's)."""

from __future__ import annotations

import numpy as np

from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._links import Link

__all__ = ["CustomExponentialFamily"]


class CustomExponentialFamily(ExponentialFamily):
    """A family from a user's distribution and mean function, like TFP's.

    Parameters
    ----------
    distribution_fn : callable
        ``distribution_fn(mean)`` returns a frozen :mod:`scipy.stats` distribution (it must provide
        ``var()``, ``logpdf`` or ``logpmf``, and ``rvs``).
    linear_model_to_mean_fn : callable
        Elementwise map from ``eta`` to the mean, written in numpy. Its derivative (``grad_mean``)
        is obtained by :func:`skglm_fisher.gradients.value_and_gradients_function`.
    is_reparameterized : bool, optional
        Kept for TFP compatibility; recorded only.
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> family = CustomExponentialFamily(lambda mean: stats.poisson(mean), np.exp)
    >>> mean, variance, grad_mean = family(np.array([0.0, 1.0]))
    >>> np.allclose(grad_mean, np.exp([0.0, 1.0]))
    True
    """

    name = "Custom"

    def __init__(
        self, distribution_fn, linear_model_to_mean_fn, is_reparameterized=None, name=None
    ):
        self.distribution_fn = distribution_fn
        self.linear_model_to_mean_fn = linear_model_to_mean_fn
        self.is_reparameterized = is_reparameterized
        if name is not None:
            self.name = name
        self.link = _CallableLink(linear_model_to_mean_fn)
        self.mean_scale = 1.0

    def variance(self, mu):
        return np.asarray(self.distribution_fn(mu).var(), dtype=float)

    def _log_prob(self, y, mu):
        dist = self.distribution_fn(mu)
        logp = getattr(dist, "logpmf", None) or dist.logpdf
        return logp(y)

    def unit_deviance(self, y, mu):
        return 2.0 * (self._log_prob(y, y) - self._log_prob(y, mu))

    def score(self, y, eta):
        # scipy's log-densities do not propagate complex numbers: central differences.
        eta = np.asarray(eta, dtype=float)
        h = 1e-6 * np.maximum(1.0, np.abs(eta))
        return (self.log_prob(y, eta + h) - self.log_prob(y, eta - h)) / (2.0 * h)

    def _sample(self, mu, rng, size):
        return np.asarray(self.distribution_fn(mu).rvs(size=size, random_state=rng), dtype=float)

    def check_response(self, y):
        y = np.asarray(y)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"The response y of the {self.name} family contains NaN or infinity.")


class _CallableLink(Link):
    """Inverse link given as a user's numpy function; derivatives by complex-step."""

    name = "custom"

    def __init__(self, inverse_fn):
        self.inverse_fn = inverse_fn

    def inverse(self, eta):
        return np.asarray(self.inverse_fn(eta))

    def inverse_derivative(self, eta):
        from skglm_fisher.gradients import value_and_gradients_function

        # The mean function acts elementwise: one complex-step evaluation gives every derivative.
        differentiate = value_and_gradients_function(self.inverse_fn, elementwise=True)
        _, (grad,) = differentiate(np.asarray(eta, dtype=float))
        return np.asarray(grad)

    def link(self, mu):
        raise NotImplementedError("A custom family has no closed-form link; pass eta directly.")
