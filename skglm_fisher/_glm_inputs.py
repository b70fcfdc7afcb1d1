"""Inputs of FisherScoringGLM: its family from the parameters, and validated fit data.

Everything here runs before the estimator changes any state, and raises ``ValueError`` naming
the problem.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_array

from skglm_fisher._sklearn_compat import _check_sample_weight, validate_data
from skglm_fisher.glm._design import is_dask_array, make_design
from skglm_fisher.glm._families import (
    Bernoulli,
    ExponentialFamily,
    Gamma,
    InverseGaussian,
    NegativeBinomial,
    Normal,
    Poisson,
)
from skglm_fisher.glm._links import get_link
from skglm_fisher.glm._path import check_penalty_factor
from skglm_fisher.glm._tweedie import Tweedie

__all__ = ["FAMILIES", "LINK_NAMES", "FitData", "check_magnitudes", "check_offset",
           "family_from_params", "ridge_penalty", "split_offset_column", "validate_fit_data",
           "validate_predict_data"]  # fmt: skip

FAMILIES = {
    "normal": lambda link, power: Normal(1.0, link or "identity"),
    "gaussian": lambda link, power: Normal(1.0, link or "identity"),
    "bernoulli": lambda link, power: Bernoulli(link or "logit"),
    "binomial": lambda link, power: Bernoulli(link or "logit"),
    "poisson": lambda link, power: Poisson(link or "log"),
    "gamma": lambda link, power: Gamma(1.0, link or "log"),
    "inverse_gaussian": lambda link, power: InverseGaussian(1.0, link or "log"),
    "tweedie": lambda link, power: Tweedie(power, link or "log"),
    "negative_binomial": lambda link, power: NegativeBinomial(1.0, link or "log"),
}
LINK_NAMES = {"auto", "identity", "log", "logit", "probit", "cloglog", "inverse",
              "inverse_squared", "sqrt", "softplus"}  # fmt: skip


def family_from_params(family, link, power) -> ExponentialFamily:
    """The family instance the parameters describe (a copy; never the user's object)."""
    link = None if isinstance(link, str) and link == "auto" else link
    if isinstance(family, str):
        return FAMILIES[family](link, power)
    family = copy.deepcopy(family)
    if link is not None:
        link = get_link(link)
        allowed = family.allowed_links
        if allowed is not None and link.name not in allowed:
            raise ValueError(
                f"{type(family).__name__} does not support the {link.name!r} link; "
                f"allowed links are {list(allowed)}."
            )
        family.link = link
    return family


def ridge_penalty(alpha, penalty_factor, n_features, sum_weights, fit_intercept,
                  name="penalty_factor") -> np.ndarray:  # fmt: skip
    """``P``: ``alpha · Σs · pf²`` per coefficient of one linear predictor, 0 for the intercept
    (the diagonal of scikit-learn's ridge term in the solvers' scaling)."""
    pf = check_penalty_factor(penalty_factor, n_features, name=name)
    penalty = alpha * sum_weights * pf**2
    return np.concatenate([[0.0], penalty]) if fit_intercept else penalty


def check_offset(offset, n_samples):
    """The offset as a float64 vector of ``n_samples`` (Dask arrays pass through), or None."""
    if offset is None or is_dask_array(offset):
        return offset
    offset = check_array(offset, ensure_2d=False, dtype=np.float64, input_name="offset")
    if offset.ndim != 1 or offset.shape[0] != n_samples:
        raise ValueError(f"offset has shape {offset.shape}; expected ({n_samples},).")
    return offset


def split_offset_column(X, offset, column):
    """``(X without the offset column, offset)`` for ``offset_column=column`` (None: as given).

    ``column`` is a name for pandas input, else a position (negative from the end).
    """
    if column is None:
        return X, offset
    if offset is not None:
        raise ValueError(
            f"offset is given and offset_column={column!r} is set; pass one of the two."
        )
    if hasattr(X, "columns"):  # pandas
        names = list(X.columns)
        if isinstance(column, str):
            if column not in names:
                raise ValueError(f"offset_column {column!r} is not a column of X.")
            position = names.index(column)
        else:
            position = _position(column, len(names))
        offset = np.asarray(X.iloc[:, position], dtype=np.float64)
        return X.drop(columns=X.columns[position]), offset
    if isinstance(column, str):
        raise ValueError(
            f"offset_column={column!r} is a name, but X has no column names; use a position."
        )
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        X = np.asarray(X)
        shape = X.shape
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-dimensional X; got shape {shape}.")
    position = _position(column, shape[1])
    keep = np.ones(shape[1], dtype=bool)
    keep[position] = False
    if hasattr(X, "tocsc"):  # scipy.sparse
        offset = np.asarray(X.tocsc()[:, [position]].toarray(), dtype=np.float64).ravel()
        return X.tocsc()[:, keep].tocsr(), offset
    return X[:, keep], X[:, position]


def _position(column, n_columns):
    if not -n_columns <= column < n_columns:
        raise ValueError(f"offset_column={column} is out of range for X of {n_columns} columns.")
    return column % n_columns


@dataclass
class FitData:
    """Validated rows of a fit: their design view, row counts and the input dtype."""

    design: object
    n_obs: int
    sum_weights: float
    dtype: np.dtype


#: Largest magnitude accepted in ``y`` and the sample weights, and the smallest non-zero one in
#: ``y``: the family's variance (up to ``mu³``) and the weighted deviance must stay inside double
#: precision. (Large values in ``X`` are handled by the solver's QR route.)
MAX_MAGNITUDE = 1e100


def check_magnitudes(y, sample_weight):
    """Raise ``ValueError`` for values whose powers overflow or underflow double precision."""
    for name, array in (("y", y), ("sample_weight", sample_weight)):
        if array is None or array.size == 0:
            continue
        # Two reductions, no |array| temporary (X can be large).
        largest = max(float(np.max(array)), -float(np.min(array)))
        if largest > MAX_MAGNITUDE:
            raise ValueError(
                f"{name} has values of magnitude up to {largest:.3g}; beyond {MAX_MAGNITUDE:g} "
                "the Fisher information and deviance overflow double precision. Rescale it "
                "(a change of units)."
            )
    nonzero = np.abs(y[y != 0])
    if nonzero.size and float(nonzero.min()) < 1.0 / MAX_MAGNITUDE:
        raise ValueError(
            f"y has non-zero values of magnitude down to {float(nonzero.min()):.3g}; below "
            f"{1.0 / MAX_MAGNITUDE:g} the family's variance underflows double precision. "
            "Rescale y (a change of units)."
        )


def validate_fit_data(estimator, X, y, sample_weight, offset, reset, family) -> FitData:
    """Validate ``(X, y, sample_weight, offset)`` and build the design.

    ``validate_data`` records ``n_features_in_`` (and feature names) on the estimator when
    ``reset``; callers restore the estimator if a later step fails. Dask arrays are checked
    block by block on their workers.
    """
    if is_dask_array(X):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-dimensional dask array X; got shape {X.shape}.")
        design = make_design(X, y, offset, sample_weight)
        n_obs, sum_weights = design.row_totals(family)
        return FitData(design, n_obs, sum_weights, np.dtype(X.dtype))
    X, y = validate_data(
        estimator, X, y, reset=reset, accept_sparse=["csr", "csc"],
        dtype=[np.float64, np.float32], y_numeric=True, multi_output=False,
    )  # fmt: skip
    if np.iscomplexobj(y):
        raise ValueError("Complex data not supported: y is complex.")
    y = np.asarray(y, dtype=np.float64)
    family.check_response(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not np.all(np.isfinite(sample_weight)):
            raise ValueError("sample_weight contains NaN or infinity.")
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight must have at least one positive entry.")
    offset = check_offset(offset, X.shape[0])
    check_magnitudes(y, sample_weight)
    design = make_design(X, y, offset, sample_weight)
    n_obs, sum_weights = design.row_totals(family)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return FitData(design, n_obs, sum_weights, dtype)


def validate_predict_data(estimator, X):
    """``X`` validated against the fitted estimator (Dask arrays pass through)."""
    if is_dask_array(X):
        validate_data(estimator, X, reset=False, skip_check_array=True)
        return X
    return validate_data(estimator, X, reset=False, accept_sparse=["csr", "csc"],
                         dtype=[np.float64, np.float32])  # fmt: skip

