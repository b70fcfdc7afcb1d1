"""``glm.fit_sparse`` / ``glm.fit_sparse_one_step`` against TensorFlow Probability 0.25.

The fixtures in ``tests/data/sparse`` were computed by TF 2.18 / TFP 0.25 in float64 (see the README
there). TF built ``Normal``'s scale as a float32 constant, so the tests pass the same rounded value.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skglm_fisher import glm

DATA = Path(__file__).parent / "data" / "sparse"
FAMILIES = {
    "Bernoulli": lambda: glm.Bernoulli(),
    "BernoulliNormalCDF": lambda: glm.BernoulliNormalCDF(),
    "Poisson": lambda: glm.Poisson(),
    "Normal": lambda: glm.Normal(scale=float(np.float32(1.3))),
    "GammaExp": lambda: glm.GammaExp(concentration=2.0),
    "NegativeBinomial": lambda: glm.NegativeBinomial(total_count=3.0),
}
VARIANTS = ("l1", "l1_l2", "sweeps", "learning_rate", "start", "strong_l1")


def _cases(prefix):
    return sorted(p.stem for p in DATA.glob(f"{prefix}_*.npz"))


def _load(case):
    data = np.load(DATA / f"{case}.npz")
    args = {key[len("arg_") :]: data[key][()] for key in data.files if key.startswith("arg_")}
    args["model_coefficients_start"] = data["arg_model_coefficients_start"]
    return data, FAMILIES[case.split("_")[1]](), args


def _sparse_penalised_nll(X, y, model, l1, l2):
    """TFP's objective ``NLL + l1·||b||₁ + l2·||b||²`` on the split ``b = u - v``, u, v >= 0."""
    p = X.shape[1]

    def objective(uv):
        b = uv[:p] - uv[p:]
        eta = X @ b
        mean, variance, grad_mean = model(eta)
        nll = -np.sum(model.log_prob(y, eta))
        grad = -X.T @ ((y - mean) * grad_mean / variance) + 2.0 * l2 * b
        value = nll + l1 * np.sum(uv) + l2 * (b @ b)
        return value, np.concatenate([grad + l1, -grad + l1])

    return objective


def _reference_optimum(X, y, model, l1, l2=0.0):
    p = X.shape[1]
    result = scipy.optimize.minimize(
        _sparse_penalised_nll(X, y, model, l1, l2), np.zeros(2 * p), jac=True,
        method="L-BFGS-B", bounds=[(0, None)] * (2 * p),
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000},
    )  # fmt: skip
    return result.x[:p] - result.x[p:]


def test_fixture_inventory():
    assert len(_cases("fitsparse")) == len(FAMILIES) * len(VARIANTS) * 2
    assert len(_cases("sparseonestep")) == len(FAMILIES) * len(VARIANTS)


