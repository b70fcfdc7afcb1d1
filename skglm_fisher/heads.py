"""Loss heads: a loss with its reduction, predictions and metrics, as ``tf.estimator`` heads.

A head turns logits (the linear predictor ``eta``) and labels into a scalar training loss, its
gradient with respect to the logits, a dictionary of predictions and evaluation metrics.
Reductions of the weighted per-example losses ``w_i l_i`` over a batch of ``n`` elements:

============================ ==================================
reduction                    reduced loss
============================ ==================================
``'sum'``                    ``sum(w l)``
``'sum_over_batch_size'``    ``sum(w l) / n`` (not ``sum(w)``)
``'mean'``                   ``sum(w l) / sum(w)``
``'sum_by_nonzero_weights'`` ``sum(w l) / #(w != 0)``
============================ ==================================

Weights are finite and non-negative. A zero denominator gives a zero loss (and gradient), as
TensorFlow's safe division does; the metrics divide the same way. Sums are formed without
intermediate overflow, so a reduced loss is finite whenever its exact value is: the average loss
of logits near ``±1e308`` is finite, while a plain sum of several such losses is ``inf``, the
IEEE result of a sum beyond the float range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import logsumexp, softmax

from ._logistic import sigmoid, sigmoid_cross_entropy

__all__ = [
    "LOSS_REDUCTIONS",
    "LogisticRegressionHead",
    "MultiClassHead",
    "sigmoid_cross_entropy",
]

LOSS_REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "sum_by_nonzero_weights")


def _reduction_denominator(reduction: str, weights: np.ndarray | None, n: int) -> float:
    """What ``sum(w l)`` is divided by to give the reduced loss (0: the loss is 0)."""
    if reduction == "sum":
        return 1.0
    if reduction == "sum_over_batch_size" or weights is None:
        return float(n)
    if reduction == "mean":
        return float(np.sum(weights))
    return float(np.count_nonzero(weights))  # sum_by_nonzero_weights


def _safe_weighted_sum(values: np.ndarray, weights: np.ndarray | None, divisor: float) -> float:
    """``sum(weights * values) / divisor``, 0 when ``divisor`` is 0 (TensorFlow's safe division).

    Finite whenever the exact result is: if the direct sum overflows, it is formed again with
    the binary exponents of the largest value, the largest weight and the divisor taken out.
    """
    if divisor == 0:
        return 0.0
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(values) if weights is None else np.dot(weights, values)
        result = float(total / divisor)
    if np.isfinite(result):
        return result
    v_max = float(np.max(np.abs(values)))
    w_max = 1.0 if weights is None else float(np.max(weights))
    if v_max == 0 or w_max == 0:
        return 0.0
    scaled = values / v_max
    t = float(np.sum(scaled) if weights is None else np.dot(weights / w_max, scaled))  # |t| <= n
    mantissas, exponents = np.frexp([t, v_max, w_max, divisor])
    with np.errstate(over="ignore"):  # beyond the float range: inf, the IEEE result
        return float(
            np.ldexp(mantissas[0] * mantissas[1] * mantissas[2] / mantissas[3],
                     exponents[0] + exponents[1] + exponents[2] - exponents[3])
        )


def _as_finite(name: str, value: Any) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; got NaN or infinity")
    return array


class _Head:
    """Shared weight handling and reductions; subclasses define the per-example loss."""

    def __init__(
        self, weight_column: str | None = None, loss_reduction: str = "sum_over_batch_size"
    ):
        if loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(
                f"loss_reduction must be one of {LOSS_REDUCTIONS}, got {loss_reduction!r}"
            )
        self.weight_column = weight_column
        self.loss_reduction = loss_reduction

    def _weights(
        self, features: Mapping | None, sample_weight: Any, n: int, use_column: bool = True
    ) -> np.ndarray | None:
        use_column = use_column and self.weight_column is not None
        if sample_weight is not None and features is not None and use_column:
            raise ValueError("pass either sample_weight or features[weight_column], not both")
        if sample_weight is None and use_column:
            if features is None or self.weight_column not in features:
                raise ValueError(
                    f"features must contain the weight column {self.weight_column!r}"
                )
            sample_weight = features[self.weight_column]
        if sample_weight is None:
            return None
        weights = _as_finite("sample_weight", sample_weight).reshape(-1)
        if weights.size == 1:
            weights = np.full(n, weights[0])
        if weights.shape != (n,):
            raise ValueError(f"sample_weight has {weights.size} values for {n} examples")
        if weights.size and weights.min() < 0:
            raise ValueError(
                f"sample_weight must be non-negative; got {weights.min()!r} (a negative weight "
                "would make the loss unbounded below)"
            )
        with np.errstate(over="ignore"):
            total = np.sum(weights)
        if not np.isfinite(total):
            raise ValueError(
                "sample_weight sums to more than the float64 range; rescale the weights"
            )
        return weights

    def _reduce(self, losses: np.ndarray, weights: np.ndarray | None) -> float:
        denominator = _reduction_denominator(self.loss_reduction, weights, losses.shape[0])
        return _safe_weighted_sum(losses, weights, denominator)

    def loss(self, labels, logits, features: Mapping | None = None, sample_weight=None) -> float:
        """Reduced training loss (see the module docstring for the reductions).

        Weights come from ``sample_weight`` or, when ``weight_column`` is set, from
        ``features[weight_column]``.
        """
        losses = self.per_example_loss(labels, logits)
        weights = self._weights(features, sample_weight, losses.shape[0])
        return self._reduce(losses, weights)

    def loss_gradient(
        self, labels, logits, features: Mapping | None = None, sample_weight=None
    ) -> np.ndarray:
        """Gradient of :meth:`loss` with respect to ``logits`` (same shape as ``logits``)."""
        labels, logits = self._check(labels, logits)
        n = logits.shape[0]
        weights = self._weights(features, sample_weight, n)
        return self._gradient(labels, logits, weights)

    def _gradient(self, labels, logits, weights):
        """Unchecked gradient: per-example residual, times weight, over the reduction's
        denominator (weights finite, non-negative, with a finite sum)."""
        residual = self._residual(labels, logits)
        if weights is not None:
            residual *= weights.reshape((-1,) + (1,) * (residual.ndim - 1))
        denominator = _reduction_denominator(self.loss_reduction, weights, logits.shape[0])
        if denominator == 0:
            residual[...] = 0.0
        elif denominator != 1.0:
            residual /= denominator
        return residual

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(weight_column={self.weight_column!r}, "
            f"loss_reduction={self.loss_reduction!r})"
        )


class LogisticRegressionHead(_Head):
    """Binary logistic regression head, as ``tf.estimator.LogisticRegressionHead``.

    Labels are floats in ``[0, 1]`` (soft labels allowed); logits are log-odds. The per-example
    loss is the sigmoid cross-entropy in its overflow-free form
    ``max(x, 0) - x z + log1p(exp(-|x|))`` for logit ``x`` and label ``z``; its derivative with
    respect to ``x`` is ``sigmoid(x) - z``.

    Parameters
    ----------
    weight_column : str, optional
        Key of the example weights in the ``features`` mapping passed to :meth:`loss`.
    loss_reduction : str, default='sum_over_batch_size'
        One of ``'sum'``, ``'sum_over_batch_size'``, ``'mean'``, ``'sum_by_nonzero_weights'``.

    Examples
    --------
    >>> head = LogisticRegressionHead()
    >>> head.per_example_loss([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]).round(4)
    array([0.6931, 0.9133, 0.5133])
    >>> round(head.loss([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]), 4)
    0.7066
    >>> head.loss_gradient([0.4, 0.6, 0.8], [0.0, -1.0, 1.0]).round(4)
    array([ 0.0333, -0.1104, -0.023 ])
    """

    def _check(self, labels, logits) -> tuple[np.ndarray, np.ndarray]:
        labels = _as_finite("labels", labels)
        logits = _as_finite("logits", logits)
        if labels.shape != logits.shape:
            if labels.size == logits.size and labels.ndim <= 2 and logits.ndim <= 2:
                labels = labels.reshape(logits.shape)
            else:
                raise ValueError(
                    f"labels shape {labels.shape} does not match logits shape {logits.shape}"
                )
        if logits.ndim == 0 or (logits.ndim == 2 and logits.shape[1] != 1) or logits.ndim > 2:
            raise ValueError(f"logits must have shape (n,) or (n, 1), got {logits.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 1):
            raise ValueError("Labels must be in range [0, 1]")
        return labels, logits

    def per_example_loss(self, labels, logits) -> np.ndarray:
        """Unweighted sigmoid cross-entropy of each example, shaped like ``logits``."""
        labels, logits = self._check(labels, logits)
        return sigmoid_cross_entropy(labels, logits)

    @staticmethod
    def _residual(labels, logits):
        return sigmoid(logits) - labels

    def predictions(self, logits) -> dict[str, np.ndarray]:
        """Predictions from logits.

        Returns
        -------
        dict
            ``'logits'``, ``'logistic'`` and ``'predictions'`` (both the probability of class
            1, shaped like ``logits``), ``'probabilities'`` (``[1 - p, p]``, shape ``(n, 2)``)
            and ``'class_ids'`` (``p > 0.5`` as int64, shaped like ``logits``).
        """
        logits = _as_finite("logits", logits)
        p = sigmoid(logits)
        flat = p.reshape(-1)
        return {
            "logits": logits,
            "logistic": p,
            "predictions": p,
            "probabilities": np.column_stack([1.0 - flat, flat]),
            "class_ids": (p > 0.5).astype(np.int64),
        }

    def metrics(self, labels, logits, sample_weight=None) -> dict[str, float]:
        """Weighted evaluation metrics.

        Returns
        -------
        dict
            ``'average_loss'`` (``sum(w l) / sum(w)``), ``'label/mean'``, ``'prediction/mean'``,
            ``'accuracy'`` (class ids against labels thresholded at 0.5), ``'accuracy_baseline'``
            (accuracy of always predicting the majority label) and ``'auc'``. The means divide
            by ``sum(w)`` safely, as TensorFlow's metrics do: with all weights 0 they are 0 (and
            the baseline 1). ``'auc'`` is NaN when one class has no weight (it is undefined).
        """
        losses = self.per_example_loss(labels, logits)
        labels, logits = self._check(labels, logits)
        n = losses.shape[0]
        w = self._weights(None, sample_weight, n, use_column=False)
        w = np.ones(n) if w is None else w
        total = float(w.sum())
        p = sigmoid(logits).reshape(-1)
        z = labels.reshape(-1)
        label_mean = _safe_weighted_sum(z, w, total)
        return {
            "average_loss": _safe_weighted_sum(losses, w, total),
            "label/mean": label_mean,
            "prediction/mean": _safe_weighted_sum(p, w, total),
            "accuracy": _safe_weighted_sum((p > 0.5) == (z > 0.5), w, total),
            "accuracy_baseline": max(label_mean, 1.0 - label_mean),
            "auc": _weighted_auc(z > 0.5, p, w),
        }


def _weighted_auc(positive: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """Area under the ROC curve, ties counted one half (Mann-Whitney)."""
    w_pos, w_neg = weight[positive].sum(), weight[~positive].sum()
    if w_pos == 0 or w_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s, pos, w = score[order], positive[order], weight[order]
    # Group tied scores so a tie between a positive and a negative counts one half.
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    neg_per_group = np.add.reduceat(np.where(pos, 0.0, w), starts)
    pos_per_group = np.add.reduceat(np.where(pos, w, 0.0), starts)
    neg_below = np.cumsum(neg_per_group) - neg_per_group
    area = np.sum(pos_per_group * (neg_below + 0.5 * neg_per_group))
    return float(area / (w_pos * w_neg))


class MultiClassHead(_Head):
    """Softmax cross-entropy head for ``n_classes`` exclusive classes (``tf.estimator``'s).

    Labels are integer class ids in ``[0, n_classes)``; logits have shape ``(n, n_classes)``.
    The per-example loss is ``logsumexp(x) - x[label]``; its gradient with respect to the logits
    is ``softmax(x) - onehot(label)``.

    Parameters
    ----------
    n_classes : int
        Number of classes (``>= 2``).
    weight_column : str, optional
        Key of the example weights in ``features``.
    loss_reduction : str, default='sum_over_batch_size'
        As for :class:`LogisticRegressionHead`.

    Examples
    --------
    >>> head = MultiClassHead(3)
    >>> head.per_example_loss([0, 2], [[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]]).round(4)
    array([1.0986, 0.4076])
    """

    def __init__(
        self, n_classes: int, weight_column: str | None = None,
        loss_reduction: str = "sum_over_batch_size",
    ):
        super().__init__(weight_column, loss_reduction)
        if int(n_classes) != n_classes or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        self.n_classes = int(n_classes)

    def _check(self, labels, logits) -> tuple[np.ndarray, np.ndarray]:
        logits = _as_finite("logits", logits)
        labels = _as_finite("labels", labels).reshape(-1)
        if logits.ndim != 2 or logits.shape[1] != self.n_classes:
            raise ValueError(f"logits must have shape (n, {self.n_classes}), got {logits.shape}")
        if labels.shape[0] != logits.shape[0]:
            raise ValueError(f"{labels.shape[0]} labels for {logits.shape[0]} rows of logits")
        if labels.size and (
            labels.min() < 0 or labels.max() >= self.n_classes or np.any(labels % 1)
        ):
            raise ValueError(f"Labels must be integers in range [0, {self.n_classes})")
        return labels.astype(np.intp), logits

    def per_example_loss(self, labels, logits) -> np.ndarray:
        """Unweighted softmax cross-entropy of each example, shape ``(n,)``."""
        labels, logits = self._check(labels, logits)
        return logsumexp(logits, axis=1) - logits[np.arange(logits.shape[0]), labels]

    @staticmethod
    def _residual(labels, logits):
        residual = softmax(logits, axis=1)
        residual[np.arange(logits.shape[0]), labels] -= 1.0
        return residual

    def predictions(self, logits) -> dict[str, np.ndarray]:
        """``'logits'``, ``'probabilities'`` (softmax) and ``'class_ids'`` (argmax)."""
        logits = _as_finite("logits", logits)
        return {
            "logits": logits,
            "probabilities": softmax(logits, axis=1),
            "class_ids": np.argmax(logits, axis=1),
        }

    def metrics(self, labels, logits, sample_weight=None) -> dict[str, float]:
        """``'average_loss'`` (``sum(w l) / sum(w)``) and ``'accuracy'``, weighted (0 when all
        weights are 0, as TensorFlow's safe division gives)."""
        losses = self.per_example_loss(labels, logits)
        labels, logits = self._check(labels, logits)
        w = self._weights(None, sample_weight, losses.shape[0], use_column=False)
        w = np.ones(losses.shape[0]) if w is None else w
        total = float(w.sum())
        return {
            "average_loss": _safe_weighted_sum(losses, w, total),
            "accuracy": _safe_weighted_sum(np.argmax(logits, axis=1) == labels, w, total),
        }
