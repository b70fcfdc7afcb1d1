"""Pickling estimators: a version stamp, and a check of the fitted state on loading.

A fitted estimator records the package version in its pickled state; loading it under another
version warns, since fitted attributes may have changed meaning between releases. Pickling
never touches the live object: the stamp goes into a copy of its ``__dict__``.

Loading then asks the estimator to check its fitted state, so that a truncated, edited or
corrupted file fails at ``load`` with a message naming the attribute, rather than later (an
``AttributeError`` in ``predict``) or never (NaN predictions). The hook is a method
``_check_fitted_state(self)`` that an estimator may define: it returns nothing for an unfitted
estimator or a consistent fitted one and raises :class:`FittedStateError` otherwise. The helpers
below do the usual checks (presence, type, shape, finiteness). An estimator without the hook is
loaded unchecked. skops goes through the same ``__getstate__`` / ``__setstate__``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from skglm_fisher.exceptions import FittedStateError, PickleVersionWarning

VERSION_KEY = "_skglm_fisher_version"

__all__ = [
    "FittedStateError",
    "PickleVersionWarning",
    "VersionStampMixin",
    "check_fitted_array",
    "check_fitted_count",
    "fitted_attributes_present",
]


def _package_version() -> str:
    from skglm_fisher import __version__

    return __version__


class VersionStampMixin:
    """Stamp ``__getstate__`` with the package version; check it and the fitted state in
    ``__setstate__``.

    Place it before ``BaseEstimator`` in the bases so that it wraps scikit-learn's own methods.
    """

    def __getstate__(self):
        # object.__getstate__ returns the live __dict__ itself: stamp a copy.
        state = dict(super().__getstate__())
        state[VERSION_KEY] = _package_version()
        return state

    def __setstate__(self, state):
        state = dict(state)
        saved = state.pop(VERSION_KEY, None)
        current = _package_version()
        if saved != current:
            warnings.warn(
                f"This {type(self).__name__} was pickled with skglm_fisher "
                f"{saved or 'unknown'} and is loaded with {current}; results may differ.",
                PickleVersionWarning,
                stacklevel=2,
            )
        super().__setstate__(state)
        check = getattr(self, "_check_fitted_state", None)
        if check is not None:
            check()


def fitted_attributes_present(estimator, names: Iterable[str]) -> bool:
    """False when none of ``names`` is set (unfitted); True when all are; else raise.

    Raises
    ------
    FittedStateError
        When only some are set: the estimator claims to be fitted but cannot be used.
    """
    names = list(names)
    state = vars(estimator)
    present = [name for name in names if name in state]
    if not present:
        return False
    missing = [name for name in names if name not in state]
    if missing:
        raise FittedStateError(
            f"This {type(estimator).__name__} has fitted attributes {present} but lacks "
            f"{missing}: its fitted state is incomplete (a damaged or hand-edited model). "
            "Refit it, or load an intact copy."
        )
    return True


def _corrupt(estimator, name: str, problem: str) -> FittedStateError:
    return FittedStateError(
        f"{type(estimator).__name__}.{name} {problem}; the fitted state is corrupt. Refit the "
        "model, or load an intact copy."
    )


def check_fitted_array(
    estimator,
    name: str,
    shape: tuple,
    *,
    finite: bool = True,
    non_negative: bool = False,
    allow_sparse: bool = False,
) -> None:
    """Check that ``estimator.<name>`` is a numeric array of ``shape`` (``None`` entries match
    any length), finite and optionally non-negative.

    Raises
    ------
    FittedStateError
        Naming the attribute and what is wrong with it.
    """
    value = getattr(estimator, name)
    if sp.issparse(value) and allow_sparse:
        values = value.data
    elif isinstance(value, np.ndarray):
        values = value
    else:
        raise _corrupt(estimator, name, f"is a {type(value).__name__}, not a numpy array")
    if len(value.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(value.shape, shape, strict=True)
    ):
        expected = tuple("any" if s is None else s for s in shape)
        raise _corrupt(estimator, name, f"has shape {value.shape}, expected {expected}")
    if not (finite or non_negative):
        return
    if not np.issubdtype(values.dtype, np.number):
        raise _corrupt(estimator, name, f"has dtype {values.dtype}, not a number type")
    if finite and not np.isfinite(values).all():
        raise _corrupt(estimator, name, "contains NaN or infinity")
    if non_negative and values.size and values.min() < 0:
        raise _corrupt(estimator, name, "has negative entries")


def check_fitted_count(estimator, name: str, minimum: int = 0) -> None:
    """Check that ``estimator.<name>`` is an integer ``>= minimum``."""
    value = getattr(estimator, name)
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise _corrupt(estimator, name, f"is {value!r}, expected an integer >= {minimum}")
