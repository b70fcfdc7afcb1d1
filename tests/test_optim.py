"""FTRL kernels and the Ftrl optimizer against TensorFlow's numbers.

Fixtures (tests/data/README.md): ``ftrl_dense_<i>`` / ``ftrl_sparse_<i>`` hold the variable
after every step of ``tf.raw_ops.ResourceApplyFtrlV2`` / ``ResourceSparseApplyFtrlV2`` with
float64 hyper-parameters; ``ftrl_keras_logistic_<j>`` hold a logistic regression trained by
``tf.keras.optimizers.Ftrl`` in minibatches of the mean log-loss (one epoch, zero start,
no shuffling), produced by code of this shape::

    model = keras.Sequential([keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(keras.optimizers.Ftrl(learning_rate, learning_rate_power,
                  initial_accumulator_value, l1, l2, l2_shrinkage_regularization_strength=...,
                  beta=beta), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(X, y, batch_size=batch_size, epochs=1, shuffle=False)
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from skglm_fisher.gradients import ComplexStepWarning
from skglm_fisher.optim import Ftrl, apply_ftrl, sparse_apply_ftrl
from skglm_fisher.optim._kernels import FtrlHyper, ftrl_weights
from skglm_fisher.optim._minibatch import _unique_columns

DATA = Path(__file__).parent / "data"


def _fixture(name):
    return dict(np.load(DATA / f"{name}.npz"))


def _kernel_kwargs(d):
    return dict(
        learning_rate=float(d["lr"]), l1=float(d["l1"]), l2=float(d["l2"]),
        l2_shrinkage=float(d["l2_shrinkage"]), learning_rate_power=float(d["power"]),
    )


@pytest.mark.parametrize("i", range(6))
def test_apply_ftrl_matches_tensorflow(i):
    d = _fixture(f"ftrl_dense_{i}")
    var = d["var0"].copy()
    accum = np.full_like(var, float(d["init_acc"]))
    linear = np.zeros_like(var)
    for t, grad in enumerate(d["grads"]):
        apply_ftrl(var, accum, linear, grad, **_kernel_kwargs(d))
        assert_allclose(var, d["var"][t], rtol=0, atol=1e-12)
    assert_allclose(accum, d["accum"], rtol=1e-14, atol=0)
    assert_allclose(linear, d["linear"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("i", range(6))
def test_sparse_apply_ftrl_matches_tensorflow(i):
    d = _fixture(f"ftrl_sparse_{i}")
    var = d["var0"].copy()
    accum = np.full_like(var, float(d["init_acc"]))
    linear = np.zeros_like(var)
    for t, (indices, grad) in enumerate(zip(d["indices"], d["grads"], strict=True)):
        before = var.copy()
        sparse_apply_ftrl(var, accum, linear, grad, indices, **_kernel_kwargs(d))
        assert_allclose(var, d["var"][t], rtol=0, atol=1e-12)
        untouched = np.setdiff1d(np.arange(var.size), indices)
        assert_array_equal(var[untouched], before[untouched])
    assert_allclose(accum, d["accum"], rtol=1e-14, atol=0)
    assert_allclose(linear, d["linear"], rtol=0, atol=1e-12)


def test_sparse_duplicates_are_summed():
    kw = dict(learning_rate=0.1, l1=0.01, l2=0.1, l2_shrinkage=0.2)
    var, accum, linear = np.array([0.5, -0.3, 0.2]), np.full(3, 0.1), np.zeros(3)
    expected = [a.copy() for a in (var, accum, linear)]
    apply_ftrl(*expected, np.array([0.0, 0.0, 0.0]), **kw)  # reference for untouched row 1
    v2, a2, l2_ = var.copy(), accum.copy(), linear.copy()
    apply_ftrl(v2, a2, l2_, np.array([0.7, 0.0, -0.4]), **kw)
    sparse_apply_ftrl(var, accum, linear, np.array([0.3, -0.4, 0.4]), np.array([0, 2, 0]), **kw)
    assert_allclose(var[[0, 2]], v2[[0, 2]], rtol=1e-15)
    assert_allclose(accum[[0, 2]], a2[[0, 2]], rtol=1e-15)
    assert var[1] == -0.3 and accum[1] == 0.1 and linear[1] == 0.0


def test_kernel_q_zero_gives_zero_not_nan():
    # No accumulator, no gradient, no L2: q = 0. Shrinkage still moves z.
    var, accum, linear = np.array([0.0, 1.0]), np.zeros(2), np.zeros(2)
    apply_ftrl(var, accum, linear, np.zeros(2), learning_rate=0.1, l1=0.0, l2=0.0,
               l2_shrinkage=0.5)
    assert_array_equal(var, [0.0, 0.0])
    assert np.all(np.isfinite(linear))
    assert_array_equal(ftrl_weights(np.zeros(2), np.array([0.0, 1.0]), FtrlHyper(0.1)), [0, 0])


def test_kernel_power_zero_and_general():
    # learning_rate_power=0: constant learning rate, z is a plain gradient sum.
    var, accum, linear = np.zeros(1), np.full(1, 0.1), np.zeros(1)
    for g in (1.0, -0.5, 2.0):
        apply_ftrl(var, accum, linear, np.array([g]), learning_rate=0.1, l1=0.0, l2=0.0,
                   learning_rate_power=0.0)
    assert_allclose(linear, [2.5])
    assert_allclose(var, [-0.25])


def test_kernel_rejects_bad_shapes():
    var = np.zeros(3)
    with pytest.raises(ValueError, match="shape"):
        apply_ftrl(var, var.copy(), var.copy(), np.zeros(2), learning_rate=0.1, l1=0, l2=0)
    with pytest.raises(ValueError, match="one row per index"):
        sparse_apply_ftrl(var, var.copy(), var.copy(), np.zeros(2), [0], learning_rate=0.1,
                          l1=0, l2=0)
    with pytest.raises(ValueError, match="indices"):
        sparse_apply_ftrl(var, var.copy(), var.copy(), np.zeros(1), [3], learning_rate=0.1,
                          l1=0, l2=0)


def test_unique_columns_equals_np_unique():
    rng = np.random.default_rng(0)
    columns = rng.integers(0, 50, size=200).astype(np.intp)
    cols, inverse = _unique_columns(columns, np.empty(50, np.intp), np.arange(201))
    assert_array_equal(cols[inverse], columns)
    assert_array_equal(np.sort(cols), np.unique(columns))


def _optimizer(d):
    return Ftrl(
        learning_rate=float(d["learning_rate"]),
        learning_rate_power=float(d["learning_rate_power"]),
        initial_accumulator_value=float(d["initial_accumulator_value"]),
        l1_regularization_strength=float(d["l1"]),
        l2_regularization_strength=float(d["l2"]),
        l2_shrinkage_regularization_strength=float(d["l2_shrinkage"]),
        beta=float(d["beta"]),
    )


@pytest.mark.parametrize("j", range(2))
def test_ftrl_keras_logistic_regression(j):
    """Keras' training loop, rewritten with Ftrl.apply_gradients, reproduces its weights."""
    d = _fixture(f"ftrl_keras_logistic_{j}")
    X, y, batch = d["X"], d["y"], int(d["batch_size"])
    opt = _optimizer(d)
    coef, intercept = np.zeros(X.shape[1]), np.zeros(1)
    for start in range(0, X.shape[0], batch):
        Xb, yb = X[start : start + batch], y[start : start + batch]
        residual = (expit(Xb @ coef + intercept) - yb) / Xb.shape[0]  # mean log-loss
        opt.apply_gradients([(Xb.T @ residual, coef), (np.array([residual.sum()]), intercept)])
    # Keras keeps hyper-parameters in float32, the rest of the computation in float64.
    assert_allclose(coef, d["coef"], rtol=0, atol=1e-7)
    assert_allclose(intercept[0], d["intercept"], rtol=0, atol=1e-7)
    assert opt.iterations == X.shape[0] // batch


