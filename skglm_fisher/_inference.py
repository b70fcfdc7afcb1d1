"""Statistics of a fitted GLM: dispersion, covariance, log-likelihood, coefficient table.

Conventions
-----------
Coefficient vectors and matrices put the intercept first. The covariance comes from a factor of
the penalised Fisher information at unit dispersion, ``H = Xᵀ diag(s · g²/V) X + diag(P)``
(:mod:`skglm_fisher.glm._linalg`); the dispersion ``phi`` multiplies the family's variance, so
``Var(y_i) = phi · V(mu_i) / s_i`` with sample (prior) weights ``s`` as in R's
``glm(weights=)`` and statsmodels' ``var_weights``. ``n_obs`` counts the rows with a positive
weight and ``rank`` the identified coefficients; the residual degrees of freedom are
``n_obs - rank``. Aliased coefficients have NaN standard errors, as R reports ``NA``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from skglm_fisher.glm._families import Normal
from skglm_fisher.glm._links import IdentityLink

__all__ = [
    "CoefficientTable",
    "GLMStatistics",
    "coefficient_covariance",
    "covariance_matrix",
    "estimate_dispersion",
    "glm_statistics",
    "information_criteria",
]


# --------------------------------------------------------------------------------------------
# Dispersion and covariance
# --------------------------------------------------------------------------------------------
def estimate_dispersion(rule, family, pearson, deviance, n_obs, rank) -> float:
    """R's rule for the dispersion.

    ``rule=None``: 1 for families without a free dispersion (Poisson, binomial, negative
    binomial), else Pearson's χ² over the residual degrees of freedom; ``'pearson'`` or
    ``'deviance'`` force that estimate; a number is used as given. NaN when there are no
    residual degrees of freedom.

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


def covariance_matrix(factor, dispersion, cov_type="nonrobust", meat=None, n_obs=None,
                      rank=None):  # fmt: skip
    """Covariance of the coefficients from a factor of the penalised information ``H``.

    ``'nonrobust'``: ``phi · H⁻¹`` (R's ``vcov.glm``); ``'HC0'``: the sandwich ``H⁻¹ M H⁻¹`` with
    ``M = Σ (s_i · score_i)² x_i x_iᵀ`` (the dispersion cancels); ``'HC1'``: HC0 times
    ``n_obs / (n_obs - rank)``. With a penalty, ``H`` includes it (a ridge posterior
    covariance). Rows and columns of aliased coefficients are NaN.

    Parameters
    ----------
    factor : InformationFactor
        From :mod:`skglm_fisher.glm._linalg`; ``H⁻¹`` is ``factor.inverse()``.
    dispersion : float
    cov_type : {'nonrobust', 'HC0', 'HC1'}
    meat : ndarray of shape (q, q), optional
        Needed by the sandwich.
    n_obs, rank : int, optional
        Needed by HC1.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm._linalg import cholesky_factor
    >>> covariance_matrix(cholesky_factor(np.diag([4.0, 1.0])), 2.0)
    array([[0.5, 0. ],
           [0. , 2. ]])
    """
    inverse = factor.inverse()
    if cov_type == "nonrobust":
        return dispersion * inverse
    keep = factor.keep
    cov = np.full_like(inverse, np.nan)
    bread = inverse[np.ix_(keep, keep)]
    sandwich = bread @ np.asarray(meat)[np.ix_(keep, keep)] @ bread
    if cov_type == "HC1":
        sandwich = sandwich * (n_obs / max(n_obs - rank, 1))
    cov[np.ix_(keep, keep)] = 0.5 * (sandwich + sandwich.T)
    return cov


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
# All statistics of a fit, in one object
# --------------------------------------------------------------------------------------------
@dataclass
class GLMStatistics:
    """The statistics a fitted GLM reports (coefficient vectors intercept first).

    Attributes
    ----------
    dispersion : float
    covariance : ndarray of shape (q, q)
        NaN rows and columns for aliased coefficients.
    std_errors : ndarray of shape (q,)
    log_likelihood : float
        At the estimated dispersion, as statsmodels' ``llf``.
    rank : int
        Identified coefficients of the unpenalised model.
    df_resid : int
        ``n_obs - rank``.
    """

    dispersion: float
    covariance: np.ndarray
    std_errors: np.ndarray
    log_likelihood: float
    rank: int
    df_resid: int


