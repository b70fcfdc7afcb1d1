"""Base classes of the loss objects, with the conventions every loss follows.

Conventions
-----------
- A loss is a negative log-likelihood ``l(inputs; targets)``: ``inputs`` are the parameters of a
  distribution predicted by a model (logits, a mean, a GLM's linear predictor ``eta``) and
  ``targets`` the observations. :meth:`LossFunction.evaluate` is **summed** over the batch, never
  averaged; divide by the batch size where an average is wanted.
- Inputs have shape ``[batch, dim]`` with the batch axis first (the GLM loss takes ``[batch]``).
  Arrays are float64 unless the input is float32, which is kept.
- The loss is a sum of independent per-row terms, so its Hessian ``H`` and Fisher ``F`` with
  respect to the inputs are block diagonal, one ``dim x dim`` block per row, and every product acts
  row by row: ``multiply_fisher(v)`` takes and returns arrays shaped like ``inputs``.
- The Fisher is ``E[g gᵀ]``, ``g`` the gradient of the loss, over targets drawn from the model's
  own distribution; it is also the expected Hessian. When the inputs are the natural parameters
  of an exponential family (logits, the mean of a normal of fixed variance, a GLM's ``eta`` under
  its canonical link) the Hessian does not depend on the targets and equals the Fisher
  (:class:`NaturalParamsNegativeLogProbLoss`).
- A factor ``B`` with ``B Bᵀ = F`` maps the *inner* space to the input space:
  ``multiply_fisher_factor(u)`` takes ``u`` of shape ``fisher_factor_inner_shape`` and returns the
  shape of ``inputs``; ``multiply_fisher_factor_transpose(v)`` maps back.
  ``multiply_fisher_factor_replicated_one_hot((j,))`` is ``B e_j`` for every row at once, so that
  ``sum_j outer(B e_j, B e_j)`` is ``F`` row by row. The ``hessian`` methods are the same for ``H``.
  numpy shapes are always known, so ``*_inner_static_shape`` equals ``*_inner_shape`` (a tuple).
- :meth:`LossFunction.gradient` is ``d evaluate() / d inputs`` in closed form (no autodiff).
- Random draws take ``seed``: None (fresh entropy), an int or a :class:`numpy.random.Generator`.
- Invalid inputs or targets (NaN or infinity, wrong shapes, targets outside the support) raise
  ``ValueError``. Vectors passed to the products are checked for shape only.
"""

from __future__ import annotations

import abc

import numpy as np

__all__ = [
    "LossFunction",
    "NegativeLogProbLoss",
    "NaturalParamsNegativeLogProbLoss",
    "DistributionNegativeLogProbLoss",
]


# --------------------------------------------------------------------------------------------
# Shared input handling
# --------------------------------------------------------------------------------------------
def as_float_array(x, name: str, *, check_finite: bool = True) -> np.ndarray:
    """``x`` as a float32/float64 array; ``ValueError`` if complex or (optionally) not finite."""
    x = np.asarray(x)
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must be real; got a complex array.")
    if x.dtype not in (np.float32, np.float64):
        try:
            x = x.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a numeric array; got dtype {x.dtype}.") from None
    if check_finite and not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return x


def check_2d(x: np.ndarray, name: str) -> np.ndarray:
    """Raise ``ValueError`` unless ``x`` has shape ``[batch, dim]``."""
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [batch, dim]; got shape {x.shape}.")
    return x


def check_shape(x, shape: tuple, name: str) -> np.ndarray:
    """``x`` as an array of exactly ``shape``, else ``ValueError``."""
    x = np.asarray(x)
    if x.shape != tuple(shape):
        raise ValueError(f"{name} has shape {x.shape}; expected {tuple(shape)}.")
    return x


def check_broadcastable(x: np.ndarray, shape: tuple, name: str) -> np.ndarray:
    """Raise ``ValueError`` unless ``x`` broadcasts to ``shape`` without enlarging it."""
    try:
        ok = np.broadcast_shapes(x.shape, shape) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} of shape {x.shape} does not broadcast to {tuple(shape)}.")
    return x


def check_one_hot_index(index, dim: int) -> int:
    """The single integer of ``index = (j,)`` with ``0 <= j < dim``, else ``ValueError``."""
    try:
        (j,) = index
    except (TypeError, ValueError):
        raise ValueError(f"index must be a tuple (j,) of length 1; got {index!r}.") from None
    if not isinstance(j, (int, np.integer)) or isinstance(j, bool) or not 0 <= j < dim:
        raise ValueError(f"index {index!r} is out of range for an inner dimension of {dim}.")
    return int(j)


def column_in_zeros(column: np.ndarray, dim: int, j: int) -> np.ndarray:
    """Array of shape ``[batch, dim]``, zero except column ``j`` which holds ``column``."""
    out = np.zeros((column.shape[0], dim), dtype=column.dtype)
    out[:, j] = column
    return out


