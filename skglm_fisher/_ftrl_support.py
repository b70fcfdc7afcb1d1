"""What FTRLLogisticRegression needs besides the FTRL math: checks of its input (features,
labels, weights) and of its fitted state, the hold-out split and stopping rule of ``fit``, and
the scratch it keeps between calls."""

from __future__ import annotations

import warnings
import weakref

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._persistence import (
    FittedStateError,
    check_fitted_array,
    check_fitted_count,
    fitted_attributes_present,
)
from ._sklearn_compat import _check_sample_weight, validate_data
from .optim._minibatch import Journal

__all__ = [
    "FITTED_ATTRIBUTES",
    "Scratch",
    "Stopping",
    "check_fitted_ftrl",
    "class_weights",
    "encode_labels",
    "scratch",
    "split_validation",
    "validate_X",
]

# Everything fit and partial_fit set; a model with some but not all of them is damaged.
FITTED_ATTRIBUTES = (
    "classes_", "n_features_in_", "coef_", "intercept_", "accumulator_", "linear_", "t_",
    "n_iter_",
)  # fmt: skip


class Scratch:
    """What an estimator reuses from call to call but must not pickle: the parameters it last
    passed validation with, and the journal buffer of partial_fit."""

    def __init__(self):
        self.validated_params = None
        self.journal = Journal()


# Kept beside each estimator (weakly: freed with it), not on it, so nothing extra is pickled
# or cloned.
SCRATCH: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scratch(estimator) -> Scratch:
    scratch = SCRATCH.get(estimator)
    if scratch is None:
        scratch = SCRATCH[estimator] = Scratch()
    return scratch


class Stopping:
    """``fit``'s stopping rule: ``n_iter_no_change`` epochs without a loss improvement of
    ``tol`` (no rule when ``tol`` is None)."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.tracking = estimator.tol is not None
        self.best, self.no_improvement = np.inf, 0

    def done(self, loss) -> bool:
        if not self.tracking:
            return False
        worse = loss > self.best - self.estimator.tol
        self.no_improvement = self.no_improvement + 1 if worse else 0
        self.best = min(self.best, loss)
        return self.no_improvement >= self.estimator.n_iter_no_change

    def warn_exhausted(self):
        if self.tracking:
            warnings.warn(
                f"Maximum number of epochs ({self.estimator.max_iter}) reached before the loss "
                "stopped improving; consider increasing max_iter.",
                ConvergenceWarning,
                stacklevel=5,
            )


# -- input -------------------------------------------------------------------------------------
def validate_X(estimator, X, reset: bool):
    """Validate ``X``; already-clean float64 CSR skips sklearn's (slower) checks."""
    if (
        not reset
        and sp.issparse(X)
        and X.format == "csr"
        and X.dtype == np.float64
        and X.ndim == 2
        and not hasattr(estimator, "feature_names_in_")
    ):
        if X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        if not np.isfinite(X.data).all():
            raise ValueError("Input X contains NaN or infinity.")
        return X
    return validate_data(
        estimator,
        X,
        reset=reset,
        accept_sparse="csr",
        dtype=np.float64,
        ensure_all_finite=True,
    )


def class_weights(estimator, y, allow_balanced: bool) -> np.ndarray | None:
    """Per-class weights in ``classes_`` order, checked finite and non-negative."""
    if estimator.class_weight is None:
        return None
    if estimator.class_weight == "balanced" and not allow_balanced:
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit; pass a dict of "
            "class weights, e.g. computed with sklearn.utils.compute_class_weight"
        )
    per_class = compute_class_weight(estimator.class_weight, classes=estimator.classes_, y=y)
    bad = ~(np.isfinite(per_class) & (per_class >= 0))
    if np.any(bad):
        raise ValueError(
            "class_weight must be finite and non-negative; got "
            + ", ".join(
                f"{c!r}: {w!r}"
                for c, w in zip(
                    estimator.classes_[bad].tolist(), per_class[bad].tolist(), strict=True
                )
            )
        )
    return per_class


