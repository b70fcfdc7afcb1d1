"""FTRL-Proximal update kernels, numerically identical to TensorFlow's ``ApplyFtrlV2``.

Notation, per coordinate: ``n`` accumulator (sum of squared gradients), ``z`` linear term,
``w`` variable, ``g`` gradient, ``eta`` learning rate, ``p = learning_rate_power <= 0``,
``s`` the L2 shrinkage strength and ``beta`` the extra learning-rate offset of Keras::

    g_hat = g + 2 s w
    n'    = n + g**2                     (the raw gradient, not g_hat)
    z'    = z + g_hat - (n'**(-p) - n**(-p)) / eta * w
    q     = n'**(-p) / eta + 2 l2 + beta / eta
    w'    = (sign(z') l1 - z') / q   if |z'| > l1   else 0

The kernels work on arrays in place and do no input checking beyond shapes: they are the
innermost loop of :class:`~skglm_fisher.optim.Ftrl` and of the streaming estimator.
"""

from __future__ import annotations

import numpy as np

__all__ = ["apply_ftrl", "ftrl_update", "sparse_apply_ftrl"]


def _power(n: np.ndarray, learning_rate_power: float) -> np.ndarray:
    """``n ** (-learning_rate_power)``; ``sqrt`` for the usual -0.5, as TensorFlow does."""
    if learning_rate_power == -0.5:
        return np.sqrt(n)
    if learning_rate_power == 0.0:
        return np.ones_like(n)
    return np.power(n, -learning_rate_power)


def ftrl_update(
    w: np.ndarray,
    n: np.ndarray,
    z: np.ndarray,
    g: np.ndarray,
    learning_rate: float,
    l1: float,
    l2: float,
    l2_shrinkage: float = 0.0,
    learning_rate_power: float = -0.5,
    beta: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return new ``(w, n, z)`` for one FTRL step; the inputs are not modified.

    This is the elementwise core shared by the dense and sparse kernels. All arrays broadcast
    together; hyper-parameters are Python floats.

    Examples
    --------
    >>> import numpy as np
    >>> w, n, z = ftrl_update(np.zeros(2), np.full(2, 0.1), np.zeros(2), np.array([1.0, -0.01]),
    ...                       learning_rate=0.1, l1=0.05, l2=0.0)
    >>> w
    array([-0.09057895,  0.        ])
    """
    g_hat = g + (2.0 * l2_shrinkage) * w if l2_shrinkage else g
    n_new = n + g * g
    sigma_new = _power(n_new, learning_rate_power)
    sigma_old = _power(n, learning_rate_power)
    z_new = z + g_hat - (sigma_new - sigma_old) / learning_rate * w
    q = sigma_new / learning_rate + (2.0 * l2 + beta / learning_rate)
    active = np.abs(z_new) > l1
    # q == 0 happens only when nothing regularises a coordinate that never saw a gradient;
    # that coordinate's weight is 0 by definition, so divide by 1 instead of producing NaN.
    safe_q = np.where(q > 0, q, 1.0)
    w_new = np.where(active & (q > 0), (np.sign(z_new) * l1 - z_new) / safe_q, 0.0)
    return w_new, n_new, z_new


def apply_ftrl(
    var: np.ndarray,
    accum: np.ndarray,
    linear: np.ndarray,
    grad: np.ndarray,
    *,
    learning_rate: float,
    l1: float,
    l2: float,
    l2_shrinkage: float = 0.0,
    learning_rate_power: float = -0.5,
    beta: float = 0.0,
) -> None:
    """Dense FTRL step, in place, as TensorFlow's ``ApplyFtrlV2``.

    Parameters
    ----------
    var, accum, linear : ndarray
        The variable and its two slots (``n`` and ``z``); updated in place.
    grad : ndarray
        Gradient, same shape as ``var``.
    learning_rate, l1, l2, l2_shrinkage, learning_rate_power, beta : float
        Hyper-parameters; ``beta`` is Keras' addition (TF folds it in as ``l2 + beta / (2 eta)``).

    Examples
    --------
    >>> import numpy as np
    >>> var, accum, linear = np.array([1.0, -1.0]), np.full(2, 0.1), np.zeros(2)
    >>> apply_ftrl(var, accum, linear, np.array([0.5, 0.5]), learning_rate=0.1, l1=0.0, l2=0.0)
    >>> accum
    array([0.35, 0.35])
    >>> var
    array([ 0.38096209, -0.54999294])
    """
    grad = np.asarray(grad, dtype=var.dtype)
    if grad.shape != var.shape:
        raise ValueError(f"grad has shape {grad.shape}, var has shape {var.shape}")
    w, n, z = ftrl_update(
        var, accum, linear, grad, float(learning_rate), float(l1), float(l2),
        float(l2_shrinkage), float(learning_rate_power), float(beta),
    )
    var[...] = w
    accum[...] = n
    linear[...] = z


def sparse_apply_ftrl(
    var: np.ndarray,
    accum: np.ndarray,
    linear: np.ndarray,
    grad: np.ndarray,
    indices: np.ndarray,
    *,
    learning_rate: float,
    l1: float,
    l2: float,
    l2_shrinkage: float = 0.0,
    learning_rate_power: float = -0.5,
    beta: float = 0.0,
) -> None:
    """Sparse FTRL step on the rows ``indices`` of ``var``, in place (``SparseApplyFtrlV2``).

    Only the listed rows change. Rows listed more than once have their gradients summed first
    and are updated once, as TensorFlow's optimizers do before calling the kernel.

    Parameters
    ----------
    var, accum, linear : ndarray
        The variable and its slots; indexed along the first axis.
    grad : ndarray
        Gradient rows, shape ``(len(indices),) + var.shape[1:]``.
    indices : array of int
        Row of ``var`` each gradient row belongs to.
    learning_rate, l1, l2, l2_shrinkage, learning_rate_power, beta : float
        As in :func:`apply_ftrl`.

    Examples
    --------
    >>> import numpy as np
    >>> var, accum, linear = np.zeros(4), np.full(4, 0.1), np.zeros(4)
    >>> sparse_apply_ftrl(var, accum, linear, np.array([1.0, 1.0]), np.array([2, 2]),
    ...                   learning_rate=0.1, l1=0.0, l2=0.0)
    >>> accum
    array([0.1, 0.1, 4.1, 0.1])
    """
    indices = np.asarray(indices).reshape(-1)
    grad = np.asarray(grad, dtype=var.dtype)
    if grad.shape != indices.shape + var.shape[1:]:
        raise ValueError(
            f"grad has shape {grad.shape}, expected {indices.shape + var.shape[1:]} "
            "(one row per index)"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= var.shape[0]):
        raise ValueError(f"indices must be in [0, {var.shape[0]})")
    uniq, inverse = np.unique(indices, return_inverse=True)
    if uniq.size != indices.size:
        summed = np.zeros((uniq.size,) + var.shape[1:], dtype=var.dtype)
        np.add.at(summed, inverse, grad)
        grad = summed
    else:
        grad = grad[np.argsort(indices, kind="stable")]
    w, n, z = ftrl_update(
        var[uniq], accum[uniq], linear[uniq], grad, float(learning_rate), float(l1), float(l2),
        float(l2_shrinkage), float(learning_rate_power), float(beta),
    )
    var[uniq] = w
    accum[uniq] = n
    linear[uniq] = z
