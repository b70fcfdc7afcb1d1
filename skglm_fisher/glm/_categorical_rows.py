"""Per-row quantities of the multinomial logit: the one place the solver reads them from.

Conventions
-----------
``K`` classes coded ``0..K-1``; class 0 is the reference, with logit 0. Arrays are *class-major*:
the linear predictors of the non-reference classes have shape ``(K-1, n)`` and the
probabilities ``(K, n)``, so that each class's values are contiguous. Per row, with
probabilities ``p`` (the softmax of the logits ``(0, eta)``) and prior weight ``s``:

- the deviance ``-2 s log p_y``;
- the score ``s (e_y - p)`` over the non-reference classes;
- the Fisher weights ``s p_k (δ_kl - p_l)``, ``k, l >= 1``: the non-reference block of the
  categorical Fisher ``diag(p) - p pᵀ``;
- the factor columns ``b_j = sqrt(s) sqrt(p_j) (e_j - p)`` over the non-reference classes
  (column ``j`` of the Fisher factor ``diag(sqrt p) - p sqrt(p)ᵀ``, so ``Σ_j b_j b_jᵀ`` is the
  Fisher block) with the targets ``t_j = sqrt(s) (e_y - p)_j / sqrt(p_j)`` (``Σ_j b_j t_j`` is
  the score): the rows whose QR gives the information and the step.

These are the formulas of :class:`~skglm_fisher.losses.CategoricalLogitsNegativeLogProbLoss`
(its gradient, ``multiply_fisher`` and ``multiply_fisher_factor_replicated_one_hot``), against
which the tests check them. They are computed here rather than through the loss object because
a pass that computes the score alone is dominated by the softmax: class-major, it takes 0.05 ms
for 5,242 rows and five classes, against 1.8 ms for ``scipy.special.logsumexp`` over the
row-major logits the loss takes (measured, one thread).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from skglm_fisher.glm._row_terms import safe_ratio

__all__ = ["BOUNDARY", "CategoricalRows", "pairs"]

#: A probability below this is numerically 0 (R's ``10 · eps``).
BOUNDARY = 10 * np.finfo(np.float64).eps


def pairs(n_free):
    """The ``(k, l)``, ``k <= l``, of the distinct information blocks, row by row (0-based over
    the non-reference classes)."""
    return [(k, l) for k in range(n_free) for l in range(k, n_free)]


class CategoricalRows:
    """The multinomial-logit quantities of rows ``(y, eta, s)``; see the module docstring.

    Parameters
    ----------
    y : ndarray of shape (n,), int
        Class codes in ``[0, n_classes)``.
    eta : ndarray of shape (n_classes - 1, n)
        Linear predictors of the non-reference classes.
    sample_weight : ndarray of shape (n,) or None

    Examples
    --------
    >>> import numpy as np
    >>> rows = CategoricalRows(np.array([0, 2]), np.zeros((2, 2)))
    >>> round(rows.deviance, 4)
    4.3944
    >>> rows.score
    array([[-0.33333333, -0.33333333],
           [-0.33333333,  0.66666667]])
    """

    def __init__(self, y, eta, sample_weight=None):
        self.y = y
        self.sample_weight = sample_weight
        finite = np.isfinite(eta).all(axis=0)
        if sample_weight is not None:
            finite |= sample_weight == 0
        self.n_invalid = int(finite.size - np.count_nonzero(finite))
        if self.n_invalid:
            return
        if not np.all(np.isfinite(eta)):  # rows of weight 0 only
            eta = np.where(np.isfinite(eta), eta, 0.0)
        self.eta = eta
        top = np.maximum(eta.max(axis=0), 0.0) if eta.shape[0] else np.zeros(eta.shape[1])
        shifted = np.exp(eta - top)
        reference = np.exp(-top)
        total = reference + shifted.sum(axis=0)
        #: ``log Σ_k exp(logit_k)`` per row.
        self.log_normaliser = top + np.log(total)
        #: ``p`` of shape (n_classes, n).
        self.probabilities = np.vstack([reference / total, shifted / total])

    def _weighted(self, values):
        return values if self.sample_weight is None else values * self.sample_weight

    def _total(self, per_row) -> float:
        s = self.sample_weight
        return float(per_row.sum() if s is None else s @ per_row)

    @cached_property
    def log_probability(self) -> np.ndarray:
        """``log p_y`` per row."""
        y, eta = self.y, self.eta
        chosen = np.take_along_axis(eta, np.maximum(y - 1, 0)[None, :], axis=0)[0]
        return np.where(y > 0, chosen, 0.0) - self.log_normaliser

    @cached_property
    def deviance(self) -> float:
        """``-2 Σ s log p_y`` (the labels are single classes: no saturated term)."""
        return -2.0 * self._total(self.log_probability)

    @cached_property
    def pearson(self) -> float:
        """Pearson's ``Σ s Σ_k (y_k - p_k)² / p_k``, which is ``Σ s (1/p_y - 1)`` for one-hot
        ``y``."""
        with np.errstate(over="ignore"):
            return self._total(np.expm1(-self.log_probability))

    @cached_property
    def score(self) -> np.ndarray:
        """``s (e_y - p)`` over the non-reference classes, shape (n_classes - 1, n)."""
        score = -self.probabilities[1:]
        rows = np.flatnonzero(self.y > 0)
        score[self.y[rows] - 1, rows] += 1.0
        return self._weighted(score)

    def pair_weights(self) -> np.ndarray:
        """``s p_k (δ_kl - p_l)`` for the pairs of :func:`pairs`, shape (n_pairs, n)."""
        p = self.probabilities[1:]
        weights = np.array([p[k] * (1.0 - p[k]) if k == l else -p[k] * p[l]
                            for k, l in pairs(p.shape[0])])  # fmt: skip
        return self._weighted(weights)

    def factor_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """``(b, t)`` of the module docstring: ``b`` of shape (n, n_classes, n_classes - 1)
        (row ``i``, column ``j``), ``t`` of shape (n, n_classes)."""
        p = self.probabilities.T
        root = np.sqrt(p)
        unit = np.eye(p.shape[1])[:, 1:]
        b = root[:, :, None] * (unit[None, :, :] - p[:, None, 1:])
        residual = -p
        residual[np.arange(p.shape[0]), self.y] += 1.0
        t = safe_ratio(residual, root)
        if self.sample_weight is not None:
            weight = np.sqrt(self.sample_weight)
            b = b * weight[:, None, None]
            t = t * weight[:, None]
        return b, t

    def boundary_counts(self) -> tuple[int, int]:
        """``(rows with a class probability numerically 0, rows of positive weight)``."""
        at_bound = np.min(self.probabilities, axis=0) < BOUNDARY
        if self.sample_weight is None:
            return int(np.count_nonzero(at_bound)), int(at_bound.size)
        positive = self.sample_weight > 0
        return int(np.count_nonzero(at_bound & positive)), int(np.count_nonzero(positive))