@pytest.mark.parametrize("case", _cases("fitsparse"))
def test_fit_sparse_matches_tfp(case):
    data, model, args = _load(case)
    X = sp.csr_matrix(data["X"]) if case.endswith("_sparse") else data["X"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if "_sweeps_" in case:
            # Four sweeps per step: TFP's last step converged but moved the coefficients by
            # more than sqrt(tolerance), which is flagged (see the module docstring).
            warnings.simplefilter("ignore", ConvergenceWarning)
            with pytest.warns(ConvergenceWarning, match="moved the coefficients"):
                coef, converged, iterations = glm.fit_sparse(X, data["y"], model, **args)
        else:
            coef, converged, iterations = glm.fit_sparse(X, data["y"], model, **args)
    np.testing.assert_allclose(coef, data["coef"], rtol=0, atol=1e-12)
    assert converged == bool(data["is_converged"])
    assert iterations == int(data["iterations"])
    assert isinstance(iterations, int) and isinstance(converged, bool)


@pytest.mark.parametrize("case", _cases("sparseonestep"))
def test_fit_sparse_one_step_matches_tfp(case):
    data, model, args = _load(case)
    coef, converged, sweeps = glm.fit_sparse_one_step(data["X"], data["y"], model, **args)
    np.testing.assert_allclose(coef, data["coef"], rtol=0, atol=1e-12)
    assert converged == bool(data["is_converged"])
    assert sweeps == float(data["iterations"])
    assert isinstance(sweeps, float)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok"])
def test_every_scipy_sparse_format_gives_the_dense_answer(fmt):
    data, model, args = _load("fitsparse_Poisson_l1_l2_dense")
    dense = glm.fit_sparse(data["X"], data["y"], model, **args)
    sparse = glm.fit_sparse(sp.csr_matrix(data["X"]).asformat(fmt), data["y"], model, **args)
    np.testing.assert_allclose(sparse[0], dense[0], rtol=0, atol=1e-14)
    assert sparse[1:] == dense[1:]


@pytest.mark.parametrize("case", ["fitsparse_Poisson_l1_l2_dense", "fitsparse_Bernoulli_l1_dense"])
def test_tfp_converges_to_the_optimum_of_its_objective(case):
    # The step-size defect changes the path, not the fixed point: TFP's answer is the minimum
    # of NLL + l1·||b||₁ + l2·||b||² (l2 not halved), found here independently by L-BFGS-B.
    data, model, args = _load(case)
    l2 = float(args.get("l2_regularizer", 0.0))
    reference = _reference_optimum(data["X"], data["y"], model, float(args["l1_regularizer"]), l2)
    np.testing.assert_allclose(data["coef"], reference, rtol=0, atol=1e-4)  # TFP's tolerance 1e-8
    coef, converged, _ = glm.fit_sparse(data["X"], data["y"], model, **{**args, "tolerance": 1e-16})
    assert converged
    np.testing.assert_allclose(coef, reference, rtol=0, atol=1e-6)


def test_many_sweeps_stop_after_one_step_as_in_tfp_and_warn():
    # Enough sweeps solve the first quadratic model; TFP then reports convergence after one
    # step, at coefficients that are not the optimum. The flag is TFP's; the warning says why.
    data, model, args = _load("fitsparse_Poisson_l1_l2_dense")
    args.update(tolerance=1e-14, maximum_full_sweeps_per_iteration=50)
    with pytest.warns(ConvergenceWarning, match="may not be the optimum"):
        coef, converged, iterations = glm.fit_sparse(data["X"], data["y"], model, **args)
    assert converged and iterations == 1
    assert np.max(np.abs(coef - data["coef"])) > 1e-2
    one_step = glm.fit_sparse_one_step(
        data["X"], data["y"], model, args["model_coefficients_start"], 1e-14,
        args["l1_regularizer"], args["l2_regularizer"], maximum_full_sweeps=50,
    )  # fmt: skip
    np.testing.assert_array_equal(one_step[0], coef)


def test_batch_advances_in_lockstep():
    # With one sweep per step every problem takes exactly one sweep per step, so the batch
    # equals independent one-step calls repeated until all problems converge in the same step.
    data, model, args = _load("fitsparse_Poisson_l1_dense")
    start = np.stack([np.zeros(8), np.full(8, 0.3)])  # 6 and 8 steps alone
    X, y = np.stack([data["X"]] * 2), np.stack([data["y"]] * 2)
    l1, tolerance = float(args["l1_regularizer"]), float(args["tolerance"])
    coef, converged, iterations = glm.fit_sparse(X, y, model, start, tolerance, l1)

    expected, steps, done = start.copy(), 0, False
    while not done:
        results = [glm.fit_sparse_one_step(X[b], y[b], model, expected[b], tolerance, l1)
                   for b in (0, 1)]  # fmt: skip
        expected = np.stack([r[0] for r in results])
        done, steps = all(r[1] for r in results), steps + 1
    np.testing.assert_array_equal(coef, expected)
    assert converged and iterations == steps
    alone = [glm.fit_sparse(X[b], y[b], model, start[b], tolerance, l1)[2] for b in (0, 1)]
    assert min(alone) < steps == max(alone)  # the faster problem kept stepping


def test_batch_of_copies_equals_single_problem():
    data, model, args = _load("fitsparse_Bernoulli_l1_l2_dense")
    single = glm.fit_sparse(data["X"], data["y"], model, **args)
    args["model_coefficients_start"] = np.zeros((3, 8))
    batch = glm.fit_sparse(np.stack([data["X"]] * 3), np.stack([data["y"]] * 3), model, **args)
    np.testing.assert_array_equal(batch[0], np.stack([single[0]] * 3))
    assert batch[1:] == single[1:]


@pytest.mark.parametrize("to_sparse", [False, True])
def test_float32_in_float32_out(to_sparse):
    data, model, args = _load("fitsparse_Normal_l1_dense")
    X = data["X"].astype(np.float32)
    coef, converged, _ = glm.fit_sparse(
        sp.csr_matrix(X) if to_sparse else X, data["y"], model, **args
    )
    assert coef.dtype == np.float32 and converged
    np.testing.assert_allclose(coef, data["coef"], atol=1e-5)


def test_unbounded_default_is_100_steps():
    data, model, args = _load("fitsparse_Poisson_l1_dense")
    args.update(maximum_iterations=None, learning_rate=0.01, tolerance=1e-12)
    coef, converged, iterations = glm.fit_sparse(data["X"], data["y"], model, **args)
    assert iterations == 100 and not converged
    assert np.all(np.isfinite(coef))


def test_more_columns_than_rows_is_refused_with_the_reason():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 8)), rng.poisson(1.0, size=5).astype(float)
    for function in (glm.fit_sparse, glm.fit_sparse_one_step):
        with pytest.raises(ValueError, match=r"n=5 rows and p=8 columns.*l1_ratio"):
            function(X, y, glm.Poisson(), np.zeros(8), 1e-8, 1.0)


