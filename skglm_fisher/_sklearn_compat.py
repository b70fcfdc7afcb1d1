"""The one module that imports private scikit-learn names.

Keeping them here means a scikit-learn release that moves them breaks one file, not every estimator.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "Hidden",
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "validate_data",
]
