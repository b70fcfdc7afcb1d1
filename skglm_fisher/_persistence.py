"""Version stamps on pickled estimators.

A fitted estimator records the package version in its pickled state; loading it under another
version warns, since fitted attributes may have changed meaning between releases.
"""

from __future__ import annotations

import warnings

VERSION_KEY = "_skglm_fisher_version"


class PickleVersionWarning(UserWarning):
    """An estimator was pickled by another version of skglm_fisher than the one loading it."""


def _package_version() -> str:
    from skglm_fisher import __version__

    return __version__


class VersionStampMixin:
    """Stamp ``__getstate__`` with the package version and check it in ``__setstate__``.

    Place it before ``BaseEstimator`` in the bases so that it wraps scikit-learn's own methods.
    """

    def __getstate__(self):
        state = super().__getstate__()
        state[VERSION_KEY] = _package_version()
        return state

    def __setstate__(self, state):
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
