"""The FTRL-Proximal update, numerically identical to TensorFlow's ``ApplyFtrlV2``.

Notation, per coordinate: ``n`` accumulator (sum of squared gradients), ``z`` linear term,
``w`` variable, ``g`` gradient, ``eta`` learning rate, ``p = learning_rate_power <= 0``,
``s`` the L2 shrinkage strength and ``beta`` the extra learning-rate offset of Keras::

    g_hat = g + 2 s w
    n'    = n + g**2                     (the raw gradient, not g_hat)
    z'    = z + g_hat - (n'**(-p) - n**(-p)) / eta * w
    q     = n'**(-p) / eta + 2 l2 + beta / eta
    w'    = (sign(z') l1 - z') / q   if |z'| > l1   else 0

:func:`ftrl_step` is the one implementation of this update: :func:`apply_ftrl`,
:func:`sparse_apply_ftrl`, :class:`~skglm_fisher.optim.Ftrl` and the streaming estimator all run
it. The kernels work on arrays and check shapes and dtypes only (O(1)); they do not look for
NaN or infinity in the gradient or the result, which costs a pass over the data. Checked entry
points (:class:`~skglm_fisher.optim.Ftrl`, the estimator) refuse a step whose result is not
finite before writing anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FtrlHyper",
    "apply_ftrl",
    "ftrl_step",
    "ftrl_update",
    "ftrl_weights",
    "sparse_apply_ftrl",
]


# FtrlHyper's fields and the names TensorFlow's FtrlOptimizer (and our classes) give them.
_TENSORFLOW_NAMES = {
    "learning_rate": "learning_rate",
    "l1": "l1_regularization_strength",
    "l2": "l2_regularization_strength",
    "l2_shrinkage": "l2_shrinkage_regularization_strength",
    "learning_rate_power": "learning_rate_power",
    "beta": "beta",
}


@dataclass(frozen=True)
class FtrlHyper:
    """Hyper-parameters of one group of FTRL coordinates (names as in the update above)."""

    learning_rate: float
    l1: float = 0.0
    l2: float = 0.0
    l2_shrinkage: float = 0.0
    learning_rate_power: float = -0.5
    beta: float = 0.0
    #: The constant part ``2 l2 + beta / eta`` of the weight's denominator (computed once: the
    #: update reads it three times per step).
    q_offset: float = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        rate = self.learning_rate
        offset = 2.0 * self.l2 + (self.beta / rate if rate > 0 else math.nan)
        object.__setattr__(self, "q_offset", offset)

    @classmethod
    def from_tensorflow_names(cls, owner) -> FtrlHyper:
        """From an object with TensorFlow's parameter names (``learning_rate``,
        ``l1_regularization_strength``, ...), as the optimizer and the estimator have."""
        return cls(**{
            field_name: float(getattr(owner, tf_name))
            for field_name, tf_name in _TENSORFLOW_NAMES.items()
        })

    def check(self) -> FtrlHyper:
        """Raise ``ValueError`` unless every step with finite inputs can stay finite.

        Beyond the signs, ``1 / learning_rate`` and ``beta / learning_rate`` must be finite: a
        learning rate of 1e-320 would turn every weight into NaN. Messages use TensorFlow's
        parameter names.
        """
        for field_name, tf_name in _TENSORFLOW_NAMES.items():
            value = getattr(self, field_name)
            if field_name == "learning_rate":
                ok, bound = value > 0, "> 0"
            elif field_name == "learning_rate_power":
                ok, bound = value <= 0, "<= 0"
            else:
                ok, bound = value >= 0, ">= 0"
            if not (ok and math.isfinite(value)):
                raise ValueError(f"{tf_name} must be finite and {bound}, got {value!r}")
        if not (math.isfinite(1.0 / self.learning_rate) and math.isfinite(self.q_offset)):
            raise ValueError(
                f"learning_rate={self.learning_rate!r} is too small: 1 / learning_rate "
                f"(or beta / learning_rate) overflows float64, so every update would be inf or NaN"
            )
        return self

    def sigma(self, n):
        """``n ** (-learning_rate_power)``; ``sqrt`` for -0.5, as TF does (array or float)."""
        p = self.learning_rate_power
        if p == -0.5:
            return np.sqrt(n) if isinstance(n, np.ndarray) else math.sqrt(n)
        if p == 0.0:
            return np.ones_like(n) if isinstance(n, np.ndarray) else 1.0
        return np.power(n, -p)  # numpy's power: overflow gives inf, not an exception


def ftrl_weights(accum: np.ndarray, linear: np.ndarray, hyper: FtrlHyper) -> np.ndarray:
    """The weights ``w(z, n)`` the FTRL state stands for (0 where ``|z| <= l1`` or ``q = 0``).

    This is the last line of :func:`ftrl_step`, so ``ftrl_weights(n', z')`` is bit for bit the
    ``w'`` a step produced.

    Examples
    --------
    >>> import numpy as np
    >>> ftrl_weights(np.array([1.0, 4.0]), np.array([0.5, -3.0]), FtrlHyper(1.0, l1=1.0))
    array([0., 1.])
    """
    return _weights(linear, np.array(hyper.sigma(accum), dtype=linear.dtype), hyper)


def _weights(z, sigma, hyper: FtrlHyper):
    """``(sign(z) l1 - z) / q`` where ``|z| > l1``, else 0, given ``sigma = n**(-p)``.

    Written with operators only, so that it runs on arrays (in place, ``sigma`` is
    overwritten) and on floats (an intercept) alike.
    """
    q = sigma
    q /= hyper.learning_rate
    if hyper.q_offset:
        q += hyper.q_offset
    # clip(z, -l1, l1) is z itself where |z| <= l1 (numerator exactly 0) and sign(z) l1
    # elsewhere, so one clip replaces the sign, the comparison and the select.
    if hyper.l1:
        numerator = np.clip(z, -hyper.l1, hyper.l1)
        numerator -= z
    else:
        numerator = -z
    if hyper.q_offset > 0:
        numerator /= q
        return numerator
    # Only here can q be 0 (no L2, no beta, no accumulated gradient): w = 0 by definition.
    # Divide by 1 there and multiply by 0; a NaN q still gives a NaN w (NaN != 0).
    nonzero = q != 0
    q += q == 0
    numerator /= q
    numerator *= nonzero
    return numerator


def ftrl_step(w, n, z, g, hyper: FtrlHyper):
    """One FTRL step: return new ``(w, n, z)``; the inputs are not modified.

    The elementwise update of the module docstring, on arrays of one shape (gathered
    coordinates, a whole variable) or on floats (an intercept): operators only, in place on
    the new arrays, so both run the same code.

    Examples
    --------
    >>> import numpy as np
    >>> w, n, z = ftrl_step(np.zeros(2), np.full(2, 0.1), np.zeros(2), np.array([1.0, -0.01]),
    ...                     FtrlHyper(0.1, l1=0.05))
    >>> w
    array([-0.09057895,  0.        ])
    >>> round(float(ftrl_step(0.0, 0.1, 0.0, 1.0, FtrlHyper(0.1, l1=0.05))[0]), 8)
    -0.09057895
    """
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

    The update of the module docstring (the code every FTRL step runs), with the
    hyper-parameters as keywords; the arrays broadcast together.

    Examples
    --------
    >>> import numpy as np
    >>> w, n, z = ftrl_update(np.zeros(2), np.full(2, 0.1), np.zeros(2), np.array([1.0, -0.01]),
    ...                       learning_rate=0.1, l1=0.05, l2=0.0)
    >>> w
    array([-0.09057895,  0.        ])
    """
    arrays = np.broadcast_arrays(w, n, z, g)
    dtype = np.result_type(*arrays, np.float32)  # float32 stays float32, integers become float64
    w, n, z, g = (np.array(a, dtype=dtype) for a in arrays)
    hyper = FtrlHyper(
        float(learning_rate), float(l1), float(l2), float(l2_shrinkage),
        float(learning_rate_power), float(beta),
    )
    return ftrl_step(w, n, z, g, hyper)