def encode_labels(estimator, y, sample_weight, n_samples, allow_balanced=True, check_targets=True):
    """Encoded labels for the head and row weights including class weights.

    Every label must be one of ``classes_``; that alone rejects continuous or NaN labels,
    so ``partial_fit`` skips sklearn's slower target-type check. Row weights are checked
    finite and non-negative with a finite sum (the 'mean' reduction divides by it).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        y = column_or_1d(y, warn=True)
    if check_targets:
        check_classification_targets(y)
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {y.shape[0]} labels")
    try:
        codes = np.minimum(np.searchsorted(estimator.classes_, y), len(estimator.classes_) - 1)
        unseen = estimator.classes_[codes] != y
    except TypeError as exc:
        raise ValueError(
            f"y labels of type {y.dtype} cannot be compared with classes_ "
            f"{estimator.classes_.tolist()}"
        ) from exc
    if np.any(unseen):
        raise ValueError(
            f"y contains labels not in classes_ {estimator.classes_.tolist()}: "
            f"{np.unique(y[unseen]).tolist()}"
        )
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight,
            np.empty((n_samples, 0)),
            dtype=np.float64,
            ensure_non_negative=True,
        )
    per_class = class_weights(estimator, y, allow_balanced)
    with np.errstate(over="ignore"):  # an overflow is refused below, not warned about
        if per_class is not None:
            row_weight = per_class[codes]
            sample_weight = row_weight if sample_weight is None else sample_weight * row_weight
        total = None if sample_weight is None else np.sum(sample_weight)
    if total is not None and not np.isfinite(total):
        raise ValueError(
            "sample_weight (times class_weight) sums to more than the float64 range; "
            "rescale the weights"
        )
    y_enc = codes.astype(np.float64)
    return y_enc, sample_weight


def split_validation(estimator, X, y_enc, sample_weight, rng):
    """Hold out ``validation_fraction`` of the rows, stratified when every class can be
    represented in both parts (a plain random split otherwise)."""
    idx = np.arange(X.shape[0])
    if X.shape[0] < 2:
        raise ValueError("early_stopping needs at least 2 rows to hold some out")
    seed = rng.randint(np.iinfo(np.int32).max)
    try:
        train, val = train_test_split(
            idx, test_size=estimator.validation_fraction, stratify=y_enc, random_state=seed
        )
    except ValueError:
        train, val = train_test_split(
            idx, test_size=estimator.validation_fraction, random_state=seed
        )
    train.sort()
    sw_train = sw_val = None
    if sample_weight is not None:
        sw_train, sw_val = sample_weight[train], sample_weight[val]
    return X[train], X[val], y_enc[train], y_enc[val], sw_train, sw_val


# -- fitted state ------------------------------------------------------------------------------
def check_fitted_ftrl(estimator, deep: bool = True) -> bool:
    """Whether the model is fitted; raise ``FittedStateError`` if its state is damaged.

    Called on loading (pickle, joblib, skops) with ``deep=True``: every fitted attribute
    present, shapes consistent with ``n_features_in_`` and ``classes_``, values finite,
    accumulators non-negative. :meth:`partial_fit` calls it with ``deep=False`` (presence
    and shapes only, O(1)) so that a damaged model is never silently refitted from scratch.
    """
    if not fitted_attributes_present(estimator, FITTED_ATTRIBUTES):
        return False
    classes = estimator.classes_
    try:
        sorted_unique = np.array_equal(np.unique(classes), classes)
    except TypeError:  # labels that cannot be ordered
        sorted_unique = False
    if (
        not isinstance(classes, np.ndarray)
        or classes.ndim != 1
        or classes.shape[0] < 2
        or not sorted_unique
    ):
        raise FittedStateError(
            f"{type(estimator).__name__}.classes_ must hold at least 2 sorted unique labels, got "
            f"{classes!r}; the fitted state is corrupt. Refit the model, or load an intact "
            "copy."
        )
    check_fitted_count(estimator, "n_features_in_", minimum=1)
    check_fitted_count(estimator, "t_")
    check_fitted_count(estimator, "n_iter_")
    p = estimator.n_features_in_
    k = 1 if classes.shape[0] == 2 else classes.shape[0]
    finite = deep
    check_fitted_array(estimator, "coef_", (k, p), finite=finite, allow_sparse=True)
    check_fitted_array(estimator, "intercept_", (k,), finite=finite)
    # The slots have one more column with an intercept; fit_intercept itself may have been
    # changed by set_params since (partial_fit refuses to continue then).
    width = getattr(estimator.accumulator_, "shape", (p,))[-1]
    width = width if width in (p, p + 1) else p
    check_fitted_array(estimator, "accumulator_", (k, width), finite=finite, non_negative=deep)
    check_fitted_array(estimator, "linear_", (k, width), finite=finite)
    if "feature_names_in_" in vars(estimator):
        check_fitted_array(estimator, "feature_names_in_", (p,), finite=False)
    return True
