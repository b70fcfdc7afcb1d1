"""The FTRL-Proximal optimizer on numpy arrays, with TensorFlow's interface and numbers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ..gradients import value_and_gradients_function
from ._kernels import apply_ftrl, sparse_apply_ftrl

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
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
        if not learning_rate_power <= 0:
            raise ValueError(f"learning_rate_power must be <= 0, got {learning_rate_power!r}")
        non_negative = {
            "initial_accumulator_value": initial_accumulator_value,
            "l1_regularization_strength": l1_regularization_strength,
            "l2_regularization_strength": l2_regularization_strength,
            "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
            "beta": beta,
        }
        for name, value in non_negative.items():
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        self.learning_rate = float(learning_rate)
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = float(beta)
        self.iterations = 0
        # Slots keyed by id(var); the var itself is kept too so its id cannot be reused.
        self._slots: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def _hyper(self) -> dict[str, float]:
        return {
            "learning_rate": self.learning_rate,
            "l1": self.l1_regularization_strength,
            "l2": self.l2_regularization_strength,
            "l2_shrinkage": self.l2_shrinkage_regularization_strength,
            "learning_rate_power": self.learning_rate_power,
            "beta": self.beta,
        }

    def _get_or_create_slots(self, var: np.ndarray) -> dict[str, np.ndarray]:
        entry = self._slots.get(id(var))
        if entry is None:
            slots = {
                "accumulator": np.full_like(var, self.initial_accumulator_value),
                "linear": np.zeros_like(var),
            }
            self._slots[id(var)] = (var, slots)
            return slots
        return entry[1]

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
        """Apply one FTRL step to each variable, in place.

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
        """
        hyper = self._hyper()
        for grad, var in grads_and_vars:
            if grad is None:
                continue
            if not isinstance(var, np.ndarray) or not np.issubdtype(var.dtype, np.floating):
                raise TypeError("variables must be floating-point numpy arrays")
            slots = self._get_or_create_slots(var)
            if isinstance(grad, tuple):
                indices, values = grad
                sparse_apply_ftrl(
                    var, slots["accumulator"], slots["linear"], values, indices, **hyper
                )
            else:
                apply_ftrl(var, slots["accumulator"], slots["linear"], grad, **hyper)
        self.iterations += 1
        return self.iterations

    def minimize(self, loss: Callable[..., float], var_list: Sequence[np.ndarray]) -> float:
        """Take one step on the gradient of ``loss`` with respect to ``var_list``.

        Gradients come from :func:`~skglm_fisher.gradients.value_and_gradients_function`.
        If ``loss`` takes one positional argument per variable it is called as
        ``loss(*var_list)`` and differentiated by complex step (exact to rounding). A
        zero-argument ``loss`` that reads the arrays itself (TensorFlow's style) is
        differentiated by central differences, perturbing the arrays in place and restoring
        them (accurate to about 1e-10 relative).

        Returns
        -------
        float
            The loss before the step.
        """
        var_list = list(var_list)
        if _n_required_positional(loss) == 0 and not _takes_varargs(loss):
            value, grads = self._gradients_in_place(loss, var_list)
        else:
            value, grads = value_and_gradients_function(loss)(*var_list)
        grads = [
            np.asarray(g, dtype=v.dtype).reshape(v.shape)
            for g, v in zip(grads, var_list, strict=True)
        ]
        self.apply_gradients(zip(grads, var_list, strict=True))
        return float(value)

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
