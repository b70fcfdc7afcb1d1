"""The IRLS solver, the row-block designs and the one-hot Gram."""

import numpy as np
import pytest
import scipy.sparse as sp

from skglm_fisher import FisherScoringGLM, glm
from skglm_fisher._glm_inputs import family_from_params
from skglm_fisher.glm._design import (
    LocalDesign,
    make_design,
    single_precision_pays,
    wide_steps_pay,
)
from skglm_fisher.glm._gram import one_hot_structure, weighted_gram
from skglm_fisher.glm._linalg import cholesky_factor, qr_factor, solve_in_factor, stack_r
from skglm_fisher.glm._passes import IterationSpec, iteration_pass
from skglm_fisher.glm._row_terms import RowTerms
from skglm_fisher.glm._solver import IRLSProblem, IRLSSolver
from skglm_fisher.glm._start import intercept_only_fit


def _poisson_data(n=400, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    offset = np.log(rng.uniform(0.5, 2.0, n))
    y = rng.poisson(np.exp(0.2 + X @ np.linspace(0.4, -0.2, p) + offset)).astype(float)
    return X, y, offset, rng.uniform(0.5, 2.0, n)


def _one_hot(n=2000, levels=(3, 6, 4), numeric=2, seed=0, drop_first=False):
    rng = np.random.default_rng(seed)
    parts, codes = [], []
    for k in levels:
        c = rng.integers(0, k, n)
        codes.append(c)
        rows = np.flatnonzero(c >= drop_first)
        shape = (n, k - drop_first)
        parts.append(sp.csr_matrix((np.ones(rows.size), (rows, c[rows] - drop_first)), shape=shape))
    parts.append(sp.csr_matrix(rng.normal(size=(n, numeric))))
    return sp.hstack(parts, format="csr"), codes


# ----------------------------------------------------------------------------------------------
# The solver against the TFP-faithful core, and its named steps
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", [glm.Poisson(), glm.Bernoulli(), glm.Gamma(2.0, "log")])
def test_solver_matches_the_core_fit(family):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    eta = 0.3 + X @ [0.5, -0.4]
    y = np.clip(family.sample(eta, seed=rng), 0, None)
    if family.name == "Gamma":
        y = np.maximum(y, 1e-3)
    problem = IRLSProblem(make_design(X, y), family, np.zeros(3), tol=1e-14)
    result = IRLSSolver(problem).solve()
    criterion = glm.convergence_criteria_small_relative_norm_weights_change(tolerance=1e-12)
    core, _, converged, _ = glm.fit(
        np.column_stack([np.ones(300), X]), y, family, convergence_criteria_fn=criterion,
        maximum_iterations=200,
    )  # fmt: skip
    np.testing.assert_allclose(result.coef, core, rtol=1e-7, atol=1e-10)
    assert result.converged and converged


def test_objective_never_rises_and_steps_halve_from_a_bad_start():
    X, y, offset, _ = _poisson_data()
    problem = IRLSProblem(make_design(X, y, offset), glm.Poisson(), np.zeros(4), tol=1e-12)
    solver = IRLSSolver(problem)
    objectives = []
    original = solver.update_information

    def record(sums):
        original(sums)
        objectives.append(solver.state.objective)

    solver.update_information = record
    result = solver.solve(coef0=np.array([8.0, 6.0, -6.0, 6.0]))
    assert result.converged
    # The bad start (a huge objective) loses against the intercept-only start.
    assert objectives[0] < 1e4
    assert np.all(np.diff(objectives) <= 1e-9 * np.abs(objectives[1:]))


def test_step_halving_keeps_the_linear_predictor_in_the_links_domain():
    # Gamma with the inverse link: a full step would make 1/mu negative on some rows.
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(200, 1))
    y = rng.gamma(5.0, 1 / (1.0 + 0.95 * x[:, 0]) / 5.0)
    problem = IRLSProblem(make_design(x, y), glm.Gamma(1.0, "inverse"), np.zeros(2), tol=1e-12)
    solver = IRLSSolver(problem)
    result = solver.solve()
    assert result.converged
    assert np.all(result.coef[0] + x[:, 0] * result.coef[1] > 0)


