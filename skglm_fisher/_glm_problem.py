"""From a FisherScoringGLM's parameters to the solver's problem, and from its result back.

:class:`~skglm_fisher.FisherScoringGLM` validates its input, asks :func:`make_problem` and
:func:`make_solver` for what to solve, and hands the result to :func:`attach_result`. The
functions read the estimator's parameters (``alpha``, ``l1_ratio``, ``penalty_factor``,
``dispersion``, ``cov_type``, ...) and nothing else of it, so that the class keeps to its API.
"""

from __future__ import annotations

import warnings

import numpy as np

from skglm_fisher._glm_inputs import FitData, ridge_penalty
from skglm_fisher._inference import glm_statistics
from skglm_fisher._persistence import (
    FittedStateError,
    check_fitted_array,
    check_fitted_count,
    fitted_attributes_present,
)
from skglm_fisher.glm._l1_solver import L1IRLSSolver
from skglm_fisher.glm._path import check_penalty_factor
from skglm_fisher.glm._penalties import L1Penalty
from skglm_fisher.glm._recursive import NullModelStream, StreamTotals
from skglm_fisher.glm._solver import IRLSProblem, IRLSSolver

__all__ = [
    "FITTED_ATTRIBUTES",
    "attach_result",
    "check_fitted_glm",
    "make_problem",
    "make_solver",
    "penalty_factor",
    "selects",
    "stream_key",
    "stream_totals",
]

#: What a fitted model holds (checked on loading and before each partial_fit).
FITTED_ATTRIBUTES = (
    "coef_", "intercept_", "n_iter_", "converged_", "deviance_", "null_deviance_",
    "pearson_chi2_", "dispersion_", "covariance_matrix_", "std_errors_", "llf_", "information_",
    "aliased_", "rank_", "df_resid_", "n_obs_", "sum_sample_weight_", "use_t_", "_meat_",
    "_null_stream_", "_stream_key_", "_fitted_offset_", "response_name_", "n_features_in_",
)  # fmt: skip


# -- penalties -------------------------------------------------------------------------------
def selects(estimator) -> bool:
    """Whether the penalty has an L1 term (which may set coefficients to zero)."""
    return estimator.alpha > 0 and estimator.l1_ratio > 0


def penalty_factor(estimator) -> np.ndarray:
    """``pf`` validated against ``n_features_in_`` (ones by default), through the deprecated
    alias ``l2_penalty_factor`` when that is the one set."""
    if estimator.l2_penalty_factor is None:
        return check_penalty_factor(estimator.penalty_factor, estimator.n_features_in_)
    if estimator.penalty_factor is not None:
        raise ValueError(
            "penalty_factor and its deprecated alias l2_penalty_factor are both set; pass "
            "penalty_factor only."
        )
    warnings.warn(
        "l2_penalty_factor is deprecated: use penalty_factor (it multiplies the L1 term of "
        "the penalty as well).",
        FutureWarning,
        stacklevel=3,
    )
    return check_penalty_factor(estimator.l2_penalty_factor, estimator.n_features_in_,
                                name="l2_penalty_factor")  # fmt: skip


def _ridge(estimator, sum_weights, pf) -> np.ndarray:
    """``P``: ``alpha · (1 - l1_ratio) · Σs · pf²`` per coefficient, 0 for the intercept."""
    return ridge_penalty(estimator.alpha * (1.0 - estimator.l1_ratio), pf, len(pf), sum_weights,
                         estimator.fit_intercept)  # fmt: skip


def _l1(estimator, sum_weights, pf) -> L1Penalty | None:
    """``alpha · l1_ratio · Σs · pf`` per coefficient (0 for the intercept), or None when the
    penalty has no L1 term."""
    weights = estimator.alpha * estimator.l1_ratio * sum_weights * pf
    if not np.any(weights > 0):
        return None
    return L1Penalty(np.concatenate([[0.0], weights]) if estimator.fit_intercept else weights)


def _known_dispersion(estimator, family):
    """The dispersion when it does not depend on the fit (else None)."""
    if estimator.dispersion is None:
        return None if family.has_free_dispersion else 1.0
    return None if isinstance(estimator.dispersion, str) else float(estimator.dispersion)


# -- the problem and its solver --------------------------------------------------------------
def make_problem(estimator, data: FitData, family, sum_weights, pf, *,
                 stream=False) -> IRLSProblem:  # fmt: skip
    """The penalised problem on ``data``, with the penalty factor ``pf`` and the penalty scaled
    by ``sum_weights`` (all rows seen so far). ``stream=True`` is a ``partial_fit`` update: no
    null model, no L1 term."""
    l1 = None if stream else _l1(estimator, sum_weights, pf)
    return IRLSProblem(
        design=data.design, family=family, penalty=_ridge(estimator, sum_weights, pf),
        fit_intercept=estimator.fit_intercept, solver=estimator.solver, tol=estimator.tol,
        max_iter=estimator.max_iter, learning_rate=estimator.learning_rate,
        verbose=estimator.verbose, robust=estimator.cov_type != "nonrobust" and l1 is None,
        log_likelihood_dispersion=_known_dispersion(estimator, family),
        null_model=not stream, l1=l1,
    )  # fmt: skip


