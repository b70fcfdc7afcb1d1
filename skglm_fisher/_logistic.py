"""The logistic function and the Bernoulli log-loss of a logit, overflow-free.

The one implementation used by the families, the K-FAC losses, the heads and the FTRL
estimator. With ``x`` a logit and ``z`` a label in ``[0, 1]`` (a probability, or successes
over trials):

* ``sigmoid(x) = 1 / (1 + exp(-x))``;
* ``softplus(x) = log(1 + exp(x))`` (``log1pexp``), so ``log sigmoid(x) = -softplus(-x)`` and
  ``log(1 - sigmoid(x)) = -softplus(x)``;
* the sigmoid cross-entropy ``-z log sigmoid(x) - (1 - z) log(1 - sigmoid(x))``.

The cross-entropy is written as ``log1p(exp(-|x|)) + z max(-x, 0) + (1 - z) max(x, 0)``: three
non-negative terms for ``z`` in ``[0, 1]``, so nothing cancels (TensorFlow's
``max(x, 0) - x z + log1p(exp(-|x|))`` subtracts two terms of size ``|x|`` when ``z`` is near 1)
and the result is finite for every finite ``x`` (at most ``|x| + log 2``).

These kernels do no input checking; the public objects that call them validate once.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["log_softmax", "sigmoid", "sigmoid_cross_entropy", "softplus"]


def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow.

    Examples
    --------
    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    return expit(x)


def softplus(x):
    """``log(1 + exp(x))`` without overflow: ``x`` itself for large ``x``.

    Examples
    --------
    >>> softplus(np.array([-800.0, 0.0, 1e308]))
    array([0.00000000e+000, 6.93147181e-001, 1.00000000e+308])
    """
    return np.logaddexp(0.0, x)


def sigmoid_cross_entropy(labels, logits, total_count=None):
    """Negative Bernoulli (or binomial) log-likelihood of ``labels`` given ``logits``.

    Parameters
    ----------
    labels : array_like
        Probabilities in ``[0, 1]``; with ``total_count``, numbers of successes in
        ``[0, total_count]``.
    logits : array_like
        Log-odds of success, any finite value.
    total_count : array_like, optional
        Number of trials: the result is then
        ``-labels log p - (total_count - labels) log(1 - p)`` without the binomial
        coefficient.

    Returns
    -------
    ndarray
        Per-element loss, non-negative for labels in range, finite for every finite logit.

    Examples
    --------
    >>> np.round(sigmoid_cross_entropy(np.array([0.4, 0.6, 0.8]), np.array([0.0, -1.0, 1.0])), 4)
    array([0.6931, 0.9133, 0.5133])
    >>> sigmoid_cross_entropy(np.array([1.0, 0.0]), np.array([-1e308, -1e308]))
    array([1.e+308, 0.e+000])
    """
    logits = np.asarray(logits)
    log1p_exp = np.log1p(np.exp(-np.abs(logits)))  # log(1 + exp(-|x|)), in (0, log 2]
    positive_part = np.maximum(logits, 0.0)  # max(x, 0)
    negative_part = positive_part - logits  # max(-x, 0), exact: one of the two terms is 0
    if total_count is None:
        return log1p_exp + labels * negative_part + (1.0 - labels) * positive_part
    return (
        total_count * log1p_exp + labels * negative_part + (total_count - labels) * positive_part
    )


def log_softmax(logits, axis=-1):
    """``logits - log Σ exp(logits)`` along ``axis``, shifted by the maximum (no overflow).

    Several times faster than ``scipy.special.logsumexp`` on the small rows of a multinomial
    model (measured 0.35 ms against 1.8 ms on a 5-class block of 16,000 rows).

    Examples
    --------
    >>> np.round(log_softmax(np.array([[0.0, np.log(3.0)], [1000.0, 1000.0]])), 4)
    array([[-1.3863, -0.2877],
           [-0.6931, -0.6931]])
    """
    logits = np.asarray(logits, dtype=np.result_type(logits, 1.0))
    shifted = logits - np.max(logits, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