def test_constant_information_is_computed_once():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3))
    y = rng.gamma(2.0, np.exp(0.5 + X @ [0.3, -0.2, 0.1]) / 2)
    design = make_design(X, y)
    grams = []

    def counting(block, *args):
        sums = iteration_pass(block, *args)
        grams.append(sums.gram is not None)
        return sums

    class CountingDesign:
        def __getattr__(self, name):
            return getattr(design, name)

        def map_reduce(self, fn, *args):
            return design.map_reduce(counting if fn is iteration_pass else fn, *args)

    problem = IRLSProblem(CountingDesign(), glm.Gamma(1.0, "log"), np.zeros(4), tol=1e-12)
    result = IRLSSolver(problem).solve()
    assert result.converged and result.n_iter > 2
    assert sum(grams) == len(design.blocks)  # one pass computed a Gram


def test_qr_and_cholesky_steps_agree():
    X, y, offset, sw = _poisson_data(seed=4)
    penalty = np.r_[0.0, np.full(3, 2.0)]
    results = []
    for solver in ("cholesky", "qr", "observed"):
        problem = IRLSProblem(make_design(X, y, offset, sw), glm.Poisson(), penalty,
                              solver=solver, tol=1e-14)  # fmt: skip
        results.append(IRLSSolver(problem).solve())
    for other in results[1:]:
        np.testing.assert_allclose(other.coef, results[0].coef, rtol=1e-10)
        np.testing.assert_allclose(other.information, results[0].information, rtol=1e-8)


def test_intercept_only_fit_with_offset_is_the_closed_form():
    X, y, offset, sw = _poisson_data(seed=5)
    null = intercept_only_fit(make_design(X, y, offset, sw), glm.Poisson())
    b, deviance = null.intercept, null.deviance
    assert null.finite
    expected = np.log(np.sum(sw * y) / np.sum(sw * np.exp(offset)))
    np.testing.assert_allclose(b, expected, rtol=1e-10)
    mu = np.exp(expected + offset)
    np.testing.assert_allclose(deviance, glm.Poisson().deviance(y, mu, sw), rtol=1e-12)


def test_equilibrated_cholesky_is_not_fooled_by_scale():
    # Badly scaled but well-posed: the equilibrated factor has condition 1.
    factor = cholesky_factor(np.diag([1e8, 1e-8]))
    assert factor.condition == 1.0 and factor.usable_for_covariance()
    np.testing.assert_allclose(factor.solve(np.array([1.0, 1.0])), [1e-8, 1e8])
    # Singular, non-finite or non-positive: no factor (the solver then takes the QR route).
    assert cholesky_factor(np.ones((2, 2))) is None or not cholesky_factor(
        np.ones((2, 2))
    ).usable_for_step()
    assert cholesky_factor(np.array([[np.nan, 0.0], [0.0, 1.0]])) is None
    assert cholesky_factor(np.array([[0.0, 0.0], [0.0, 1.0]])) is None


def test_qr_factor_finds_aliased_columns_in_order_as_r_does():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(30, 2))
    # Columns: a0, a1, a0 + a1 (aliased: it follows a0 and a1), 2 * a1 (aliased), a new one.
    rows = np.column_stack([a, a.sum(axis=1), 2 * a[:, 1], rng.normal(size=30)])
    factor, _ = qr_factor(rows)
    np.testing.assert_array_equal(factor.aliased, [False, False, True, True, False])
    kept = rows[:, ~factor.aliased]
    np.testing.assert_allclose(
        factor.inverse()[np.ix_(~factor.aliased, ~factor.aliased)],
        np.linalg.inv(kept.T @ kept), rtol=1e-10,
    )  # fmt: skip
    # Least squares on the identified columns, through the carried right-hand side.
    target = rng.normal(size=30)
    factor, transformed = qr_factor(rows, target)
    solution = solve_in_factor(factor, transformed)
    expected = np.linalg.lstsq(kept, target, rcond=None)[0]
    np.testing.assert_allclose(solution[~factor.aliased], expected, rtol=1e-10)
    assert np.all(solution[factor.aliased] == 0)
    # More columns than rows: the trailing ones are aliased.
    factor, _ = qr_factor(rng.normal(size=(3, 5)))
    np.testing.assert_array_equal(factor.aliased, [False] * 3 + [True] * 2)