@pytest.mark.parametrize("j", range(2))
def test_ftrl_keras_logistic_regression_with_minimize(j):
    d = _fixture(f"ftrl_keras_logistic_{j}")
    X, y, batch = d["X"], d["y"], int(d["batch_size"])
    opt = _optimizer(d)
    coef, intercept = np.zeros(X.shape[1]), np.zeros(1)
    for start in range(0, X.shape[0], batch):
        Xb, yb = X[start : start + batch], y[start : start + batch]

        def loss(coef, intercept, Xb=Xb, yb=yb):
            eta = Xb @ coef + intercept[0]
            return np.mean(np.log1p(np.exp(eta)) - yb * eta)

        opt.minimize(loss, [coef, intercept])
    assert_allclose(coef, d["coef"], rtol=0, atol=1e-7)
    assert_allclose(intercept[0], d["intercept"], rtol=0, atol=1e-7)


def test_minimize_zero_argument_loss_matches_explicit_gradient():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 3)), rng.integers(0, 2, 30).astype(float)
    w1, w2 = np.zeros(3), np.zeros(3)
    opt1, opt2 = Ftrl(learning_rate=0.3), Ftrl(learning_rate=0.3)
    for _ in range(5):
        value = opt1.minimize(lambda: np.mean(np.logaddexp(0, X @ w1) - y * (X @ w1)), [w1])
        opt2.apply_gradients([(X.T @ (expit(X @ w2) - y) / 30, w2)])
        assert np.isfinite(value)
    assert_allclose(w1, w2, rtol=1e-7)


