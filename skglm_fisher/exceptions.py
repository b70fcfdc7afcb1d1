"""Warnings the library raises about the data it is given.

Examples
--------
>>> import warnings
>>> from skglm_fisher.exceptions import PerfectSeparationWarning
>>> issubclass(PerfectSeparationWarning, UserWarning)
True
"""

__all__ = [
    "BoundaryFitWarning",
    "MissingOffsetWarning",
    "PerfectSeparationWarning",
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