def _check_float_arrays(var, accum, linear) -> None:
    for name, array in (("var", var), ("accum", accum), ("linear", linear)):
        if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"{name} must be a floating-point numpy array (updated in place), got "
                f"{type(array).__name__} of dtype {getattr(array, 'dtype', None)}"
            )
    if not var.shape == accum.shape == linear.shape:
        raise ValueError(
            f"var, accum and linear must have one shape, got {var.shape}, {accum.shape} and "
            f"{linear.shape}"
        )


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

    Unchecked kernel: shapes and dtypes are checked, values are not (a NaN gradient gives NaN
    slots); :meth:`skglm_fisher.optim.Ftrl.apply_gradients` is the checked entry point.

    Parameters
    ----------
    var, accum, linear : ndarray of float
        The variable and its two slots (``n`` and ``z``); updated in place.
    grad : ndarray
        Gradient, same shape as ``var``.
    learning_rate, l1, l2, l2_shrinkage, learning_rate_power, beta : float
        Hyper-parameters; ``beta`` is Keras' addition (TF folds it in as ``l2 + beta / (2 eta)``).

    Raises
    ------
    TypeError
        If ``var``, ``accum`` or ``linear`` is not a floating-point array (an integer variable
        would silently truncate the update).
    ValueError
        If the shapes differ.

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
    _check_float_arrays(var, accum, linear)
    grad = np.asarray(grad, dtype=var.dtype)
    if grad.shape != var.shape:
        raise ValueError(f"grad has shape {grad.shape}, var has shape {var.shape}")
    hyper = FtrlHyper(
        float(learning_rate), float(l1), float(l2), float(l2_shrinkage),
        float(learning_rate_power), float(beta),
    )
    var[...], accum[...], linear[...] = ftrl_step(var, accum, linear, grad, hyper)