def test_slots_and_variables():
    w, b = np.zeros(3), np.zeros(1)
    opt = Ftrl(learning_rate=0.1, initial_accumulator_value=0.2)
    assert opt.get_slot_names() == ["accumulator", "linear"]
    with pytest.raises(ValueError, match="no slots"):
        opt.get_slot(w, "linear")
    opt.apply_gradients([(np.ones(3), w), (None, b)])
    assert_allclose(opt.get_slot(w, "accumulator"), 1.2)
    assert_allclose(opt.get_slot(w, "linear"), 1.0)
    with pytest.raises(ValueError, match="unknown slot"):
        opt.get_slot(w, "momentum")
    assert len(opt.variables()) == 2  # b got no gradient, so no slots
    opt.apply_gradients([((np.array([0, 0]), np.ones((2,))), b)])
    assert_allclose(opt.get_slot(b, "accumulator"), [4.2])
    assert len(opt.variables()) == 4 and opt.iterations == 2


@pytest.mark.parametrize(
    "kwargs", [{"learning_rate": 0.0}, {"learning_rate_power": 0.5}, {"beta": -1.0},
               {"l1_regularization_strength": -0.1}, {"initial_accumulator_value": -1.0}],
)
def test_ftrl_rejects_bad_hyper_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Ftrl(**kwargs)


def test_paper_mapping_in_docstring_holds():
    """Ftrl with the documented mapping is McMahan et al.'s per-coordinate update."""
    alpha, beta, lambda1, lambda2 = 0.3, 1.0, 0.05, 0.4
    opt = Ftrl(learning_rate=alpha, initial_accumulator_value=0.0, beta=beta,
               l1_regularization_strength=lambda1, l2_regularization_strength=lambda2 / 2)
    w = np.zeros(2)
    z, n = np.zeros(2), np.zeros(2)
    for g in ([0.5, -0.2], [-0.3, 0.9], [0.2, 0.1]):
        g = np.array(g)
        # Algorithm 1 with the gradient given: weights lazily from (z, n), then the update.
        w_paper = np.where(
            np.abs(z) <= lambda1, 0.0,
            -(z - np.sign(z) * lambda1) / ((beta + np.sqrt(n)) / alpha + lambda2),
        )
        assert_allclose(w, w_paper, rtol=1e-13, atol=1e-15)
        sigma = (np.sqrt(n + g * g) - np.sqrt(n)) / alpha
        z += g - sigma * w_paper
        n += g * g
        opt.apply_gradients([(g, w)])


