"""Per-row quantities of a GLM at a linear predictor: the one place the solvers read them from.

Conventions
-----------
For a family with mean ``mu = h(eta)``, variance ``V(mu)`` (the family's full variance) and
``g = d mu / d eta``, and prior (sample) weights ``s``, row ``i`` contributes

- the deviance ``s · unit_deviance(y, mu)``;
- the score ``r = s · (y - mu) · g / V`` (``s · d log p / d eta`` for families whose score has
  another form, the log-normal and custom ones);
- the Fisher weight ``w = s · g² / V``, and the observed weight ``s · (-d score / d eta)``;
- the Pearson term ``s · (y - mu)² / V``.

A row is *valid* when ``eta`` lies in the link's domain, the mean is finite and the variance is
finite and non-negative; rows where ``g / V`` is not finite (a variance of zero at the boundary of
the mean's range) keep their deviance but get score and weight 0, so they drop out of a step. The
Fisher scoring step of a block of rows is ``Xᵀ diag(w) X Δ = Xᵀ r``.
"""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np

from skglm_fisher.exceptions import BoundaryFitWarning, PerfectSeparationWarning
from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._links import IdentityLink, LogitLink, LogLink

__all__ = ["RowTerms", "safe_ratio", "warn_boundary"]


def safe_ratio(num, den):
    """``num / den`` with 0 wherever the quotient is not finite (a zero or infinite ``den``)."""
    with np.errstate(all="ignore"):
        ratio = np.divide(num, den)
    bad = ~np.isfinite(ratio)
    if np.any(bad):
        ratio = np.where(bad, 0.0, ratio)
    return ratio


def family_moments(family: ExponentialFamily, eta):
    """``family(eta)``, reading ``d mu / d eta`` off ``mu`` for the log, logit and identity links
    (one exponential per row instead of two)."""
    cls = type(family)
    standard = (
        cls.__call__ is ExponentialFamily.__call__
        and cls.mean is ExponentialFamily.mean
        and cls.grad_mean is ExponentialFamily.grad_mean
    )
    link = type(family.link)
    if not standard or link not in (LogLink, LogitLink, IdentityLink):
        return family(eta)
    mu = family.mean(eta)
    if link is LogLink:
        grad_mean = mu
    elif link is LogitLink:
        grad_mean = mu * (1.0 - mu / family.mean_scale)
    else:
        grad_mean = np.broadcast_to(np.asarray(family.mean_scale, dtype=float), mu.shape)
    return mu, family.variance(mu), grad_mean


