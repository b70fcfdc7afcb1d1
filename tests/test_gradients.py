"""value_and_gradients_function: the tf.contrib.eager example, params, dy, fallbacks.

TensorFlow's docstring example::

    def f(x, y):
        return x * x * x * y - x * y * y
    val_grads_fn = tfe.value_and_gradients_function(f)
    val_grads_fn(2.0, 3.0)   # (6.0, [27.0, -4.0])
"""

import warnings

import numpy as np
import pytest
import scipy.special
from numpy.testing import assert_allclose

from skglm_fisher.gradients import ComplexStepWarning, value_and_gradients_function


def f(x, y):
    return x**3 * y - x * y**2


def test_tensorflow_example():
    value, grads = value_and_gradients_function(f)(2.0, 3.0)
    assert value == 6.0
    assert grads == [27.0, -4.0]  # complex step is exact here


@pytest.mark.parametrize("params, expected", [(["x"], [27.0]), (["y"], [-4.0]), ([1], [-4.0]),
                                              ([1, 0], [-4.0, 27.0]), (["y", "x"], [-4.0, 27.0])])
def test_params_by_name_and_index(params, expected):
    value, grads = value_and_gradients_function(f, params=params)(2.0, 3.0)
    assert value == 6.0
    assert grads == expected


def test_array_arguments_and_summed_output():
    x = np.array([1.0, 2.0, 3.0])
    value, (grad,) = value_and_gradients_function(lambda x: x**2)(x)
    assert_allclose(value, x**2)  # the value is returned as is
    assert_allclose(grad, 2 * x, rtol=1e-15)  # the gradient is of its sum


def test_dy_gives_vector_jacobian_product():
    A = np.arange(6.0).reshape(2, 3)
    x = np.array([0.5, -1.0, 2.0])
    dy = np.array([1.0, -2.0])
    _, (grad,) = value_and_gradients_function(lambda x: np.sin(A @ x))(x, dy=dy)
    assert_allclose(grad, A.T @ (dy * np.cos(A @ x)), rtol=1e-14)
    with pytest.raises(ValueError, match="dy has shape"):
        value_and_gradients_function(lambda x: np.sin(A @ x))(x, dy=np.ones(3))


def test_matrix_argument_keeps_its_shape():
    W = np.arange(6.0).reshape(2, 3) / 10
    _, (grad,) = value_and_gradients_function(lambda W: np.sum(np.exp(W)))(W)
    assert grad.shape == W.shape
    assert_allclose(grad, np.exp(W), rtol=1e-15)


def test_vectorized_evaluation():
    x = np.array([0.3, -0.7, 1.1])
    g = value_and_gradients_function(lambda x: np.sum(np.tanh(x) ** 2, axis=-1), vectorized=True)
    value, (grad,) = g(x)
    assert_allclose(value, np.sum(np.tanh(x) ** 2))
    assert_allclose(grad, 2 * np.tanh(x) / np.cosh(x) ** 2, rtol=1e-14)


@pytest.mark.parametrize(
    "params, match",
    [(["x", 1], "mix"), (["z"], "not positional parameters"), ([-1], "non-negative")],
)
def test_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        value_and_gradients_function(f, params=params)


def test_bad_calls():
    with pytest.raises(ValueError, match="out of range"):
        value_and_gradients_function(f, params=[2])(2.0, 3.0)
    with pytest.raises(ValueError, match="keyword"):
        value_and_gradients_function(f)(2.0, y=3.0)
    with pytest.raises(ValueError, match="method"):
        value_and_gradients_function(f, method="forward")


def _log_loss(w, X, y):
    eta = X @ w
    return np.mean(np.log1p(np.exp(eta)) - y * eta)


def test_logistic_log_loss_against_finite_differences():
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(40, 4)), rng.integers(0, 2, 40).astype(float), rng.normal(size=4)
    analytic = X.T @ (scipy.special.expit(X @ w) - y) / 40
    _, (complex_step,) = value_and_gradients_function(_log_loss, params=["w"])(w, X, y)
    _, (central,) = value_and_gradients_function(_log_loss, params=[0], method="central")(w, X, y)
    assert_allclose(complex_step, analytic, rtol=1e-14)
    assert_allclose(central, analytic, rtol=1e-8)


