"""The FTRL-Proximal optimizer on numpy arrays, with TensorFlow's interface and numbers."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..gradients import value_and_gradients_function
from ._kernels import FtrlHyper, check_sparse_indices, ftrl_step, sum_duplicate_rows

__all__ = ["Ftrl"]

_SLOT_NAMES = ("accumulator", "linear")


class Ftrl:
    """FTRL-Proximal optimizer (McMahan et al., 2013), as ``tf.keras.optimizers.Ftrl``.

    Variables are numpy float arrays updated in place. Each variable gets two slots created on
    first use: ``'accumulator'`` (``n``, the running sum of squared gradients, starting at
    ``initial_accumulator_value``) and ``'linear'`` (``z``, starting at 0). One step per
    coordinate is (``p = learning_rate_power``, ``eta = learning_rate``)::

        g_hat = g + 2 l2_shrinkage w
        n'    = n + g**2
        z'    = z + g_hat - (n'**(-p) - n**(-p)) / eta * w
        w'    = (sign(z') l1 - z') / (n'**(-p) / eta + 2 l2 + beta / eta)   if |z'| > l1 else 0

    **Mapping to Algorithm 1 of McMahan et al. (2013)**, "Ad Click Prediction: a View from the
    Trenches", with per-coordinate learning rate ``alpha / (beta + sqrt(n))`` and penalties
    ``lambda1 |w| + lambda2 w**2 / 2``: use ``learning_rate=alpha``, ``learning_rate_power=-0.5``,
    ``initial_accumulator_value=0``, ``beta=beta``, ``l1_regularization_strength=lambda1``,
    ``l2_regularization_strength=lambda2 / 2`` (TensorFlow's L2 term is ``l2 w**2``, hence the
    factor 2) and no shrinkage. The paper computes ``w`` lazily before predicting; TensorFlow
    stores it right after each update; the two agree because ``w`` is a function of ``(z, n)``.
    TensorFlow's defaults differ from the paper: the accumulator starts at 0.1 and beta is 0.

    Parameters
    ----------
    learning_rate : float, default=0.001
        ``eta`` (the paper's ``alpha``).
    learning_rate_power : float, default=-0.5
        ``p <= 0``; -0.5 is the AdaGrad-style ``1 / sqrt(n)`` schedule, 0 a constant rate.
    initial_accumulator_value : float, default=0.1
        Starting value of the accumulator slot (``>= 0``).
    l1_regularization_strength, l2_regularization_strength : float, default=0.0
        ``l1`` and ``l2`` above (``>= 0``).
    l2_shrinkage_regularization_strength : float, default=0.0
        Magnitude penalty ``s`` applied through the gradient (``>= 0``).
    beta : float, default=0.0
        The paper's ``beta``, added to the denominator of the learning rate (``>= 0``).

    Attributes
    ----------
    iterations : int
        Number of :meth:`apply_gradients` calls.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1.0, -2.0])
    >>> opt = Ftrl(learning_rate=1.0, initial_accumulator_value=0.0)
    >>> for _ in range(100):
    ...     _ = opt.minimize(lambda w: np.sum((w - 3.0) ** 2), [w])
    >>> np.round(w, 3)
    array([3., 3.])
    >>> opt.get_slot(w, "accumulator").shape
    (2,)
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
    ):
        if not (initial_accumulator_value >= 0 and math.isfinite(initial_accumulator_value)):
            raise ValueError(
                "initial_accumulator_value must be finite and >= 0, got "
                f"{initial_accumulator_value!r}"
            )
        self.learning_rate = float(learning_rate)
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)
        self._hyper()
        self.iterations = 0
        # Slots keyed by id(var); the var itself is kept too so its id cannot be reused.
        self._slots: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def _hyper(self) -> FtrlHyper:
        """The current hyper-parameters, checked (they may have been reassigned since)."""
        return FtrlHyper.from_tensorflow_names(self).check()

    def _state(self, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The live slots of ``var``, or new ones at their initial values (not yet stored)."""
        entry = self._slots.get(id(var))
        if entry is not None:
            return entry[1]["accumulator"], entry[1]["linear"]
        return np.full_like(var, self.initial_accumulator_value), np.zeros_like(var)

    def get_slot_names(self) -> list[str]:
        """Names of the per-variable slots: ``['accumulator', 'linear']``."""
        return list(_SLOT_NAMES)

    def get_slot(self, var: np.ndarray, name: str) -> np.ndarray:
        """The slot array ``name`` of ``var`` (the live array, updated by later steps)."""
        if name not in _SLOT_NAMES:
            raise ValueError(f"unknown slot {name!r}; slots are {list(_SLOT_NAMES)}")
        entry = self._slots.get(id(var))
        if entry is None:
            raise ValueError("var has no slots yet: apply a gradient to it first")
        return entry[1][name]

    def variables(self) -> list[np.ndarray]:
        """All slot arrays, in order of variable creation (accumulator, then linear)."""
        return [slots[name] for _, slots in self._slots.values() for name in _SLOT_NAMES]

    def apply_gradients(
        self, grads_and_vars: Iterable[tuple[np.ndarray | tuple | None, np.ndarray]]
    ) -> int:
        """Apply one FTRL step to each variable, in place: all of them or none.

        Every gradient and variable is checked, and every step computed and checked finite,
        before any variable or slot is written; on error nothing has changed (variables,
        slots, ``iterations``). A variable listed twice gets both steps, in order.

        Parameters
        ----------
        grads_and_vars : iterable of (gradient, variable)
            ``variable`` is a writable float ndarray. ``gradient`` is an array of the same shape
            (dense step), a tuple ``(indices, values)`` of rows of the first axis (sparse step:
            only those rows change; duplicate indices are summed), or None (skipped).

        Returns
        -------
        int
            The new value of ``iterations``.

        Raises
        ------
        TypeError
            If a variable is not a writable floating-point array, a gradient is not numeric or
            sparse indices are not integers.
        ValueError
            If a gradient has the wrong shape, contains NaN or infinity, an index is out of
            range, or a step would make a variable or slot NaN or infinite.
        """
        hyper = self._hyper()
        pending: dict[int, _PendingStep] = {}
        for position, (grad, var) in enumerate(grads_and_vars):
            if grad is None:
                continue
            _check_variable(var, position)
            previous = pending.get(id(var))
            # A variable seen before in this call continues from its pending step.
            w, n, z = (var, *self._state(var)) if previous is None else previous.full()
            # An overflow shows as inf or NaN in the step and is refused below, not warned.
            with np.errstate(over="ignore", invalid="ignore"):
                if isinstance(grad, tuple):
                    step = _sparse_step(grad, var, w, n, z, hyper, position)
                else:
                    g = _as_gradient(grad, var, f"gradient {position}")
                    step = _PendingStep(var, w, n, z, None, *ftrl_step(w, n, z, g, hyper))
            if not step.finite():
                raise ValueError(
                    f"Ftrl refused the update: the step for variable {position} would make it or "
                    "its slots NaN or infinite (gradient or accumulator overflow); nothing was "
                    "changed"
                )
            if previous is not None:
                # Computed on copies: the write must carry both steps, so it covers the whole array.
                full = step.full()
                step = _PendingStep(var, *full, None, *full)
            pending[id(var)] = step
        for step in pending.values():
            if id(step.var) not in self._slots:
                self._slots[id(step.var)] = (
                    step.var, {"accumulator": step.base_n, "linear": step.base_z}
                )
            step.commit(self._slots[id(step.var)][1])
        self.iterations += 1
        return self.iterations

    def minimize(self, loss: Callable[..., float], var_list: Sequence[np.ndarray]) -> float:
        """Take one step on the gradient of ``loss`` with respect to ``var_list``.

        Gradients come from :func:`~skglm_fisher.gradients.value_and_gradients_function`.
        If ``loss`` takes one positional argument per variable it is called as
        ``loss(*var_list)`` and differentiated by complex step (exact to rounding, with a
        checked fallback to central differences). A zero-argument ``loss`` that reads the
        arrays itself (TensorFlow's style) is differentiated by central differences,
        perturbing the arrays in place and restoring them (accurate to about 1e-10 relative).

        All or nothing, as :meth:`apply_gradients`: a loss that is not a finite scalar, or a
        non-finite gradient, raises ``ValueError`` and leaves the variables as they were.

        Returns
        -------
        float
            The loss before the step.
        """
        var_list = list(var_list)
        for position, var in enumerate(var_list):
            _check_variable(var, position)
        if _n_required_positional(loss) == 0 and not _takes_varargs(loss):
            value, grads = self._gradients_in_place(loss, var_list)
        else:
            value, grads = value_and_gradients_function(loss)(*var_list)
        value = np.asarray(value)
        if value.size != 1 or not np.isfinite(value).all():
            raise ValueError(
                f"loss must return a finite scalar, got {value!r}; nothing was changed"
            )
        grads = [
            np.asarray(g).reshape(v.shape) for g, v in zip(grads, var_list, strict=True)
        ]
        self.apply_gradients(zip(grads, var_list, strict=True))
        return float(value.reshape(-1)[0])

    @staticmethod
    def _gradients_in_place(loss, var_list):
        def at(*values):
            saved = [v.copy() for v in var_list]
            try:
                for v, new in zip(var_list, values, strict=True):
                    v[...] = new
                return loss()
            finally:
                for v, old in zip(var_list, saved, strict=True):
                    v[...] = old

        return value_and_gradients_function(at, method="central")(*[v.copy() for v in var_list])


def _n_required_positional(f: Callable) -> int:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        for p in params
    )


def _takes_varargs(f: Callable) -> bool:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind == p.VAR_POSITIONAL for p in params)


def _check_variable(var, position: int) -> None:
    if not isinstance(var, np.ndarray) or not np.issubdtype(var.dtype, np.floating):
        raise TypeError(
            f"variable {position} must be a floating-point numpy array, got "
            f"{type(var).__name__} of dtype {getattr(var, 'dtype', None)} (an integer variable "
            "would truncate every update)"
        )
    if not var.flags.writeable:
        raise ValueError(f"variable {position} is read-only; FTRL updates variables in place")


def _as_gradient(grad, var: np.ndarray, what: str, shape=None) -> np.ndarray:
    """``grad`` as a finite array of ``var``'s dtype and ``shape`` (default: ``var.shape``)."""
    g = np.asarray(grad)
    if g.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold real numbers, got dtype {g.dtype}")
    with np.errstate(over="ignore"):  # float64 beyond the float32 range: inf, refused below
        g = g.astype(var.dtype, copy=False)
    shape = var.shape if shape is None else shape
    if g.shape != shape:
        raise ValueError(f"{what} has shape {g.shape}, expected {shape}")
    if not np.isfinite(g).all():
        raise ValueError(f"{what} contains NaN or infinity (in the variable's dtype {var.dtype})")
    return g


def _sparse_step(grad: tuple, var, w, n, z, hyper: FtrlHyper, position: int) -> _PendingStep:
    """A pending step of ``var`` (currently ``w, n, z``) on the rows of ``(indices, values)``,
    duplicate rows summed."""
    if len(grad) != 2:
        raise TypeError(
            f"a sparse gradient is a tuple (indices, values); gradient {position} has "
            f"{len(grad)} items"
        )
    if w.ndim == 0:
        raise ValueError(f"variable {position} is a scalar: it has no rows for a sparse step")
    indices, values = grad
    indices = check_sparse_indices(indices, w.shape[0])
    values = _as_gradient(values, w, f"gradient {position}", indices.shape + w.shape[1:])
    rows, values = sum_duplicate_rows(values, indices)
    return _PendingStep(var, w, n, z, rows, *ftrl_step(w[rows], n[rows], z[rows], values, hyper))


class _PendingStep:
    """A computed FTRL step not yet written: new ``(w, n, z)`` for ``rows`` (None: all) of
    the arrays ``base_w, base_n, base_z`` it was computed from."""

    def __init__(self, var, base_w, base_n, base_z, rows, w, n, z):
        self.var = var
        self.base_w, self.base_n, self.base_z = base_w, base_n, base_z
        self.rows = rows
        self.w, self.n, self.z = w, n, z

    def finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (self.w, self.n, self.z))

    def full(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whole new arrays (copies of the base with the rows replaced, for a sparse step)."""
        if self.rows is None:
            return self.w, self.n, self.z
        full = tuple(a.copy() for a in (self.base_w, self.base_n, self.base_z))
        for target, values in zip(full, (self.w, self.n, self.z), strict=True):
            target[self.rows] = values
        return full

    def commit(self, slots: dict[str, np.ndarray]) -> None:
        where = slice(None) if self.rows is None else self.rows
        self.var[where] = self.w
        slots["accumulator"][where] = self.n
        slots["linear"][where] = self.z
