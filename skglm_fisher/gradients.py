"""Value and gradients of numpy functions, in the manner of ``tf.contrib.eager``.

Numpy keeps no tape, so derivatives come from evaluating the function again:

* **complex step** (default): ``df/dx_k = Im f(x + i h e_k) / h`` with ``h = 1e-30``. There is
  no subtraction, so no cancellation: for analytic code the result is exact to rounding.
* **central differences**: ``(f(x + h e_k) - f(x - h e_k)) / (2 h)`` with
  ``h = eps**(1/3) max(1, |x_k|)``, accurate to about ``1e-10`` relative. Used on request
  (``method='central'``) and as the automatic fallback where complex step does not apply.

Both need one evaluation of ``f`` per element of each differentiated argument (one "column" of
the Jacobian at a time); ``vectorized=True`` evaluates all columns of an argument in one call,
and ``elementwise=True`` (for ``f`` whose output element k depends on input element k alone, such
as a mean function) perturbs every element at once, for one evaluation in all. A complex-step
gradient is then checked with two more evaluations (below).

Where complex step does not apply
---------------------------------
Complex step needs every operation between input and output to be the analytic (holomorphic)
extension of its real counterpart. Where it is not, the complex-step gradient is checked and
replaced by central differences, with a :class:`ComplexStepWarning` saying why:

* functions without complex loops (``scipy.special.expit``, ``log_expit``, ``gammaln``,
  ``digamma``, ``xlogy``, ``np.logaddexp``, ...) raise ``TypeError``; code that drops the
  imaginary part into a real array emits ``ComplexWarning``; a real result means the
  perturbation was lost (``np.abs``, ``np.real``, ``float(x)``): all three are detected;
* a value that is NaN or infinite at the point (``np.log`` or ``np.sqrt`` of a negative number,
  where the complex branch is finite but the real function is not): central differences then
  give a NaN gradient, as they should;
* code that is not complex-analytic but keeps an imaginary part (``x * np.conj(x)``,
  ``np.abs(x) + x``, a comparison near a kink): after every complex-step gradient, one central
  difference of ``sum(dy * f)`` along a fixed pseudo-random direction is compared with the
  complex-step directional derivative (two more evaluations of ``f``; a mismatch is confirmed
  with a step 8 times smaller, so that truncation error is not mistaken for it). Errors below
  about ``1e-6`` relative to the directional derivative are not detected; a probe that is not
  finite (at the edge of the domain) keeps the complex-step result.

Branching on comparisons (``np.where(x > 0, ...)``, ``np.maximum``) compares real parts, so
the derivative is right away from the kink; use ``method='central'`` for code with many kinks.
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
    h = _central_step(x)
    call_args = list(args)
    if elementwise:
        return _elementwise_central(f, args, i, x, dy, h)[0]
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


def _central_step(x):
    """``eps**(1/3) max(1, |x|)``: balances truncation and rounding error."""
    return np.finfo(np.float64).eps ** (1.0 / 3.0) * np.maximum(1.0, np.abs(x))


def _elementwise_central(f, args, i, x, dy, h):
    """Central gradient of an elementwise ``f`` (two evaluations), and the rounding error
    scale of each element (``eps`` times the size of the terms over ``h``)."""
    call_args = list(args)
    call_args[i] = x + h
    plus = np.asarray(f(*call_args), dtype=float)
    call_args[i] = x - h
    minus = np.asarray(f(*call_args), dtype=float)
    grad = dy * (plus - minus) / (2.0 * h)
    rounding = _EPS * np.abs(dy) * (np.abs(plus) + np.abs(minus)) / (2.0 * h)
    return grad, rounding


# Relative size of a complex-step/central-difference disagreement taken as real, and the
# shrink factor of the confirming probe (truncation error falls 64-fold with an 8-fold step).
_PROBE_RTOL = 1e-6
_PROBE_SHRINK = 8.0
_EPS = np.finfo(np.float64).eps


def _directional_central(f, args, i, x, dy, v, h, vectorized, center=None):
    """Central difference of ``sum(dy * f)`` along ``v`` with step ``h``, its rounding error
    scale (``eps`` times the size of the terms over ``h``) and the second difference
    ``|f(x + hv) - 2 f(x) + f(x - hv)| / h²`` (0 without ``center = sum(dy * f(x))``)."""
    call_args = list(args)
    if vectorized:
        call_args[i] = np.stack([x + h * v, x - h * v])
        both = np.asarray(f(*call_args), dtype=float).reshape(2, -1)
        plus, minus = both[0], both[1]
    else:
        call_args[i] = x + h * v
        plus = np.asarray(f(*call_args), dtype=float)
        call_args[i] = x - h * v
        minus = np.asarray(f(*call_args), dtype=float)
    dy = dy.reshape(-1)
    plus, minus = plus.reshape(-1), minus.reshape(-1)
    derivative = float(dy @ (plus - minus)) / (2.0 * h)
    rounding = _EPS * float(np.abs(dy) @ (np.abs(plus) + np.abs(minus))) / (2.0 * h)
    curvature = 0.0 if center is None else abs(float(dy @ (plus + minus)) - 2.0 * center) / h**2
    return derivative, rounding, curvature


def _complex_step_disagrees(f, args, i, x, dy, grad, vectorized, center) -> str | None:
    """Why the complex-step ``grad`` is wrong (it disagrees with central differences along
    one direction), or None. ``center`` is ``sum(dy * f)`` at ``x``."""
    # A fixed direction with no zero component, so that no coordinate escapes the probe.
    rng = np.random.default_rng(20130811)
    v = rng.uniform(0.5, 1.0, x.shape) * rng.choice([-1.0, 1.0], x.shape)
    along = float(np.sum(grad * v))
    h = _EPS ** (1.0 / 3.0) * max(1.0, float(np.max(np.abs(x), initial=0.0)))
    gap = None
    size = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    for scale in (1.0, 1.0 / _PROBE_SHRINK):
        central, rounding, curvature = _directional_central(f, args, i, x, dy, v, h * scale,
                                                            vectorized, center)  # fmt: skip
        if not np.isfinite(central):
            return None  # f is not finite beside x (edge of its domain): nothing to compare
        # Rounding x ± h·v (an error of eps·|x| in the argument) moves each value by about
        # |f''|·h·eps·|x|, the difference quotient by eps·|x|·|f''|: where the gradient nearly
        # vanishes this dominates.
        argument_rounding = _EPS * size * curvature
        tolerance = (
            _PROBE_RTOL * (abs(along) + abs(central)) + 100.0 * rounding
            + 16.0 * argument_rounding
        )
        previous, gap = gap, abs(central - along)
        if gap <= tolerance or (previous is not None and gap <= previous / 16.0):
            return None
    return (
        f"its directional derivative {along:.6g} differs from central differences "
        f"({central:.6g}): f is not complex-analytic (np.abs, np.conj, np.real, a kink)"
    )


def _elementwise_disagrees(f, args, i, x, dy, grad) -> tuple[str | None, np.ndarray]:
    """For an elementwise ``f``: compare with the central gradient element by element.

    Returns the reason for a disagreement (or None) and the central gradient.
    """
    h = _central_step(x)
    central, rounding = _elementwise_central(f, args, i, x, dy, h)
    tolerance = _PROBE_RTOL * (np.abs(grad) + np.abs(central)) + 100.0 * rounding
    bad = ~(np.abs(grad - central) <= tolerance)  # NaN counts as a disagreement
    bad &= np.isfinite(central)
    if not bad.any():
        return None, central
    finer, finer_rounding = _elementwise_central(f, args, i, x, dy, h / _PROBE_SHRINK)
    gap, finer_gap = np.abs(grad - central)[bad], np.abs(grad - finer)[bad]
    finer_tolerance = (
        _PROBE_RTOL * (np.abs(grad) + np.abs(finer)) + 100.0 * finer_rounding
    )[bad]
    if np.all(finer_gap <= np.maximum(gap / 16.0, finer_tolerance)):
        return None, central
    k = np.flatnonzero(bad)[0]
    return (
        f"its derivative {grad.flat[k]:.6g} at element {k} differs from central differences "
        f"({central.flat[k]:.6g}): f is not complex-analytic (np.abs, np.conj, np.real, a "
        "kink), or the derivative times 1e-30 underflows",
        central,
    )


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
        complex input, emits a ``ComplexWarning``, returns a real result, is NaN or infinite
        at the point, or when its complex-step derivative disagrees with a central-difference
        probe (``f`` is not complex-analytic).
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
            # f's own floating-point warnings were given by the call above; the evaluations
            # beside x would only repeat them (or warn about probes outside f's domain).
            with np.errstate(all="ignore"):
                if method == "complex_step":
                    grad, reason = _checked_complex_step(
                        f, args, i, x, out, weights, vectorized, elementwise
                    )
                    if reason is not None:
                        warnings.warn(
                            f"complex-step differentiation does not apply to argument {i} "
                            f"({reason}); using central finite differences",
                            ComplexStepWarning,
                            stacklevel=2,
                        )
                if grad is None:
                    grad = _grad_central(f, args, i, x, weights, vectorized, elementwise)
            grads.append(float(grad) if grad.ndim == 0 else grad)
        return value, grads

    value_and_gradients.__doc__ = f"Value and gradients of {getattr(f, '__name__', f)!r}."
    return value_and_gradients


def _checked_complex_step(f, args, i, x, out, dy, vectorized, elementwise):
    """``(gradient, None)`` by complex step, or ``(central gradient or None, reason)`` where
    complex step does not apply (see the module docstring)."""
    if not np.all(np.isfinite(out)):
        return None, "f is NaN or infinite at this point"
    try:
        grad = _grad_complex_step(f, args, i, x, dy, vectorized, elementwise)
    except _NotComplexSafe as exc:
        return None, str(exc)
    if elementwise:
        reason, central = _elementwise_disagrees(f, args, i, x, dy, grad)
        return (grad, None) if reason is None else (central, reason)
    center = float(np.sum(dy * out))
    reason = _complex_step_disagrees(f, args, i, x, dy, grad, vectorized, center)
    return (grad, None) if reason is None else (None, reason)