@pytest.mark.parametrize(
    "loss",
    [
        # scipy.special.log_expit has no complex loop: TypeError
        lambda w, X, y: -np.mean(y * scipy.special.log_expit(X @ w)
                                 + (1 - y) * scipy.special.log_expit(-(X @ w))),
        # np.abs drops the imaginary part and the result is real
        lambda w, X, y: float(np.mean(np.abs(X @ w - y))),
    ],
    ids=["no-complex-loop", "real-result"],
)
def test_falls_back_to_central_differences_with_a_warning(loss):
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(20, 3)), rng.integers(0, 2, 20).astype(float), rng.normal(size=3)
    with pytest.warns(ComplexStepWarning, match="central"):
        _, (grad,) = value_and_gradients_function(loss, params=[0])(w, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, (central,) = value_and_gradients_function(loss, params=[0], method="central")(w, X, y)
    assert_allclose(grad, central)


@pytest.mark.parametrize("method", ["complex_step", "central"])
def test_elementwise_functions_need_few_evaluations(method):
    calls = []

    def mean_function(eta):
        calls.append(1)
        return np.exp(eta) + eta**3

    eta = np.linspace(-1.0, 1.0, 1000)
    differentiate = value_and_gradients_function(mean_function, elementwise=True, method=method)
    _, (grad,) = differentiate(eta)
    rtol = 1e-12 if method == "complex_step" else 1e-8
    np.testing.assert_allclose(grad, np.exp(eta) + 3 * eta**2, rtol=rtol)
    # The value, then one complex-step evaluation checked against the central gradient (two
    # more), or the two central-difference evaluations alone.
    assert len(calls) == (4 if method == "complex_step" else 3)


# ---------------------------------------------------------------- where complex step is invalid
def _differentiate_with_warning(f, *args, **kwargs):
    with pytest.warns(ComplexStepWarning, match="central") as record:
        result = value_and_gradients_function(f, **kwargs)(*args)
    return result, str(record[0].message)


def _differentiate_silently(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return value_and_gradients_function(f, **kwargs)(*args)


def test_non_analytic_function_falls_back_instead_of_a_wrong_gradient():
    # x * conj(x) = x**2 on the reals, but its complex-step derivative is 0.
    (value, (grad,)), message = _differentiate_with_warning(lambda x: x * np.conj(x), 3.0)
    assert value == 9.0
    assert_allclose(grad, 6.0, rtol=1e-9)
    assert "not complex-analytic" in message
    # |x| + x keeps an imaginary part from x alone: half the derivative was lost.
    x = np.array([2.0, -1.0, 0.5])
    (_, (grad,)), _ = _differentiate_with_warning(lambda x: np.sum(np.abs(x) + x), x)
    assert_allclose(grad, np.sign(x) + 1, atol=1e-9)


@pytest.mark.parametrize("mode", ["vectorized", "elementwise"])
def test_non_analytic_detected_in_vectorized_and_elementwise_modes(mode):
    x = np.array([0.3, -0.7, 1.1])
    if mode == "vectorized":
        def f(x):
            return np.sum(x * np.conj(x), axis=-1)
    else:
        def f(x):
            return x * np.conj(x)
    (_, (grad,)), message = _differentiate_with_warning(f, x, **{mode: True})
    assert_allclose(grad, 2 * x, rtol=1e-8)
    assert "not complex-analytic" in message


def test_nan_value_gives_a_nan_gradient_not_the_complex_branch():
    # log(-1 + ih) = i pi: its imaginary part over h was returned as a gradient of 3.1e30.
    with np.errstate(invalid="ignore"):  # the function's own warning at its NaN point
        (value, (grad,)), message = _differentiate_with_warning(np.log, -1.0)
    assert np.isnan(value) and np.isnan(grad)
    assert "NaN or infinite" in message


@pytest.mark.parametrize(
    "f, x, expected",
    [
        # Large third derivatives: the first probe's truncation error exceeds the tolerance,
        # the finer probe confirms the complex step.
        (lambda x: np.exp(100 * x), 1.0, lambda x: 100 * np.exp(100 * x)),
        (lambda x: np.sum(np.exp(10 * x)), np.array([30.0, 1.0]), lambda x: 10 * np.exp(10 * x)),
        # Next to the edge of the domain the probe is NaN: the complex step is kept.
        (np.sqrt, 1e-9, lambda x: 0.5 / np.sqrt(x)),
        # Cancellation: a small value made of large terms.
        (lambda x: np.cos(x) ** 2 + np.sin(x) ** 2 - 1 + 1e-3 * x, 40.0, lambda x: 1e-3),
    ],
    ids=["exp(100x)", "sum exp(10x)", "sqrt near 0", "cancellation"],
)
def test_analytic_functions_keep_the_complex_step_silently(f, x, expected):
    _, (grad,) = _differentiate_silently(f, x)
    assert_allclose(grad, expected(x), rtol=1e-12)


def test_elementwise_analytic_with_huge_values_is_silent():
    eta = np.array([-600.0, 0.0, 700.0])
    _, (grad,) = _differentiate_silently(np.exp, eta, elementwise=True)
    assert_allclose(grad, np.exp(eta), rtol=1e-14)


def test_underflowing_complex_step_is_caught():
    # exp(-700 + 1e-30 i) has an imaginary part of 1e-334: it underflows to 0.
    eta = np.array([-700.0, 0.0])
    (_, (grad,)), message = _differentiate_with_warning(np.exp, eta, elementwise=True)
    assert_allclose(grad, np.exp(eta), rtol=1e-5)  # central differences, step 4e-3 at -700
    assert "element 0" in message


def test_no_fallback_where_the_gradient_nearly_vanishes():
    # At the minimum of a quadratic every difference is rounding: the probe must allow for the
    # rounding of x ± h·v itself, not only of the values.
    import warnings

    from skglm_fisher.gradients import value_and_gradients_function

    center = np.array([1.0, -2.0])
    grad = value_and_gradients_function(lambda w: np.sum((w - center) ** 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for offset in (0.0, 1e-12, 1e-9, 1e-6):
            _, (g,) = grad(center + offset)
            np.testing.assert_allclose(g, 2 * offset, atol=1e-15)
