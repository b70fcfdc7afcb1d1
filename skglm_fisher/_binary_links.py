"""Log-probabilities of the two classes under the binary links of the classifier."""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["BINARY_LINKS", "binary_log_probabilities"]

BINARY_LINKS = ("logit", "probit", "cloglog", "log")


def binary_log_probabilities(link, eta):
    """``(log(1 - p), log p)`` of the positive class under a binary link, without the loss
    of precision of ``log(1 - p)`` near ``p = 1`` (and of ``log p`` near 0)."""
    if link == "logit":
        return -np.logaddexp(0.0, eta), -np.logaddexp(0.0, -eta)
    if link == "probit":
        return special.log_ndtr(-eta), special.log_ndtr(eta)
    if link == "cloglog":
        with np.errstate(over="ignore"):
            rate = np.exp(eta)
        return -rate, np.log(-np.expm1(-rate))
    # log link: probabilities above 1 (eta > 0) are clipped to 1 by the caller's warning.
    eta = np.minimum(eta, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(eta)), eta