# ----------------------------------------------------------------------------------------------
# Derivatives used by the observed-information step, against finite differences
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "family",
    [glm.Gamma(1.0, "log"), glm.Gamma(2.0, "identity"), glm.Poisson("sqrt"),
     glm.Bernoulli("probit"), glm.InverseGaussian(1.0, "log"), glm.Tweedie(1.5, "log"),
     glm.NegativeBinomial(2.0, "identity"), glm.Normal(1.0, "log")],
    ids=repr,
)  # fmt: skip
def test_observed_weights_are_minus_the_score_derivative(family):
    rng = np.random.default_rng(6)
    eta = rng.uniform(0.3, 1.2, 50)
    y = family.mean(eta) * rng.uniform(0.2, 2.0, 50)
    if family.name == "Bernoulli":
        y = (rng.random(50) < 0.5).astype(float)
    terms = RowTerms(family, y, eta)
    fisher, observed = terms.fisher, terms.observed
    h = 1e-6
    numeric = -(family.score(y, eta + h) - family.score(y, eta - h)) / (2 * h)
    positive = numeric >= 0
    np.testing.assert_allclose(observed[positive], numeric[positive], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(observed[~positive], fisher[~positive])


# ----------------------------------------------------------------------------------------------
# Designs: dense, sparse, one-hot and threads give the same sums
# ----------------------------------------------------------------------------------------------
def _all_sums(design, coef, family):
    sums = design.map_reduce(iteration_pass, coef, IterationSpec(family, True, "fisher"))
    return sums.deviance, sums.pearson, sums.gradient, design.finish_gram(sums.gram, True)


def test_designs_agree():
    X, _ = _one_hot(n=5000, drop_first=True)
    rng = np.random.default_rng(7)
    y = rng.poisson(1.0, X.shape[0]).astype(float)
    offset, sw = rng.normal(scale=0.1, size=X.shape[0]), rng.uniform(0.5, 2, X.shape[0])
    coef = rng.normal(scale=0.1, size=X.shape[1] + 1)
    family = glm.Poisson()
    onehot = LocalDesign(X, y, offset, sw)
    assert onehot.structure is not None
    reference = _all_sums(LocalDesign(X.toarray(), y, offset, sw, n_threads=1), coef, family)
    others = [
        onehot,
        LocalDesign(X, y, offset, sw, one_hot=False),
        LocalDesign(X.tocsc(), y, offset, sw, one_hot=False),
        LocalDesign(X.toarray(), y, offset, sw, n_threads=2),
    ]
    for design in others:
        design._bounds = [(s, min(5000, s + 700)) for s in range(0, 5000, 700)]
        for got, want in zip(_all_sums(design, coef, family), reference, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-9)


def test_stacked_r_factors_give_the_gram():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    r = stack_r(np.linalg.qr(a, mode="r"), np.linalg.qr(b, mode="r"))
    np.testing.assert_allclose(r.T @ r, a.T @ a + b.T @ b, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# One-hot structure
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("drop_first", [False, True])
def test_one_hot_structure_finds_the_categoricals(drop_first):
    X, codes = _one_hot(drop_first=drop_first)
    structure = one_hot_structure(X)
    np.testing.assert_array_equal(structure.sizes, np.array([3, 6, 4]) - drop_first)
    np.testing.assert_array_equal(structure.other_columns, X.shape[1] - 2 + np.arange(2))
    assert structure.other_layout == "trailing"
    level = codes[1] - drop_first
    expected = np.where(level >= 0, level, structure.sizes[1])
    np.testing.assert_array_equal(structure.codes[1], expected)
    w = np.random.default_rng(0).uniform(0, 2, X.shape[0])
    for intercept in (False, True):
        fast = weighted_gram(X, w, intercept=intercept, structure=structure)
        np.testing.assert_allclose(fast, weighted_gram(X, w, intercept=intercept), rtol=1e-12)


def test_one_hot_blocks_are_verified_beyond_the_sample():
    # In the first rows the two indicator columns never meet, so they look like one
    # categorical; a later row stores both, and the full search splits them.
    n = 300
    first = (np.arange(n) % 2 == 0).astype(float)
    second = 1.0 - first
    first[-1] = second[-1] = 1.0
    X = sp.csr_matrix(np.column_stack([first, second, np.arange(n, dtype=float)]))
    structure = one_hot_structure(X, sample_rows=100)
    np.testing.assert_array_equal(structure.sizes, [1, 1])
    w = np.ones(n)
    np.testing.assert_allclose(weighted_gram(X, w, structure=structure), weighted_gram(X, w))


def test_one_hot_structure_declines_other_designs():
    rng = np.random.default_rng(9)
    assert one_hot_structure(sp.random(200, 10, density=0.3, format="csr", random_state=0)) is None
    assert one_hot_structure(rng.normal(size=(20, 3))) is None
    X, _ = _one_hot()
    assert one_hot_structure(X.tocsc()) is None
    unsorted = X.copy()
    unsorted.indices = unsorted.indices.copy()
    unsorted.has_sorted_indices = False
    assert one_hot_structure(unsorted) is None


def test_scattered_other_columns_with_zeros():
    X, _ = _one_hot(n=1500, drop_first=True)
    dense = X.toarray()
    dense[::7, -1] = 0.0  # stored zeros are dropped: the numeric column has gaps
    X = sp.csr_matrix(np.column_stack([dense[:, -2:], dense[:, :-2]]))
    structure = one_hot_structure(X)
    assert structure.other_layout == "scatter"
    w = np.random.default_rng(1).uniform(0, 2, X.shape[0])
    coef = np.random.default_rng(2).normal(size=X.shape[1])
    np.testing.assert_allclose(structure.matvec(X, coef, 0, X.shape[0]), X @ coef)
    np.testing.assert_allclose(structure.rmatvec(X, w, 0, X.shape[0]), X.T @ w)
    np.testing.assert_allclose(weighted_gram(X, w, structure=structure), weighted_gram(X, w))


def test_bernoulli_logit_deviance_from_logits_keeps_precision_at_the_boundary():
    family = glm.Bernoulli()
    y = np.array([0.0, 1.0, 0.3, 1.0])
    eta = np.array([40.0, -40.0, 0.2, 3.0])
    deviance = family.unit_deviance_at(y, family.mean(eta), eta)
    # Where the probability rounds to 1 or 0 the mean-based formula overflows; 2·softplus(40) not.
    with np.errstate(divide="ignore"):
        assert np.isinf(family.unit_deviance(y[:1], family.mean(eta[:1])))[0]
    np.testing.assert_allclose(deviance[:2], 2 * np.logaddexp(0.0, 40.0), rtol=1e-15)
    np.testing.assert_allclose(deviance[2:], family.unit_deviance(y[2:], family.mean(eta[2:])),
                               rtol=1e-12)  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Wide dense designs: float32 Grams for the steps, float64 for everything reported
# ----------------------------------------------------------------------------------------------
def _wide_poisson(n=3000, p=120, seed=0, correlated=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if correlated:  # equilibrated condition far above the float32 limit
        X[:, 1] = X[:, 0] + 1e-5 * rng.normal(size=n)
    offset = np.log(rng.uniform(0.5, 2.0, n))
    y = rng.poisson(np.exp(0.1 + X @ rng.normal(scale=0.3 / np.sqrt(p), size=p) + offset))
    return X, y.astype(float), offset, rng.uniform(0.5, 2.0, n)


def _fit_wide(X, y, offset, sw, monkeypatch, single, **kwargs):
    """Fit with or without the wide-design steps; also return the passes' kinds in order
    (``'fisher32'`` for a float32 Gram, one entry per pass)."""
    columns = 100 if single else 10**9
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_COLUMNS", columns)
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_WORK", 0)
    ridge = kwargs.pop("ridge", 1.0)
    problem = IRLSProblem(make_design(X, y, offset, sw), glm.Poisson(),
                          np.r_[0.0, np.full(X.shape[1], ridge)], tol=1e-12, **kwargs)  # fmt: skip
    kinds = []
    original = iteration_pass

    def recording(block, y_, offset_, weight_, coef, spec):
        single = spec.single_precision and spec.information == "fisher"
        kinds.append("fisher32" if single else spec.information)
        return original(block, y_, offset_, weight_, coef, spec)

    monkeypatch.setattr("skglm_fisher.glm._solver.iteration_pass", recording)
    solver = IRLSSolver(problem)
    result = solver.solve()
    blocks = len(problem.design.blocks)  # the kernel runs once per row block
    # Without the deviance-only passes that rank the starting candidates.
    return result, solver, [kind for kind in kinds[::blocks] if kind is not None]


def _assert_float64_fit(fast, exact, X, y, offset, sw):
    """The same fixed point (the score is float64), and the reported information is float64
    at the returned coefficients, not a step's float32 product or an earlier point's."""
    assert fast.converged and exact.converged
    np.testing.assert_allclose(fast.coef, exact.coef, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fast.deviance, exact.deviance, rtol=1e-13)
    mu = np.exp(X @ fast.coef[1:] + fast.coef[0] + offset)
    design = np.column_stack([np.ones(len(y)), X])
    np.testing.assert_allclose(fast.gram, design.T @ (design * (sw * mu)[:, None]), rtol=1e-12,
                               atol=1e-9 * np.abs(fast.gram).max())  # fmt: skip
    inverse = exact.factor.inverse()
    np.testing.assert_allclose(fast.factor.inverse(), inverse, rtol=1e-7,
                               atol=1e-9 * np.diag(inverse).max())  # fmt: skip


@pytest.mark.parametrize("correlated", [False, True])
def test_float32_step_grams_report_the_float64_fit(monkeypatch, correlated):
    X, y, offset, sw = _wide_poisson(correlated=correlated)
    ridge = 0.0 if correlated else 1.0
    exact, _, plain = _fit_wide(X, y, offset, sw, monkeypatch, single=False, ridge=ridge)
    fast, solver, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True, ridge=ridge)
    assert "fisher32" not in plain and "fisher32" in kinds
    _assert_float64_fit(fast, exact, X, y, offset, sw)
    # An ill-conditioned design leaves float32 after the first step (its Gram is computed
    # again in float64 at once), and neither takes more Grams than the plain fit.
    assert solver._single_precision is not correlated
    assert kinds[:2] == (["fisher32", "fisher"] if correlated else ["fisher32", "score"])
    grams = sum(kind in ("fisher", "fisher32") for kind in kinds)
    assert grams <= plain.count("fisher")

def test_wide_steps_pay_from_100_columns_and_enough_work():
    assert wide_steps_pay(True, 20_000, 200)
    assert single_precision_pays(True, np.float64, 20_000, 200)
    assert not wide_steps_pay(True, 600, 100)  # a Gram of 6e6 products
    assert not wide_steps_pay(True, 10**7, 99)
    assert not wide_steps_pay(False, 20_000, 200)  # sparse or one-hot
    # float32 data take chord steps; their Grams are float32 products anyway.
    assert not single_precision_pays(True, np.float32, 20_000, 200)


def test_float32_step_grams_only_where_they_pay(monkeypatch):
    X, y, offset, sw = _wide_poisson()
    for kwargs in ({"solver": "qr"}, {"solver": "observed"}):
        _, _, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True, **kwargs)
        assert "fisher32" not in kinds and "score" not in kinds
    _, _, kinds = _fit_wide(X[:, :99], y, offset, sw, monkeypatch, single=True)
    assert "fisher32" not in kinds and "score" not in kinds  # fewer than 100 columns


def test_float32_data_take_chord_steps_to_the_same_fit(monkeypatch):
    X, y, offset, sw = _wide_poisson(seed=6)
    X = X.astype(np.float32)
    exact, _, plain = _fit_wide(X, y, offset, sw, monkeypatch, single=False)
    fast, _, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True)
    assert "fisher32" not in kinds and kinds[0] == "fisher" and set(kinds[1:]) == {"score"}
    assert plain.count("fisher") >= 3
    np.testing.assert_allclose(fast.coef, exact.coef, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(fast.deviance, exact.deviance, rtol=1e-13)
    # The information of float32 data is a float32 product in both fits (about 1e-7 apart).
    np.testing.assert_allclose(fast.factor.inverse(), exact.factor.inverse(), rtol=1e-5,
                               atol=1e-7 * np.diag(exact.factor.inverse()).max())  # fmt: skip


def test_chord_steps_take_one_gram_and_report_the_float64_fit(monkeypatch):
    X, y, offset, sw = _wide_poisson(seed=1)
    exact, _, plain = _fit_wide(X, y, offset, sw, monkeypatch, single=False)
    fast, _, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True)
    # The start's float32 Gram serves every step; the final pass computes the float64 one.
    assert kinds[0] == "fisher32" and set(kinds[1:]) == {"score"}
    assert plain.count("fisher") >= 3
    _assert_float64_fit(fast, exact, X, y, offset, sw)


