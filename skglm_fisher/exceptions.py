"""Warnings and errors the library raises about the data and the models it is given.

Examples
--------
>>> import warnings
>>> from skglm_fisher.exceptions import PerfectSeparationWarning
>>> issubclass(PerfectSeparationWarning, UserWarning)
True
"""

__all__ = [
    "BoundaryFitWarning",
    "FittedStateError",
    "MissingOffsetWarning",
    "PerfectSeparationWarning",
    "PickleVersionWarning",
    "SingularInformationWarning",
]


class SingularInformationWarning(UserWarning):
    """The Fisher information is singular: some coefficients are aliased (not identified)."""


class BoundaryFitWarning(UserWarning):
    """Fitted means reached the boundary of their range (a maximum likelihood at infinity)."""


class PerfectSeparationWarning(BoundaryFitWarning):
    """Fitted probabilities reached 0 or 1: the classes are (quasi-)separated."""


class MissingOffsetWarning(UserWarning):
    """A model fitted with an offset predicts without one (at offset 0)."""


class PickleVersionWarning(UserWarning):
    """An estimator was pickled by another version of skglm_fisher than the one loading it."""


class FittedStateError(ValueError):
    """The fitted attributes of an estimator are incomplete or inconsistent (a damaged or
    hand-edited model file)."""