def _transcribed_step(X, y, model, b0, tolerance, l1, step_sizes, sweeps=1):
    """One outer step of ``tfp.glm.fit_sparse_one_step`` (no l2, learning rate 1), written
    from the algorithm's description with the per-coordinate step sizes given."""
    mean, variance, grad_mean = model(X @ b0)
    valid = np.isfinite(grad_mean) & (grad_mean != 0) & np.isfinite(variance) & (variance > 0)
    valid &= np.isfinite(mean)
    h = np.where(valid, grad_mean**2 / np.where(valid, variance, 1.0), 0.0)
    v = np.where(valid, (y - mean) * grad_mean / np.where(valid, variance, 1.0), 0.0)
    gradient, gram = -X.T @ v, X.T @ (h[:, None] * X)
    d, hd = np.zeros(len(b0)), np.zeros(len(b0))
    for _ in range(sweeps):
        total = 0.0
        for j in range(len(b0)):
            old = b0[j] + d[j]
            moved = old - (gradient[j] + hd[j]) / step_sizes[j]
            delta = np.sign(moved) * max(abs(moved) - l1 / step_sizes[j], 0.0) - old
            d[j] += delta
            hd += delta * gram[:, j]
            total += delta**2
        if total < tolerance * (1 + np.linalg.norm(b0)) ** 2:
            return b0 + d, True
    return b0 + d, False


def test_zero_fisher_weight_row_uses_true_diagonal_instead_of_nan():
    # Row 0 starts at eta = -800: its Poisson mean and derivative underflow to 0, so TFP's
    # step size for coefficient 0 (column squares times the weight of *row* 0) is 0 and TFP
    # returns NaN. Here coefficient 0 steps with the true diagonal; the others as in TFP.
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(60), rng.normal(size=(60, 2))])
    X[0, 2] = -8000.0
    y = rng.poisson(np.exp(0.3 + 0.5 * X[:, 1])).astype(float)
    start = np.array([0.0, 0.0, 0.1])
    model = glm.Poisson()
    h = np.exp(X @ start)
    sizes = np.sum(X**2, axis=0) * h[:3]
    assert sizes[0] == 0.0
    sizes[0] = np.sum(h * X[:, 0] ** 2)
    expected = _transcribed_step(X, y, model, start, 1e-8, 1.0, sizes, sweeps=3)
    with pytest.warns(RuntimeWarning, match=r"coefficients \[0\]"):
        coef, converged, sweeps = glm.fit_sparse_one_step(
            X, y, model, start, 1e-8, 1.0, maximum_full_sweeps=3
        )
    assert np.all(np.isfinite(coef))
    np.testing.assert_allclose(coef, expected[0], rtol=1e-12, atol=1e-12)
    assert converged == expected[1]


def test_overflowing_rows_are_left_out_with_a_warning():
    rng = np.random.default_rng(4)
    X = np.column_stack([np.ones(40), rng.normal(size=(40, 2))])
    X[5, 1] = 100.0
    y = rng.poisson(2.0, size=40).astype(float)
    with pytest.warns(RuntimeWarning) as record:
        coef, _, _ = glm.fit_sparse_one_step(X, y, glm.Poisson(), np.array([0, 8.0, 0]), 1e-8, 1.0)
    assert any("not finite for 1 rows" in str(w.message) for w in record)
    assert np.all(np.isfinite(coef))


def _tfp_step_sizes(X, model, coef):
    _, variance, grad_mean = model(X @ coef)
    return np.sum(X**2, axis=0) * (grad_mean**2 / variance)[: X.shape[1]]


def _true_step_sizes(X, model, coef):
    _, variance, grad_mean = model(X @ coef)
    return (grad_mean**2 / variance) @ X**2


def _poisson_problem():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(200), rng.normal(size=(200, 3))])
    y = rng.poisson(np.exp(X @ [0.5, 0.4, 0.0, -0.3])).astype(float)
    return X, y


