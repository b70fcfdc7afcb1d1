"""Categorical (softmax) losses of logits, with class-index or one-hot targets."""

from __future__ import annotations

import numpy as np

from skglm_fisher._logistic import log_softmax
from skglm_fisher.losses._base import (
    DistributionNegativeLogProbLoss,
    NaturalParamsNegativeLogProbLoss,
    as_float_array,
    check_2d,
    check_one_hot_index,
    check_shape,
    column_in_zeros,
    rng_from_seed,
)

__all__ = ["CategoricalLogitsNegativeLogProbLoss", "OnehotCategoricalLogitsNegativeLogProbLoss"]


class _Categorical:
    """One categorical variable per row of ``logits``; outcomes are class indices."""

    def __init__(self, logits: np.ndarray):
        self.logits = logits
        self.log_probs = log_softmax(logits, axis=-1)
        self.probs = np.exp(self.log_probs)

    def log_prob(self, classes):
        return np.take_along_axis(self.log_probs, classes[:, None], axis=-1)[:, 0]

    def sample(self, seed=None):
        # Inverse CDF: the number of cumulative probabilities below a uniform draw.
        uniform = rng_from_seed(seed).random((self.probs.shape[0], 1))
        below = np.sum(np.cumsum(self.probs, axis=-1) <= uniform, axis=-1)
        return np.minimum(below, self.probs.shape[-1] - 1).astype(np.int64)

    def mean(self):
        """Mean of the one-hot encoding: the class probabilities."""
        return self.probs


class _OneHotCategorical(_Categorical):
    """As :class:`_Categorical`, with outcomes encoded one-hot."""

    def log_prob(self, one_hot):
        return np.sum(np.where(one_hot != 0, one_hot * self.log_probs, 0.0), axis=-1)

    def sample(self, seed=None):
        classes = super().sample(seed)
        out = np.zeros_like(self.probs)
        out[np.arange(classes.size), classes] = 1.0
        return out


def _check_classes(targets, n_rows, n_classes):
    targets = np.asarray(targets)
    if targets.shape != (n_rows,):
        raise ValueError(f"targets has shape {targets.shape}; expected ({n_rows},) class indices.")
    if not np.issubdtype(targets.dtype, np.integer):
        values = as_float_array(targets, "targets")
        if np.any(values != np.round(values)):
            raise ValueError("targets must be integer class indices.")
        targets = values
    if np.any(targets < 0) or np.any(targets >= n_classes):
        raise ValueError(f"targets must be class indices in [0, {n_classes}).")
    return targets.astype(np.int64)


class CategoricalLogitsNegativeLogProbLoss(
    DistributionNegativeLogProbLoss, NaturalParamsNegativeLogProbLoss
):
    """Negative log-likelihood of a categorical distribution given its ``logits``.

    With ``p = softmax(logits)`` and ``q = sqrt(p)``, per row ``H = F = diag(p) - p pᵀ`` and
    ``B = diag(q) - p qᵀ`` (``B Bᵀ = F`` because ``qᵀ q = 1``). The logits are natural parameters.

    Parameters
    ----------
    logits : array of shape [batch, n_classes]
    targets : int array of shape [batch], optional
        Class indices in ``[0, n_classes)``.
    seed : None, int or numpy.random.Generator, optional

    Examples
    --------
    >>> import numpy as np
    >>> loss = CategoricalLogitsNegativeLogProbLoss(np.zeros((1, 2)), targets=[1])
    >>> round(loss.evaluate(), 4)
    0.6931
    >>> loss.gradient()
    array([[ 0.5, -0.5]])
    >>> loss.multiply_fisher(np.array([[1.0, 0.0]]))
    array([[ 0.25, -0.25]])
    """

    def __init__(self, logits, targets=None, seed=None):
        super().__init__(seed=seed)
        self._logits = check_2d(as_float_array(logits, "logits"), "logits")
        self._dist = self._distribution(self._logits)
        self._targets = None if targets is None else self._check_targets(targets)

    _distribution = _Categorical

    def _check_targets(self, targets):
        return _check_classes(targets, *self._logits.shape)

    def _one_hot_targets(self):
        targets = self._require_targets()
        one_hot = np.zeros_like(self._logits)
        one_hot[np.arange(targets.size), targets] = 1.0
        return one_hot

    @property
    def targets(self):
        return self._targets

    @property
    def params(self):
        return self._logits

    @property
    def dist(self):
        return self._dist

    @property
    def _probs(self):
        return self._dist.probs

    def gradient(self):
        return self._probs - self._one_hot_targets()

    def multiply_fisher(self, vector):
        p = self._probs
        pv = p * check_shape(vector, p.shape, "vector")
        return pv - p * np.sum(pv, axis=-1, keepdims=True)

    def multiply_fisher_factor(self, vector):
        p, q = self._probs, np.sqrt(self._probs)
        qv = q * check_shape(vector, p.shape, "vector")
        return qv - p * np.sum(qv, axis=-1, keepdims=True)

    def multiply_fisher_factor_transpose(self, vector):
        p, q = self._probs, np.sqrt(self._probs)
        vector = check_shape(vector, p.shape, "vector")
        return q * (vector - np.sum(p * vector, axis=-1, keepdims=True))

    def multiply_fisher_factor_replicated_one_hot(self, index):
        p = self._probs
        j = check_one_hot_index(index, p.shape[1])
        q_j = np.sqrt(p[:, j])
        return column_in_zeros(q_j, p.shape[1], j) - p * q_j[:, None]

    @property
    def fisher_factor_inner_shape(self) -> tuple:
        return self._logits.shape


class OnehotCategoricalLogitsNegativeLogProbLoss(CategoricalLogitsNegativeLogProbLoss):
    """As :class:`CategoricalLogitsNegativeLogProbLoss`, with one-hot targets and samples.

    Parameters
    ----------
    logits : array of shape [batch, n_classes]
    targets : array of shape [batch, n_classes], optional
        One-hot rows (zeros and a single one).
    seed : None, int or numpy.random.Generator, optional

    Examples
    --------
    >>> import numpy as np
    >>> loss = OnehotCategoricalLogitsNegativeLogProbLoss(np.zeros((1, 2)), targets=[[0, 1]])
    >>> round(loss.evaluate(), 4)
    0.6931
    >>> loss.sample(seed=0).shape
    (1, 2)
    """

    _distribution = _OneHotCategorical

    def _check_targets(self, targets):
        targets = check_shape(as_float_array(targets, "targets"), self._logits.shape, "targets")
        if np.any((targets != 0) & (targets != 1)) or np.any(np.sum(targets, axis=-1) != 1):
            raise ValueError("targets must be one-hot rows (zeros and a single one).")
        return targets

    def _one_hot_targets(self):
        return self._require_targets()
