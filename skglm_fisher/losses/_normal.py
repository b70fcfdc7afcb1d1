"""Normal losses: the mean with a fixed variance, and the mean together with the variance."""

from __future__ import annotations

import numpy as np

from skglm_fisher.losses._base import (
    DistributionNegativeLogProbLoss,
    NaturalParamsNegativeLogProbLoss,
    as_float_array,
    check_2d,
    check_broadcastable,
    check_one_hot_index,
    check_shape,
    column_in_zeros,
    rng_from_seed,
)

__all__ = ["NormalMeanNegativeLogProbLoss", "NormalMeanVarianceNegativeLogProbLoss"]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


class _Normal:
    """Independent normal coordinates with location ``loc`` and standard deviation ``scale``."""

    def __init__(self, loc: np.ndarray, scale):
        self.loc, self.scale = loc, scale

    def log_prob(self, x):
        return -0.5 * np.square((x - self.loc) / self.scale) - np.log(self.scale) - _LOG_SQRT_2PI

    def sample(self, seed=None):
        shape = np.broadcast_shapes(self.loc.shape, np.shape(self.scale))
        return rng_from_seed(seed).normal(self.loc, self.scale, shape).astype(self.loc.dtype)

    def mean(self):
        return self.loc


def _targets_like(targets, shape, name="targets"):
    if targets is None:
        return None
    return check_shape(as_float_array(targets, name), shape, name)


def _positive(x, name):
    x = as_float_array(x, name)
    if np.any(x <= 0):
        raise ValueError(f"{name} must be positive.")
    return x


class NormalMeanNegativeLogProbLoss(
    DistributionNegativeLogProbLoss, NaturalParamsNegativeLogProbLoss
):
    """Negative log-likelihood of a normal with predicted ``mean`` and fixed variance ``var``.

    The mean is the natural parameter (up to the constant ``var``), so ``H = F = I / var`` per row
    and ``B = I / sqrt(var)``.

    Parameters
    ----------
    mean : array of shape [batch, dim]
    var : float or array broadcastable to [batch, dim], default=0.5
        Variance of every coordinate.
    targets : array of shape [batch, dim], optional
    seed : None, int or numpy.random.Generator, optional
        Default seed of ``evaluate_on_sample``.

    Examples
    --------
    >>> import numpy as np
    >>> loss = NormalMeanNegativeLogProbLoss(np.zeros((2, 1)), var=0.5, targets=np.ones((2, 1)))
    >>> round(loss.evaluate(), 4)
    3.1447
    >>> loss.gradient()
    array([[-2.],
           [-2.]])
    >>> loss.multiply_fisher(np.ones((2, 1)))
    array([[2.],
           [2.]])
    """

    def __init__(self, mean, var=0.5, targets=None, seed=None):
        super().__init__(seed=seed)
        self._mean = check_2d(as_float_array(mean, "mean"), "mean")
        var = check_broadcastable(_positive(var, "var"), self._mean.shape, "var")
        self._var = var.astype(self._mean.dtype, copy=False)
        self._targets = _targets_like(targets, self._mean.shape)

    @property
    def targets(self):
        return self._targets

    @property
    def params(self):
        return self._mean

    @property
    def dist(self):
        return _Normal(self._mean, np.sqrt(self._var))

    def gradient(self):
        return (self._mean - self._require_targets()) / self._var

    def multiply_fisher(self, vector):
        return check_shape(vector, self._mean.shape, "vector") / self._var

    def multiply_fisher_factor(self, vector):
        return check_shape(vector, self._mean.shape, "vector") / np.sqrt(self._var)

    def multiply_fisher_factor_transpose(self, vector):
        return self.multiply_fisher_factor(vector)  # B is symmetric

    def multiply_fisher_factor_replicated_one_hot(self, index):
        batch, dim = self._mean.shape
        j = check_one_hot_index(index, dim)
        inv_std = np.broadcast_to(1.0 / np.sqrt(self._var), self._mean.shape)[:, j]
        return column_in_zeros(inv_std.astype(self._mean.dtype), dim, j)

    @property
    def fisher_factor_inner_shape(self) -> tuple:
        return self._mean.shape