def test_overshooting_step_is_redone_with_the_true_diagonal():
    # TFP sizes its steps by the Fisher weights of rows 0-3 alone; on this ordinary Poisson
    # problem its third step overshoots and the iteration diverges.
    X, y = _poisson_problem()
    model = glm.Poisson()
    path = [np.zeros(4)]
    with np.errstate(all="ignore"):
        for _ in range(4):
            sizes = _tfp_step_sizes(X, model, path[-1])
            path.append(_transcribed_step(X, y, model, path[-1], 1e-8, 5.0, sizes)[0])
    assert np.max(np.abs(path[-1])) > 100  # TFP's path: NaN one step later

    start = path[2]  # TFP's third step overshoots from here
    sizes = _tfp_step_sizes(X, model, start)
    expected_tfp = _transcribed_step(X, y, model, start, 1e-8, 5.0, sizes)
    sizes = _true_step_sizes(X, model, start)
    expected_true = _transcribed_step(X, y, model, start, 1e-8, 5.0, sizes)
    with pytest.warns(RuntimeWarning, match="overshoot"):
        step = glm.fit_sparse_one_step(X, y, model, start, 1e-8, 5.0)
    np.testing.assert_allclose(step[0], expected_true[0], rtol=1e-12)
    assert np.max(np.abs(expected_tfp[0] - expected_true[0])) > 0.1

    with pytest.warns(RuntimeWarning, match="overshoot"):
        coef, converged, _ = glm.fit_sparse(X, y, model, np.zeros(4), 1e-16, 5.0)
    assert converged
    np.testing.assert_allclose(coef, _reference_optimum(X, y, model, 5.0), atol=1e-6)


@pytest.mark.parametrize(("l1", "expected"), [(0.5, 0.0), (0.0, 0.7)])
def test_zero_column_does_not_produce_nan(l1, expected):
    # A column of zeros has no curvature at all: it goes to 0 under an L1 penalty, else stays.
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(30), rng.normal(size=30), np.zeros(30)])
    y = rng.normal(size=30)
    coef, converged, _ = glm.fit_sparse(X, y, glm.Normal(), np.array([0.0, 0.0, 0.7]), 1e-10, l1)
    assert converged and np.all(np.isfinite(coef))
    assert coef[2] == expected


def _valid():
    rng = np.random.default_rng(0)
    return {
        "model_matrix": rng.normal(size=(10, 3)),
        "response": rng.poisson(1.0, size=10).astype(float),
        "model": glm.Poisson(),
        "model_coefficients_start": np.zeros(3),
        "tolerance": 1e-8,
        "l1_regularizer": 1.0,
    }


def _with_nan(X):
    X = X.copy()
    X[2, 1] = np.nan
    return X


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "poisson"}, "model must be an ExponentialFamily"),
        ({"model_matrix": np.ones(10)}, r"shape \[..., n, p\]"),
        ({"model_matrix": np.ones((10, 0))}, "no columns"),
        ({"response": np.ones(9)}, "response has shape"),
        ({"response": -np.ones(10)}, "Poisson family must lie in"),
        ({"response": np.full(10, np.inf)}, "response contains NaN or infinity"),
        ({"model_coefficients_start": np.zeros(4)}, "model_coefficients_start has shape"),
        ({"model_coefficients_start": [np.nan] * 3}, "model_coefficients_start contains NaN"),
        ({"tolerance": 0.0}, "tolerance must be a positive"),
        ({"tolerance": -1e-8}, "tolerance must be a positive"),
        ({"tolerance": np.ones(2)}, "tolerance must be a positive scalar"),
        ({"l1_regularizer": -1.0}, "l1_regularizer must be a non-negative"),
        ({"l1_regularizer": np.nan}, "l1_regularizer must be a non-negative"),
        ({"l2_regularizer": -1.0}, "l2_regularizer must be a non-negative"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive"),
        ({"maximum_iterations": 0}, "maximum_iterations must be a positive integer"),
        ({"maximum_iterations": 2.5}, "maximum_iterations must be a positive integer"),
        ({"maximum_iterations": True}, "maximum_iterations must be a positive integer"),
        ({"maximum_full_sweeps_per_iteration": 0}, "maximum_full_sweeps_per_iteration must"),
    ],
)
def test_invalid_input_raises(change, message):
    arguments = {**_valid(), **change}
    with pytest.raises(ValueError, match=message):
        glm.fit_sparse(**arguments)


def test_invalid_input_raises_for_one_step_and_sparse_matrices():
    arguments = _valid()
    with pytest.raises(ValueError, match="maximum_full_sweeps must be a positive integer"):
        glm.fit_sparse_one_step(**arguments, maximum_full_sweeps=-1)
    for X in (
        _with_nan(arguments["model_matrix"]),
        sp.csr_matrix(_with_nan(arguments["model_matrix"])),
    ):
        with pytest.raises(ValueError, match="model_matrix contains NaN or infinity"):
            glm.fit_sparse_one_step(**{**arguments, "model_matrix": X})