def sum_duplicate_rows(grad: np.ndarray, indices: np.ndarray):
    """Sorted unique ``indices`` and ``grad`` with the rows of repeated indices summed."""
    uniq, inverse = np.unique(indices, return_inverse=True)
    if uniq.size == indices.size:
        return uniq, grad[np.argsort(indices, kind="stable")]
    summed = np.zeros((uniq.size,) + grad.shape[1:], dtype=grad.dtype)
    np.add.at(summed, inverse, grad)
    return uniq, summed


def check_sparse_indices(indices, n_rows: int) -> np.ndarray:
    """``indices`` as a 1-d integer array within ``[0, n_rows)``, else TypeError/ValueError."""
    indices = np.asarray(indices)
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    indices = indices.reshape(-1).astype(np.intp, copy=False)
    if indices.size and (indices.min() < 0 or indices.max() >= n_rows):
        raise ValueError(f"indices must be in [0, {n_rows}), got {indices.min()}..{indices.max()}")
    return indices


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
    and are updated once, as TensorFlow's optimizers do before calling the kernel. Unchecked
    kernel, as :func:`apply_ftrl` (indices are checked: integers, in range).

    Parameters
    ----------
    var, accum, linear : ndarray of float
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
    _check_float_arrays(var, accum, linear)
    indices = check_sparse_indices(indices, var.shape[0] if var.ndim else 0)
    grad = np.asarray(grad, dtype=var.dtype)
    if grad.shape != indices.shape + var.shape[1:]:
        raise ValueError(
            f"grad has shape {grad.shape}, expected {indices.shape + var.shape[1:]} "
            "(one row per index)"
        )
    rows, grad = sum_duplicate_rows(grad, indices)
    hyper = FtrlHyper(
        float(learning_rate), float(l1), float(l2), float(l2_shrinkage),
        float(learning_rate_power), float(beta),
    )
    var[rows], accum[rows], linear[rows] = ftrl_step(
        var[rows], accum[rows], linear[rows], grad, hyper
    )
