"""Link functions: the map between the mean ``mu`` and the linear predictor ``eta``.

Conventions
-----------
A link ``g`` maps the mean to the linear predictor, ``eta = g(mu)``; its inverse maps back,
``mu = g^{-1}(eta)``. Every link provides

- ``link(mu)`` and ``inverse(eta)``,
- ``inverse_derivative(eta)`` = d mu / d eta (TFP's ``grad_mean``),
- ``inverse_second_derivative(eta)`` = d² mu / d eta², used by the observed-information step,
- ``valid_eta(eta)``: where the inverse is a valid mean (for instance ``eta > 0`` for ``1/eta``);
- ``inverse_range``: the ``(low, high)`` bounds of the inverse over the valid ``eta`` (a fitted
  mean numerically at a finite bound means the likelihood is maximised at infinity).

Links act elementwise on numpy arrays of any shape and keep their dtype.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from skglm_fisher._logistic import sigmoid, softplus

__all__ = [
    "Link",
    "IdentityLink",
    "LogLink",
    "LogitLink",
    "ProbitLink",
    "CloglogLink",
    "InverseLink",
    "InverseSquaredLink",
    "SqrtLink",
    "SoftplusLink",
    "PowerLink",
    "get_link",
]


class Link:
    """Base class of link functions; see the module docstring for the conventions."""

    name = "link"
    inverse_range = (-np.inf, np.inf)

    def link(self, mu):
        raise NotImplementedError

    def inverse(self, eta):
        raise NotImplementedError

    def inverse_derivative(self, eta):
        raise NotImplementedError

    def inverse_second_derivative(self, eta):
        raise NotImplementedError

    def valid_eta(self, eta):
        """Boolean mask of the ``eta`` whose inverse is a valid mean."""
        return np.isfinite(eta)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(vars(self).items()))))


class IdentityLink(Link):
    """``eta = mu``."""

    name = "identity"

    def link(self, mu):
        return np.asarray(mu)

    def inverse(self, eta):
        return np.asarray(eta)

    def inverse_derivative(self, eta):
        return np.ones_like(eta)

    def inverse_second_derivative(self, eta):
        return np.zeros_like(eta)


class LogLink(Link):
    """``eta = log(mu)``."""

    name = "log"
    inverse_range = (0.0, np.inf)

    def link(self, mu):
        return np.log(mu)

    def inverse(self, eta):
        return np.exp(eta)

    def inverse_derivative(self, eta):
        return np.exp(eta)

    def inverse_second_derivative(self, eta):
        return np.exp(eta)


class LogitLink(Link):
    """``eta = log(mu / (1 - mu))``; the inverse is the logistic sigmoid."""

    name = "logit"
    inverse_range = (0.0, 1.0)

    def link(self, mu):
        return special.logit(mu)

    def inverse(self, eta):
        return sigmoid(eta)

    def inverse_derivative(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)

    def inverse_second_derivative(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p) * (1.0 - 2.0 * p)


class ProbitLink(Link):
    """``eta = Phi^{-1}(mu)``, the standard normal quantile."""

    name = "probit"
    inverse_range = (0.0, 1.0)

    def link(self, mu):
        return special.ndtri(mu)

    def inverse(self, eta):
        return special.ndtr(eta)

    def inverse_derivative(self, eta):
        return np.exp(-0.5 * np.square(eta)) / np.sqrt(2.0 * np.pi)

    def inverse_second_derivative(self, eta):
        return -eta * self.inverse_derivative(eta)


class CloglogLink(Link):
    """``eta = log(-log(1 - mu))``, the complementary log-log link."""

    name = "cloglog"
    inverse_range = (0.0, 1.0)

    def link(self, mu):
        return np.log(-np.log1p(-mu))

    def inverse(self, eta):
        return -np.expm1(-np.exp(eta))

    def inverse_derivative(self, eta):
        return np.exp(eta - np.exp(eta))

    def inverse_second_derivative(self, eta):
        return np.exp(eta - np.exp(eta)) * (1.0 - np.exp(eta))


class InverseLink(Link):
    """``eta = 1 / mu``, canonical for the Gamma distribution."""

    name = "inverse"
    inverse_range = (0.0, np.inf)

    def link(self, mu):
        return 1.0 / mu

    def inverse(self, eta):
        return 1.0 / eta

    def inverse_derivative(self, eta):
        return -1.0 / np.square(eta)

    def inverse_second_derivative(self, eta):
        return 2.0 / eta**3

    def valid_eta(self, eta):
        return np.isfinite(eta) & (eta > 0)


class InverseSquaredLink(Link):
    """``eta = 1 / mu²``, canonical for the inverse Gaussian distribution."""

    name = "inverse_squared"
    inverse_range = (0.0, np.inf)

    def link(self, mu):
        return 1.0 / np.square(mu)

    def inverse(self, eta):
        return 1.0 / np.sqrt(eta)

    def inverse_derivative(self, eta):
        return -0.5 * eta**-1.5

    def inverse_second_derivative(self, eta):
        return 0.75 * eta**-2.5

    def valid_eta(self, eta):
        return np.isfinite(eta) & (eta > 0)


class SqrtLink(Link):
    """``eta = sqrt(mu)``."""

    name = "sqrt"
    inverse_range = (0.0, np.inf)

    def link(self, mu):
        return np.sqrt(mu)

    def inverse(self, eta):
        return np.square(eta)

    def inverse_derivative(self, eta):
        return 2.0 * np.asarray(eta)

    def inverse_second_derivative(self, eta):
        return np.full_like(eta, 2.0)

    def valid_eta(self, eta):
        return np.isfinite(eta) & (eta >= 0)


class SoftplusLink(Link):
    """``mu = log(1 + exp(eta))``; TFP's ``*Softplus`` families use it."""

    name = "softplus"
    inverse_range = (0.0, np.inf)

    def link(self, mu):
        # log(exp(mu) - 1) = mu + log(1 - exp(-mu)), stable for large mu.
        mu = np.asarray(mu)
        return mu + np.log(-np.expm1(-mu))

    def inverse(self, eta):
        return softplus(eta)

    def inverse_derivative(self, eta):
        return sigmoid(eta)

    def inverse_second_derivative(self, eta):
        p = sigmoid(eta)
        return p * (1.0 - p)


