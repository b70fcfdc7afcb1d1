"""Independent Bernoulli losses of logits (multi-label logistic loss)."""

from __future__ import annotations

import numpy as np

from skglm_fisher._logistic import sigmoid, sigmoid_cross_entropy
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

__all__ = ["MultiBernoulliNegativeLogProbLoss"]


class _Bernoulli:
    """Independent Bernoulli variables with success log-odds ``logits``."""

    def __init__(self, logits: np.ndarray):
        self.logits = logits
        self.probs = sigmoid(logits)

    def log_prob(self, x):
        # From the logits, not the probabilities: exact for large |logits|.
        return -sigmoid_cross_entropy(x, self.logits)

    def sample(self, seed=None):
        uniform = rng_from_seed(seed).random(self.probs.shape)
        return (uniform < self.probs).astype(self.probs.dtype)

    def mean(self):
        return self.probs


class MultiBernoulliNegativeLogProbLoss(
    DistributionNegativeLogProbLoss, NaturalParamsNegativeLogProbLoss
):
    """Negative log-likelihood of independent Bernoulli variables given their ``logits``.

    With ``p = sigmoid(logits)``, per row ``H = F = diag(p (1 - p))`` and
    ``B = diag(sqrt(p (1 - p)))``. The logits are natural parameters.

    Parameters
    ----------
    logits : array of shape [batch, dim]
    targets : array of shape [batch, dim], optional
        Values in ``[0, 1]`` (soft labels are accepted by ``evaluate`` and ``gradient``).
    seed : None, int or numpy.random.Generator, optional

    Examples
    --------
    >>> import numpy as np
    >>> loss = MultiBernoulliNegativeLogProbLoss(np.zeros((1, 2)), targets=[[1.0, 0.0]])
    >>> round(loss.evaluate(), 4)
    1.3863
    >>> loss.gradient()
    array([[-0.5,  0.5]])
    >>> loss.multiply_fisher_factor_replicated_one_hot((0,))
    array([[0.5, 0. ]])
    """

    def __init__(self, logits, targets=None, seed=None):
        super().__init__(seed=seed)
        self._logits = check_2d(as_float_array(logits, "logits"), "logits")
        self._dist = _Bernoulli(self._logits)
        self._targets = None
        if targets is not None:
            targets = check_shape(as_float_array(targets, "targets"), self._logits.shape, "targets")
            if np.any((targets < 0) | (targets > 1)):
                raise ValueError("targets of a Bernoulli loss must lie in [0, 1].")
            self._targets = targets
        # p (1 - p) = sigmoid(l) sigmoid(-l), accurate in both tails.
        self._variance = self._dist.probs * sigmoid(-self._logits)

    @property
    def targets(self):
        return self._targets

    @property
    def params(self):
        return self._logits

    @property
    def dist(self):
        return self._dist

    def gradient(self):
        return self._dist.probs - self._require_targets()

    def multiply_fisher(self, vector):
        return self._variance * check_shape(vector, self._logits.shape, "vector")

    def multiply_fisher_factor(self, vector):
        return np.sqrt(self._variance) * check_shape(vector, self._logits.shape, "vector")

    def multiply_fisher_factor_transpose(self, vector):
        return self.multiply_fisher_factor(vector)  # B is diagonal

    def multiply_fisher_factor_replicated_one_hot(self, index):
        dim = self._logits.shape[1]
        j = check_one_hot_index(index, dim)
        return column_in_zeros(np.sqrt(self._variance[:, j]), dim, j)

    @property
    def fisher_factor_inner_shape(self) -> tuple:
        return self._logits.shape
