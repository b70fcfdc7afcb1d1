"""FTRLLogisticRegression: references (Keras fixtures, McMahan et al. Algorithm 1), minibatch
identities, streaming, persistence and the scikit-learn integration points."""

import io
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglm_fisher import FTRLLogisticRegression

DATA = Path(__file__).parent / "data"


def _problem(n=240, d=12, density=0.3, seed=0, binary_values=False, n_classes=2):
    """Sparse-ish design with labels from a linear model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    if binary_values:
        X = (X != 0).astype(float)
    W = rng.normal(size=(d, n_classes))
    scores = X @ W + rng.gumbel(size=(n, n_classes))
    y = scores.argmax(axis=1) if n_classes > 2 else (scores[:, 1] > scores[:, 0]).astype(int)
    return X, y


def _stream(**params):
    base = dict(shuffle=False, tol=None, max_iter=1)
    base.update(params)
    return FTRLLogisticRegression(**base)


def _assert_same_state(a, b, exact=True):
    check = assert_array_equal if exact else (lambda u, v: assert_allclose(u, v, atol=1e-12))
    for name in ("coef_", "intercept_", "accumulator_", "linear_"):
        check(getattr(a, name), getattr(b, name))


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("j", range(2))
def test_matches_keras_fixture(j):
    """Keras' Ftrl on Dense(1) trained with the batch-mean log-loss, one epoch, in order."""
    d = dict(np.load(DATA / f"ftrl_keras_logistic_{j}.npz"))
    clf = _stream(
        learning_rate=float(d["learning_rate"]),
        learning_rate_power=float(d["learning_rate_power"]),
        initial_accumulator_value=float(d["initial_accumulator_value"]),
        l1_regularization_strength=float(d["l1"]),
        l2_regularization_strength=float(d["l2"]),
        l2_shrinkage_regularization_strength=float(d["l2_shrinkage"]),
        beta=float(d["beta"]),
        batch_size=int(d["batch_size"]),
        loss_reduction="sum_over_batch_size",
        regularize_intercept=True,  # Keras' bias is one more variable under the optimizer
    ).fit(d["X"], d["y"])
    assert_allclose(clf.coef_[0], d["coef"], rtol=0, atol=1e-7)
    assert_allclose(clf.intercept_[0], d["intercept"], rtol=0, atol=1e-7)
    # CSR input takes the vectorized sparse path and must land on the same numbers.
    sparse = clone_fit = _stream(**clf.get_params() | {"max_iter": 1}).fit(
        sp.csr_matrix(d["X"]), d["y"]
    )
    assert_allclose(sparse.coef_, clf.coef_, atol=1e-13)
    assert clone_fit.t_ == 64


def mcmahan_algorithm_1(X, y, alpha, beta, lambda1, lambda2):
    """Algorithm 1 of McMahan et al. (2013), per-coordinate FTRL-Proximal with L1 and L2,
    transcribed line by line (logistic loss, one pass over the rows in order)."""
    d = X.shape[1]
    z, n, w = np.zeros(d), np.zeros(d), np.zeros(d)
    for t in range(X.shape[0]):
        x = X[t]
        active = np.flatnonzero(x)
        for i in active:
            if abs(z[i]) <= lambda1:
                w[i] = 0.0
            else:
                w[i] = -(z[i] - np.sign(z[i]) * lambda1) / (
                    (beta + np.sqrt(n[i])) / alpha + lambda2
                )
        p = 1.0 / (1.0 + np.exp(-(x[active] @ w[active])))
        for i in active:
            g = (p - y[t]) * x[i]
            sigma = (np.sqrt(n[i] + g * g) - np.sqrt(n[i])) / alpha
            z[i] += g - sigma * w[i]
            n[i] += g * g
    q = (beta + np.sqrt(n)) / alpha + lambda2
    final = np.where(np.abs(z) <= lambda1, 0.0, -(z - np.sign(z) * lambda1) / q)
    return final, z, n


