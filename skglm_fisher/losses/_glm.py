"""Negative log-likelihood of a GLM family as a function of the linear predictor ``eta``.

Per observation, with ``(mu, var, g) = family(eta)`` (mean, full variance, ``d mu / d eta``),
sample weight ``s`` and dispersion ``phi``:

- loss ``-(s / phi) · log p(y | eta)``, summed;
- gradient ``-(s / phi) · score``, ``score = d log p / d eta``;
- Fisher ``F = s · g² / (phi · var)``, diagonal, with factor ``B = g / sqrt(phi · var) · sqrt(s)``.

Dividing by ``phi`` is the quasi-likelihood of a response whose variance is ``phi · var``; for an
exponential dispersion family it is, up to terms free of ``eta``, the negative log-likelihood at
that dispersion, and ``F`` is its expected Hessian. Sample weights count as frequency weights.

Two kinds of family:

- *Exponential dispersion* families (all but LogNormal and custom families): the score is
  ``(y - mu) · g / var``, so ``F = E[gradient²]`` over the family's samples (at ``phi = s = 1``),
  and under the canonical link the Hessian equals ``F``. Under another link the Hessian is the
  observed information ``s/phi · (g²/var - (y - mu) · d(g/var)/d eta)``, which depends on ``y`` and
  can be negative, so :meth:`GLMNegativeLogProbLoss.multiply_hessian` gives it but the Hessian
  *factor* methods raise ``NotImplementedError``.
- LogNormal (and custom families): the score is that of the log-normal density, while ``F`` is the
  mean-variance information ``g² / var`` that TFP's Fisher scoring uses (not ``E[gradient²]``).
  :meth:`GLMNegativeLogProbLoss.quasi_gradient` is the gradient that matches it; the Hessian
  methods raise ``NotImplementedError``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from skglm_fisher.glm._families import ExponentialFamily
from skglm_fisher.glm._row_terms import RowTerms
from skglm_fisher.losses._base import (
    DistributionNegativeLogProbLoss,
    as_float_array,
    check_broadcastable,
    check_shape,
)

__all__ = ["GLMNegativeLogProbLoss"]


class _GLMDistribution:
    """The response distribution of ``family`` at the linear predictor ``eta``."""

    def __init__(self, family: ExponentialFamily, eta: np.ndarray):
        self.family, self.eta = family, eta

    def log_prob(self, y):
        return self.family.log_prob(y, self.eta)

    def sample(self, seed=None):
        return np.asarray(self.family.sample(self.eta, seed), dtype=self.eta.dtype)

    def mean(self):
        return self.family.mean(self.eta)


class GLMNegativeLogProbLoss(DistributionNegativeLogProbLoss):
    """Negative log-likelihood of a :mod:`skglm_fisher.glm` family in the linear predictor.

    See the module docstring for the formulas. ``inputs`` (= ``params``) is ``eta``; every axis is
    a batch axis, the products are elementwise and the Fisher factor is diagonal, so
    ``fisher_factor_inner_shape == eta.shape`` and the replicated one-hot index is ``()`` or
    ``(0,)``. The loss is a natural-parameter loss (:attr:`natural_params`, Hessian == Fisher)
    exactly when ``family.is_canonical``.

    Parameters
    ----------
    eta : array of shape [batch]
        Linear predictor; must lie in the link's domain (e.g. ``eta > 0`` for ``1/eta``).
    family : ExponentialFamily
        For instance ``skglm_fisher.glm.Poisson()``.
    targets : array of shape [batch], optional
        Responses, checked with ``family.check_response``.
    dispersion : float or array broadcastable to [batch], optional
        Positive; divides the loss, its gradient and its Fisher information.
    sample_weight : array broadcastable to [batch], optional
        Non-negative; multiplies the loss, its gradient and its Fisher information.
    seed : None, int or numpy.random.Generator, optional
        Default seed of ``evaluate_on_sample``.
    check_input : bool, default=True
        Validate the arguments. Solvers that have validated them pass False; rows whose family
        values are not finite then give non-finite results instead of an error.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher.glm import Poisson
    >>> loss = GLMNegativeLogProbLoss(np.log([1.0, 2.0]), Poisson(), targets=[2.0, 2.0])
    >>> loss.gradient()
    array([-1.,  0.])
    >>> loss.fisher_factor_diagonal() ** 2
    array([1., 2.])
    >>> loss.natural_params
    True
    """

    def __init__(
        self,
        eta,
        family: ExponentialFamily,
        targets=None,
        dispersion=None,
        sample_weight=None,
        seed=None,
        *,
        check_input: bool = True,
    ):
        super().__init__(seed=seed)
        self._family = family
        if not check_input:
            self._eta = np.asarray(eta)
            self._targets = None if targets is None else np.asarray(targets)
            self._dispersion, self._sample_weight = dispersion, sample_weight
            return
        if not isinstance(family, ExponentialFamily):
            raise ValueError(f"family must be an ExponentialFamily; got {family!r}.")
        eta = as_float_array(eta, "eta")
        if not np.all(family.link.valid_eta(eta)):
            raise ValueError(f"eta lies outside the domain of the {family.link.name!r} link.")
        with np.errstate(all="ignore"):
            moments = family(eta)
        if not all(np.all(np.isfinite(m)) for m in moments) or not np.all(moments[1] >= 0):
            raise ValueError(
                f"The {family.name} family's mean, variance or their derivative is not finite "
                f"(or the variance negative) at some eta (range {np.min(eta):g} to "
                f"{np.max(eta):g}): the mean overflows there. Bound eta, or use a link that "
                "does not overflow."
            )
        self.__dict__["moments"] = moments
        self._eta = eta
        self._targets = None
        if targets is not None:
            targets = check_shape(as_float_array(targets, "targets"), eta.shape, "targets")
            family.check_response(targets)
            self._targets = targets
        self._dispersion = self._check_factor(dispersion, "dispersion", positive=True)
        self._sample_weight = self._check_factor(sample_weight, "sample_weight", positive=False)

    def _check_factor(self, value, name, positive):
        if value is None:
            return None
        value = check_broadcastable(as_float_array(value, name), self._eta.shape, name)
        if np.any(value <= 0) if positive else np.any(value < 0):
            raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}.")
        return value.astype(self._eta.dtype, copy=False)

    # -- attributes ------------------------------------------------------------------------
    @property
    def targets(self):
        return self._targets

    @property
    def params(self):
        return self._eta

    @property
    def family(self) -> ExponentialFamily:
        return self._family

    @property
    def dispersion(self):
        return self._dispersion

    @property
    def sample_weight(self):
        return self._sample_weight

    @property
    def natural_params(self) -> bool:
        """True under the canonical link, where the Hessian equals the Fisher."""
        return self._family.is_canonical

    @property
    def dist(self):
        return _GLMDistribution(self._family, self._eta)

    @cached_property
    def moments(self) -> tuple:
        """``family(eta)``: ``(mean, variance, grad_mean)``, computed once."""
        return self._family(self._eta)

    def _weighted(self, per_row, in_place=False):
        """``per_row · s / phi`` (overwriting ``per_row`` if ``in_place``)."""
        if not in_place:
            per_row = np.array(per_row)
        if self._sample_weight is not None:
            per_row *= self._sample_weight
        if self._dispersion is not None:
            per_row /= self._dispersion
        return per_row

    # -- value and gradient ----------------------------------------------------------------
    def _evaluate(self, targets) -> float:
        return float(-np.sum(self._weighted(self._family.log_prob(targets, self._eta))))

    def quasi_gradient(self):
        """``(s / phi) · (mu - y) · g / var``: the gradient that matches the Fisher methods.

        It equals :meth:`gradient` for exponential dispersion families. Fisher scoring steps
        ``eta`` by ``-quasi_gradient() / fisher_diagonal()`` (TFP's ``(y - mu) / g``). Rows of
        zero variance (a probability of exactly 0 or 1) contribute 0.
        """
        terms = RowTerms(self._family, self._require_targets(), self._eta, self._sample_weight,
                         moments=self.moments)  # fmt: skip
        gradient = np.negative(terms.quasi_score)
        if self._dispersion is not None:
            gradient /= self._dispersion
        return gradient

    def gradient(self):
        """``d evaluate() / d eta = -(s / phi) · family.score(y, eta)``."""
        if self._family.has_quasi_score:
            return self.quasi_gradient()  # the same formula, from the cached moments
        return self._weighted(-self._family.score(self._require_targets(), self._eta))

    # -- Fisher ----------------------------------------------------------------------------
    @cached_property
    def _factor_diagonal(self):
        _, variance, grad_mean = self.moments
        # Fresh (updated in place, then frozen); 0 where the variance is 0 (then g = 0 too).
        positive = variance > 0
        shape = np.broadcast(grad_mean, variance).shape
        diagonal = np.zeros(shape, dtype=np.result_type(grad_mean, variance))
        np.divide(grad_mean, np.sqrt(variance), out=diagonal, where=positive)
        if self._dispersion is not None:
            diagonal /= np.sqrt(self._dispersion)
        if self._sample_weight is not None:
            diagonal *= np.sqrt(self._sample_weight)
        diagonal.flags.writeable = False
        return diagonal

    def fisher_factor_diagonal(self) -> np.ndarray:
        """Diagonal of ``B``: ``g / sqrt(phi · var) · sqrt(s)`` per row (Fisher scoring's
        square-root weights), read-only. It is negative where the mean decreases in ``eta``."""
        return self._factor_diagonal

    def fisher_diagonal(self) -> np.ndarray:
        """Diagonal of ``F``: ``s · g² / (phi · var)`` per row (the Fisher weights)."""
        return np.square(self._factor_diagonal)

    def multiply_fisher(self, vector):
        return self.fisher_diagonal() * check_shape(vector, self._eta.shape, "vector")

    def multiply_fisher_factor(self, vector):
        return self._factor_diagonal * check_shape(vector, self._eta.shape, "vector")

    def multiply_fisher_factor_transpose(self, vector):
        return self.multiply_fisher_factor(vector)  # B is diagonal

    def multiply_fisher_factor_replicated_one_hot(self, index):
        if tuple(index) not in ((), (0,)):
            raise ValueError(f"The GLM loss has one inner coordinate; got index {index!r}.")
        return self.fisher_factor_diagonal().copy()

    @property
    def fisher_factor_inner_shape(self) -> tuple:
        return self._eta.shape

    # -- Hessian ---------------------------------------------------------------------------
    def hessian_diagonal(self) -> np.ndarray:
        """Diagonal of the Hessian ``d² evaluate() / d eta²``.

        The Fisher diagonal under the canonical link; the observed information
        ``s/phi · (g²/var - (y - mu) · (g'/var - g² var'/var²))`` under another link of an
        exponential dispersion family (``g' = d g / d eta``, ``var' = d var / d mu``).

        Raises
        ------
        NotImplementedError
            For LogNormal and custom families.
        """
        family = self._family
        if family.is_canonical:
            return self.fisher_diagonal()
        if not family.has_quasi_score:
            raise NotImplementedError(
                f"The Hessian of the {family.name} loss is not available; use the Fisher methods."
            )
        observed = family.observed_information(self._require_targets(), self._eta, self.moments)
        return self._weighted(observed)

    def multiply_hessian(self, vector):
        return self.hessian_diagonal() * check_shape(vector, self._eta.shape, "vector")

    def _require_natural(self):
        if not self.natural_params:
            raise NotImplementedError(
                f"{self._family!r} is not under its canonical link: the Hessian depends on the "
                "targets and can be negative, so it has no real square-root factor. Use the "
                "Fisher factor methods (Fisher scoring)."
            )

    def multiply_hessian_factor(self, vector):
        self._require_natural()
        return self.multiply_fisher_factor(vector)

    def multiply_hessian_factor_transpose(self, vector):
        self._require_natural()
        return self.multiply_fisher_factor_transpose(vector)

    def multiply_hessian_factor_replicated_one_hot(self, index):
        self._require_natural()
        return self.multiply_fisher_factor_replicated_one_hot(index)

    @property
    def hessian_factor_inner_shape(self) -> tuple:
        self._require_natural()
        return self.fisher_factor_inner_shape

    @property
    def hessian_factor_inner_static_shape(self) -> tuple:
        return self.hessian_factor_inner_shape