def make_solver(problem: IRLSProblem):
    """Fisher scoring for the ridge, with a working set and coordinate descent for L1."""
    return IRLSSolver(problem) if problem.l1 is None else L1IRLSSolver(problem)


def stream_key(estimator, family) -> str:
    """The parameters a stream's accumulated state depends on."""
    pf = estimator.penalty_factor
    pf = estimator.l2_penalty_factor if pf is None else pf
    pf = None if pf is None else np.asarray(pf, dtype=float).tolist()
    return (f"family={family!r}, fit_intercept={estimator.fit_intercept}, "
            f"alpha={estimator.alpha}, l1_ratio={estimator.l1_ratio}, penalty_factor={pf}, "
            f"cov_type={estimator.cov_type}, dispersion={estimator.dispersion}")  # fmt: skip


def stream_totals(estimator, pf) -> StreamTotals:
    """What the rows a fitted model has seen contribute to the next ``partial_fit`` batch."""
    seen = _ridge(estimator, estimator.sum_sample_weight_, pf)
    return StreamTotals(
        coef=estimator._coefficients(), information=estimator.information_ - np.diag(seen),
        penalty=seen, deviance=estimator.deviance_, pearson=estimator.pearson_chi2_,
        log_likelihood=estimator.llf_, meat=estimator._meat_,
        null=NullModelStream.from_array(estimator._null_stream_), n_iter=estimator.n_iter_,
    )  # fmt: skip


# -- results ---------------------------------------------------------------------------------
def attach_result(estimator, result, family, data: FitData, solver) -> None:
    """Set the coefficients and every statistic of ``result`` on the estimator (``solver`` is
    None for a ``partial_fit`` update)."""
    selection = solver is not None and solver.problem.l1 is not None
    statistics = glm_statistics(
        family, result, dispersion_rule=estimator.dispersion,
        cov_type="nonrobust" if selection else estimator.cov_type, n_obs=data.n_obs,
        log_likelihood_at=lambda phi: solver.log_likelihood(result.coef, phi),
    )  # fmt: skip
    coef = result.coef
    intercept = estimator.fit_intercept
    estimator._selection_ = selection
    estimator.intercept_ = float(coef[0]) if intercept else 0.0
    estimator.coef_ = np.array(coef[1:] if intercept else coef, dtype=data.dtype)
    estimator.n_iter_ = int(result.n_iter)
    estimator.converged_ = bool(result.converged)
    estimator.deviance_ = float(result.deviance)
    estimator.null_deviance_ = float(result.null_deviance)
    estimator.pearson_chi2_ = float(result.pearson)
    estimator.dispersion_ = statistics.dispersion
    estimator.covariance_matrix_ = statistics.covariance
    estimator.std_errors_ = statistics.std_errors
    estimator.llf_ = statistics.log_likelihood
    estimator.information_ = result.information
    estimator.aliased_ = result.aliased
    estimator.rank_ = statistics.rank
    estimator.df_resid_ = statistics.df_resid
    estimator.use_t_ = bool(
        isinstance(estimator.dispersion, str)
        or (estimator.dispersion is None and family.has_free_dispersion)
    )
    estimator.n_obs_ = int(data.n_obs)
    estimator.sum_sample_weight_ = float(data.sum_weights)
    estimator._meat_ = result.meat


def check_fitted_glm(estimator, deep=True) -> bool:
    """Whether the model is fitted; raise ``FittedStateError`` if its state is damaged.

    ``deep=True`` (on loading): every fitted attribute present, shapes consistent with
    ``n_features_in_`` and ``fit_intercept``, coefficients and information finite.
    ``deep=False`` (before ``partial_fit``): presence and shapes, so that a damaged model is
    never silently refitted from scratch.
    """
    if not fitted_attributes_present(estimator, FITTED_ATTRIBUTES):
        return False
    check_fitted_count(estimator, "n_features_in_", minimum=0)
    check_fitted_count(estimator, "rank_")
    check_fitted_count(estimator, "n_obs_", minimum=1)
    p = estimator.n_features_in_
    q = p + int(bool(estimator.fit_intercept))
    information = estimator.information_
    if information.shape != (q, q):
        # fit_intercept may have been changed by set_params since: judge by the state.
        q = information.shape[0] if information.ndim == 2 else q
    check_fitted_array(estimator, "coef_", (p,), finite=deep)
    check_fitted_array(estimator, "information_", (q, q), finite=deep)
    check_fitted_array(estimator, "covariance_matrix_", (q, q), finite=False)
    check_fitted_array(estimator, "std_errors_", (q,), finite=False)
    check_fitted_array(estimator, "aliased_", (q,), finite=False)
    check_fitted_array(estimator, "_null_stream_", (8,), finite=False)
    if deep and not np.isfinite(estimator.intercept_):
        raise FittedStateError(
            f"{type(estimator).__name__}.intercept_ is {estimator.intercept_!r}; the fitted "
            "state is corrupt. Refit the model, or load an intact copy."
        )
    return True