def test_quasi_newton_pairs_speed_up_the_chord_steps(monkeypatch):
    X, y, offset, sw = _wide_poisson(seed=1)
    corrected, _, with_pairs = _fit_wide(X, y, offset, sw, monkeypatch, single=True)
    monkeypatch.setattr("skglm_fisher.glm._chord.QUASI_NEWTON_PAIRS", 0)
    plain, _, without = _fit_wide(X, y, offset, sw, monkeypatch, single=True)
    assert len(with_pairs) < len(without)
    np.testing.assert_allclose(corrected.coef, plain.coef, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("failure", ["contraction", "final check"])
def test_chord_steps_that_do_not_contract_or_converge_fall_back(monkeypatch, failure):
    X, y, offset, sw = _wide_poisson(seed=2)
    exact, _, _ = _fit_wide(X, y, offset, sw, monkeypatch, single=False)
    calls = []
    if failure == "contraction":  # no chord step contracts enough: a Gram after each
        monkeypatch.setattr("skglm_fisher.glm._chord.REFRESH_CONTRACTION", 0.0)
    else:  # the decrement at the end of the chord steps is found too large once
        check = IRLSSolver._converged_after_chord

        def refuse_once(self, sums):
            calls.append(1)
            return len(calls) > 1 and check(self, sums)

        monkeypatch.setattr(IRLSSolver, "_converged_after_chord", refuse_once)
    fast, solver, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True)
    if failure == "contraction":
        # Chord and Gram passes alternate after the start.
        assert kinds[1::2] == ["score"] * len(kinds[1::2])
        assert set(kinds[2::2]) <= {"fisher32", "fisher"}
    else:
        assert len(calls) == 1 and not solver._chord.enabled  # Fisher scoring from there on
    _assert_float64_fit(fast, exact, X, y, offset, sw)