def coefficient_covariance(fit, dispersion, cov_type, n_obs):
    """``(covariance, std_errors)`` of a fit at ``dispersion`` (see :func:`covariance_matrix`).

    ``fit`` is a solver result (an ``IRLSResult``: ``factor``, ``meat``, ``rank``). The standard
    errors of the model-based covariance come from the factor directly, so that huge or tiny
    columns keep their digits.
    """
    cov = covariance_matrix(fit.factor, dispersion, cov_type, fit.meat, n_obs, fit.rank)
    if cov_type == "nonrobust":
        return cov, fit.factor.standard_errors(dispersion)
    diagonal = np.diag(cov)
    with np.errstate(invalid="ignore"):
        std_errors = np.where(np.isnan(diagonal), np.nan, np.sqrt(np.maximum(diagonal, 0.0)))
    return cov, std_errors


def glm_statistics(family, fit, *, dispersion_rule, cov_type, n_obs, log_likelihood_at):
    """:class:`GLMStatistics` of a fit.

    Parameters
    ----------
    family : ExponentialFamily
    fit : IRLSResult
        The solver's result (deviance, Pearson's χ², factor, rank, meat, log-likelihood).
    dispersion_rule : None, 'pearson', 'deviance' or float
        See :func:`estimate_dispersion`.
    cov_type : {'nonrobust', 'HC0', 'HC1'}
    n_obs : int
        Rows of positive weight.
    log_likelihood_at : callable
        ``dispersion -> log-likelihood`` (a pass over the rows), used when the fit did not
        compute the log-likelihood at the dispersion it turns out to have.
    """
    dispersion = estimate_dispersion(dispersion_rule, family, fit.pearson, fit.deviance, n_obs,
                                     fit.rank)  # fmt: skip
    llf = fit.log_likelihood
    if llf is None:
        llf_dispersion = concentrated_dispersion(family, fit.deviance, n_obs) or dispersion
        llf = log_likelihood_at(llf_dispersion) if np.isfinite(llf_dispersion) else np.nan
    cov, std_errors = coefficient_covariance(fit, dispersion, cov_type, n_obs)
    return GLMStatistics(
        dispersion=float(dispersion),
        covariance=cov,
        std_errors=std_errors,
        log_likelihood=float(llf),
        rank=int(fit.rank),
        df_resid=int(n_obs - fit.rank),
    )