@pytest.mark.parametrize("as_sparse", [False, True])
@pytest.mark.parametrize("binary_values", [False, True])
def test_batch_size_one_is_algorithm_1(as_sparse, binary_values):
    X, y = _problem(binary_values=binary_values)
    alpha, beta, lambda1, lambda2 = 0.3, 1.0, 3.0, 0.5
    w, z, n = mcmahan_algorithm_1(X, y, alpha, beta, lambda1, lambda2)
    assert 0 < np.count_nonzero(w) < w.size  # L1 zeroes some weights, not all
    clf = _stream(
        batch_size=1, learning_rate=alpha, beta=beta, initial_accumulator_value=0.0,
        l1_regularization_strength=lambda1, l2_regularization_strength=lambda2 / 2,
        fit_intercept=False,
    )
    clf.partial_fit(sp.csr_matrix(X) if as_sparse else X, y, classes=[0, 1])
    assert_allclose(clf.coef_[0], w, rtol=1e-12, atol=1e-14)
    assert_allclose(clf.linear_[0], z, rtol=1e-12, atol=1e-14)
    assert_allclose(clf.accumulator_[0], n, rtol=1e-12, atol=1e-14)


def test_regularized_intercept_is_a_constant_feature():
    X, y = _problem(seed=1)
    alpha, beta, lambda1, lambda2 = 0.2, 0.5, 0.1, 0.2
    w, _, _ = mcmahan_algorithm_1(np.hstack([X, np.ones((len(X), 1))]), y, alpha, beta,
                                  lambda1, lambda2)
    clf = _stream(
        batch_size=1, learning_rate=alpha, beta=beta, initial_accumulator_value=0.0,
        l1_regularization_strength=lambda1, l2_regularization_strength=lambda2 / 2,
        regularize_intercept=True,
    ).fit(sp.csr_matrix(X), y)
    assert_allclose(np.r_[clf.coef_[0], clf.intercept_], w, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "as_sparse, n_classes", [(True, 2), (False, 2), (True, 3), (False, 3)]
)
def test_mean_reduction_is_rescaled_sum(as_sparse, n_classes):
    """'mean' over batches of B unit-weight rows == 'sum' with (B^2 n0, B beta, B l1, B l2)."""
    X, y = _problem(n=240, n_classes=n_classes, seed=2)
    X = sp.csr_matrix(X) if as_sparse else X
    B, n0, beta, l1, l2, s = 16, 0.1, 0.5, 0.03, 0.02, 0.01
    common = dict(batch_size=B, learning_rate=0.2, regularize_intercept=True)
    mean = _stream(
        loss_reduction="mean", initial_accumulator_value=n0, beta=beta,
        l1_regularization_strength=l1, l2_regularization_strength=l2,
        l2_shrinkage_regularization_strength=s, **common,
    ).fit(X, y)
    total = _stream(
        loss_reduction="sum", initial_accumulator_value=B**2 * n0, beta=B * beta,
        l1_regularization_strength=B * l1, l2_regularization_strength=B * l2,
        l2_shrinkage_regularization_strength=B * s, **common,
    ).fit(X, y)
    assert_allclose(mean.coef_, total.coef_, rtol=1e-10, atol=1e-13)
    assert_allclose(mean.intercept_, total.intercept_, rtol=1e-10, atol=1e-13)
    assert_allclose(mean.accumulator_ * B**2, total.accumulator_, rtol=1e-12)
    # Without the rescaling the two reductions really differ.
    plain = _stream(loss_reduction="sum", initial_accumulator_value=n0, beta=beta, **common)
    assert not np.allclose(plain.fit(X, y).coef_, mean.coef_, atol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_and_dense_input_agree_without_shrinkage(n_classes):
    X, y = _problem(n_classes=n_classes, seed=3)
    params = dict(batch_size=10, l1_regularization_strength=0.05, l2_regularization_strength=0.1,
                  beta=1.0, max_iter=3)
    dense = _stream(**params).fit(X, y)
    sparse = _stream(**params).fit(sp.csr_matrix(X), y)
    _assert_same_state(dense, sparse, exact=False)
    # With shrinkage a dense batch also shrinks the coordinates it has zeros in; a sparse batch
    # touches only its stored columns, so the two legitimately differ.
    params["l2_shrinkage_regularization_strength"] = 0.5
    dense = _stream(**params).fit(X, y)
    sparse = _stream(**params).fit(sp.csr_matrix(X), y)
    assert not np.allclose(dense.coef_, sparse.coef_)


def test_sparse_batch_touches_only_active_columns():
    X, y = _problem(seed=4)
    X[:, 5] = 0.0
    clf = _stream(l2_shrinkage_regularization_strength=0.3, batch_size=7)
    clf.partial_fit(sp.csr_matrix(X[:50]), y[:50], classes=[0, 1])
    before = (clf.accumulator_.copy(), clf.linear_.copy())
    X2 = X[50:].copy()
    X2[:, 3] = 0.0
    clf.partial_fit(sp.csr_matrix(X2), y[50:])
    for col in (3, 5):
        assert clf.accumulator_[0, col] == before[0][0, col]
        assert clf.linear_[0, col] == before[1][0, col]
    assert clf.accumulator_[0, 5] == clf.initial_accumulator_value


def test_empty_rows_and_duplicate_entries():
    # CSR with an empty row and a column stored twice in one row (summed, as scipy does).
    indptr = np.array([0, 2, 2, 5, 6])
    indices = np.array([0, 2, 1, 1, 3, 2])
    data = np.array([1.0, 2.0, 0.5, 0.5, -1.0, 3.0])
    X = sp.csr_matrix((data, indices, indptr), shape=(4, 4))
    y = np.array([1, 0, 1, 0])
    sparse = _stream(batch_size=3).fit(X, y)
    dense = _stream(batch_size=3).fit(X.toarray(), y)
    _assert_same_state(sparse, dense, exact=False)


# --------------------------------------------------------------------------- streaming
def _chunks(X, y, n_chunks=4):
    return list(zip(np.array_split(X, n_chunks), np.array_split(y, n_chunks), strict=True))


def _roundtrip_pickle(est):
    return pickle.loads(pickle.dumps(est))


def _roundtrip_skops(est):
    sio = pytest.importorskip("skops.io")
    dumped = sio.dumps(est)
    return sio.loads(dumped, trusted=sio.get_untrusted_types(data=dumped))


@pytest.mark.parametrize("roundtrip", [_roundtrip_pickle, _roundtrip_skops])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_persisted_model_resumes_streaming_bit_for_bit(roundtrip, n_classes):
    X, y = _problem(n=400, n_classes=n_classes, seed=5)
    chunks = [(sp.csr_matrix(a), b) for a, b in _chunks(X, y)]
    params = dict(batch_size=16, l1_regularization_strength=0.02, beta=1.0,
                  l2_shrinkage_regularization_strength=0.01)
    classes = np.arange(n_classes)
    uninterrupted = FTRLLogisticRegression(**params)
    for Xc, yc in chunks:
        uninterrupted.partial_fit(Xc, yc, classes=classes)
    first = FTRLLogisticRegression(**params)
    for Xc, yc in chunks[:2]:
        first.partial_fit(Xc, yc, classes=classes)
    resumed = roundtrip(first)
    for Xc, yc in chunks[2:]:
        resumed.partial_fit(Xc, yc)
    _assert_same_state(resumed, uninterrupted, exact=True)
    assert resumed.t_ == uninterrupted.t_ == 400
    assert resumed.n_iter_ == 4
    assert_array_equal(resumed.predict_proba(X), uninterrupted.predict_proba(X))


def test_pickle_carries_version_and_warns_on_mismatch():
    X, y = _problem()
    clf = FTRLLogisticRegression(max_iter=2, tol=None).fit(X, y)
    state = clf.__getstate__()
    assert state["_skglm_fisher_version"] == __import__("skglm_fisher").__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _roundtrip_pickle(clf)
    state["_skglm_fisher_version"] = "0.0.1"
    other = FTRLLogisticRegression.__new__(FTRLLogisticRegression)
    with pytest.warns(UserWarning, match="pickled with skglm_fisher 0.0.1"):
        other.__setstate__(state)
    assert_array_equal(other.coef_, clf.coef_)


def test_partial_fit_input_errors():
    X, y = _problem()
    clf = FTRLLogisticRegression()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="12 features"):
        clf.partial_fit(X[:, :5], y)
    with pytest.raises(ValueError, match="12 features"):
        clf.partial_fit(sp.csr_matrix(X[:, :5]), y)  # the fast CSR path checks too
    with pytest.raises(ValueError, match="12 features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match=r"not in classes_.*\[2\]"):
        clf.partial_fit(X[:3], [0, 1, 2])
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    bad = sp.csr_matrix(X)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.partial_fit(bad, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.partial_fit(np.where(X == X[0, 0], np.inf, X), y)
    with pytest.raises(ValueError, match="[Nn]egative"):
        clf.partial_fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="balanced"):
        FTRLLogisticRegression(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        FTRLLogisticRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="fit_intercept was changed"):
        FTRLLogisticRegression(fit_intercept=False).partial_fit(X, y, classes=[0, 1]).set_params(
            fit_intercept=True
        ).partial_fit(X, y)
    with pytest.raises(ValueError, match="cannot be compared"):
        clf.partial_fit(X[:2], np.array(["a", 1], dtype=object))


def test_coef_is_the_function_of_the_ftrl_state():
    from skglm_fisher.optim._kernels import ftrl_weights

    X, y = _problem(n_classes=3, seed=12)
    clf = FTRLLogisticRegression(batch_size=8, l1_regularization_strength=0.5,
                                 l2_regularization_strength=0.1, beta=1.0)
    clf.partial_fit(sp.csr_matrix(X), y, classes=[0, 1, 2])
    clf.partial_fit(X, y)
    p = X.shape[1]
    assert_array_equal(clf.coef_, ftrl_weights(clf.accumulator_[:, :p], clf.linear_[:, :p],
                                               clf._hyper()))
    assert_array_equal(clf.intercept_, ftrl_weights(clf.accumulator_[:, p], clf.linear_[:, p],
                                                    clf._intercept_hyper()))


def test_fast_csr_path_equals_validated_path():
    X, y = _problem(seed=13)
    chunks = _chunks(X, y, 3)
    fast, slow = FTRLLogisticRegression(batch_size=16), FTRLLogisticRegression(batch_size=16)
    for Xc, yc in chunks:
        fast.partial_fit(sp.csr_matrix(Xc), yc, classes=[0, 1])  # float64 CSR: fast path
        slow.partial_fit(sp.csr_array(Xc.astype(np.float32)).astype(np.float64).tocoo(), yc,
                         classes=[0, 1])  # COO: through validate_data
    assert_allclose(fast.coef_, slow.coef_, rtol=1e-6)
    exact = FTRLLogisticRegression(batch_size=16)
    for Xc, yc in chunks:
        exact.partial_fit(sp.coo_matrix(Xc), yc, classes=[0, 1])
    _assert_same_state(fast, exact, exact=True)


def test_partial_fit_counts():
    X, y = _problem(n=100)
    clf = FTRLLogisticRegression(batch_size=32)
    for Xc, yc in _chunks(X, y, 5):
        clf.partial_fit(Xc, yc, classes=[0, 1])
    assert clf.t_ == 100 and clf.n_iter_ == 5
    assert clf.n_nonzero_ == np.count_nonzero(clf.coef_)


# --------------------------------------------------------------------------- estimator
def test_multiclass_iris():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = FTRLLogisticRegression(batch_size=8, learning_rate=0.5, random_state=0).fit(X, names)
    assert clf.coef_.shape == (3, 4) and clf.accumulator_.shape == (3, 5)
    assert clf.score(X, names) > 0.9
    proba = clf.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_binary_predictions_are_consistent():
    X, y = _problem(seed=6)
    clf = FTRLLogisticRegression(batch_size=16, random_state=0).fit(X, np.where(y, "b", "a"))
    decision = clf.decision_function(X)
    assert decision.shape == (len(y),)
    proba = clf.predict_proba(X)
    assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)))
    assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert_array_equal(clf.predict(X), np.where(decision > 0, "b", "a"))


