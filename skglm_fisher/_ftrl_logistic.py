"""Streaming logistic regression with TensorFlow's FTRL-Proximal optimizer."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._atomic import unchanged_on_error
from ._dask_blocks import row_blocks
from ._ftrl_support import (
    Stopping,
    check_fitted_ftrl,
    encode_labels,
    scratch,
    split_validation,
    validate_X,
)
from ._logistic import sigmoid, softplus
from ._persistence import (
    VersionStampMixin,
)
from ._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    validate_data,
)
from .glm._design import is_dask_array
from .heads import LOSS_REDUCTIONS, LogisticRegressionHead, MultiClassHead
from .optim._kernels import FtrlHyper, ftrl_weights
from .optim._minibatch import ftrl_sweep

__all__ = ["FTRLLogisticRegression"]

class FTRLLogisticRegression(VersionStampMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression trained online by FTRL-Proximal, as ``tf.train.FtrlOptimizer``.

    Rows are consumed in batches of ``batch_size``; each batch takes one TensorFlow FTRL step
    (see :class:`skglm_fisher.optim.Ftrl`) on the gradient of the batch's log-loss. With two
    classes the model is a sigmoid (:class:`~skglm_fisher.heads.LogisticRegressionHead`);
    with more it is a softmax (:class:`~skglm_fisher.heads.MultiClassHead`) whose per-class
    weights each carry their own FTRL state. Sparse (CSR) input is handled natively: a batch
    touches only the columns it has stored entries in, so the cost of a batch does not grow with
    ``n_features`` and the L1 penalty keeps unseen or weak features at exactly zero.

    With ``batch_size=1``, the default ``loss_reduction='sum'``, ``initial_accumulator_value=0``
    and ``fit_intercept=False``, training is exactly Algorithm 1 of McMahan et al. (2013) with
    ``alpha = learning_rate``, ``lambda1 = l1_regularization_strength`` and
    ``lambda2 = 2 * l2_regularization_strength``. Larger batches sum the per-row gradients
    ('sum' reduction), so hyper-parameters keep their meaning whatever the batch size;
    ``'mean'`` divides by the batch weight instead, which (with ``learning_rate_power=-0.5``)
    is the same as 'sum' with the accumulator start, ``beta``, ``l1``, ``l2`` and the shrinkage
    multiplied by ``B**2, B, B, B, B`` for batches of ``B`` unit-weight rows.

    Parameters
    ----------
    learning_rate : float, default=0.1
        FTRL's ``alpha``. TensorFlow's default of 0.001 is small for the per-row ('sum')
        gradient scale used here; 0.1 is a usual starting point for per-coordinate FTRL.
    learning_rate_power : float, default=-0.5
        Power of the accumulator in the per-coordinate learning rate (``<= 0``).
    initial_accumulator_value : float, default=0.1
        Starting value of the squared-gradient accumulator (TensorFlow's default).
    l1_regularization_strength : float, default=0.0
        L1 penalty ``l1 |w|`` (drives weights to exactly 0).
    l2_regularization_strength : float, default=0.0
        L2 penalty ``l2 w**2`` (TensorFlow's scale: the paper's ``lambda2 / 2``).
    l2_shrinkage_regularization_strength : float, default=0.0
        Magnitude penalty applied through the gradient (TensorFlow's ``l2_shrinkage``).
    beta : float, default=0.0
        Offset of the per-coordinate learning rate ``alpha / (beta + sqrt(n))``.
    batch_size : int, default=1024
        Rows per FTRL step. 1 is exact per-row FTRL; larger batches are much faster (the work
        is vectorized over the batch's active columns) at a small cost in accuracy.
    loss_reduction : {'sum', 'mean', 'sum_over_batch_size', 'sum_by_nonzero_weights'}, \
default='sum'
        How the batch's weighted per-row losses are reduced (see :mod:`skglm_fisher.heads`).
    fit_intercept : bool, default=True
        Learn an intercept, as one more FTRL coordinate with the same learning-rate settings.
    regularize_intercept : bool, default=False
        Apply ``l1``, ``l2`` and shrinkage to the intercept too (TensorFlow and Keras do, for a
        bias variable under the same optimizer).
    max_iter : int, default=1000
        Maximum number of passes (epochs) over the data in :meth:`fit` (SGDClassifier's
        default). A data set smaller than ``batch_size`` takes one FTRL step per epoch, so it
        may need over a hundred epochs (iris: about 125).
    tol : float or None, default=1e-3
        :meth:`fit` stops when the epoch's loss has not improved by ``tol`` for
        ``n_iter_no_change`` consecutive epochs (the progressive training loss, or the
        validation log-loss with ``early_stopping``). None: always run ``max_iter`` epochs.
    shuffle : bool, default=True
        Shuffle rows before each epoch of :meth:`fit`. :meth:`partial_fit` never shuffles: a
        stream is learned in the order it arrives.
    random_state : int, RandomState instance or None, default=None
        Seeds shuffling and the early-stopping split.
    warm_start : bool, default=False
        Let :meth:`fit` continue from the current FTRL state instead of starting afresh.
    class_weight : dict, 'balanced' or None, default=None
        Weights multiplying each row's loss by its class. 'balanced' is not available in
        :meth:`partial_fit` (class frequencies of a stream are unknown).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows in :meth:`fit` and stop on its log-loss.
    validation_fraction : float, default=0.1
        Share of rows held out with ``early_stopping``.
    n_iter_no_change : int, default=5
        Epochs without improvement before :meth:`fit` stops.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights; always the function of ``linear_`` and ``accumulator_`` that FTRL defines.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    accumulator_ : ndarray of shape (n_rows, n_features + fit_intercept)
        FTRL ``n`` slot (sum of squared gradients); the last column belongs to the intercept.
        ``n_rows`` is 1 for two classes, ``n_classes`` otherwise.
    linear_ : ndarray of shape (n_rows, n_features + fit_intercept)
        FTRL ``z`` slot, laid out as ``accumulator_``.
    n_iter_ : int
        Epochs run by the last :meth:`fit`, or number of :meth:`partial_fit` calls.
    t_ : int
        Number of rows seen since the state was created.
    n_nonzero_ : int
        Number of non-zero entries of ``coef_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    Notes
    -----
    Choosing ``batch_size``: each batch costs a fixed Python overhead plus work proportional to
    its stored entries, so throughput grows with the batch size while the model drifts slowly
    away from exact per-row FTRL (whose weights change after every row). On the click-log
    benchmark in ``benchmarks/bench_ftrl.py`` (1M training rows, 2**18 hashed columns, 20
    active per row) batches of 1024 train at about 1.8 million rows/s on two cores with a
    hold-out log-loss 2e-4 above ``batch_size=1`` (batches of 512: about 1.7 million rows/s,
    1e-4 above). For small in-memory data sets in :meth:`fit`, where one batch may hold the
    whole data set, a small ``batch_size`` (8 to 64) learns more per epoch.

    :meth:`partial_fit` skips scikit-learn's input validation for float64 CSR input (it still
    checks the width and that values are finite): on the benchmark's chunks that validation
    alone would add about 10% to the time spent learning.

    A call that raises changes nothing. :meth:`fit` and :meth:`partial_fit` validate the
    hyper-parameters on every call (also after ``set_params`` on a fitted model), refuse
    labels, weights and class weights before touching the state, and refuse a batch whose
    FTRL step would make a weight or a slot NaN or infinite (features or weights so large that
    the squared gradient overflows) with a ``ValueError`` naming the cause; the batches of the
    call before it are rolled back, so the model is bit for bit what it was. :meth:`partial_fit`
    refuses to continue a model whose fitted state is incomplete rather than start afresh.

    See Also
    --------
    skglm_fisher.optim.Ftrl : The optimizer on plain numpy arrays.
    sklearn.linear_model.SGDClassifier : Plain SGD with a ``partial_fit`` of the same shape.

    References
    ----------
    H. B. McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skglm_fisher import FTRLLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 5))
    >>> y = (X @ [4.0, -2.0, 0.0, 0.0, 1.0] + rng.logistic(size=2000) > 0).astype(int)
    >>> clf = FTRLLogisticRegression(l1_regularization_strength=1.0, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.85
    True
    >>> stream = FTRLLogisticRegression(batch_size=64)
    >>> for X_chunk, y_chunk in zip(np.array_split(X, 4), np.array_split(y, 4)):
    ...     _ = stream.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    >>> stream.t_
    2000
    """

    _parameter_constraints: dict = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_power": [Interval(Real, None, 0, closed="right")],
        "initial_accumulator_value": [Interval(Real, 0, None, closed="left")],
        "l1_regularization_strength": [Interval(Real, 0, None, closed="left")],
        "l2_regularization_strength": [Interval(Real, 0, None, closed="left")],
        "l2_shrinkage_regularization_strength": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "loss_reduction": [StrOptions(set(LOSS_REDUCTIONS))],
        "fit_intercept": ["boolean"],
        "regularize_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        learning_rate=0.1,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        batch_size=1024,
        loss_reduction="sum",
        fit_intercept=True,
        regularize_intercept=False,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        random_state=None,
        warm_start=False,
        class_weight=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
    ):
        self.learning_rate = learning_rate
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta
        self.batch_size = batch_size
        self.loss_reduction = loss_reduction
        self.fit_intercept = fit_intercept
        self.regularize_intercept = regularize_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ hyper-parameters
    def _hyper(self) -> FtrlHyper:
        return FtrlHyper.from_tensorflow_names(self)

    def _intercept_hyper(self) -> FtrlHyper:
        if self.regularize_intercept:
            return self._hyper()
        return FtrlHyper(
            learning_rate=float(self.learning_rate),
            learning_rate_power=float(self.learning_rate_power),
            beta=float(self.beta),
        )

    def _check_params(self, fitted: bool) -> None:
        """Validate the hyper-parameters, on every call.

        scikit-learn's ``_fit_context`` skips the declared constraints in ``partial_fit`` once
        the model is fitted; parameters changed by ``set_params`` since are checked here.
        ``FtrlHyper.check`` adds what the constraints cannot say (``1 / learning_rate`` finite).
        """
        if fitted:
            # sklearn's validation costs ~0.2 ms, 3% of a 10,000-row chunk on the benchmark:
            # run it when the parameters differ from the last ones that passed.
            params = {
                name: dict(value) if isinstance(value, dict) else value
                for name in self._parameter_constraints
                for value in [getattr(self, name)]
            }
            kept = scratch(self)
            if kept.validated_params != params:
                self._validate_params()
                kept.validated_params = params
        self._hyper().check()

    def _head(self):
        if len(self.classes_) == 2:
            return LogisticRegressionHead(loss_reduction=self.loss_reduction)
        return MultiClassHead(len(self.classes_), loss_reduction=self.loss_reduction)

    # ------------------------------------------------------------------ state
    def _init_state(self, n_features: int) -> None:
        n_rows = 1 if len(self.classes_) == 2 else len(self.classes_)
        width = n_features + int(self.fit_intercept)
        self.accumulator_ = np.full((n_rows, width), float(self.initial_accumulator_value))
        self.linear_ = np.zeros((n_rows, width))
        self.coef_ = np.zeros((n_rows, n_features))
        self.intercept_ = np.zeros(n_rows)
        self.t_ = 0
        self.n_iter_ = 0

    def _check_fitted_state(self, deep: bool = True) -> bool:
        """The persistence hook (on loading, and before each ``partial_fit``): see
        :func:`~skglm_fisher._ftrl_support.check_fitted_ftrl`."""
        return check_fitted_ftrl(self, deep)

    @property
    def n_nonzero_(self) -> int:
        """Number of non-zero coefficients (computed on access: O(n_features))."""
        if sp.issparse(self.coef_):
            return int(self.coef_.count_nonzero())
        return int(np.count_nonzero(self.coef_))

    def _weights_from_state(self) -> np.ndarray:
        p = self.n_features_in_
        return ftrl_weights(self.accumulator_[:, :p], self.linear_[:, :p], self._hyper())

    def _sweep(self, X, y_enc, sample_weight, compute_loss=False, journal=None) -> float:
        """One pass over ``X``; on error the state arrays are as before (see ``ftrl_sweep``)."""
        if sp.issparse(self.coef_):
            self.densify()
        p = self.n_features_in_
        intercept_state = None
        if self.fit_intercept:
            intercept_state = np.stack(
                [self.intercept_, self.accumulator_[:, p], self.linear_[:, p]]
            )
        # Slot views: the sweep updates the fitted arrays in place.
        loss = ftrl_sweep(
            X, y_enc, sample_weight, self.coef_, self.accumulator_[:, :p],
            self.linear_[:, :p], intercept_state, head=self._head(),
            batch_size=int(self.batch_size), hyper=self._hyper(),
            intercept_hyper=self._intercept_hyper(), compute_loss=compute_loss,
            journal=journal,
        )
        if self.fit_intercept:
            self.intercept_[:] = intercept_state[0]
            self.accumulator_[:, p] = intercept_state[1]
            self.linear_[:, p] = intercept_state[2]
        self.t_ += X.shape[0]
        return loss

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by up to ``max_iter`` passes of minibatch FTRL over the data.

        On error the estimator is left as it was (unfitted if it was).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (CSR is used without densifying).
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        self : FTRLLogisticRegression
        """
        with unchanged_on_error(self):
            if is_dask_array(X):
                self._fit_blocks(X, y, sample_weight)
            else:
                self._fit(X, y, sample_weight)
        return self

    def _fit_blocks(self, X, y, sample_weight):
        """``fit`` on a Dask array: each epoch streams its row blocks in order, one in memory
        at a time (rows shuffled within a block when ``shuffle``); batches do not span blocks,
        so with block sizes that are multiples of ``batch_size`` and ``shuffle=False`` it
        equals the in-memory fit."""
        self._check_params(fitted=False)
        if self.early_stopping or self.warm_start or self.class_weight == "balanced":
            raise ValueError(
                "early_stopping, warm_start and class_weight='balanced' are not available for "
                "Dask arrays; stream the blocks with partial_fit (scoring a held-out block), "
                "and pass class weights as a dict."
            )
        import dask.array as da

        classes = np.unique(da.unique(da.asarray(y)).compute())
        for attribute in ("classes_", "n_features_in_", "feature_names_in_"):
            self.__dict__.pop(attribute, None)
        rng = check_random_state(self.random_state)
        stopping = Stopping(self)
        self.n_iter_ = 0
        for epoch in range(self.max_iter):
            loss, weight_total = 0.0, 0.0
            for Xb, yb, swb in row_blocks(X, y, sample_weight):
                if epoch == 0 and not hasattr(self, "classes_"):
                    Xb = validate_data(self, Xb, reset=True, accept_sparse="csr",
                                       dtype=np.float64, ensure_all_finite=True)  # fmt: skip
                    self.classes_ = classes
                    self._init_state(Xb.shape[1])
                else:
                    Xb = validate_X(self, Xb, reset=False)
                y_enc, swb = encode_labels(self, yb, swb, Xb.shape[0])
                if self.shuffle:
                    order = rng.permutation(Xb.shape[0])
                    Xb, y_enc = Xb[order], y_enc[order]
                    swb = None if swb is None else swb[order]
                loss += self._sweep(Xb, y_enc, swb, compute_loss=stopping.tracking)
                weight_total += Xb.shape[0] if swb is None else float(swb.sum())
            self.n_iter_ += 1
            if stopping.done(loss / weight_total if weight_total > 0 else 0.0):
                break
        else:
            stopping.warn_exhausted()

    def _fit(self, X, y, sample_weight):
        self._check_params(fitted=False)  # _fit_context has validated the constraints
        warm = self.warm_start and self._check_fitted_state(deep=False)
        X, y = validate_data(
            self, X, y, reset=not warm, accept_sparse="csr", dtype=np.float64,
            ensure_all_finite=True,
        )
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {classes[0]!r}"
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError("warm_start fit got different classes than the previous fit")
        self.classes_ = classes
        y_enc, sample_weight = encode_labels(self, y, sample_weight, X.shape[0])
        if warm:
            self._check_intercept_layout()
            # Train on copies: if an epoch fails, the previous arrays are still intact.
            self.densify()
            for name in ("coef_", "intercept_", "accumulator_", "linear_"):
                setattr(self, name, getattr(self, name).copy())
        else:
            self._init_state(X.shape[1])
        rng = check_random_state(self.random_state)
        X_val = y_val = sw_val = None
        if self.early_stopping:
            X, X_val, y_enc, y_val, sample_weight, sw_val = split_validation(self,
                X, y_enc, sample_weight, rng
            )
        stopping = Stopping(self)
        weight_total = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                order = rng.permutation(X.shape[0])
                Xe, ye = X[order], y_enc[order]
                swe = None if sample_weight is None else sample_weight[order]
            else:
                Xe, ye, swe = X, y_enc, sample_weight
            track = stopping.tracking and not self.early_stopping
            loss = self._sweep(Xe, ye, swe, compute_loss=track)
            self.n_iter_ += 1
            if not stopping.tracking:
                continue
            if self.early_stopping:
                loss = self._log_loss(X_val, y_val, sw_val)
            else:
                loss = loss / weight_total if weight_total > 0 else 0.0
            if stopping.done(loss):
                break
        else:
            stopping.warn_exhausted()

    def _check_intercept_layout(self) -> None:
        if self.accumulator_.shape[1] != self.n_features_in_ + int(self.fit_intercept):
            raise ValueError(
                "fit_intercept was changed after the FTRL state was created; call fit, or "
                "restore the setting, before partial_fit"
            )

    def _log_loss(self, X, y_enc, sample_weight) -> float:
        log_proba = self._log_proba(self._decision(X))
        losses = -log_proba[np.arange(X.shape[0]), y_enc.astype(np.intp)]
        if sample_weight is None:
            return float(losses.mean())
        total = float(sample_weight.sum())
        # All held-out rows weighted 0: no information, report a constant (no improvement).
        return float(sample_weight @ losses) / total if total > 0 else 0.0

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Learn from one chunk of a stream: a single pass in row order, no shuffling.

        On error the estimator is left exactly as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The chunk. Float64 CSR input with the right width skips most validation.
        y : array-like of shape (n_samples,)
            Class labels, all among ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class of the stream; required on the first call, optional later (must then
            equal ``classes_``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights.

        Returns
        -------
        self : FTRLLogisticRegression
        """
        if is_dask_array(X):
            return self._partial_fit_blocks(X, y, classes, sample_weight)
        with unchanged_on_error(self):
            self._partial_fit(X, y, classes, sample_weight)
        return self

    def _partial_fit_blocks(self, X, y, classes, sample_weight):
        """``partial_fit`` on the row blocks of a Dask array, in order, one in memory at a
        time; all or nothing (the slots are copied once, to restore them on an error)."""
        with unchanged_on_error(self):
            fitted = self._check_fitted_state(deep=False)
            if fitted:
                for name in ("coef_", "intercept_", "accumulator_", "linear_"):
                    setattr(self, name, getattr(self, name).copy())
            for Xb, yb, swb in row_blocks(X, y, sample_weight):
                self._partial_fit(Xb, yb, classes, swb)
                classes = None  # given (and checked) on the first block
        return self

    def _partial_fit(self, X, y, classes, sample_weight):
        first = not self._check_fitted_state(deep=False)
        self._check_params(fitted=not first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            check_classification_targets(classes)
            if len(classes) < 2:
                raise ValueError(f"classes must hold at least 2 classes, got {classes.tolist()}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} is not the same as on the first call "
                f"to partial_fit ({self.classes_.tolist()})."
            )
        X = validate_X(self, X, reset=first)
        if first:
            self.classes_ = classes
        else:
            self._check_intercept_layout()
        y_enc, sample_weight = encode_labels(self,
            y, sample_weight, X.shape[0], allow_balanced=False, check_targets=False
        )
        if first:
            self._init_state(X.shape[1])
        self._sweep(X, y_enc, sample_weight, journal=scratch(self).journal)
        self.n_iter_ += 1

    # ------------------------------------------------------------------ prediction
    def _decision(self, X) -> np.ndarray:
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True)
        return np.asarray(scores) + self.intercept_

    @staticmethod
    def _log_proba(decision: np.ndarray) -> np.ndarray:
        if decision.shape[1] == 1:
            # log(1 - p) = -softplus(x), log p = -softplus(-x): exact in both tails.
            return np.hstack([-softplus(decision), -softplus(-decision)])
        return log_softmax(decision, axis=1)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes (log-odds of ``classes_[1]``), else
        (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_X(self, X, reset=False)
        if not sp.issparse(self.coef_) and self.coef_.shape[0] == 1:
            # A matrix-vector product: the fastest path, and what streaming scorers call.
            return X @ self.coef_[0] + self.intercept_[0]
        scores = self._decision(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        decision = self.decision_function(X)
        if decision.ndim == 1:
            p = sigmoid(decision)
            proba = np.empty((p.shape[0], 2))
            proba[:, 1] = p
            np.subtract(1.0, p, out=proba[:, 0])
            return proba
        return softmax(decision, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed without loss of precision."""
        decision = self.decision_function(X)
        return self._log_proba(decision[:, np.newaxis] if decision.ndim == 1 else decision)

    def predict(self, X):
        """Most probable class of each row."""
        decision = self.decision_function(X)
        if decision.ndim == 1:
            return self.classes_[(decision > 0).astype(np.intp)]
        return self.classes_[np.argmax(decision, axis=1)]

    # ------------------------------------------------------------------ sparse coef
    def sparsify(self):
        """Store ``coef_`` as a CSR matrix (worth it with many zeros, e.g. under L1).

        Training and :meth:`densify` rebuild the dense ``coef_`` from the FTRL state.

        Returns
        -------
        self : FTRLLogisticRegression
        """
        check_is_fitted(self)
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a dense array again (the inverse of :meth:`sparsify`).

        Returns
        -------
        self : FTRLLogisticRegression
        """
        check_is_fitted(self)
        if sp.issparse(self.coef_):
            self.coef_ = self._weights_from_state()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
