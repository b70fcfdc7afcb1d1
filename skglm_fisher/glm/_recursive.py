"""Recursive Fisher scoring: update a fitted GLM with one more batch of rows.

After batches ``1..k`` the fit holds coefficients ``b_k`` and the Fisher information ``I_k`` of
those rows (each batch's information taken at the coefficients after its own update). The next
batch's rows enter exactly, the earlier ones through the quadratic model of their half deviance
at ``b_k``, whose gradient there is ``-P_k ⊙ b_k`` (``b_k`` was stationary with the penalty
``P_k`` of the rows seen so far):

    min_b  ½ dev_batch(b) - (P_k ⊙ b_k)ᵀ (b - b_k) + ½ (b - b_k)ᵀ I_k (b - b_k) + ½ bᵀ diag(P) b

with ``P`` the penalty of all rows seen. This is a GLM on the batch with a Gaussian penalty
``½ (b - m)ᵀ Λ (b - m)``, ``Λ = I_k + diag(P)``, ``Λ m = (I_k + diag(P_k)) b_k``, solved to
convergence by the same solver as a full fit. For the normal family with the identity link the
quadratic model is exact and the stream equals the fit on all rows for any split into batches;
for other families it is exact up to the curvature the quadratic model misses (see the user
guide for measured figures).

The null model (intercept only, with the offset) is updated the same way, except for an
exponential dispersion family without offsets, whose null deviance is exact from running sums:
``d(y, m) - d(y, m0)`` is affine in ``y``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from skglm_fisher.glm._blas import single_threaded_blas
from skglm_fisher.glm._linalg import cholesky_factor, qr_factor
from skglm_fisher.glm._passes import deviance_pass
from skglm_fisher.glm._penalties import QuadraticPenalty
from skglm_fisher.glm._solver import IRLSProblem, IRLSResult, IRLSSolver

__all__ = ["NullModelStream", "StreamTotals", "information_rank", "recursive_solve",
           "recursive_update", "start_null_stream", "update_null_stream"]  # fmt: skip


@dataclass
class StreamTotals:
    """What a streamed fit carries between batches (all rows seen so far).

    ``information`` is the unpenalised Fisher information, ``penalty`` the diagonal ridge
    penalty of the rows seen, ``log_likelihood`` NaN where the dispersion is estimated (it is
    not re-estimated row by row), ``meat`` the sandwich's meat or None.
    """

    coef: np.ndarray
    information: np.ndarray
    penalty: np.ndarray
    deviance: float
    pearson: float
    log_likelihood: float
    meat: np.ndarray | None
    null: NullModelStream
    n_iter: int


def recursive_solve(problem, totals: StreamTotals, solver=IRLSSolver,
                    dispersion=None) -> IRLSResult:  # fmt: skip
    """Solve the batch of ``problem.design`` against the quadratic model of the earlier rows.

    ``problem.penalty`` is the diagonal ridge penalty of all rows seen including the batch;
    ``solver`` the solver class for the problem (the GLM's, or the multinomial one);
    ``dispersion`` the known dispersion of the log-likelihood (None: not tracked, NaN). Returns
    an :class:`IRLSResult` for all rows seen: information, factor and rank of all rows; the
    earlier rows' deviance and log-likelihood carried to the new coefficients by their
    quadratic model; Pearson's χ² and the meat summed batch by batch.
    """
    coef, information, seen = totals.coef, totals.information, totals.penalty
    precision = information + np.diag(problem.penalty.precision)
    linear = information @ coef + seen * coef
    # Λ may be singular (aliased columns without a penalty): any solution of Λ m = linear will
    # do, since the linear term lies in the range of Λ.
    center = np.linalg.lstsq(precision, linear, rcond=None)[0]
    prior = QuadraticPenalty(precision, center)
    batch = solver(dataclasses.replace(problem, penalty=prior)).solve(coef)
    # The earlier rows' deviance at the new coefficients, from their quadratic model: its
    # gradient at the old coefficients is -P_k ⊙ b_k, its Hessian (of half the deviance) I_k.
    step = batch.coef - coef
    past_change = -2.0 * float((seen * coef) @ step) + float(step @ information @ step)
    log_likelihood = np.nan
    if dispersion is not None and batch.log_likelihood is not None:
        log_likelihood = totals.log_likelihood - 0.5 * past_change / dispersion
        log_likelihood += batch.log_likelihood
    information = information + batch.gram
    batch.gram, batch.information = information, problem.penalty.add_to(information)
    batch.rank = information_rank(information)
    batch.deviance = totals.deviance + past_change + batch.deviance
    batch.pearson = totals.pearson + batch.pearson
    batch.log_likelihood = log_likelihood
    if batch.meat is not None and totals.meat is not None:
        batch.meat = totals.meat + batch.meat
    batch.n_iter = totals.n_iter + batch.n_iter
    return batch


def recursive_update(problem: IRLSProblem, totals: StreamTotals):
    """Update a streamed GLM with the batch of ``problem.design``: ``(result, null)``, the
    :func:`recursive_solve` result for all rows seen and the updated
    :class:`NullModelStream` (whose deviance is the result's ``null_deviance``)."""
    batch = recursive_solve(problem, totals, dispersion=problem.log_likelihood_dispersion)
    null = update_null_stream(totals.null, problem.design, problem.family, problem.fit_intercept)
    batch.null_deviance = null.deviance
    return batch, null


def information_rank(information) -> int:
    """Rank of a (streamed) information matrix: its Cholesky factor where that is well
    conditioned, else the aliasing of a QR factor of its square root."""
    factor = cholesky_factor(information)
    if factor is not None and factor.usable_for_covariance():
        return factor.rank
    with single_threaded_blas():
        values, vectors = np.linalg.eigh(information)
    positive = values > 0
    rows = np.sqrt(values[positive])[:, None] * vectors[:, positive].T
    return qr_factor(rows)[0].rank


# --------------------------------------------------------------------------------------------
# The null model of a stream
# --------------------------------------------------------------------------------------------
@dataclass
class NullModelStream:
    """Running state of the null model, as a plain vector (persisted with the estimator).

    Fields: ``intercept``, ``information`` (of the intercept), ``deviance`` (R's null deviance
    of the rows seen), and for the exact update ``reference_mean``, ``sum_weights``,
    ``sum_weighted_y``, ``reference_deviance`` (``Σ s·d(y, reference_mean)``); ``exact`` is 1
    while the exact update applies.
    """

    intercept: float
    information: float
    deviance: float
    reference_mean: float
    sum_weights: float
    sum_weighted_y: float
    reference_deviance: float
    exact: float

    def to_array(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in self.__dataclass_fields__])

    @classmethod
    def from_array(cls, values) -> NullModelStream:
        return cls(*(float(v) for v in values))


def start_null_stream(fit: IRLSResult, family, fit_intercept, has_offset) -> NullModelStream:
    """The null model state after a full fit (from the intercept-only fit it made)."""
    null = fit.null
    exact = fit_intercept and not has_offset and family.has_quasi_score
    if null is None:  # no intercept: only the deviance at eta = offset accumulates
        return NullModelStream(np.nan, 0.0, fit.null_deviance, np.nan, 0.0, 0.0, np.nan, 0.0)
    return NullModelStream(
        null.intercept if null.intercept is not None else np.nan, null.information,
        fit.null_deviance, null.sum_weighted_y / null.sum_weights, null.sum_weights,
        null.sum_weighted_y, fit.null_deviance, float(exact),
    )  # fmt: skip


def update_null_stream(state: NullModelStream, design, family,
                       fit_intercept) -> NullModelStream:  # fmt: skip
    """The null model state after one more batch."""
    sum_wy, sum_w = design.weighted_sums()
    has_offset = design.rows[1] is not None
    totals = {"sum_weights": state.sum_weights + sum_w,
              "sum_weighted_y": state.sum_weighted_y + sum_wy}  # fmt: skip
    if not fit_intercept:
        batch = design.map_reduce(deviance_pass, 0.0, family).deviance
        return _with(state, deviance=state.deviance + batch, **totals)
    if state.exact and not has_offset:
        m0 = state.reference_mean
        eta0 = float(family.linear_predictor(np.asarray([m0]))[0])
        reference = state.reference_deviance + design.map_reduce(deviance_pass, eta0,
                                                                 family).deviance  # fmt: skip
        mean = totals["sum_weighted_y"] / totals["sum_weights"]
        shift = _deviance_shift(family, mean, m0, totals["sum_weights"], totals["sum_weighted_y"])
        return _with(state, deviance=reference + shift, reference_deviance=reference, **totals)
    if state.exact:
        # The first offset of the stream: switch to the recursive update, starting from the
        # intercept of the rows so far (the link of their mean) and its information.
        m = state.sum_weighted_y / state.sum_weights
        eta = family.linear_predictor(np.asarray([m]))
        _, variance, grad_mean = family(eta)
        information = float(state.sum_weights * grad_mean[0] ** 2 / variance[0])
        state = _with(state, intercept=float(eta[0]), information=information, exact=0.0)
    intercept, information, deviance = _null_fit(design, family,
                                                 (state.intercept, state.information))  # fmt: skip
    return _with(state, intercept=intercept, information=state.information + information,
                 deviance=state.deviance + deviance, **totals)  # fmt: skip


def _null_fit(design, family, prior):
    """Intercept-only fit of a batch (with a quadratic prior ``(intercept, information)``);
    returns ``(intercept, information)`` without a prior, else also the batch deviance."""
    empty = design.without_columns()
    if prior is None:
        penalty = QuadraticPenalty(np.zeros(1))
        coef0 = None
    else:
        penalty = QuadraticPenalty(np.array([[prior[1]]]), np.array([prior[0]]))
        coef0 = np.array([prior[0]])
    problem = IRLSProblem(empty, family, penalty, fit_intercept=True, tol=1e-12,
                          null_model=False)  # fmt: skip
    result = IRLSSolver(problem).solve(coef0)
    if prior is None:
        return float(result.coef[0]), float(result.gram[0, 0])
    return float(result.coef[0]), float(result.gram[0, 0]), float(result.deviance)


def _deviance_shift(family, mean, reference, sum_w, sum_wy):
    """``Σ s·[d(y, mean) - d(y, reference)]`` from ``Σ s`` and ``Σ s·y``.

    For an exponential dispersion family ``d(y, m) - d(y, m0) = a + b·y``; ``a`` and ``b`` follow
    from the difference at ``y = m`` and ``y = m0``.
    """
    if mean == reference:
        return 0.0
    m, m0 = np.asarray([mean]), np.asarray([reference])
    at_m = float(family.unit_deviance(m, m)[0] - family.unit_deviance(m, m0)[0])
    at_m0 = float(family.unit_deviance(m0, m)[0] - family.unit_deviance(m0, m0)[0])
    slope = (at_m - at_m0) / (mean - reference)
    return (at_m - slope * mean) * sum_w + slope * sum_wy


def _with(state, **changes):
    values = {name: getattr(state, name) for name in state.__dataclass_fields__}
    values.update(changes)
    return NullModelStream(**values)
