"""The message of a separated classification fit: which classes, how many rows, which way.

When classes are (quasi-)separated the likelihood keeps increasing as some coefficients run to
infinity along a direction ``d``; Fisher scoring then stops with fitted probabilities
numerically 0 or 1, and its last step points along ``d`` (the weights of the separated rows
vanish, so the step grows in the direction that separates them). The message names each class
whose probability reached 1 on some rows or whose coefficients diverge and, for the latter,
the largest components of the last step measured in units of the linear predictor (step times the
root mean square of the feature), so that the direction does not depend on the features' units.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from skglm_fisher.exceptions import BoundaryFitWarning

__all__ = ["label_text", "separation_message", "solve_reporting_separation"]

#: A probability whose logarithm (or that of its complement) is below this is numerically 0
#: (or 1): R's ``10 · eps``.
LOG_BOUNDARY = float(np.log(10 * np.finfo(np.float64).eps))
#: Components of a direction at least this fraction of its largest are named (at most three).
NAMED_FRACTION = 0.3
#: A class's block of the step counts as diverging when it reaches this fraction of the largest.
DIVERGING_FRACTION = 0.1


def label_text(label) -> str:
    """``repr`` of a class label as the user wrote it (``'a'``, ``1``), not numpy's."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _root_mean_squares(X) -> np.ndarray:
    if sp.issparse(X):
        return np.sqrt(np.asarray(X.multiply(X).mean(axis=0)).ravel())
    return np.sqrt(np.mean(np.square(X, dtype=np.float64), axis=0))


def _direction_text(direction, names) -> str:
    largest = np.max(np.abs(direction)) if direction.size else 0.0
    if not largest > 0:
        return "its intercept"
    order = np.argsort(-np.abs(direction))[:3]
    terms = [f"{'+' if direction[j] > 0 else '-'}{names[j]}" for j in order
             if abs(direction[j]) >= NAMED_FRACTION * largest]  # fmt: skip
    return "along " + " ".join(terms)


def separation_message(classes, log_proba, codes, sample_weight, step, names, n_boundary,
                       n_positive, X, fit_intercept) -> str:  # fmt: skip
    """The warning text for a fit with fitted probabilities numerically 0 or 1.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    log_proba : ndarray of shape (n, n_classes)
        Log-probabilities of the training rows at the fitted coefficients.
    codes, sample_weight : ndarray of shape (n,)
        Class codes of the rows and their weights (None: all 1).
    step : ndarray
        The last step (or the coefficients), shaped like the free coefficients: ``(q,)`` for
        two classes, ``(n_classes - 1, q)`` for more, intercept first when fitted.
    names : list of str
        Feature names (without the intercept).
    n_boundary, n_positive : int
        Rows at the boundary and rows of positive weight.
    X : array or sparse matrix of shape (n, n_features)
    fit_intercept : bool
    """
    positive = np.ones(codes.shape[0], dtype=bool) if sample_weight is None else sample_weight > 0
    at_one = (np.log(-np.expm1(log_proba)) < LOG_BOUNDARY) & positive[:, None]
    at_zero = (log_proba < LOG_BOUNDARY) & positive[:, None]
    n_classes = classes.size
    blocks = np.atleast_2d(np.asarray(step, dtype=np.float64))
    features = blocks[:, 1:] if fit_intercept else blocks
    features = features * _root_mean_squares(X)
    size = np.max(np.abs(features), axis=1) if features.shape[1] else np.zeros(len(blocks))
    diverging = size >= DIVERGING_FRACTION * size.max() if size.max() > 0 else size >= 0
    parts = []
    for k in range(n_classes):
        block = k - 1 if n_classes > 2 else 0
        if n_classes == 2 and k == 0:
            continue  # two classes: one set of coefficients, reported for classes_[1]
        if n_classes > 2 and not at_one[:, k].any() and (k == 0 or not diverging[block]):
            continue  # its probability is 0 only where another class's is 1
        if n_classes == 2:
            who = f"class {label_text(classes[1])} (against {label_text(classes[0])})"
        elif k == 0:
            parts.append(
                f"the reference class {label_text(classes[0])}: probability numerically 1 for "
                f"{int(at_one[:, 0].sum())} rows and 0 for {int(at_zero[:, 0].sum())}"
            )
            continue
        else:
            who = (f"class {label_text(classes[k])} (against the reference "
                   f"{label_text(classes[0])})")  # fmt: skip
        text = (f"{who}: probability numerically 1 for {int(at_one[:, k].sum())} rows and 0 "
                f"for {int(at_zero[:, k].sum())}")  # fmt: skip
        if diverging[block]:
            text += f"; its coefficients diverge {_direction_text(features[block], names)}"
        parts.append(text)
    return (
        f"Fitted probabilities numerically 0 or 1 occurred for {n_boundary} of {n_positive} "
        "rows: the classes are (quasi-)separated, the likelihood has no finite maximum and the "
        "diverging coefficients and their standard errors are not estimates. By class: "
        + "; ".join(parts)
        + ". Use alpha > 0 (a ridge penalty keeps them finite) or drop the separating features."
    )


def solve_reporting_separation(solver, coef0=None):
    """Run ``solver.solve(coef0)`` (or a callable), letting every warning through except the
    engine's boundary warnings: the estimator reports rows at probabilities 0 or 1 itself,
    naming the classes, and a streamed batch of one class (whose intercept-only fit the engine
    warns about) is kept finite by the earlier rows."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solver() if callable(solver) else solver.solve(coef0)
    for warning in caught:
        if not issubclass(warning.category, BoundaryFitWarning):
            warnings.warn(warning.message, warning.category, stacklevel=5)
    return result