# --------------------------------------------------------------------------------------------
# Coefficient table
# --------------------------------------------------------------------------------------------
class CoefficientTable:
    """Coefficient table of a fitted GLM, printed like R's ``summary.glm``.

    A model with several linear predictors (the multinomial logit: one per non-reference class)
    has one block of rows per predictor: ``groups`` names the blocks and the arrays have shape
    ``(len(groups), len(names))``.

    Attributes
    ----------
    names : list of str
    groups : list of str or None
    estimate, std_error, statistic, p_value, ci_lower, ci_upper : ndarray
        Of shape ``(len(names),)``, or ``(len(groups), len(names))`` with groups.
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
    >>> table = CoefficientTable(["(Intercept)"], np.array([[1.0], [-0.5]]),
    ...                          np.array([[0.1], [0.25]]), groups=["b vs a", "c vs a"])
    >>> print(table)  # doctest: +NORMALIZE_WHITESPACE
    Coefficients:
                  Estimate Std. Error  z value  Pr(>|z|)     [0.025    0.975]
    b vs a:
    (Intercept)   1.000000   0.100000   10.000  < 2e-16      0.8040    1.1960
    c vs a:
    (Intercept)  -0.500000   0.250000   -2.000  0.0455      -0.9900   -0.0100
    """

    def __init__(self, names, estimate, std_error, *, use_t=False, df_resid=None, level=0.95,
                 header=(), aliased=None, groups=None):  # fmt: skip
        self.names = list(names)
        self.groups = None if groups is None else list(groups)
        self.estimate = np.array(estimate, dtype=float)
        expected = (len(self.names),) if groups is None else (len(self.groups), len(self.names))
        if self.estimate.shape != expected:
            raise ValueError(f"estimate has shape {self.estimate.shape}; expected {expected}.")
        self.aliased = (
            np.zeros(self.estimate.shape, dtype=bool) if aliased is None
            else np.asarray(aliased, dtype=bool)
        )  # fmt: skip
        # As R's summary.glm: an aliased coefficient is not estimated (NA), whatever value the
        # model uses for it in predictions (0).
        self.estimate[self.aliased] = np.nan
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

    def _blocks(self):
        """``[(group title or None, row slice of the flattened arrays)]``."""
        m = len(self.names)
        if self.groups is None:
            return [(None, slice(0, m))]
        return [(title, slice(g * m, (g + 1) * m)) for g, title in enumerate(self.groups)]

    def to_frame(self):
        """The table as a pandas DataFrame indexed by coefficient name (by group and name when
        there are groups)."""
        import pandas as pd

        stat = "t value" if self.use_t else "z value"
        low, high = (0.5 - self.level / 2), (0.5 + self.level / 2)
        index = self.names
        if self.groups is not None:
            index = pd.MultiIndex.from_product([self.groups, self.names])
        return pd.DataFrame(
            {
                "Estimate": self.estimate.ravel(),
                "Std. Error": self.std_error.ravel(),
                stat: self.statistic.ravel(),
                f"Pr(>|{stat[0]}|)": self.p_value.ravel(),
                f"[{low:.3g}": self.ci_lower.ravel(),
                f"{high:.3g}]": self.ci_upper.ravel(),
            },
            index=index,
        )

    def __str__(self):
        stat = "t" if self.use_t else "z"
        low, high = (0.5 - self.level / 2), (0.5 + self.level / 2)
        width = max([len(n) for n in self.names] + [11])
        n_aliased = int(np.count_nonzero(self.aliased))
        title = "Coefficients:"
        if n_aliased:
            title += f" ({n_aliased} not defined because of singularities)"
        lines = list(self.header) + [title]
        lines.append(
            f"{'':<{width}} {'Estimate':>10} {'Std. Error':>10} {stat + ' value':>8}  "
            f"{'Pr(>|' + stat + '|)':<9} {f'[{low:.3g}':>9} {f'{high:.3g}]':>9}"
        )

        def number(value, spec, width):
            return f"{'NA':>{width}}" if np.isnan(value) else f"{value:{width}{spec}}"

        columns = [a.ravel() for a in (self.estimate, self.std_error, self.statistic,
                                       self.p_value, self.ci_lower, self.ci_upper)]  # fmt: skip
        estimate, std_error, statistic, p_value, ci_lower, ci_upper = columns
        for group, rows in self._blocks():
            if group is not None:
                lines.append(f"{group}:")
            for name, i in zip(self.names, range(rows.start, rows.stop), strict=True):
                p = p_value[i]
                if np.isnan(p):
                    p_text = "NA"
                else:
                    p_text = "< 2e-16" if p < 2e-16 else f"{p:.4g}" if p >= 1e-4 else f"{p:.2e}"
                lines.append(
                    f"{name:<{width}} {number(estimate[i], '.6f', 10)} "
                    f"{number(std_error[i], '.6f', 10)} {number(statistic[i], '.3f', 8)}  "
                    f"{p_text:<9} {number(ci_lower[i], '.4f', 9)} "
                    f"{number(ci_upper[i], '.4f', 9)}"
                )
        return "\n".join(lines)

    def __repr__(self):
        return self.__str__()