def test_sparse_kernel_on_rows_of_a_matrix_equals_dense_kernel_on_those_rows():
    rng = np.random.default_rng(2)
    kw = dict(learning_rate=0.2, l1=0.05, l2=0.1, l2_shrinkage=0.1, beta=0.5,
              learning_rate_power=-0.6)
    var, accum, linear = rng.normal(size=(5, 2)), np.full((5, 2), 0.3), rng.normal(size=(5, 2))
    rows, grad = np.array([3, 1]), rng.normal(size=(2, 2))
    expected = [a.copy() for a in (var, accum, linear)]
    sub = [a[rows].copy() for a in expected]
    apply_ftrl(*sub, grad, **kw)
    for full, part in zip(expected, sub, strict=True):
        full[rows] = part
    sparse_apply_ftrl(var, accum, linear, grad, rows, **kw)
    for got, want in zip((var, accum, linear), expected, strict=True):
        assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=60),
    st.floats(0.01, 1.0), st.floats(0.0, 0.5), st.floats(0.0, 0.5), st.floats(0.0, 0.5),
)
def test_sparse_kernel_equals_dense_kernel_on_summed_gradient(indices, lr, l1, l2, beta):
    """Property: without shrinkage a sparse step is the dense step on the scattered gradient
    (rows without a gradient do not move in either)."""
    rng = np.random.default_rng(len(indices))
    indices = np.array(indices)
    values = rng.normal(size=indices.size)
    kw = dict(learning_rate=lr, l1=l1, l2=l2, beta=beta)
    state = [rng.normal(size=31), rng.random(31) + 0.1, rng.normal(size=31)]
    state[0] = ftrl_weights(state[1], state[2], FtrlHyper(lr, l1=l1, l2=l2, beta=beta))
    dense = [a.copy() for a in state]
    apply_ftrl(*dense, np.bincount(indices, values, minlength=31), **kw)
    sparse_apply_ftrl(*state, values, indices, **kw)
    for got, want in zip(state, dense, strict=True):
        assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=0, max_size=200))
def test_unique_columns_property(columns):
    columns = np.array(columns, dtype=np.intp)
    cols, inverse = _unique_columns(columns, np.empty(1001, np.intp), np.arange(201))
    assert_array_equal(cols[inverse], columns)
    assert_array_equal(np.sort(cols), np.unique(columns))


# --------------------------------------------------------------------------- checked API
def _snapshot(opt, *variables):
    """Everything apply_gradients may change, copied."""
    slots = {
        id(v): {name: s.copy() for name, s in entry[1].items()}
        for v in variables
        for entry in [opt._slots.get(id(v))]
        if entry is not None
    }
    return [v.copy() for v in variables], slots, opt.iterations


def _assert_unchanged(opt, before, *variables):
    values, slots, iterations = before
    for v, old in zip(variables, values, strict=True):
        assert_array_equal(v, old)
    assert opt.iterations == iterations
    assert {k for k in opt._slots if k in {id(v) for v in variables}} == set(slots)
    for key, named in slots.items():
        for name, old in named.items():
            assert_array_equal(opt._slots[key][1][name], old)


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (np.array([np.nan, 0.0, 0.0]), ValueError, "NaN or infinity"),
        (np.array([np.inf, 0.0, 0.0]), ValueError, "NaN or infinity"),
        (np.array([1e300, 0.0, 0.0]), ValueError, "NaN or infinite"),  # g**2 overflows
        (np.zeros(2), ValueError, "shape"),
        (np.array(["a", "b", "c"]), TypeError, "real numbers"),
        ((np.array([0.0, 1.0]), np.ones(2)), TypeError, "integers"),  # float indices
        ((np.array([0, 5]), np.ones(2)), ValueError, r"in \[0, 3\)"),
        ((np.array([0]), np.array([np.nan])), ValueError, "NaN or infinity"),
        ((np.array([0]),), TypeError, "tuple"),
    ],
    ids=["nan", "inf", "overflow", "shape", "strings", "float-indices", "index-range",
         "sparse-nan", "sparse-tuple"],
)
def test_apply_gradients_is_all_or_nothing(bad, error, match):
    """A bad gradient for the second variable leaves the first one, every slot and the
    iteration count exactly as they were (no slots are created either)."""
    w, v = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    opt = Ftrl(learning_rate=0.2, l1_regularization_strength=0.01)
    opt.apply_gradients([(np.array([0.1, 0.2, 0.3]), w)])  # w has slots, v has none
    before = _snapshot(opt, w, v)
    with pytest.raises(error, match=match):
        opt.apply_gradients([(np.array([1.0, 1.0, 1.0]), w), (bad, v)])
    _assert_unchanged(opt, before, w, v)
    assert id(v) not in opt._slots


@pytest.mark.parametrize(
    "var, error",
    [(np.zeros(3, dtype=int), TypeError), ([0.0, 0.0, 0.0], TypeError)],
    ids=["integer", "list"],
)
def test_variables_must_be_float_arrays(var, error):
    opt = Ftrl(learning_rate=0.1)
    with pytest.raises(error, match="floating-point"):
        opt.apply_gradients([(np.ones(3), var)])
    readonly = np.zeros(3)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        opt.apply_gradients([(np.ones(3), readonly)])
    assert opt.iterations == 0 and opt.variables() == []


