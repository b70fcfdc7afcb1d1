"""One pass of minibatch FTRL over the rows of a linear model's design matrix.

Semantics: rows are cut into consecutive batches of ``batch_size``; each batch takes one
TensorFlow FTRL step (:mod:`._kernels`) on the gradient of the head's reduced loss over the
batch, evaluated at the weights before the step. The intercept is one more coordinate with its
own hyper-parameters (usually unregularized).

For CSR input only the *active* coordinates of a batch (its columns with a stored entry) are
gathered, updated and scattered back -- shrinkage included -- so a batch costs
O(stored entries), never O(n_features). The unique active columns and the position of every
entry among them are what ``np.unique(indices, return_inverse=True)`` returns; sorting is the
slow part of that, so :func:`_unique_columns` gets the same result in linear time with a
column-indexed scratch array ("last write wins" marks one representative per column). The
per-column gradient is then one ``np.bincount`` over those positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["FtrlHyper", "ftrl_sweep", "ftrl_weights"]


@dataclass(frozen=True)
class FtrlHyper:
    """Hyper-parameters of one group of FTRL coordinates (names as in the kernels)."""

    learning_rate: float
    l1: float = 0.0
    l2: float = 0.0
    l2_shrinkage: float = 0.0
    learning_rate_power: float = -0.5
    beta: float = 0.0

    def sigma(self, n):
        """``n ** (-learning_rate_power)`` (array or float)."""
        p = self.learning_rate_power
        if p == -0.5:
            return np.sqrt(n) if isinstance(n, np.ndarray) else math.sqrt(n)
        if p == 0.0:
            return np.ones_like(n) if isinstance(n, np.ndarray) else 1.0
        return n ** (-p)

    @property
    def q_offset(self) -> float:
        """The constant part ``2 l2 + beta / eta`` of the weight's denominator."""
        return 2.0 * self.l2 + self.beta / self.learning_rate


def ftrl_weights(accum: np.ndarray, linear: np.ndarray, hyper: FtrlHyper) -> np.ndarray:
    """The weights ``w(z, n)`` the FTRL state stands for (0 where ``|z| <= l1`` or ``q = 0``).

    This is the last line of the update, so ``ftrl_weights(n', z')`` is bit-for-bit the ``w'``
    a step produced.

    Examples
    --------
    >>> import numpy as np
    >>> ftrl_weights(np.array([1.0, 4.0]), np.array([0.5, -3.0]), FtrlHyper(1.0, l1=1.0))
    array([0., 1.])
    """
    return _weights(linear, np.array(hyper.sigma(accum), dtype=np.float64), hyper)


def _weights(z: np.ndarray, sigma: np.ndarray, hyper: FtrlHyper) -> np.ndarray:
    """``(sign(z) l1 - z) / q`` where ``|z| > l1``, else 0, given ``sigma = n**(-p)``.

    ``sigma`` is overwritten.
    """
    q = np.divide(sigma, hyper.learning_rate, out=sigma)  # sigma is not needed afterwards
    if hyper.q_offset:
        q += hyper.q_offset
    # clip(z, -l1, l1) is z itself where |z| <= l1 (numerator exactly 0) and sign(z) l1
    # elsewhere, so one clip replaces the sign, the comparison and the select.
    numerator = np.clip(z, -hyper.l1, hyper.l1) - z if hyper.l1 else -z
    if hyper.q_offset > 0:
        return np.divide(numerator, q, out=numerator)
    # Only here can q be 0 (no L2, no beta, no accumulated gradient): w = 0 by definition.
    positive = q > 0
    return np.divide(numerator, q, out=np.zeros_like(numerator), where=positive)


def _step(w, n, z, g, hyper: FtrlHyper):
    """One FTRL step on gathered 1-d (or any-shape) arrays; returns new ``(w, n, z)``."""
    g_hat = g + (2.0 * hyper.l2_shrinkage) * w if hyper.l2_shrinkage else g
    n_new = g * g
    n_new += n
    sigma_new = hyper.sigma(n_new)
    decay = sigma_new - hyper.sigma(n)
    decay /= hyper.learning_rate
    decay *= w
    z_new = z + g_hat
    z_new -= decay
    return _weights(z_new, sigma_new, hyper), n_new, z_new


