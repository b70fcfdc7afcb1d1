"""Penalties of the Fisher scoring solvers: quadratic (a ridge, or a stream's prior) and L1.

Coefficient vectors put the intercept first, as in :mod:`skglm_fisher.glm._solver`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["L1Penalty", "QuadraticPenalty"]


@dataclass(frozen=True)
class QuadraticPenalty:
    """``½ (coef - center)ᵀ Λ (coef - center)`` with ``Λ`` a vector (diagonal) or a matrix.

    Examples
    --------
    >>> import numpy as np
    >>> penalty = QuadraticPenalty(np.array([0.0, 2.0]))
    >>> penalty.value(np.array([3.0, 1.0])), penalty.gradient(np.array([3.0, 1.0]))
    (1.0, array([0., 2.]))
    """

    precision: np.ndarray
    center: np.ndarray | None = None

    @property
    def diagonal(self) -> bool:
        return np.ndim(self.precision) == 1

    def _offset(self, coef):
        return coef if self.center is None else coef - self.center

    def gradient(self, coef) -> np.ndarray:
        c = self._offset(coef)
        return self.precision * c if self.diagonal else self.precision @ c

    def value(self, coef) -> float:
        return 0.5 * float(self._offset(coef) @ self.gradient(coef))

    def matrix(self) -> np.ndarray:
        return np.diag(self.precision) if self.diagonal else self.precision

    def add_to(self, gram) -> np.ndarray:
        """``gram + Λ`` (a new array)."""
        out = np.array(gram, dtype=np.float64)
        if self.diagonal:
            out[np.diag_indices_from(out)] += self.precision
        else:
            out += self.precision
        return out

    def rows(self, coef):
        """``(A, t)`` with ``AᵀA = Λ`` and ``t = -A (coef - center)``: the penalty as extra rows
        of the least-squares problem ``min ||[√W X; A] Δ - [√W z; t]||`` of a step."""
        if self.diagonal:
            root = np.sqrt(self.precision)
            keep = root > 0
            a = np.diag(root)[keep]
        else:
            values, vectors = np.linalg.eigh(self.precision)
            keep = values > 0
            a = np.sqrt(values[keep])[:, None] * vectors[:, keep].T
        return a, -a @ self._offset(coef)


@dataclass(frozen=True)
class L1Penalty:
    """``Σ_j weights_j · |coef_j|`` with non-negative weights (0: the coefficient is free).

    Fitted by :class:`~skglm_fisher.glm._l1_solver.L1IRLSSolver`; for the estimators'
    elastic net, ``weights = alpha · l1_ratio · Σs · pf`` (zero for the intercept).

    Examples
    --------
    >>> import numpy as np
    >>> L1Penalty(np.array([0.0, 2.0, 1.0])).value(np.array([5.0, -1.5, 0.0]))
    3.0
    """

    weights: np.ndarray

    def __post_init__(self):
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError("L1 penalty weights must be a vector of finite, non-negative values.")
        object.__setattr__(self, "weights", weights)

    def value(self, coef) -> float:
        return float(self.weights @ np.abs(coef))
