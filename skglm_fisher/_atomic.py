"""All-or-nothing updates of an estimator's state."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["unchanged_on_error"]


@contextmanager
def unchanged_on_error(estimator):
    """Restore ``estimator.__dict__`` as it was if the block raises.

    The snapshot is shallow: it suits estimators that replace their fitted arrays rather than
    write into them (a failed first fit then leaves an unfitted estimator, and a failed refit
    the previous model, including what scikit-learn's ``validate_data`` had recorded).

    Examples
    --------
    >>> class Model:
    ...     pass
    >>> model = Model()
    >>> try:
    ...     with unchanged_on_error(model):
    ...         model.coef_ = 1.0
    ...         raise ValueError("bad batch")
    ... except ValueError:
    ...     pass
    >>> hasattr(model, "coef_")
    False
    """
    snapshot = dict(estimator.__dict__)
    try:
        yield estimator
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(snapshot)
        raise