@pytest.mark.parametrize("collinear", [False, True])
def test_the_rank_of_a_ridge_fit_is_that_of_the_unpenalised_information(collinear):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 6))
    if collinear:
        X[:, 1] = X[:, 0]
    y = rng.poisson(np.exp(0.2 + X @ np.full(6, 0.1))).astype(float)
    problem = IRLSProblem(make_design(X, y), glm.Poisson(), np.r_[0.0, np.full(6, 1.0)])
    solver = IRLSSolver(problem)
    result = solver.solve()
    # A ridge this small next to the information needs no second factorisation to show the
    # full rank; one that hides an aliased column cannot pass that test.
    assert solver._penalty_keeps_rank(result.factor) is not collinear
    assert result.rank == 7 - collinear and not result.aliased.any()
    data = cholesky_factor(result.gram)
    assert (data is not None and data.usable_for_covariance()) is not collinear


@pytest.mark.parametrize(
    ("family", "link"),
    [("bernoulli", "logit"), ("bernoulli", "probit"), ("normal", "log"), ("gamma", "inverse"),
     ("inverse_gaussian", "log"), ("tweedie", "log"), ("negative_binomial", "log")],
)  # fmt: skip
def test_wide_fits_of_every_family_reach_the_optimum(monkeypatch, family, link):
    rng = np.random.default_rng(4)
    n, p = 2500, 110
    X = rng.normal(size=(n, p))
    eta = X @ rng.normal(scale=1.5 / np.sqrt(p), size=p)  # strong effects: weights vary
    if family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "normal":
        y = np.exp(0.3 * eta) + rng.normal(scale=0.5, size=n)
    elif family == "gamma":
        y = rng.gamma(2.0, 1 / (2.0 + 0.2 * np.tanh(eta)))
    elif family == "inverse_gaussian":
        y = rng.wald(np.exp(0.3 * eta), 4.0)
    elif family == "tweedie":
        y = rng.poisson(np.exp(0.5 * eta)) * rng.gamma(2.0, 0.5, n)
    else:
        y = rng.poisson(np.exp(0.5 * eta)).astype(float)
    sample_weight = rng.uniform(0.5, 2.0, n)
    fits = {}
    monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_WORK", 0)
    for columns in (100, 10**9):  # the wide steps, and plain Fisher scoring in float64
        monkeypatch.setattr("skglm_fisher.glm._design.WIDE_MIN_COLUMNS", columns)
        model = FisherScoringGLM(family=family, link=link, alpha=1e-3, tol=1e-10)
        fits[columns] = model.fit(X, y, sample_weight=sample_weight)
    wide, plain = fits[100], fits[10**9]
    # Newton's method with the observed information converges quadratically under any link:
    # the optimum to rounding.
    reference = FisherScoringGLM(family=family, link=link, alpha=1e-3, tol=1e-14,
                                 solver="observed")  # fmt: skip
    reference.fit(X, y, sample_weight=sample_weight)
    assert wide.converged_ and plain.converged_ and reference.converged_

    def error(model):
        return np.abs(np.r_[model.intercept_, model.coef_] - np.r_[reference.intercept_,
                                                                   reference.coef_]).max()

    if family_from_params(family, link, 1.5).is_canonical:
        # Canonical links: Fisher scoring is Newton's method, both reach the optimum.
        assert error(wide) <= 1e-10 and error(plain) <= 1e-10
    else:
        # Fisher scoring converges linearly, to within the tolerance; the chord steps'
        # quasi-Newton correction learns the Hessian and gets closer.
        assert error(wide) <= error(plain) and error(wide) <= 1e-8
    np.testing.assert_allclose(wide.deviance_, reference.deviance_, rtol=1e-11)
    np.testing.assert_allclose(wide.std_errors_, reference.std_errors_, rtol=1e-6)


def test_chord_steps_do_not_depend_on_the_scale_of_the_columns(monkeypatch):
    # The quasi-Newton pairs are judged in equilibrated coordinates: columns scaled by 1e12
    # and 1e-12 (within float32's range) take the same steps as the unscaled design.
    X, y, offset, sw = _wide_poisson(seed=5)
    plain, _, kinds = _fit_wide(X, y, offset, sw, monkeypatch, single=True, ridge=0.0)
    scale = np.where(np.arange(X.shape[1]) % 2, 1e12, 1e-12)  # (a ridge would not scale)
    scaled, _, scaled_kinds = _fit_wide(X * scale, y, offset, sw, monkeypatch, single=True,
                                        ridge=0.0)  # fmt: skip
    assert scaled_kinds == kinds and kinds.count("score") >= 3
    np.testing.assert_allclose(scaled.coef * np.r_[1.0, scale], plain.coef, rtol=1e-9,
                               atol=1e-12)  # fmt: skip