def _step_scalar(w: float, n: float, z: float, g: float, hyper: FtrlHyper):
    """:func:`_step` for one coordinate with Python floats (the intercept)."""
    g_hat = g + 2.0 * hyper.l2_shrinkage * w
    n_new = n + g * g
    sigma_new = hyper.sigma(n_new)
    z_new = z + g_hat - (sigma_new - hyper.sigma(n)) / hyper.learning_rate * w
    q = sigma_new / hyper.learning_rate + hyper.q_offset
    if abs(z_new) <= hyper.l1 or q <= 0:
        return 0.0, n_new, z_new
    return (math.copysign(hyper.l1, z_new) - z_new) / q, n_new, z_new


def _unique_columns(columns: np.ndarray, mark: np.ndarray, arange: np.ndarray):
    """Unique values of ``columns`` and each entry's position among them.

    Same sets as ``np.unique(columns, return_inverse=True)`` (the uniques in order of last
    occurrence instead of sorted), in linear time. ``mark`` is scratch indexed by column.
    """
    m = columns.shape[0]
    positions = arange[:m]
    mark[columns] = positions  # the last write wins: one representative entry per column
    representative = mark.take(columns)
    unique_at = np.flatnonzero(representative == positions)
    # Number the representatives 0..n_unique-1 and give every entry its representative's id.
    ids = np.empty(m, dtype=np.intp)
    ids[unique_at] = arange[: unique_at.shape[0]]
    return columns.take(unique_at), ids.take(representative)


def _max_batch_entries(indptr: np.ndarray, batch_size: int) -> int:
    """Largest number of stored entries in one batch of rows."""
    n_rows = indptr.shape[0] - 1
    bounds = indptr[np.r_[np.arange(0, n_rows, batch_size), n_rows]]
    return int(np.diff(bounds).max(initial=0))


def ftrl_sweep(
    X,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    coef: np.ndarray,
    accum: np.ndarray,
    linear: np.ndarray,
    intercept_state: np.ndarray | None,
    *,
    head,
    batch_size: int,
    hyper: FtrlHyper,
    intercept_hyper: FtrlHyper,
    compute_loss: bool = False,
) -> float:
    """Run minibatch FTRL once over the rows of ``X`` in order, updating the state in place.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Float64 design matrix (validated by the caller).
    y : ndarray
        Labels as the head expects them: floats in [0, 1] for a binary head, class ids for a
        multi-class head.
    sample_weight : ndarray or None
        Row weights (already multiplied by class weights).
    coef, accum, linear : ndarray of shape (K, n_features)
        Weights and FTRL slots of the coefficients (``K = 1`` for a binary head).
    intercept_state : ndarray of shape (3, K) or None
        Rows ``(w, n, z)`` of the intercept, or None for no intercept.
    head : LogisticRegressionHead or MultiClassHead
        Supplies the loss reduction and the gradient with respect to the logits.
    batch_size : int
        Rows per FTRL step.
    hyper, intercept_hyper : FtrlHyper
        Hyper-parameters of the coefficients and of the intercept.
    compute_loss : bool, default=False
        Also return the sum of weighted per-row losses, each taken before its batch's step
        (progressive validation loss).

    Returns
    -------
    float
        The progressive loss sum, or 0.0 when ``compute_loss`` is False.
    """
    if sp.issparse(X) and coef.shape[0] == 1:
        return _sweep_binary_csr(
            X, y, sample_weight, coef[0], accum[0], linear[0], intercept_state,
            head, batch_size, hyper, intercept_hyper, compute_loss,
        )
    return _sweep_generic(
        X, y, sample_weight, coef, accum, linear, intercept_state,
        head, batch_size, hyper, intercept_hyper, compute_loss,
    )


def _binary_loss_sum(eta, yb, wb) -> float:
    losses = np.logaddexp(0.0, eta) - yb * eta
    return float(losses.sum() if wb is None else wb @ losses)