def rng_from_seed(seed) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from None, an int or a Generator (returned as is)."""
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# Class tree
# --------------------------------------------------------------------------------------------
class LossFunction(abc.ABC):
    """A loss of some ``inputs`` given ``targets``; see the module docstring for the conventions.

    Subclasses implement ``inputs``, ``targets``, ``_evaluate(targets)``, ``gradient()`` and the
    Hessian products.
    """

    @property
    @abc.abstractmethod
    def inputs(self):
        """The inputs of the loss (what the gradient and the products are taken against)."""

    @property
    @abc.abstractmethod
    def targets(self):
        """The observed targets, or None."""

    def evaluate(self) -> float:
        """The loss at ``targets``, summed over the batch."""
        targets = self.targets
        if targets is None:
            raise ValueError("This loss has no targets; pass targets= or use evaluate_on_sample.")
        return self._evaluate(targets)

    @abc.abstractmethod
    def _evaluate(self, targets) -> float:
        """The loss at the given targets, summed over the batch."""

    def _require_targets(self):
        if self.targets is None:
            raise ValueError("This loss has no targets; its gradient depends on them.")
        return self.targets

    @abc.abstractmethod
    def gradient(self):
        """``d evaluate() / d inputs``, shaped like ``inputs``."""

    @abc.abstractmethod
    def multiply_hessian(self, vector):
        """``H v`` for ``v`` shaped like ``inputs``."""

    @abc.abstractmethod
    def multiply_hessian_factor(self, vector):
        """``B u`` (``B Bᵀ = H``) for ``u`` of shape ``hessian_factor_inner_shape``."""

    @abc.abstractmethod
    def multiply_hessian_factor_transpose(self, vector):
        """``Bᵀ v`` for ``v`` shaped like ``inputs``; returns ``hessian_factor_inner_shape``."""

    @abc.abstractmethod
    def multiply_hessian_factor_replicated_one_hot(self, index):
        """``B e_j`` for every row, ``index = (j,)``; shaped like ``inputs``."""

    @property
    @abc.abstractmethod
    def hessian_factor_inner_shape(self) -> tuple:
        """Shape of the vectors that :meth:`multiply_hessian_factor` takes."""

    @property
    @abc.abstractmethod
    def hessian_factor_inner_static_shape(self) -> tuple:
        """Same as :attr:`hessian_factor_inner_shape` (numpy shapes are always static)."""


class NegativeLogProbLoss(LossFunction):
    """A negative log-likelihood ``-sum log p(targets | params)`` with its Fisher information.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator, optional
        Default seed of :meth:`evaluate_on_sample`.
    """

    #: Whether the inputs are natural parameters, so that Hessian and Fisher coincide.
    natural_params = False

    def __init__(self, seed=None):
        self._default_seed = seed

    @property
    def inputs(self):
        """The distribution's parameters, :attr:`params`."""
        return self.params

    @property
    @abc.abstractmethod
    def params(self):
        """Parameters of the distribution."""

    @abc.abstractmethod
    def sample(self, seed=None):
        """Draw targets from the distribution, one per row; ``seed`` as in the conventions."""

    def evaluate_on_sample(self, seed=None) -> float:
        """The loss at targets drawn by :meth:`sample` (``seed`` defaults to the loss's own)."""
        return self._evaluate(self.sample(self._default_seed if seed is None else seed))

    @abc.abstractmethod
    def multiply_fisher(self, vector):
        """``F v`` for ``v`` shaped like ``inputs``."""

    @abc.abstractmethod
    def multiply_fisher_factor(self, vector):
        """``B u`` (``B Bᵀ = F``) for ``u`` of shape ``fisher_factor_inner_shape``."""

    @abc.abstractmethod
    def multiply_fisher_factor_transpose(self, vector):
        """``Bᵀ v`` for ``v`` shaped like ``inputs``; returns ``fisher_factor_inner_shape``."""

    @abc.abstractmethod
    def multiply_fisher_factor_replicated_one_hot(self, index):
        """``B e_j`` for every row, ``index = (j,)``; shaped like ``inputs``."""

    @property
    @abc.abstractmethod
    def fisher_factor_inner_shape(self) -> tuple:
        """Shape of the vectors that :meth:`multiply_fisher_factor` takes."""

    @property
    def fisher_factor_inner_static_shape(self) -> tuple:
        """Same as :attr:`fisher_factor_inner_shape` (numpy shapes are always static)."""
        return self.fisher_factor_inner_shape


class NaturalParamsNegativeLogProbLoss(NegativeLogProbLoss):
    """A negative log-likelihood of natural parameters: every Hessian method is the Fisher one.

    For an exponential family in its natural parameters the Hessian of the negative
    log-likelihood does not depend on the targets, so it equals its expectation, the Fisher.
    """

    natural_params = True

    def multiply_hessian(self, vector):
        return self.multiply_fisher(vector)

    def multiply_hessian_factor(self, vector):
        return self.multiply_fisher_factor(vector)

    def multiply_hessian_factor_transpose(self, vector):
        return self.multiply_fisher_factor_transpose(vector)

    def multiply_hessian_factor_replicated_one_hot(self, index):
        return self.multiply_fisher_factor_replicated_one_hot(index)

    @property
    def hessian_factor_inner_shape(self) -> tuple:
        return self.fisher_factor_inner_shape

    @property
    def hessian_factor_inner_static_shape(self) -> tuple:
        return self.fisher_factor_inner_shape


class DistributionNegativeLogProbLoss(NegativeLogProbLoss):
    """A negative log-likelihood defined by a distribution object, ``dist``.

    ``dist`` provides ``log_prob(x)`` (elementwise or per row), ``sample(seed)`` and ``mean()``;
    the loss sums ``-log_prob`` over the batch and samples from ``dist``.
    """

    @property
    @abc.abstractmethod
    def dist(self):
        """The distribution whose negative log-likelihood this loss is."""

    def _evaluate(self, targets) -> float:
        return float(-np.sum(self.dist.log_prob(targets)))

    def sample(self, seed=None):
        return self.dist.sample(seed)
