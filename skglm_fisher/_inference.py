"""Statistics of a fitted GLM: dispersion, covariance, coefficient table, log-likelihood.

Conventions
-----------
Coefficient vectors and matrices put the intercept first. ``information`` is the penalised
Fisher information at unit dispersion, ``Xᵀ diag(s · g²/V) X + diag(P)``; the dispersion
``phi`` multiplies the family's variance, so ``Var(y_i) = phi · V(mu_i) / s_i`` with sample
(prior) weights ``s`` as in R's ``glm(weights=)`` and statsmodels' ``var_weights``. ``n_obs`` counts
the rows with a positive weight and ``rank`` the identified coefficients; the residual degrees
of freedom are ``n_obs - rank``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy import special, stats

from skglm_fisher.glm._families import (
    Binomial,
    InverseGaussian,
    NegativeBinomial,
    Normal,
    Poisson,
    _BernoulliDistribution,
    _GammaDistribution,
)
from skglm_fisher.glm._links import IdentityLink
from skglm_fisher.glm._tweedie import Tweedie, _compound_poisson_gamma_logpdf

__all__ = [
    "estimate_dispersion",
    "covariance_matrix",
    "log_likelihood_terms",
    "information_criteria",
    "CoefficientTable",
]


# --------------------------------------------------------------------------------------------
# Dispersion and covariance
# --------------------------------------------------------------------------------------------
def estimate_dispersion(rule, family, pearson, deviance, n_obs, rank) -> float:
    """R's rule for the dispersion.

    ``rule=None``: 1 for families without a free dispersion (Poisson, binomial, negative
    binomial), else Pearson's χ² over the residual degrees of freedom; ``'pearson'`` or
    ``'deviance'`` force that estimate; a number is used as given.

    Examples
    --------
    >>> from skglm_fisher.glm import Gamma, Poisson
    >>> estimate_dispersion(None, Poisson(), 12.0, 10.0, 12, 2)
    1.0
    >>> estimate_dispersion(None, Gamma(), 12.0, 10.0, 12, 2)
    1.2
    """
    if rule is None:
        rule = "pearson" if family.has_free_dispersion else 1.0
    if not isinstance(rule, str):
        return float(rule)
    df = n_obs - rank
    if df <= 0:
        return np.nan
    return float((pearson if rule == "pearson" else deviance) / df)


def _inverse(information):
    """Inverse of a symmetric PSD matrix; the pseudo-inverse if it is singular."""
    try:
        factor = scipy.linalg.cho_factor(information, check_finite=False)
        pivots = np.abs(np.diag(factor[0]))
        if pivots.min() > 1e-7 * pivots.max():
            return scipy.linalg.cho_solve(factor, np.eye(information.shape[0]), check_finite=False)
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError, ValueError):
        pass
    return np.linalg.pinv(information, hermitian=True)


def covariance_matrix(information, dispersion, cov_type="nonrobust", meat=None, n_obs=None,
                      rank=None):  # fmt: skip
    """Covariance of the coefficients.

    ``'nonrobust'``: ``phi · H⁻¹`` (R's ``vcov.glm``); ``'HC0'``: the sandwich ``H⁻¹ M H⁻¹`` with
    ``M = Σ (s_i · score_i)² x_i x_iᵀ`` (the dispersion cancels); ``'HC1'``: HC0 times
    ``n_obs / (n_obs - rank)``. With a penalty, ``H`` includes it (a ridge posterior covariance).

    Examples
    --------
    >>> import numpy as np
    >>> covariance_matrix(np.diag([4.0, 1.0]), 2.0)
    array([[0.5, 0. ],
           [0. , 2. ]])
    """
    inverse = _inverse(information)
    if cov_type == "nonrobust":
        return dispersion * inverse
    cov = inverse @ meat @ inverse
    if cov_type == "HC1":
        cov = cov * (n_obs / max(n_obs - rank, 1))
    return 0.5 * (cov + cov.T)


# --------------------------------------------------------------------------------------------
# Log-likelihood
# --------------------------------------------------------------------------------------------
def log_likelihood_terms(family, y, mu, sample_weight, dispersion):
    """Per-row log-likelihood at dispersion ``phi``, as statsmodels' ``loglike_obs``.

    Continuous families use the density with dispersion ``phi / s_i`` (statsmodels'
    ``var_weights``); Poisson uses ``s_i / phi`` times the log-mass and the binomial and negative
    binomial families ``s_i`` times it. Rows with zero weight contribute 0.
    """
    y = np.asarray(y, dtype=np.float64)
    s = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    out = np.zeros_like(y)
    keep = s > 0
    y, mu, s = y[keep], mu[keep], s[keep]
    phi = float(dispersion)
    with np.errstate(all="ignore"):
        if isinstance(family, Tweedie):
            out[keep] = _tweedie_terms(family, y, mu, s, phi)
        elif isinstance(family, Normal):
            var = phi * np.square(family.scale) / s
            out[keep] = -0.5 * (np.square(y - mu) / var + np.log(2 * np.pi * var))
        elif isinstance(family, _GammaDistribution):
            shape = family.concentration * s / phi
            out[keep] = stats.gamma.logpdf(y, shape, scale=mu / shape)
        elif isinstance(family, InverseGaussian):
            lam = family.shape * s / phi
            out[keep] = 0.5 * np.log(lam / (2 * np.pi * y**3)) - lam * np.square(y - mu) / (
                2 * np.square(mu) * y
            )
        elif isinstance(family, Poisson):
            out[keep] = s / phi * (special.xlogy(y, mu) - mu - special.gammaln(y + 1))
        elif isinstance(family, _BernoulliDistribution):
            out[keep] = s * (special.xlogy(y, mu) + special.xlog1py(1 - y, -mu))
        elif isinstance(family, (Binomial, NegativeBinomial)):
            out[keep] = s * family._log_prob(y, mu)
        else:
            out[keep] = s * family._log_prob(y, mu)
    return out


def _tweedie_terms(family, y, mu, s, phi):
    p = family.power
    scale = family.dispersion * phi / s
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


def concentrated_dispersion(family, deviance, n_obs):
    """The maximum-likelihood dispersion statsmodels plugs into a normal-identity ``llf``."""
    if isinstance(family, Normal) and isinstance(family.link, IdentityLink):
        return deviance / n_obs
    return None


def information_criteria(llf, n_params, n_obs):
    """``(aic, bic)`` as statsmodels: ``-2 llf + 2k`` and ``-2 llf + k log(n)``.

    ``k`` counts the coefficients (with the intercept) but not the dispersion; R's ``AIC`` adds
    one for families with an estimated dispersion (normal, Gamma, inverse Gaussian).
    """
    return -2.0 * llf + 2.0 * n_params, -2.0 * llf + n_params * np.log(n_obs)


# --------------------------------------------------------------------------------------------
# Coefficient table
# --------------------------------------------------------------------------------------------
class CoefficientTable:
    """Coefficient table of a fitted GLM, printed like R's ``summary.glm``.

    Attributes
    ----------
    names : list of str
    estimate, std_error, statistic, p_value, ci_lower, ci_upper : ndarray
    use_t : bool
        t statistics with ``df_resid`` degrees of freedom (estimated dispersion) or z.
    df_resid : int
    header : list of str
        Lines printed above the table (family, dispersion, deviances, AIC).

    Examples
    --------
    >>> import numpy as np
    >>> table = CoefficientTable(["(Intercept)", "x"], np.array([1.0, 0.5]),
    ...                          np.array([0.1, 0.25]), use_t=False)
    >>> print(table)  # doctest: +NORMALIZE_WHITESPACE
    Coefficients:
                  Estimate Std. Error  z value  Pr(>|z|)     [0.025    0.975]
    (Intercept)   1.000000   0.100000   10.000  < 2e-16      0.8040    1.1960
    x             0.500000   0.250000    2.000  0.0455       0.0100    0.9900
    """

    def __init__(self, names, estimate, std_error, *, use_t=False, df_resid=None, level=0.95,
                 header=()):  # fmt: skip
        self.names = list(names)
        self.estimate = np.asarray(estimate, dtype=float)
        self.std_error = np.asarray(std_error, dtype=float)
        self.use_t = bool(use_t and df_resid is not None and df_resid > 0)
        self.df_resid = df_resid
        self.level = level
        self.header = list(header)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.statistic = self.estimate / self.std_error
        dist = stats.t(df_resid) if self.use_t else stats.norm()
        self.p_value = 2 * dist.sf(np.abs(self.statistic))
        q = dist.ppf(0.5 + level / 2)
        self.ci_lower = self.estimate - q * self.std_error
        self.ci_upper = self.estimate + q * self.std_error

    def to_frame(self):
        """The table as a pandas DataFrame indexed by coefficient name."""
        import pandas as pd

        stat = "t value" if self.use_t else "z value"
        low, high = (0.5 - self.level / 2), (0.5 + self.level / 2)
        return pd.DataFrame(
            {
                "Estimate": self.estimate,
                "Std. Error": self.std_error,
                stat: self.statistic,
                f"Pr(>|{stat[0]}|)": self.p_value,
                f"[{low:.3g}": self.ci_lower,
                f"{high:.3g}]": self.ci_upper,
            },
            index=self.names,
        )

    def __str__(self):
        stat = "t" if self.use_t else "z"
        low, high = (0.5 - self.level / 2), (0.5 + self.level / 2)
        width = max([len(n) for n in self.names] + [11])
        lines = list(self.header) + ["Coefficients:"]
        lines.append(
            f"{'':<{width}} {'Estimate':>10} {'Std. Error':>10} {stat + ' value':>8}  "
            f"{'Pr(>|' + stat + '|)':<9} {f'[{low:.3g}':>9} {f'{high:.3g}]':>9}"
        )
        for i, name in enumerate(self.names):
            p = self.p_value[i]
            p_text = "< 2e-16" if p < 2e-16 else f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"
            lines.append(
                f"{name:<{width}} {self.estimate[i]:10.6f} {self.std_error[i]:10.6f} "
                f"{self.statistic[i]:8.3f}  {p_text:<9} {self.ci_lower[i]:9.4f} "
                f"{self.ci_upper[i]:9.4f}"
            )
        return "\n".join(lines)

    def __repr__(self):
        return self.__str__()