class RowTerms:
    """The GLM quantities of rows ``(y, eta, s)``; each is computed once, when first read.

    Parameters
    ----------
    family : ExponentialFamily
    y, eta : ndarray of shape (n,)
    sample_weight : ndarray of shape (n,) or None
        Prior weights ``s``; None means 1.
    moments : tuple, optional
        ``family(eta)`` if already computed.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm import Poisson
    >>> terms = RowTerms(Poisson(), np.array([2.0, 0.0]), np.log([1.0, 2.0]))
    >>> terms.score, terms.fisher
    (array([ 1., -2.]), array([1., 2.]))
    """

    def __init__(self, family: ExponentialFamily, y, eta, sample_weight=None, moments=None):
        self.family = family
        self.y = y
        self.eta = eta
        self.sample_weight = sample_weight
        with np.errstate(all="ignore"):
            self.valid_eta = family.link.valid_eta(eta)
            self.all_valid_eta = bool(np.all(self.valid_eta))
            if moments is None:
                safe = eta if self.all_valid_eta else np.where(self.valid_eta, eta, np.nan)
                moments = family_moments(family, safe)
            self.mu, self.variance, self.grad_mean = moments

    def _weighted(self, per_row):
        return per_row if self.sample_weight is None else per_row * self.sample_weight

    def _total(self, per_row) -> float:
        s = self.sample_weight
        return float(per_row.sum() if s is None else s @ per_row)

    # -- deviance and validity -------------------------------------------------------------
    @cached_property
    def unit_deviance(self) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self.family.unit_deviance_at(self.y, self.mu, self.eta)

    @cached_property
    def _raw_deviance(self) -> float:
        with np.errstate(all="ignore"):
            return self._total(self.unit_deviance)

    @cached_property
    def bad_rows(self) -> np.ndarray | None:
        """Mask of the rows outside the model's domain (an invalid ``eta``, a non-finite mean, a
        negative or non-finite variance, or a non-finite deviance), or None when there are none
        (the common case, told by two cheap checks)."""
        with np.errstate(all="ignore"):
            if (
                self.all_valid_eta
                and np.isfinite(self._raw_deviance)
                and bool(np.all(self.variance >= 0))
            ):
                return None
            return ~(
                self.valid_eta
                & np.isfinite(self.mu)
                & np.isfinite(self.variance)
                & (self.variance >= 0)
                & np.isfinite(self.unit_deviance)
            )

    @cached_property
    def n_invalid(self) -> int:
        """Invalid rows of positive weight (invalid rows of weight 0 are ignored)."""
        bad = self.bad_rows
        if bad is None:
            return 0
        if self.sample_weight is not None:
            bad = bad & (self.sample_weight > 0)
        return int(np.count_nonzero(bad))

    @cached_property
    def deviance(self) -> float:
        """``Σ s · unit_deviance``; ``inf`` if any row of positive weight is invalid."""
        if self.bad_rows is None:
            return self._raw_deviance
        if self.n_invalid:
            return np.inf
        return self._total(np.where(self.bad_rows, 0.0, self.unit_deviance))

    def _clean(self, per_row):
        """``per_row`` with the invalid rows (of weight 0) set to 0."""
        return per_row if self.bad_rows is None else np.where(self.bad_rows, 0.0, per_row)

    # -- score and information -------------------------------------------------------------
    @cached_property
    def residual(self) -> np.ndarray:
        return self.y - self.mu

    @cached_property
    def _g_over_v(self) -> np.ndarray:
        return safe_ratio(self.grad_mean, self.variance)

    @cached_property
    def quasi_score(self) -> np.ndarray:
        """``s · (y - mu) · g / V`` per row (0 where it is not finite): the score of an
        exponential dispersion family, and the quasi-score Fisher scoring steps along for the
        others (TFP's working response ``(y - mu) / g``)."""
        return self._clean(self._weighted(self.residual * self._g_over_v))

    @cached_property
    def score(self) -> np.ndarray:
        """``s · d log p / d eta`` per row (0 where it is not finite)."""
        if self.family.has_quasi_score:
            return self.quasi_score
        with np.errstate(all="ignore"):
            score = np.nan_to_num(self.family.score(self.y, self.eta), nan=0.0, posinf=0.0,
                                  neginf=0.0)  # fmt: skip
        return self._clean(self._weighted(score))

    @cached_property
    def fisher(self) -> np.ndarray:
        """``s · g² / V`` per row (0 where it is not finite)."""
        with np.errstate(all="ignore"):
            return self._clean(self._weighted(self.grad_mean * self._g_over_v))

    @cached_property
    def observed(self) -> np.ndarray:
        """``s · (-d score / d eta)`` where that is non-negative, the Fisher weight elsewhere.

        Rows where the observed information is negative (possible away from the optimum under a
        non-canonical link) keep their Fisher weight, so that the information stays positive
        semi-definite and the step a descent direction.
        """
        with np.errstate(all="ignore"):
            per_row = self.family.observed_information(
                self.y, self.eta, (self.mu, self.variance, self.grad_mean)
            )
            observed = self._weighted(per_row)
        return np.where(np.isfinite(observed) & (observed >= 0), observed, self.fisher)

    @cached_property
    def working_residual(self) -> np.ndarray:
        """``score / fisher``: the change of ``eta`` one Fisher scoring step aims at."""
        return safe_ratio(self.score, self.fisher)

    # -- statistics -----------------------------------------------------------------------
    @cached_property
    def pearson(self) -> float:
        """Pearson's ``Σ s · (y - mu)² / V`` (rows with zero variance contribute 0)."""
        r = self._clean(self.residual)
        return self._total(safe_ratio(r * r, self.variance))

    def log_likelihood(self, dispersion) -> float:
        """``Σ`` of the family's per-row log-likelihood at ``dispersion`` (NaN if not finite)."""
        if not np.isfinite(dispersion):
            return np.nan
        terms = self.family.log_likelihood(self.y, self.mu, self.sample_weight, dispersion)
        return float(np.sum(terms))

    def boundary_counts(self) -> tuple[int, int]:
        """``(rows whose fitted mean is at a finite bound of the link's range to rounding, rows
        of positive weight)``: probabilities of 0 or 1, means of 0 under a log link (R's test,
        ``mu < 10·eps``, relative to the family's ``mean_scale``)."""
        eps = 10 * np.finfo(np.float64).eps
        low, high = self.family.link.inverse_range
        p = self.mu / np.asarray(self.family.mean_scale, dtype=float)
        at_bound = np.zeros(p.shape, dtype=bool)
        if np.isfinite(low):
            at_bound |= p - low < eps
        if np.isfinite(high):
            at_bound |= high - p < eps * max(1.0, abs(high))
        if self.sample_weight is None:
            return int(np.count_nonzero(at_bound)), int(at_bound.size)
        positive = self.sample_weight > 0
        return int(np.count_nonzero(at_bound & positive)), int(np.count_nonzero(positive))


def warn_boundary(family, n_boundary, n_positive, stacklevel=3):
    """Warn that ``n_boundary`` of ``n_positive`` fitted means sit at a bound of the link's range
    (:meth:`RowTerms.boundary_counts`): the likelihood is maximised at infinite coefficients."""
    if not n_boundary:
        return
    if family.link.inverse_range == (0.0, 1.0):
        message = (
            f"Fitted probabilities numerically 0 or 1 occurred for {n_boundary} of {n_positive} "
            "rows: the data are (quasi-)separated, the coefficients diverge and their standard "
            "errors are meaningless. Use a penalty (alpha > 0, l2_regularizer)."
        )
        category = PerfectSeparationWarning
    else:
        message = (
            f"Fitted means numerically at the boundary of the link's range occurred for "
            f"{n_boundary} of {n_positive} rows (e.g. means of 0 for all-zero counts): the "
            "likelihood is maximised at infinite coefficients, which the fit only approaches; "
            "their standard errors are meaningless. Use a penalty (alpha > 0, l2_regularizer)."
        )
        category = BoundaryFitWarning
    warnings.warn(message, category, stacklevel=stacklevel + 1)
