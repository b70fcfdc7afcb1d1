"""Row-block kernel of the L1 solver: the score of every column, the information of a few.

Conventions as in :mod:`skglm_fisher.glm._passes` (kernels ``fn(block, y, offset,
sample_weight, *args) -> PassSums``, intercept first, per-row math from
:class:`~skglm_fisher.glm._row_terms.RowTerms`).

An L1 fit needs the score ``Xᵀ r`` of every column (to check which zero coefficients may stay
zero) but the information ``Xᵀ diag(w) X`` only over its *working set*, the columns that are or
may become non-zero: with ``k`` of ``p`` columns that costs ``n·k²`` instead of ``n·p²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._passes import PassSums, linear_predictor
from skglm_fisher.glm._row_terms import RowTerms

__all__ = ["WorkingSetSpec", "column_gram", "working_set_pass"]


@dataclass(frozen=True)
class WorkingSetSpec:
    """What :func:`working_set_pass` computes (picklable, for Dask workers).

    Attributes
    ----------
    family : ExponentialFamily
    fit_intercept : bool
    columns : ndarray of int
        The design columns (intercept excluded) whose information is computed, increasing.
    weights : {'fisher', 'observed'}
    """

    family: ExponentialFamily
    fit_intercept: bool
    columns: np.ndarray
    weights: str = "fisher"


def working_set_pass(block, y, offset, sample_weight, coef, spec: WorkingSetSpec) -> PassSums:
    """Deviance, Pearson's χ², the score of every coefficient and the information of the
    intercept (if any) and ``spec.columns``, for one row block at ``coef``."""
    intercept = spec.fit_intercept
    terms = RowTerms(spec.family, y, linear_predictor(block, offset, coef, intercept),
                     sample_weight)  # fmt: skip
    if terms.n_invalid:
        return PassSums(deviance=np.inf, n_invalid=terms.n_invalid)
    score = terms.score
    gradient = block.rmatvec(score)
    weights = terms.observed if spec.weights == "observed" else terms.fisher
    return PassSums(
        deviance=terms.deviance,
        pearson=terms.pearson,
        gradient=np.concatenate([[score.sum()], gradient]) if intercept else gradient,
        gram=column_gram(block.X, weights, spec.columns, intercept),
    )


def column_gram(X, weights, columns, intercept: bool) -> np.ndarray:
    """``[1, X_S]ᵀ diag(weights) [1, X_S]`` for the columns ``S`` of a dense or sparse block
    (the intercept first, when requested).

    Examples
    --------
    >>> X = np.array([[1.0, 5.0, 2.0], [3.0, 7.0, 4.0]])
    >>> column_gram(X, np.array([1.0, 2.0]), np.array([0, 2]), intercept=True)
    array([[ 3.,  7., 10.],
           [ 7., 19., 26.],
           [10., 26., 36.]])
    """
    k = len(columns)
    q = k + intercept
    if sp.issparse(X):
        part = X[:, columns]
        gram = np.empty((q, q))
        gram[intercept:, intercept:] = (part.T @ part.multiply(weights[:, None]).tocsr()).toarray()
        if intercept:
            border = np.asarray(part.T @ weights, dtype=np.float64).ravel()
            gram[0, 1:] = gram[1:, 0] = border
            gram[0, 0] = weights.sum()
        return gram
    if np.any(weights < 0):
        part = np.asarray(np.take(X, columns, axis=1), dtype=np.float64)
        if intercept:
            part = np.column_stack([np.ones(part.shape[0]), part])
        return part.T @ (part * weights[:, None])
    # Rows of B = sqrt(w) ⊙ [1, X_S]ᵀ, contiguous: one symmetric product gives the Gram with
    # its intercept border (the layout BLAS multiplies fastest, as the engine's fused pass).
    root = np.sqrt(weights)
    scaled = np.empty((q, X.shape[0]))
    if intercept:
        scaled[0] = root
    np.multiply(np.take(X, columns, axis=1).T, root, out=scaled[intercept:])
    return scaled @ scaled.T
