"""The observed information of a GLM at given coefficients, for covariances that use it.

Fisher scoring reports the expected (Fisher) information, as R's ``glm`` and statsmodels' ``GLM``
do. statsmodels' discrete models (``Probit``) report the observed information, the Hessian of
the negative log-likelihood, ``Xᵀ diag(s · o) X`` with the per-row observed information
``o = -d score / d eta`` (:meth:`ExponentialFamily.observed_information`). The two agree under
the canonical link and differ by ``O(1/sqrt(n))`` relative otherwise. Unlike the observed weights
of the ``'observed'`` solver, which keep the Fisher weight where a row's observed information is
negative, these are exact: at a maximum of the likelihood their sum is positive definite.
"""

from __future__ import annotations

import numpy as np

from skglm_fisher.glm._blas import single_threaded_blas
from skglm_fisher.glm._linalg import InformationFactor, cholesky_factor, qr_factor
from skglm_fisher.glm._passes import PassSums, linear_predictor

__all__ = ["observed_gram", "observed_information_factor"]


def _observed_pass(block, y, offset, sample_weight, coef, family, fit_intercept) -> PassSums:
    eta = linear_predictor(block, offset, coef, fit_intercept)
    weights = family.observed_information(y, eta)
    if sample_weight is not None:
        weights = weights * sample_weight
    weights = np.where(np.isfinite(weights), weights, 0.0)
    return PassSums(gram=block.gram(weights, fit_intercept))


def observed_gram(design, family, coef, fit_intercept) -> np.ndarray:
    """``[1, X]ᵀ diag(s · o) [1, X]`` at ``coef`` (intercept first), one pass over the rows."""
    sums = design.map_reduce(_observed_pass, coef, family, fit_intercept)
    return design.finish_gram(sums.gram, fit_intercept)


def observed_information_factor(information, keep) -> InformationFactor | None:
    """A factor of the (penalised) observed ``information`` over the columns ``keep``, or None
    when it is not positive definite there (not a maximum of the likelihood).

    An equilibrated Cholesky factor when it is fit for the covariance; otherwise the ``R`` of a
    QR of its symmetric square root (which keeps the aliasing of ``keep``).
    """
    factor = cholesky_factor(information, keep=keep)
    if factor is not None and factor.usable_for_covariance():
        return factor
    sub = np.asarray(information)[np.ix_(keep, keep)]
    with single_threaded_blas():
        values, vectors = np.linalg.eigh(sub)
    if values.size and not values.min() > 1e-12 * values.max():
        return None
    rows = np.zeros((values.size, keep.size))
    rows[:, keep] = np.sqrt(values)[:, None] * vectors.T
    factor, _ = qr_factor(rows)
    return factor if np.array_equal(factor.keep, keep) else None