class NormalMeanVarianceNegativeLogProbLoss(DistributionNegativeLogProbLoss):
    """Negative log-likelihood of a normal with predicted ``mean`` and ``variance``.

    ``inputs`` (= ``params``) is the pair ``(mean, variance)``, and the products take and return
    pairs of arrays of shape [batch, dim]. Per coordinate the Fisher is
    ``diag(1 / variance, 1 / (2 variance²))``; its factor ``B`` maps an inner vector of shape
    [batch, 2·dim] (mean part first, then variance part) to a pair, and ``Bᵀ`` a pair back to
    [batch, 2·dim]. The variance is not a natural parameter, so the Hessian depends on the targets
    and the Hessian methods raise ``NotImplementedError``; use the Fisher ones.

    Parameters
    ----------
    mean : array of shape [batch, dim]
    variance : array of shape [batch, dim]
        Positive.
    targets : array of shape [batch, dim], optional
    seed : None, int or numpy.random.Generator, optional

    Examples
    --------
    >>> import numpy as np
    >>> loss = NormalMeanVarianceNegativeLogProbLoss(np.zeros((1, 2)), np.full((1, 2), 2.0))
    >>> loss.multiply_fisher((np.ones((1, 2)), np.ones((1, 2))))
    (array([[0.5, 0.5]]), array([[0.125, 0.125]]))
    >>> loss.fisher_factor_inner_shape
    (1, 4)
    """

    def __init__(self, mean, variance, targets=None, seed=None):
        super().__init__(seed=seed)
        self._mean = check_2d(as_float_array(mean, "mean"), "mean")
        variance = check_shape(_positive(variance, "variance"), self._mean.shape, "variance")
        self._variance = variance.astype(self._mean.dtype, copy=False)
        self._scale = np.sqrt(self._variance)
        self._targets = _targets_like(targets, self._mean.shape)

    @property
    def targets(self):
        return self._targets

    @property
    def params(self):
        return self._mean, self._variance

    @property
    def dist(self):
        return _Normal(self._mean, self._scale)

    def gradient(self):
        residual = self._require_targets() - self._mean
        d_mean = -residual / self._variance
        d_variance = 0.5 / self._variance - 0.5 * np.square(residual / self._variance)
        return d_mean, d_variance

    # Per-coordinate Fisher entries and their square roots.
    def _fisher_entries(self):
        return 1.0 / self._variance, 0.5 / np.square(self._variance)

    def _factor_entries(self):
        return 1.0 / self._scale, 1.0 / (np.sqrt(2.0) * self._variance)

    def _pair(self, vectors, name="vectors"):
        if not isinstance(vectors, (tuple, list)) or len(vectors) != 2:
            raise ValueError(f"{name} must be a pair (mean_part, variance_part).")
        shape = self._mean.shape
        mean_part = check_shape(vectors[0], shape, f"{name}[0]")
        return mean_part, check_shape(vectors[1], shape, f"{name}[1]")

    def multiply_fisher(self, vectors):
        mean_part, var_part = self._pair(vectors)
        f_mean, f_var = self._fisher_entries()
        return f_mean * mean_part, f_var * var_part

    def multiply_fisher_factor(self, vector):
        vector = check_shape(vector, self.fisher_factor_inner_shape, "vector")
        dim = self._mean.shape[1]
        b_mean, b_var = self._factor_entries()
        return b_mean * vector[:, :dim], b_var * vector[:, dim:]

    def multiply_fisher_factor_transpose(self, vectors):
        mean_part, var_part = self._pair(vectors)
        b_mean, b_var = self._factor_entries()
        return np.concatenate([b_mean * mean_part, b_var * var_part], axis=-1)

    def multiply_fisher_factor_replicated_one_hot(self, index):
        dim = self._mean.shape[1]
        j = check_one_hot_index(index, 2 * dim)
        entries = self._factor_entries()[j // dim]
        column = column_in_zeros(entries[:, j % dim], dim, j % dim)
        zeros = np.zeros_like(column)
        return (column, zeros) if j < dim else (zeros, column)

    @property
    def fisher_factor_inner_shape(self) -> tuple:
        batch, dim = self._mean.shape
        return (batch, 2 * dim)

    def _no_hessian(self, *args):
        raise NotImplementedError(
            "The Hessian of the normal loss in (mean, variance) depends on the targets: the "
            "variance is not a natural parameter. Use the Fisher methods."
        )

    multiply_hessian = _no_hessian
    multiply_hessian_factor = _no_hessian
    multiply_hessian_factor_transpose = _no_hessian
    multiply_hessian_factor_replicated_one_hot = _no_hessian

    @property
    def hessian_factor_inner_shape(self) -> tuple:
        self._no_hessian()

    @property
    def hessian_factor_inner_static_shape(self) -> tuple:
        self._no_hessian()