def test_raw_kernels_refuse_integer_variables_instead_of_truncating():
    for kernel, extra in ((apply_ftrl, ()), (sparse_apply_ftrl, (np.array([0, 1]),))):
        var = np.zeros(2, dtype=np.int64)
        with pytest.raises(TypeError, match="floating-point"):
            kernel(var, np.zeros(2), np.zeros(2), np.ones(2), *extra, learning_rate=0.1, l1=0,
                   l2=0)
        assert_array_equal(var, [0, 0])
    with pytest.raises(TypeError, match="integers"):
        sparse_apply_ftrl(np.zeros(2), np.zeros(2), np.zeros(2), np.ones(1), np.array([0.0]),
                          learning_rate=0.1, l1=0, l2=0)


def test_a_variable_listed_twice_takes_both_steps():
    kw = dict(learning_rate=0.3, l1_regularization_strength=0.01, beta=0.5)
    twice, once = np.array([0.2, -0.4, 0.1]), np.array([0.2, -0.4, 0.1])
    g1, g2 = np.array([0.5, -0.2, 0.1]), (np.array([2, 0, 2]), np.array([0.3, 0.1, -0.6]))
    opt_twice, opt_once = Ftrl(**kw), Ftrl(**kw)
    opt_twice.apply_gradients([(g1, twice), (g2, twice)])
    opt_once.apply_gradients([(g1, once)])
    opt_once.apply_gradients([(g2, once)])
    assert_array_equal(twice, once)
    for name in ("accumulator", "linear"):
        assert_array_equal(opt_twice.get_slot(twice, name), opt_once.get_slot(once, name))
    assert opt_twice.iterations == 1


def test_minimize_refuses_a_non_finite_loss_and_changes_nothing():
    w = np.array([1.0, -2.0])
    opt = Ftrl(learning_rate=0.1)
    opt.minimize(lambda w: np.sum(w**2), [w])
    before = _snapshot(opt, w)
    # log of a negative weight: NaN (complex step says it does not apply there, too)
    with pytest.raises(ValueError, match="finite scalar"), np.errstate(invalid="ignore"):
        with pytest.warns(ComplexStepWarning, match="NaN or infinite"):
            opt.minimize(lambda w: np.sum(np.log(w)), [w])
    _assert_unchanged(opt, before, w)
    with pytest.raises(ValueError, match="NaN or infinite"):
        opt.minimize(lambda w: 1e200 * np.sum(w), [w])  # gradient 1e200: g**2 overflows
    _assert_unchanged(opt, before, w)
    with pytest.raises(TypeError, match="floating-point"):
        opt.minimize(lambda w: np.sum(w), [np.zeros(2, dtype=int)])


def test_hyper_parameters_whose_updates_overflow_are_refused():
    with pytest.raises(ValueError, match="too small"):
        Ftrl(learning_rate=1e-320)
    with pytest.raises(ValueError, match="finite"):
        Ftrl(learning_rate=np.inf)
    with pytest.raises(ValueError, match="too small"):
        FtrlHyper(1e-320).check()
    with pytest.raises(ValueError, match="l1"):
        FtrlHyper(0.1, l1=np.nan).check()


@pytest.mark.parametrize("power", [-0.5, 0.0, -0.7])
def test_refusal_from_the_overflowing_gradient_for_every_power(power):
    """With p = 0 the weight does not see the accumulator, which is checked too."""
    w = np.zeros(2)
    opt = Ftrl(learning_rate=0.1, learning_rate_power=power)
    opt.apply_gradients([(np.array([1.0, 1.0]), w)])
    before = _snapshot(opt, w)
    with pytest.raises(ValueError, match="NaN or infinite"):
        opt.apply_gradients([(np.array([1e160, 0.0]), w)])
    _assert_unchanged(opt, before, w)


def test_float32_variables_keep_their_dtype_and_refuse_float32_overflow():
    w = np.zeros(2, dtype=np.float32)
    opt = Ftrl(learning_rate=0.1)
    opt.apply_gradients([(np.array([0.5, -0.5]), w)])
    assert w.dtype == np.float32 and opt.get_slot(w, "accumulator").dtype == np.float32
    with pytest.raises(ValueError, match="NaN or infinity"):
        opt.apply_gradients([(np.array([1e39, 0.0]), w)])  # beyond the float32 range
