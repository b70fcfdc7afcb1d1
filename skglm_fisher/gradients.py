"""Value and gradients of numpy functions, in the manner of ``tf.contrib.eager``.

Numpy keeps no tape, so derivatives come from evaluating the function again:

* **complex step** (default): ``df/dx_k = Im f(x + i h e_k) / h`` with ``h = 1e-30``. There is
  no subtraction, so no cancellation: for analytic code the result is exact to rounding.
* **central differences**: ``(f(x + h e_k) - f(x - h e_k)) / (2 h)`` with
  ``h = eps**(1/3) max(1, |x_k|)``, accurate to about ``1e-10`` relative. Used on request
  (``method='central'``) and as the automatic fallback when ``f`` cannot take complex input.

Both need one evaluation of ``f`` per element of each differentiated argument (one "column" of
the Jacobian at a time); ``vectorized=True`` evaluates all columns of an argument in one call,
and ``elementwise=True`` (for ``f`` whose output element k depends on input element k alone, such
as a mean function) perturbs every element at once, for one evaluation in all.

What complex step cannot differentiate
--------------------------------------
Complex step needs every operation between input and output to be the analytic (holomorphic)
extension of its real counterpart. It fails for

* functions without complex loops: ``scipy.special.expit``, ``log_expit``, ``gammaln``,
  ``digamma``, ``xlogy``, ``np.logaddexp``, ... (they raise ``TypeError``: detected, falls back);
* code that drops the imaginary part: ``np.abs``, ``np.real``, ``float(x)``, writing into a real
  array (``ComplexWarning``), ``x.astype(float)``. When this makes the result real it is detected
  and falls back; when only part of the result loses the perturbation (``np.abs(x) + x``) the
  derivative of that part is silently 0 -- use ``method='central'`` for such code;
* code that branches on comparisons (``np.where(x > 0, ...)``, ``np.maximum``): these compare
  real parts, so the derivative is right away from the kink, but the kink itself is not handled;
* ``np.sqrt``/``np.log`` of a negative real value, where the complex branch differs from the
  real NaN.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["ComplexStepWarning", "value_and_gradients_function"]

_COMPLEX_STEP = 1e-30


class ComplexStepWarning(UserWarning):
    """Complex-step differentiation was not possible; central differences were used."""


class _NotComplexSafe(Exception):
    """Internal signal: the function does not propagate complex input."""


def _resolve_params(f: Callable, params: Sequence[int | str] | None) -> list[int] | None:
    """Turn ``params`` into argument indices (``None``: every positional argument)."""
    if params is None:
        return None
    params = list(params)
    is_int = [isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in params]
    is_str = [isinstance(p, str) for p in params]
    if not all(is_int) and not all(is_str):
        raise ValueError(
            "params must be all parameter names or all integer indices, got a mix: "
            f"{params!r}"
        )
    if all(is_int):
        if any(p < 0 for p in params):
            raise ValueError(f"params indices must be non-negative, got {params!r}")
        return [int(p) for p in params]
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError) as exc:
        raise ValueError("cannot resolve parameter names of f; pass integer indices") from exc
    positional = [
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    unknown = [p for p in params if p not in positional]
    if unknown:
        raise ValueError(
            f"params {unknown!r} are not positional parameters of f; "
            f"known names are {positional!r}"
        )
    return [positional.index(p) for p in params]


def _call_complex(f: Callable, args: list, i: int, x_pert: np.ndarray) -> np.ndarray:
    """Evaluate ``f`` with argument ``i`` replaced by a complex array; detect failure."""
    call_args = list(args)
    call_args[i] = x_pert
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            out = f(*call_args)
        except (TypeError, np.exceptions.ComplexWarning) as exc:
            raise _NotComplexSafe(str(exc)) from exc
    out = np.asarray(out)
    if not np.iscomplexobj(out):
        raise _NotComplexSafe("f returned a real result for complex input")
    return out


def _grad_complex_step(f, args, i, x, dy, vectorized, elementwise=False):
    h = _COMPLEX_STEP
    if elementwise:
        out = _call_complex(f, args, i, x + 1j * h)
        return dy * out.imag / h
    grad = np.empty(x.size)
    if vectorized:
        eye = np.eye(x.size).reshape((x.size,) + x.shape)
        out = _call_complex(f, args, i, x[np.newaxis] + 1j * h * eye)
        imag = out.imag.reshape(x.size, -1)
        return (imag @ dy.reshape(-1) / h).reshape(x.shape)
    xc = x.astype(np.complex128)
    for k in range(x.size):
        xc.flat[k] += 1j * h
        out = _call_complex(f, args, i, xc if x.ndim else xc[()])
        grad[k] = np.sum(dy * out.imag) / h
        xc.flat[k] = x.flat[k]
    return grad.reshape(x.shape)


def _grad_central(f, args, i, x, dy, vectorized, elementwise=False):
    h = np.finfo(np.float64).eps ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))
    call_args = list(args)
    if elementwise:
        call_args[i] = x + h
        plus = np.asarray(f(*call_args), dtype=float)
        call_args[i] = x - h
        minus = np.asarray(f(*call_args), dtype=float)
        return dy * (plus - minus) / (2.0 * h)
    if vectorized:
        eye = np.eye(x.size).reshape((x.size,) + x.shape) * h
        call_args[i] = x[np.newaxis] + eye
        plus = np.asarray(f(*call_args), dtype=float).reshape(x.size, -1)
        call_args[i] = x[np.newaxis] - eye
        minus = np.asarray(f(*call_args), dtype=float).reshape(x.size, -1)
        return ((plus - minus) @ dy.reshape(-1) / (2.0 * h.reshape(-1))).reshape(x.shape)
    grad = np.empty(x.size)
    xp = x.copy()
    for k in range(x.size):
        hk = h.flat[k]
        xp.flat[k] = x.flat[k] + hk
        call_args[i] = xp if x.ndim else xp[()]
        plus = np.asarray(f(*call_args), dtype=float)
        xp.flat[k] = x.flat[k] - hk
        call_args[i] = xp if x.ndim else xp[()]
        minus = np.asarray(f(*call_args), dtype=float)
        xp.flat[k] = x.flat[k]
        grad[k] = np.sum(dy * (plus - minus)) / (2.0 * hk)
    return grad.reshape(x.shape)


def value_and_gradients_function(
    f: Callable[..., Any],
    params: Sequence[int | str] | None = None,
    *,
    method: str = "complex_step",
    vectorized: bool = False,
    elementwise: bool = False,
) -> Callable[..., tuple[Any, list[Any]]]:
    """Return a function computing ``f``'s value and its gradients with respect to ``params``.

    Parameters
    ----------
    f : callable
        A function of positional array or scalar arguments written with numpy.
    params : sequence of str or sequence of int, optional
        Which arguments to differentiate, by name or by position (not both). ``None``: all
        positional arguments of the call.
    method : {'complex_step', 'central'}, default='complex_step'
        Differentiation rule (see the module docstring). ``'complex_step'`` falls back to
        ``'central'`` with a :class:`ComplexStepWarning` when ``f`` raises ``TypeError`` on
        complex input, emits a ``ComplexWarning`` or returns a real result.
    vectorized : bool, default=False
        If True, ``f`` must accept each differentiated argument with one extra leading axis
        (a stack of perturbed copies) and return results with that leading axis; all columns of
        the Jacobian are then computed in one call.
    elementwise : bool, default=False
        If True, ``f`` acts elementwise on each differentiated argument (output element ``k``
        depends on input element ``k`` only, and the output has the argument's shape); all
        partial derivatives then come from a single evaluation of ``f``.

    Returns
    -------
    callable
        ``g(*args, dy=None) -> (value, grads)``. ``value`` is ``f(*args)``; ``grads`` a list with,
        for each differentiated argument in ``params`` order, the gradient of
        ``sum(dy * f(*args))`` (``dy`` defaults to ones, so a non-scalar output is summed; a
        given ``dy`` of the output's shape yields the vector-Jacobian product). Each gradient
        has its argument's shape (a float for a scalar argument).

    Raises
    ------
    ValueError
        If ``params`` mixes names and indices or names an unknown parameter, if an index is out
        of range for the call, if ``dy`` does not match the output's shape, or if the call
        passes keyword arguments.

    Examples
    --------
    >>> def f(x, y):
    ...     return x**3 * y - x * y**2
    >>> value, (dx, dy) = value_and_gradients_function(f)(2.0, 3.0)
    >>> value, dx, dy
    (6.0, 27.0, -4.0)
    >>> value_and_gradients_function(f, params=["y"])(2.0, 3.0)[1]
    [-4.0]
    """
    if method not in ("complex_step", "central"):
        raise ValueError(f"method must be 'complex_step' or 'central', got {method!r}")
    indices = _resolve_params(f, params)

    def value_and_gradients(*args: Any, dy: Any = None, **kwargs: Any):
        if kwargs:
            raise ValueError(
                "functions to be differentiated take positional arguments only; got keyword "
                f"arguments {sorted(kwargs)!r}"
            )
        args = list(args)
        which = list(range(len(args))) if indices is None else indices
        bad = [i for i in which if i >= len(args)]
        if bad:
            raise ValueError(f"params indices {bad} out of range for {len(args)} arguments")
        value = f(*args)
        out = np.asarray(value)
        if dy is None:
            weights = np.ones(out.shape)
        else:
            weights = np.asarray(dy, dtype=float)
            if weights.shape != out.shape:
                raise ValueError(f"dy has shape {weights.shape}, f returned shape {out.shape}")
        grads = []
        for i in which:
            x = np.asarray(args[i], dtype=np.float64)
            grad = None
            if method == "complex_step":
                try:
                    grad = _grad_complex_step(f, args, i, x, weights, vectorized, elementwise)
                except _NotComplexSafe as exc:
                    warnings.warn(
                        f"complex-step differentiation failed for argument {i} ({exc}); "
                        "using central finite differences",
                        ComplexStepWarning,
                        stacklevel=2,
                    )
            if grad is None:
                grad = _grad_central(f, args, i, x, weights, vectorized, elementwise)
            grads.append(float(grad) if grad.ndim == 0 else grad)
        return value, grads

    value_and_gradients.__doc__ = f"Value and gradients of {getattr(f, '__name__', f)!r}."
    return value_and_gradients
