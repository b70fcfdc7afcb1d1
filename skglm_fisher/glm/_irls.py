"""The inputs, the iteration state and the result of the Fisher scoring solvers.

:class:`IRLSProblem` holds the frozen inputs of a fit, :class:`IRLSState` everything that
changes between iterations, :class:`IRLSResult` everything a fitted model reports; the solvers
(:mod:`skglm_fisher.glm._solver`, :mod:`skglm_fisher.glm._l1_solver`,
:mod:`skglm_fisher.glm._multinomial`) share them. Coefficient vectors put the intercept first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._linalg import InformationFactor
from skglm_fisher.glm._penalties import L1Penalty, QuadraticPenalty
from skglm_fisher.glm._start import InterceptOnly

__all__ = ["IRLSProblem", "IRLSResult", "IRLSState"]


@dataclass(frozen=True)
class IRLSProblem:
    """Frozen inputs of a fit.

    Attributes
    ----------
    design : LocalDesign or DaskDesign
        Rows of ``X`` with the response, offset and sample weights.
    family : ExponentialFamily
    penalty : QuadraticPenalty or ndarray of shape (q,)
        A vector is the diagonal ``P`` of the ridge penalty (zero for the intercept).
    fit_intercept : bool
    solver : {'cholesky', 'qr', 'observed'}
    tol, max_iter, learning_rate, verbose
    robust : bool
        Compute the sandwich's meat at the solution.
    log_likelihood_dispersion : float or None
        Sum the log-likelihood at this dispersion in the final pass (when it is known before
        the fit: a fixed dispersion, or families without one).
    null_model : bool
        Compute the null deviance (R's: the intercept-only fit with the offset, or the deviance
        at ``eta = offset`` without an intercept).
    l1 : L1Penalty or None
        An L1 term added to the objective; such problems are solved by
        :class:`~skglm_fisher.glm._l1_solver.L1IRLSSolver` (with a diagonal ``penalty``).
    """

    design: object
    family: ExponentialFamily
    penalty: object
    fit_intercept: bool = True
    solver: str = "cholesky"
    tol: float = 1e-8
    max_iter: int = 100
    learning_rate: float = 1.0
    verbose: int = 0
    robust: bool = False
    log_likelihood_dispersion: float | None = None
    null_model: bool = True
    l1: L1Penalty | None = None

    def __post_init__(self):
        if not isinstance(self.penalty, QuadraticPenalty):
            vector = np.asarray(self.penalty, dtype=np.float64)
            object.__setattr__(self, "penalty", QuadraticPenalty(vector))
        if self.l1 is not None:
            if not self.penalty.diagonal or self.penalty.center is not None:
                raise ValueError("An L1 penalty combines only with a diagonal ridge penalty.")
            if self.l1.weights.shape != (self.n_coef,):
                raise ValueError(
                    f"The L1 penalty has {self.l1.weights.size} weights; expected {self.n_coef}."
                )

    @property
    def n_coef(self) -> int:
        return self.design.n_features + self.fit_intercept

    @property
    def constant_information(self) -> bool:
        """Fisher weights independent of ``eta``: the information is computed once."""
        return self.solver == "cholesky" and self.family.fisher_weights_are_constant

    @property
    def information_kind(self) -> str:
        if self.solver == "qr":
            return "qr"
        observed = self.solver == "observed" and not self.family.is_canonical
        return "observed" if observed and self.family.has_quasi_score else "fisher"


@dataclass
class IRLSState:
    """Mutable iteration state: coefficients and the row sums at them."""

    coef: np.ndarray
    objective: float = np.inf
    deviance: float = np.inf
    pearson: float = np.nan
    gradient: np.ndarray | None = None
    gram: np.ndarray | None = None  # Xᵀ diag(w) X, unpenalised
    gram_kind: str = "fisher"  # the weights of ``gram``: 'fisher' or 'observed'
    gram_single: bool = False  # ``gram`` was multiplied in float32 (good for a step only)
    gram_stale: bool = False  # ``gram`` is an earlier point's (chord steps since it)
    rfactor: np.ndarray | None = None  # R of sqrt(w) ⊙ [X, z] (QR solver)
    factor: InformationFactor | None = None  # of the penalised information of the last step
    aliased: np.ndarray | None = None
    step: np.ndarray | None = None
    decrement: float = np.inf
    n_iter: int = 0
    converged: bool = False
    line_search_failed: bool = False
    boundary_stop: bool = False
    # L1 fits (:mod:`skglm_fisher.glm._l1_solver`): the score ``Xᵀ r`` of every coefficient, the
    # coefficients whose rows and columns ``gram`` holds, the zero coefficients outside them that
    # violate their optimality condition, and the largest scaled violation inside them.
    score: np.ndarray | None = None
    gram_columns: np.ndarray | None = None
    violators: np.ndarray | None = None
    kkt: float = np.inf


@dataclass
class IRLSResult:
    """Everything a fitted model reports, at the final coefficients.

    ``gram`` is the unpenalised Fisher information ``Xᵀ diag(w) X`` (of the last iteration, as
    R's ``glm.fit`` and statsmodels' IRLS use), ``information`` the penalised one and ``factor``
    a factor of it fit for the covariance (see :mod:`skglm_fisher.glm._linalg`); ``rank`` is the
    rank of the unpenalised information and ``aliased`` marks the coefficients the penalised
    information does not identify (held at 0).
    """

    coef: np.ndarray
    n_iter: int
    converged: bool
    deviance: float
    pearson: float
    objective: float
    gram: np.ndarray
    information: np.ndarray
    factor: InformationFactor
    rank: int
    aliased: np.ndarray
    null_deviance: float = np.nan
    null: InterceptOnly | None = None
    log_likelihood: float | None = None
    n_boundary: int = 0
    n_positive: int = 0
    meat: np.ndarray | None = None
