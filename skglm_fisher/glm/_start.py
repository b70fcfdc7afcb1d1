"""Starting values of the Fisher scoring solver: the intercept-only model and R's start.

Conventions as in :mod:`skglm_fisher.glm._passes`: kernels take ``(block, y, offset,
sample_weight, *args)`` and the design sums their results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skglm_fisher.glm._passes import PassSums, block_rfactor, deviance_pass
from skglm_fisher.glm._row_terms import RowTerms, family_moments

__all__ = ["InterceptOnly", "intercept_only_fit", "null_model_deviance", "sums_pass",
           "working_start_pass"]  # fmt: skip

#: Largest change of the intercept in one Newton step of the intercept-only fit: where the
#: likelihood is maximised at infinity (all-zero counts), Newton steps grow without bound.
MAX_INTERCEPT_STEP = 10.0
#: Step halvings of the intercept-only fit before it gives up.
MAX_HALVINGS = 40


@dataclass
class InterceptOnly:
    """The intercept-only model ``eta = b + offset``.

    Attributes
    ----------
    intercept : float or None
        ``b``; None when no intercept gives a valid mean.
    deviance : float or None
        Its deviance (R's null deviance); None when not yet computed.
    finite : bool
        Whether ``b`` is the maximum-likelihood intercept. False when the likelihood keeps
        increasing as ``b`` runs to infinity (all-zero counts, a mean of ``y`` outside the
        link's range): ``deviance`` is then the limit, and ``b`` is no start for a fit.
    information : float
        The Fisher information of ``b`` (NaN when ``b`` is None).
    sum_weights, sum_weighted_y : float
        ``Σ s`` and ``Σ s·y``.
    """

    intercept: float | None
    deviance: float | None
    finite: bool
    information: float = np.nan
    sum_weights: float = np.nan
    sum_weighted_y: float = np.nan


def sums_pass(block, y, offset, sample_weight):
    """``[Σ s·y, Σ s]`` of a block."""
    s = np.ones_like(y) if sample_weight is None else sample_weight
    return np.array([s @ y, s.sum()])


def _mean_link_pass(block, y, offset, sample_weight, family):
    """Sums for the weighted mean of ``link(starting_mean(y)) - offset`` over valid rows."""
    mu0 = family.starting_mean(y, sample_weight)
    with np.errstate(all="ignore"):
        eta0 = family.linear_predictor(mu0)
    if offset is not None:
        eta0 = eta0 - offset
    s = np.ones_like(y) if sample_weight is None else sample_weight
    # Rows whose starting mean is outside the link's range do not vote for the start.
    finite = np.isfinite(eta0)
    return np.array([s[finite] @ eta0[finite], s[finite].sum()])


def _intercept_pass(block, y, offset, sample_weight, intercept, family):
    """``[deviance, score, Fisher information]`` of the intercept at ``eta = b + offset``."""
    eta = np.full(block.n_rows, intercept, dtype=np.float64)
    if offset is not None:
        eta += offset
    terms = RowTerms(family, y, eta, sample_weight)
    if terms.n_invalid:
        return np.array([np.inf, 0.0, 0.0])
    return np.array([terms.deviance, terms.score.sum(), terms.fisher.sum()])


def intercept_only_fit(design, family, tol=1e-12, max_iter=50) -> InterceptOnly:
    """Fit ``eta = b + offset`` by scalar Newton steps (capped, with step halving).

    Without an offset the answer is the link of the weighted mean of ``y`` (the score equation
    is ``Σ s·(y - mu) = 0``), found without iterating; its deviance is left to the caller
    (``deviance=None``), who usually computes it in its first pass.
    """
    has_offset = design.rows[1] is not None
    sum_y, sum_w = design.weighted_sums()
    if not sum_w > 0:
        raise ValueError("The sample weights sum to zero: there is nothing to fit.")
    sums = {"sum_weights": float(sum_w), "sum_weighted_y": float(sum_y)}
    if not has_offset:
        with np.errstate(all="ignore"):
            exact = family.linear_predictor(np.asarray([sum_y / sum_w]))
            _, variance, grad_mean = family_moments(family, exact)
            information = float(sum_w * grad_mean[0] ** 2 / variance[0])
        if np.all(np.isfinite(exact)) and family.link.valid_eta(exact)[0]:
            return InterceptOnly(float(exact[0]), None, True, information, **sums)
    sum_eta, sum_w_finite = design.map_reduce(_mean_link_pass, family)
    b = sum_eta / sum_w_finite if sum_w_finite > 0 else 0.0
    dev, score, fisher = design.map_reduce(_intercept_pass, b, family)
    if not np.isfinite(dev):
        b = 0.0
        dev, score, fisher = design.map_reduce(_intercept_pass, b, family)
    if not np.isfinite(dev):
        return InterceptOnly(None, None, False, **sums)
    converged = False
    for _ in range(max_iter):
        if not (fisher > 0 and np.isfinite(fisher)):
            break
        step = float(np.clip(score / fisher, -MAX_INTERCEPT_STEP, MAX_INTERCEPT_STEP))
        # Newton converges quadratically here: iterate until the step is at rounding level.
        if abs(step) <= tol * (1.0 + abs(b)):
            converged = True
            break
        for _ in range(MAX_HALVINGS):
            new = design.map_reduce(_intercept_pass, b + step, family)
            if np.isfinite(new[0]) and new[0] <= dev * (1 + 1e-12) + 1e-300:
                break
            step /= 2
        else:
            converged = True  # no step decreases the deviance: b is optimal to rounding
            break
        b = b + step
        dev, score, fisher = new
    return InterceptOnly(float(b), float(dev), converged, float(fisher), **sums)


def working_start_pass(block, y, offset, sample_weight, family, fit_intercept, qr):
    """Weighted least-squares sums at R's start: ``eta0 = link(starting_mean(y))`` per row.

    The working response ``z = eta0 - offset + (y - mu0) / g`` and Fisher weights at ``eta0``
    give ``Xᵀ W X`` and ``Xᵀ W z`` (or, with ``qr``, the ``R`` factor of ``sqrt(W) [X, z]``),
    whose least-squares solution is the first iterate of R's ``glm.fit``. It needs no
    coefficients, so it serves designs where neither zeros nor an intercept-only model give a
    valid linear predictor. Rows whose starting mean the link cannot map are left out.
    """
    with np.errstate(all="ignore"):
        eta0 = family.linear_predictor(family.starting_mean(y, sample_weight))
        terms = RowTerms(family, y, eta0, sample_weight)
        weights = terms.fisher
        working = eta0 + terms.working_residual
        valid = terms.valid_eta & np.isfinite(working) & np.isfinite(weights)
    if offset is not None:
        working = working - offset
    working = np.where(valid, working, 0.0)
    weights = np.where(valid, weights, 0.0)
    if qr:
        return PassSums(rfactor=block_rfactor(block, weights, working, fit_intercept))
    rhs = block.rmatvec(weights * working)
    if fit_intercept:
        rhs = np.concatenate([[weights @ working], rhs])
    return PassSums(gradient=rhs, gram=block.gram(weights, fit_intercept))


def null_model_deviance(design, family, fit_intercept: bool) -> float:
    """R's null deviance: of the intercept-only fit with the offset, or without an intercept
    the deviance at ``eta = offset``."""
    if not fit_intercept:
        return float(design.map_reduce(deviance_pass, 0.0, family).deviance)
    null = intercept_only_fit(design, family)
    if null.deviance is not None:
        return null.deviance
    return float(design.map_reduce(deviance_pass, null.intercept, family).deviance)