class PowerLink(Link):
    """``eta = mu ** power``; ``power = 0`` is the log link.

    Parameters
    ----------
    power : float
        Exponent of the link.

    Examples
    --------
    >>> import numpy as np
    >>> PowerLink(0.5).inverse(np.array([2.0]))
    array([4.])
    """

    name = "power"

    inverse_range = (0.0, np.inf)

    def __init__(self, power: float):
        self.power = float(power)

    def __repr__(self):
        return f"PowerLink(power={self.power!r})"

    def link(self, mu):
        if self.power == 0:
            return np.log(mu)
        return np.power(mu, self.power)

    def inverse(self, eta):
        if self.power == 0:
            return np.exp(eta)
        return np.power(eta, 1.0 / self.power)

    def inverse_derivative(self, eta):
        if self.power == 0:
            return np.exp(eta)
        return np.power(eta, 1.0 / self.power - 1.0) / self.power

    def inverse_second_derivative(self, eta):
        if self.power == 0:
            return np.exp(eta)
        k = 1.0 / self.power
        return k * (k - 1.0) * np.power(eta, k - 2.0)

    def valid_eta(self, eta):
        if self.power == 0:
            return np.isfinite(eta)
        return np.isfinite(eta) & (eta > 0)


_LINKS = {
    cls.name: cls
    for cls in (
        IdentityLink,
        LogLink,
        LogitLink,
        ProbitLink,
        CloglogLink,
        InverseLink,
        InverseSquaredLink,
        SqrtLink,
        SoftplusLink,
    )
}


def get_link(link) -> Link:
    """Return a :class:`Link` from a name (``'log'``, ``'logit'``, ...) or a :class:`Link`.

    Examples
    --------
    >>> get_link("log")
    LogLink()
    """
    if isinstance(link, Link):
        return link
    if isinstance(link, str) and link in _LINKS:
        return _LINKS[link]()
    raise ValueError(f"Unknown link {link!r}; expected a Link instance or one of {sorted(_LINKS)}.")
