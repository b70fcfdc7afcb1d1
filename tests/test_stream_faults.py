"""Failing calls change nothing: FTRLLogisticRegression refuses bad input, bad parameters and
overflowing batches before (or rolls back after) touching its state, and a stream with one bad
batch refused goes on exactly as the stream without it.

The property test streams random batches, injects one bad batch at a random position, and
checks that the call raised, left every attribute bit for bit as it was, and that the rest of
the stream ends in the same state as the clean stream.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError

from skglm_fisher import FTRLLogisticRegression
from skglm_fisher._persistence import FittedStateError


def _problem(n=240, d=12, seed=0, n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.3)
    scores = X @ rng.normal(size=(d, n_classes)) + rng.gumbel(size=(n, n_classes))
    y = scores.argmax(axis=1)
    return X, y


def _frozen(est):
    """A deep copy of every attribute, to compare bit for bit after a failing call."""
    return {
        name: value.copy() if isinstance(value, np.ndarray) or sp.issparse(value) else value
        for name, value in vars(est).items()
    }


def assert_unchanged(est, before):
    after = vars(est)
    assert set(after) == set(before), set(after) ^ set(before)
    for name, old in before.items():
        new = after[name]
        if isinstance(old, np.ndarray):
            assert new.dtype == old.dtype and new.shape == old.shape, name
            assert_array_equal(new, old, err_msg=name, strict=True)
            if old.dtype.kind == "f":
                assert np.array_equal(np.signbit(new), np.signbit(old)), name
        elif sp.issparse(old):
            assert (new != old).nnz == 0, name
        elif isinstance(old, dict):
            assert new == old, name
        else:
            assert new is old or new == old, name


def _fitted_stream(Xin, y, **params):
    return FTRLLogisticRegression(batch_size=16, **params).partial_fit(Xin, y, classes=[0, 1])


@pytest.mark.parametrize("as_sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "make_bad, match",
    [
        (lambda X, y: (X * 1e200, y, None), r"squared gradient.*features reach \|x\| = "),
        (lambda X, y: (X * 1e160, y, None), "squared gradient"),
        (lambda X, y: (X, y, np.full(len(y), 1e200)), r"row weights 1e\+200"),
    ],
    ids=["X*1e200", "X*1e160", "weight 1e200"],
)
def test_overflowing_batch_is_refused_and_changes_nothing(as_sparse, make_bad, match):
    X, y = _problem(seed=20)
    Xin = sp.csr_matrix(X) if as_sparse else X
    clean = _fitted_stream(Xin, y)
    model = _fitted_stream(Xin, y)
    before = _frozen(model)
    X_bad, y_bad, sw_bad = make_bad(Xin, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow noise either
        with pytest.raises(ValueError, match=match):
            model.partial_fit(X_bad, y_bad, sample_weight=sw_bad)
    assert_unchanged(model, before)
    # The stream goes on as if the bad batch had never come.
    model.partial_fit(Xin, y)
    clean.partial_fit(Xin, y)
    assert_unchanged(model, _frozen(clean))
    assert np.all(np.isfinite(model.predict_proba(Xin)))


def test_large_weights_are_fine_when_the_reduction_normalises_them():
    X, y = _problem(seed=21)
    unit = FTRLLogisticRegression(batch_size=16, loss_reduction="mean", shuffle=False,
                                  max_iter=2, tol=None).fit(X, y)
    huge = FTRLLogisticRegression(**unit.get_params()).fit(X, y, sample_weight=np.full(240, 1e200))
    assert_allclose(huge.coef_, unit.coef_, rtol=1e-12)


@pytest.mark.parametrize("class_weight, match", [({0: np.nan, 1: 1.0}, "0: nan"),
                                                  ({0: 1.0, 1: -2.0}, "1: -2.0")])
def test_bad_class_weights_are_refused_at_any_time(class_weight, match):
    X, y = _problem(seed=22)
    with pytest.raises(ValueError, match=match):
        FTRLLogisticRegression(class_weight=class_weight).fit(X, y)
    with pytest.raises(ValueError, match=match):
        FTRLLogisticRegression(class_weight=class_weight).partial_fit(X, y, classes=[0, 1])
    model = _fitted_stream(X, y, class_weight={0: 1.0, 1: 2.0})
    before = _frozen(model)
    model.class_weight[1] = class_weight[1]  # changed in place, as well as by set_params
    model.class_weight[0] = class_weight[0]
    with pytest.raises(ValueError, match=match):
        model.partial_fit(X, y)
    model.set_params(class_weight={0: 1.0, 1: 2.0})
    before["class_weight"] = model.class_weight
    assert_unchanged(model, before)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"learning_rate": -1.0}, "'learning_rate' parameter"),
        ({"l1_regularization_strength": -5.0}, "'l1_regularization_strength' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"learning_rate": 1e-320}, "learning_rate=1e-320 is too small"),
        ({"learning_rate": 1e-300, "beta": 1e10}, "too small"),
    ],
)
def test_parameters_are_validated_on_every_partial_fit(params, match):
    X, y = _problem(seed=23)
    with pytest.raises(ValueError, match=match):
        FTRLLogisticRegression(**params).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=match):
        FTRLLogisticRegression(**params).fit(X, y)
    model = _fitted_stream(X, y)
    model.set_params(**params)
    before = _frozen(model)
    with pytest.raises(ValueError, match=match):
        model.partial_fit(X, y)
    assert_unchanged(model, before)


def test_failed_first_partial_fit_leaves_an_unfitted_estimator():
    X, y = _problem(seed=24)
    model = FTRLLogisticRegression(batch_size=16)
    params = _frozen(model)
    with pytest.raises(ValueError, match=r"not in classes_.*\[2\]"):
        model.partial_fit(X, np.where(y == 1, 2, 0), classes=[0, 1])
    assert_unchanged(model, params)  # no classes_, n_features_in_ or slots left behind
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.partial_fit(X, y, classes=[0, 1])
    assert_unchanged(model, _frozen(_fitted_stream(X, y)))


def test_failed_fit_changes_nothing():
    X, y = _problem(seed=25)
    model = FTRLLogisticRegression()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.fit(X, y[:10])
    with pytest.raises(NotFittedError):
        model.predict(X)
    fitted = FTRLLogisticRegression(max_iter=3, tol=None, batch_size=16).fit(X, y)
    before = _frozen(fitted)
    y3 = np.arange(len(y)) % 3
    with pytest.raises(ValueError, match="sample_weight"):
        fitted.fit(X, y3, sample_weight=np.ones(3))
    assert_unchanged(fitted, before)  # classes_ is still [0, 1], coef_ binary
    with pytest.raises(ValueError, match="squared gradient"):
        fitted.fit(X * 1e200, y)
    assert_unchanged(fitted, before)
    warm = fitted.set_params(warm_start=True)
    with pytest.raises(ValueError, match="squared gradient"):
        warm.fit(X * 1e200, y)
    before["warm_start"] = True
    assert_unchanged(warm, before)


class _Interrupt(BaseException):
    pass


@pytest.mark.parametrize(
    "as_sparse, n_classes", [(True, 2), (True, 3), (False, 2), (False, 3)],
    ids=["csr-binary", "csr-multiclass", "dense-binary", "dense-multiclass"],
)
def test_interrupted_partial_fit_rolls_back(monkeypatch, as_sparse, n_classes):
    """An exception raised after some batches were written (here a KeyboardInterrupt-like
    one from inside the gradient) puts every written coordinate back."""
    X, y = _problem(n=200, n_classes=n_classes, seed=26)
    Xin = sp.csr_matrix(X) if as_sparse else X
    classes = np.arange(n_classes)
    model = FTRLLogisticRegression(batch_size=16, l2_shrinkage_regularization_strength=0.1)
    model.partial_fit(Xin, y, classes=classes)
    before = _frozen(model)
    head = type(model._head())
    original, calls = head._gradient, []

    def failing_gradient(self, *args):
        calls.append(1)
        if len(calls) == 5:
            raise _Interrupt
        return original(self, *args)

    monkeypatch.setattr(head, "_gradient", failing_gradient)
    with pytest.raises(_Interrupt):
        model.partial_fit(Xin, y)
    assert_unchanged(model, before)


def test_partial_fit_refuses_a_model_with_damaged_state():
    X, y = _problem(seed=27)
    for name in ("classes_", "accumulator_", "coef_", "n_features_in_"):
        model = _fitted_stream(X, y)
        delattr(model, name)
        with pytest.raises(FittedStateError, match=name):
            model.partial_fit(X, y, classes=[0, 1])
    model = _fitted_stream(X, y)
    model.linear_ = model.linear_[:, :3]
    with pytest.raises(FittedStateError, match=r"linear_ has shape \(1, 3\)"):
        model.partial_fit(X, y)


# --------------------------------------------------------------------------- property
BAD_KINDS = (
    "nan", "inf", "overflow", "width", "unseen_label", "negative_weight", "nan_weight",
    "short_weight", "overflow_weight", "negative_class_weight", "nan_class_weight",
)


def _bad_call(kind, X, y, classes, rng, first):
    """Arguments of a partial_fit that must fail, and class_weight to set around it (or None).

    The last column of the stream is always 0, so its weight is exactly 0: an overflow put
    there leaves the linear predictor moderate and the residuals non-zero, and the squared
    gradient of that column surely overflows (a huge value on a weighted column could instead
    give a certain prediction, a zero gradient, and nothing to refuse; equal huge values could
    cancel exactly). Overflows hit the
    second half of the rows only, so with small batches the call fails after some batches
    were written: the rollback is exercised too. A first call may have any width but zero.
    """
    n = X.shape[0]
    X = X.copy()
    half = slice(n // 2, None)
    sample_weight, class_weight = None, None
    if kind in ("nan", "inf"):
        X[rng.integers(n), rng.integers(X.shape[1])] = np.nan if kind == "nan" else -np.inf
    elif kind == "overflow":
        # Unequal values: equal ones can cancel exactly (residuals of +-0.5 at zero weights).
        X[half, -1] = 1e200 * rng.uniform(1.0, 2.0, n - n // 2)
    elif kind == "width":
        X = X[:, :0] if first else X[:, :-1]
    elif kind == "unseen_label":
        y = y.copy()
        y[rng.integers(n)] = classes[-1] + 1
    elif kind.endswith("_weight") and "class" not in kind:
        sample_weight = np.ones(n)
        if kind == "negative_weight":
            sample_weight[rng.integers(n)] = -1.0
        elif kind == "nan_weight":
            sample_weight[rng.integers(n)] = np.nan
        elif kind == "short_weight":
            sample_weight = sample_weight[:-1]
        else:
            sample_weight[half] = 1e200 * rng.uniform(1.0, 2.0, n - n // 2)
            X[half, -1] = 1.0
    else:
        value = -1.0 if kind == "negative_class_weight" else np.nan
        class_weight = {c: 1.0 for c in classes} | {classes[0]: value}
    return X, y, sample_weight, class_weight


@st.composite
def streams(draw):
    n_classes = draw(st.sampled_from([2, 3]))
    n_batches = draw(st.integers(2, 5))
    sizes = draw(st.lists(st.integers(4, 24), min_size=n_batches, max_size=n_batches))
    return dict(
        n_classes=n_classes,
        sizes=sizes,
        sparse=draw(st.booleans()),
        weighted=draw(st.booleans()),
        batch_size=draw(st.sampled_from([1, 3, 8, 64])),
        params=draw(st.fixed_dictionaries({
            "l1_regularization_strength": st.sampled_from([0.0, 0.05]),
            "l2_shrinkage_regularization_strength": st.sampled_from([0.0, 0.1]),
            "beta": st.sampled_from([0.0, 1.0]),
            "learning_rate_power": st.sampled_from([-0.5, 0.0]),
            "fit_intercept": st.booleans(),
        })),
        bad_kind=draw(st.sampled_from(BAD_KINDS)),
        bad_position=draw(st.integers(0, n_batches)),  # 0: before the first good batch
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_one_bad_batch_is_refused_and_the_stream_goes_on_unchanged(case):
    rng = np.random.default_rng(case["seed"])
    classes = np.arange(case["n_classes"])
    batches = []
    for size in case["sizes"]:
        X = rng.normal(size=(size, 6)) * (rng.random((size, 6)) < 0.6)
        X[:, -1] = 0.0
        y = rng.integers(0, case["n_classes"], size)
        sw = rng.uniform(0.5, 2.0, size) if case["weighted"] else None
        batches.append((X, y, sw))
    as_input = sp.csr_matrix if case["sparse"] else np.asarray
    params = dict(batch_size=case["batch_size"], **case["params"])
    clean = FTRLLogisticRegression(**params)
    model = FTRLLogisticRegression(**params)
    bad = _bad_call(case["bad_kind"], *batches[0][:2], classes, rng,
                    first=case["bad_position"] == 0)
    for position in range(len(batches) + 1):
        if position == case["bad_position"]:
            X_bad, y_bad, sw_bad, class_weight = bad
            before = _frozen(model)
            if class_weight is not None:
                model.set_params(class_weight=class_weight)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # refusals come without numpy noise
                with pytest.raises(ValueError):
                    model.partial_fit(as_input(X_bad), y_bad, classes=classes,
                                      sample_weight=sw_bad)
            model.set_params(class_weight=None)
            assert_unchanged(model, before)
        if position < len(batches):
            X, y, sw = batches[position]
            model.partial_fit(as_input(X), y, classes=classes, sample_weight=sw)
            clean.partial_fit(as_input(X), y, classes=classes, sample_weight=sw)
    assert_unchanged(model, _frozen(clean))


# ------------------------------------------------------------ property: FisherScoringGLM
GLM_BAD_KINDS = (
    "nan", "inf", "width", "negative_y", "huge_y", "negative_weight", "nan_weight",
    "short_weight", "nan_offset", "short_offset",
)


def _bad_glm_call(kind, X, y, rng, first):
    """Arguments of a FisherScoringGLM.partial_fit that must fail (a first call may have any
    width but zero)."""
    n = X.shape[0]
    X, y = X.copy(), y.copy()
    sample_weight, offset = None, np.zeros(n)
    if kind in ("nan", "inf"):
        X[rng.integers(n), rng.integers(X.shape[1])] = np.nan if kind == "nan" else np.inf
    elif kind == "width":
        X = X[:, :0] if first else X[:, :-1]
    elif kind == "negative_y":
        y[rng.integers(n)] = -1.0
    elif kind == "huge_y":
        y[rng.integers(n)] = 1e300
    elif kind.endswith("_weight"):
        sample_weight = np.ones(n)
        if kind == "negative_weight":
            sample_weight[rng.integers(n)] = -1.0
        elif kind == "nan_weight":
            sample_weight[rng.integers(n)] = np.nan
        else:
            sample_weight = sample_weight[:-1]
    elif kind == "nan_offset":
        offset[rng.integers(n)] = np.nan
    else:
        offset = offset[:-1]
    return X, y, sample_weight, offset


@st.composite
def glm_streams(draw):
    n_batches = draw(st.integers(2, 4))
    return dict(
        sizes=draw(st.lists(st.integers(30, 80), min_size=n_batches, max_size=n_batches)),
        weighted=draw(st.booleans()),
        params=draw(st.fixed_dictionaries({
            "alpha": st.sampled_from([0.0, 0.1]),
            "fit_intercept": st.booleans(),
            "cov_type": st.sampled_from(["nonrobust", "HC0"]),
        })),
        bad_kind=draw(st.sampled_from(GLM_BAD_KINDS)),
        bad_position=draw(st.integers(0, n_batches)),
        seed=draw(st.integers(0, 2**16)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(glm_streams())
def test_glm_one_bad_batch_is_refused_and_the_stream_goes_on_unchanged(case):
    from skglm_fisher import FisherScoringGLM

    rng = np.random.default_rng(case["seed"])
    batches = []
    for size in case["sizes"]:
        X = rng.normal(size=(size, 3))
        offset = np.log(rng.uniform(0.5, 2.0, size))
        y = rng.poisson(np.exp(0.3 + X @ [0.3, -0.2, 0.1] + offset)).astype(float)
        sw = rng.uniform(0.5, 2.0, size) if case["weighted"] else None
        batches.append((X, y, sw, offset))
    params = dict(family="poisson", **case["params"])
    clean, model = FisherScoringGLM(**params), FisherScoringGLM(**params)
    bad = _bad_glm_call(case["bad_kind"], *batches[0][:2], rng,
                        first=case["bad_position"] == 0)  # fmt: skip
    for position in range(len(batches) + 1):
        if position == case["bad_position"]:
            X_bad, y_bad, sw_bad, offset_bad = bad
            before = _frozen(model)
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # refusals come without numpy noise
                with pytest.raises(ValueError):
                    model.partial_fit(X_bad, y_bad, sample_weight=sw_bad, offset=offset_bad)
            assert_unchanged(model, before)
            if position == 0:
                with pytest.raises(NotFittedError):
                    model.predict(X_bad)
        if position < len(batches):
            X, y, sw, offset = batches[position]
            model.partial_fit(X, y, sample_weight=sw, offset=offset)
            clean.partial_fit(X, y, sample_weight=sw, offset=offset)
    assert_unchanged(model, _frozen(clean))