def test_l1_gives_sparse_weights_and_sparsify():
    X, y = _problem(d=40, seed=7)
    X[:, 20:] *= 0.01  # weak features
    clf = FTRLLogisticRegression(l1_regularization_strength=2.0, batch_size=16,
                                 random_state=0).fit(X, y)
    assert 0 < clf.n_nonzero_ < 40
    dense_proba = clf.predict_proba(X)
    clf.sparsify()
    assert sp.issparse(clf.coef_) and clf.n_nonzero_ == clf.coef_.nnz
    assert_allclose(clf.predict_proba(X), dense_proba)
    clf.partial_fit(X, y)  # training rebuilds the dense coef_ from the FTRL state
    assert not sp.issparse(clf.coef_)
    clf.sparsify().densify()
    assert isinstance(clf.coef_, np.ndarray)


def test_sample_weight_and_class_weight():
    X, y = _problem(seed=8)
    sw = np.where(y == 1, 3.0, 1.0)
    weighted = _stream(batch_size=16).fit(X, y, sample_weight=sw)
    by_class = _stream(batch_size=16, class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    _assert_same_state(weighted, by_class, exact=True)
    some_zero = np.where(np.arange(len(y)) % 2, 0.0, 1.0)
    halves = _stream(batch_size=1).fit(X, y, sample_weight=some_zero)
    evens = _stream(batch_size=1).fit(X[::2], y[::2])
    # Zero-weight rows take steps with zero gradient: no change without shrinkage.
    _assert_same_state(halves, evens, exact=False)


def test_fit_convergence_warm_start_and_early_stopping():
    X, y = _problem(seed=9)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        FTRLLogisticRegression(max_iter=2, tol=1e-12, batch_size=16).fit(X, y)
    clf = FTRLLogisticRegression(max_iter=200, tol=1e-3, batch_size=16, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ < 200
    warm = FTRLLogisticRegression(warm_start=True, max_iter=1, tol=None, shuffle=False)
    warm.fit(X, y)
    t_one = warm.t_
    warm.fit(X, y)
    two = _stream(max_iter=2).fit(X, y)
    _assert_same_state(warm, two, exact=True)
    assert warm.t_ == 2 * t_one
    early = FTRLLogisticRegression(early_stopping=True, n_iter_no_change=2, max_iter=500,
                                   batch_size=16, random_state=0).fit(X, y)
    assert early.n_iter_ < 500 and early.t_ < 500 * len(y)


def test_pandas_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _problem(d=4)
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = FTRLLogisticRegression(batch_size=16).fit(df, y)
    assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    clf.partial_fit(df, y)
    with pytest.raises(ValueError, match="feature names"):
        clf.partial_fit(df[["d", "c", "b", "a"]], y)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_pipeline_and_grid_search():
    X, y = _problem(n=300, seed=10)
    pipe = make_pipeline(StandardScaler(), FTRLLogisticRegression(batch_size=16, random_state=0))
    grid = GridSearchCV(
        pipe,
        {"ftrllogisticregression__l1_regularization_strength": [0.0, 1.0],
         "ftrllogisticregression__learning_rate": [0.05, 0.5]},
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.6
    assert grid.predict_proba(X).shape == (300, 2)


def test_sample_weight_metadata_routing():
    X, y = _problem(n=200, seed=11)
    sw = np.random.default_rng(0).random(200) * 2
    with config_context(enable_metadata_routing=True):
        est = FTRLLogisticRegression(batch_size=16, random_state=0, max_iter=3, tol=None)
        grid = GridSearchCV(
            est.set_fit_request(sample_weight=True).set_score_request(sample_weight=False),
            {"learning_rate": [0.1, 0.3]},
            cv=2,
        ).fit(X, y, sample_weight=sw)
        direct = FTRLLogisticRegression(
            batch_size=16, random_state=0, max_iter=3, tol=None, **grid.best_params_
        ).fit(X, y, sample_weight=sw)
        _assert_same_state(grid.best_estimator_, direct, exact=True)
        unweighted = FTRLLogisticRegression(**direct.get_params()).fit(X, y)
        assert not np.allclose(unweighted.coef_, direct.coef_)  # the weights were used
        est.set_partial_fit_request(sample_weight=True)  # generated for partial_fit too
        assert est.get_metadata_routing().partial_fit.requests["sample_weight"] is True


def test_skops_file_roundtrip(tmp_path):
    sio = pytest.importorskip("skops.io")
    X, y = _problem()
    clf = FTRLLogisticRegression(batch_size=16, max_iter=3, tol=None).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    _assert_same_state(clf, loaded)
    buffer = io.BytesIO()
    pickle.dump(clf, buffer)
    assert buffer.tell() > 0


def test_default_parameters_fit_small_data_without_warnings():
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = FTRLLogisticRegression(random_state=0).fit(X, y)
    assert clf.n_iter_ < clf.max_iter
    assert clf.score(X, y) > 0.9