def _sweep_binary_csr(X, y, sample_weight, w, n, z, intercept_state, head, batch_size,
                      hyper, intercept_hyper, compute_loss):
    """Binary head on CSR input: the hot path, vectorized over a batch's active columns."""
    n_rows = X.shape[0]
    indptr = X.indptr.astype(np.intp, copy=False)
    # intp indices make every gather and scatter below skip an int32 -> intp conversion.
    indices = X.indices.astype(np.intp, copy=False)
    data = X.data
    unit_data = bool(np.all(data == 1.0))  # one-hot rows: skip two multiplications per batch
    counts = np.diff(indptr)
    has_empty_rows = bool(np.any(counts == 0))
    mark = np.empty(w.shape[0], dtype=np.intp)
    arange = np.arange(_max_batch_entries(indptr, batch_size) + 1, dtype=np.intp)
    fit_intercept = intercept_state is not None
    if fit_intercept:
        b, bn, bz = (float(v) for v in intercept_state[:, 0])
    else:
        b = 0.0
    loss_sum = 0.0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        k0, k1 = indptr[start], indptr[stop]
        columns = indices[k0:k1]
        cols, inverse = _unique_columns(columns, mark, arange)
        w_b = w.take(cols)
        x_w = w_b.take(inverse)
        if not unit_data:
            x_w *= data[k0:k1]
        counts_b = counts[start:stop]
        if k1 == k0:
            eta = np.zeros(stop - start)
        elif has_empty_rows:
            row = np.repeat(np.arange(stop - start), counts_b)
            eta = np.bincount(row, x_w, minlength=stop - start)
        else:
            eta = np.add.reduceat(x_w, indptr[start:stop] - k0)
        if b:
            eta += b
        y_b = y[start:stop]
        sw_b = None if sample_weight is None else sample_weight[start:stop]
        if compute_loss:
            loss_sum += _binary_loss_sum(eta, y_b, sw_b)
        residual = head._gradient(y_b, eta, sw_b)
        residual_x = np.repeat(residual, counts_b)
        if not unit_data:
            residual_x *= data[k0:k1]
        if k1 > k0:
            g = np.bincount(inverse, residual_x, minlength=cols.shape[0])
            w_new, n_new, z_new = _step(w_b, n.take(cols), z.take(cols), g, hyper)
            w[cols] = w_new
            n[cols] = n_new
            z[cols] = z_new
        if fit_intercept:
            b, bn, bz = _step_scalar(b, bn, bz, float(residual.sum()), intercept_hyper)
    if fit_intercept:
        intercept_state[:, 0] = (b, bn, bz)
    return loss_sum


def _sweep_generic(X, y, sample_weight, coef, accum, linear, intercept_state, head,
                   batch_size, hyper, intercept_hyper, compute_loss):
    """Any head, dense or CSR input: batch products through numpy / scipy.sparse."""
    n_rows, n_features = X.shape
    K = coef.shape[0]
    binary = K == 1
    sparse = sp.issparse(X)
    if sparse:
        indptr = X.indptr.astype(np.intp, copy=False)
        indices = X.indices.astype(np.intp, copy=False)
        mark = np.empty(n_features, dtype=np.intp)
        arange = np.arange(_max_batch_entries(indptr, batch_size) + 1, dtype=np.intp)
    loss_sum = 0.0
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        if sparse:
            k0, k1 = indptr[start], indptr[stop]
            cols, inverse = _unique_columns(indices[k0:k1], mark, arange)
            X_b = sp.csr_matrix(
                (X.data[k0:k1], inverse, indptr[start : stop + 1] - k0),
                shape=(stop - start, cols.shape[0]),
            )
            W_b = coef[:, cols]
        else:
            cols = slice(None)
            X_b = X[start:stop]
            W_b = coef
        eta = np.asarray(X_b @ W_b.T)
        if intercept_state is not None:
            eta = eta + intercept_state[0]
        y_b = y[start:stop]
        sw_b = None if sample_weight is None else sample_weight[start:stop]
        if binary:
            eta = eta[:, 0]
            if compute_loss:
                loss_sum += _binary_loss_sum(eta, y_b, sw_b)
            residual = head._gradient(y_b, eta, sw_b)[:, np.newaxis]
        else:
            if compute_loss:
                losses = head.per_example_loss(y_b, eta)
                loss_sum += float(losses.sum() if sw_b is None else sw_b @ losses)
            residual = head._gradient(y_b.astype(np.intp), eta, sw_b)
        G = np.asarray(X_b.T @ residual).T
        w_new, n_new, z_new = _step(W_b, accum[:, cols], linear[:, cols], G, hyper)
        coef[:, cols] = w_new
        accum[:, cols] = n_new
        linear[:, cols] = z_new
        if intercept_state is not None:
            b_new = _step(intercept_state[0], intercept_state[1], intercept_state[2],
                          residual.sum(axis=0), intercept_hyper)
            intercept_state[:] = b_new
    return loss_sum
