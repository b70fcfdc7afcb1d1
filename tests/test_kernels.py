"""Row-block kernels against plain numpy products: the symmetric Gram kernel, the blocks of
every kind of design, the block layout and the threaded, in-place reduction of a pass."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits

from skglm_fisher import glm
from skglm_fisher.glm._blas import (
    MULTITHREADED_MIN_ORDER,
    blas_for_factorisation,
    single_threaded_blas,
)
from skglm_fisher.glm._design import MIN_BLOCK_ROWS, LocalDesign
from skglm_fisher.glm._gram import Workspace, dense_block_gram, weighted_gram
from skglm_fisher.glm._passes import (
    IterationSpec,
    PassSums,
    StatisticsSpec,
    iteration_pass,
    statistics_pass,
)
from skglm_fisher.glm._row_terms import RowTerms


def _bordered(X, intercept):
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    X = X.astype(np.float64)
    return np.column_stack([np.ones(X.shape[0]), X]) if intercept else X


def _reference_gram(X, weights, intercept):
    A = _bordered(X, intercept)
    return A.T @ (weights[:, None] * A)


def _weights(kind, n, rng):
    w = rng.uniform(0.1, 2.0, n)
    if kind == "zeros":
        w[::3] = 0.0
    elif kind == "negative":
        w[::4] *= -1.0
    return w


# ----------------------------------------------------------------------------------------------
# dense_block_gram
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("kind", ["positive", "zeros", "negative"])
@pytest.mark.parametrize("with_score", [False, True])
def test_dense_block_gram_matches_numpy(dtype, intercept, kind, with_score):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(301, 7)).astype(dtype)
    w = _weights(kind, 301, rng)
    score = rng.normal(size=301)
    if kind == "zeros":
        score[::3] = 0.0  # Fisher weights and the score vanish together
    gram, gradient = dense_block_gram(X, w, intercept=intercept,
                                      score=score if with_score else None)  # fmt: skip
    # float32 rows give a float32 product, returned (with the border) in float64.
    assert gram.shape == (7 + intercept,) * 2 and gram.dtype == np.float64
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    scale = np.abs(_reference_gram(X, np.abs(w), intercept)).max()
    np.testing.assert_allclose(gram, _reference_gram(X, w, intercept), rtol=rtol,
                               atol=rtol * scale)  # fmt: skip
    np.testing.assert_array_equal(gram, gram.T)
    if not with_score:
        assert gradient is None
        return
    assert gradient.dtype == np.float64
    # The gradient is float64 whatever the precision of the Gram.
    np.testing.assert_allclose(gradient, X.astype(np.float64).T @ score, rtol=1e-12, atol=1e-12)


def test_dense_block_gram_score_where_a_weight_vanishes_or_is_subnormal():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4))
    w = rng.uniform(0.5, 1.5, 50)
    score = rng.normal(size=50)
    w[3] = 0.0  # a zero weight with a non-zero score (possible for observed weights)
    gram, gradient = dense_block_gram(X, w, intercept=True, score=score)
    np.testing.assert_allclose(gradient, X.T @ score, rtol=1e-12)
    np.testing.assert_allclose(gram, _reference_gram(X, w, True), rtol=1e-12)
    w[3], score[3] = 1e-320, 1e200  # score / sqrt(w) would overflow
    gram, gradient = dense_block_gram(X, w, intercept=True, score=score)
    np.testing.assert_allclose(gradient, X.T @ score, rtol=1e-12)
    assert np.all(np.isfinite(gram))


def test_dense_block_gram_of_no_rows_is_zero():
    gram, gradient = dense_block_gram(np.zeros((0, 3)), np.zeros(0), intercept=True,
                                      score=np.zeros(0))  # fmt: skip
    np.testing.assert_array_equal(gram, np.zeros((4, 4)))
    np.testing.assert_array_equal(gradient, np.zeros(3))


def test_workspace_reuses_its_memory_and_grows():
    workspace = Workspace()
    first = workspace.array((10, 3), np.float64)
    smaller = workspace.array((4, 5), np.float64)
    assert np.shares_memory(first, smaller) and smaller.flags.c_contiguous
    larger = workspace.array((20, 3), np.float64)
    assert larger.shape == (20, 3) and not np.shares_memory(first, larger)
    assert workspace.array((2, 2), np.float32).dtype == np.float32


def test_block_gram_results_do_not_alias_the_workspace():
    rng = np.random.default_rng(2)
    workspace = Workspace()
    X1, X2 = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    w = np.ones(40)
    g1, r1 = dense_block_gram(X1, w, intercept=True, score=w, workspace=workspace)
    kept = g1.copy(), r1.copy()
    dense_block_gram(X2, w, intercept=True, score=w, workspace=workspace)
    np.testing.assert_array_equal(g1, kept[0])
    np.testing.assert_array_equal(r1, kept[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_gram_dense_chunks(dtype):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1001, 6)).astype(dtype)
    w = rng.uniform(0, 2, 1001)
    got = weighted_gram(X, w, intercept=True, chunk_bytes=7 * 8 * 50)
    assert got.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, _reference_gram(X, w, True), rtol=rtol)


# ----------------------------------------------------------------------------------------------
# Blocks of every design kind inside a pass
# ----------------------------------------------------------------------------------------------
def _one_hot_design(n, rng):
    parts = []
    for levels in (3, 5):
        codes = rng.integers(0, levels, n)
        parts.append(sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, levels)))
    parts.append(sp.csr_matrix(rng.normal(size=(n, 2))))
    return sp.hstack(parts, format="csr")


def _design_matrix(kind, n, rng):
    if kind == "one-hot":
        return _one_hot_design(n, rng)
    X = rng.normal(size=(n, 5))
    if kind == "float32":
        return X.astype(np.float32)
    if kind == "csr":
        X[rng.random(X.shape) < 0.5] = 0.0
        return sp.csr_matrix(X)
    return X


@pytest.mark.parametrize("kind", ["dense", "float32", "csr", "one-hot"])
@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("information", ["fisher", "observed"])
def test_iteration_pass_matches_numpy(kind, intercept, information):
    rng = np.random.default_rng(4)
    n = 3000
    X = _design_matrix(kind, n, rng)
    family = glm.Gamma(2.0, "log")  # non-canonical: the observed weights differ
    A = _bordered(X, intercept)
    coef = rng.normal(scale=0.1, size=A.shape[1])
    eta = A @ coef
    y = np.exp(eta) * rng.gamma(2.0, 0.5, n)
    sw = rng.uniform(0.5, 2.0, n)
    sw[::5] = 0.0  # zero sample weights: rows that count for nothing
    design = LocalDesign(X, y, None, sw, n_threads=2)
    assert (design.structure is not None) == (kind == "one-hot")
    sums = design.map_reduce(iteration_pass, coef, IterationSpec(family, intercept, information))
    assert sums.valid
    gram = design.finish_gram(sums.gram, intercept)
    terms = RowTerms(family, y, eta, sw)
    weights = terms.observed if information == "observed" else terms.fisher
    if information == "observed":
        assert not np.allclose(weights, terms.fisher)
    rtol = 1e-5 if kind == "float32" else 1e-11
    want = A.T @ (weights[:, None] * A)
    np.testing.assert_allclose(gram, want, rtol=rtol, atol=rtol * np.abs(want).max())
    np.testing.assert_allclose(sums.gradient, A.T @ terms.score, rtol=1e-10,
                               atol=1e-10 * np.abs(terms.score).sum())  # fmt: skip
    assert sums.deviance == pytest.approx(terms.deviance, rel=1e-12)


@pytest.mark.parametrize("kind", ["dense", "float32", "csr", "one-hot"])
@pytest.mark.parametrize("intercept", [False, True])
def test_block_gram_with_negative_and_zero_weights(kind, intercept):
    rng = np.random.default_rng(10)
    n = 2500
    X = _design_matrix(kind, n, rng)
    w = _weights("negative", n, rng)
    w[::7] = 0.0

    def gram_pass(block, y, offset, sample_weight):
        return block.gram(w[block.start : block.stop], intercept)

    design = LocalDesign(X, n_threads=2)
    design._bounds = [(s, min(n, s + 600)) for s in range(0, n, 600)]
    got = design.finish_gram(design.map_reduce(gram_pass), intercept)
    want = _reference_gram(X, w, intercept)
    rtol = 1e-5 if kind == "float32" else 1e-11
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.mark.parametrize("kind", ["dense", "float32", "csr", "one-hot"])
def test_statistics_pass_information_and_meat_match_numpy(kind):
    rng = np.random.default_rng(5)
    n = 2500
    X = _design_matrix(kind, n, rng)
    family = glm.Poisson()
    coef = np.concatenate([[0.2], rng.normal(scale=0.1, size=X.shape[1])])
    A = _bordered(X, True)
    y = rng.poisson(np.exp(A @ coef)).astype(float)
    design = LocalDesign(X, y, n_threads=2)
    spec = StatisticsSpec(family, True, meat=True, information="fisher")
    sums = design.map_reduce(statistics_pass, coef, spec)
    terms = RowTerms(family, y, A @ coef)
    rtol = 1e-5 if kind == "float32" else 1e-11
    for got, w in ((sums.gram, terms.fisher), (sums.meat, terms.score**2)):
        want = A.T @ (w[:, None] * A)
        got = design.finish_gram(got, True)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.mark.parametrize("kind", ["dense", "float32", "csr"])
@pytest.mark.parametrize("with_weights", [False, True])
def test_start_pass_plain_gram_matches_numpy(kind, with_weights):
    # At an intercept-only point the information is a constant times [1, X]ᵀ diag(s) [1, X].
    rng = np.random.default_rng(6)
    n = 2000
    X = _design_matrix(kind, n, rng)
    y = rng.poisson(1.5, n).astype(float)
    sw = rng.uniform(0.0, 2.0, n) if with_weights else None
    design = LocalDesign(X, y, None, sw, n_threads=2)
    coef = np.zeros(X.shape[1] + 1)
    coef[0] = np.log(1.2)
    sums = design.map_reduce(iteration_pass, coef, IterationSpec(glm.Poisson(), True, "fisher"))
    A = _bordered(X, True)
    terms = RowTerms(glm.Poisson(), y, np.full(n, coef[0]), sw)
    want = A.T @ (terms.fisher[:, None] * A)
    rtol = 1e-5 if kind == "float32" else 1e-11
    np.testing.assert_allclose(design.finish_gram(sums.gram, True), want, rtol=rtol,
                               atol=rtol * np.abs(want).max())  # fmt: skip
    np.testing.assert_allclose(sums.gradient, A.T @ terms.score, rtol=1e-10, atol=1e-8)


# ----------------------------------------------------------------------------------------------
# Block layout, threads and the in-place reduction
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "p"), [(10, 3), (5000, 1), (50_000, 20), (9000, 300), (3000, 900)])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_blocks_cover_the_rows_in_balanced_runs(n, p, threads):
    design = LocalDesign(np.zeros((n, p)), n_threads=threads)
    bounds = design.blocks
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    sizes = np.diff([0] + [stop for _, stop in bounds])
    assert sizes.max() - sizes.min() <= 1
    # As few blocks as the target size allows (rounded up to a multiple of the threads), so
    # a wide block keeps enough rows for a full-speed syrk and no more than the byte budget.
    target = min(max((1 << 21) // (8 * p), MIN_BLOCK_ROWS), 1 << 16)
    count = -(-n // target)
    if design._parallel:
        count = -(-max(count, threads) // threads) * threads
        assert len(bounds) % threads == 0
    assert len(bounds) == min(count, n)
    assert sizes.max() <= target


def test_wide_small_designs_run_on_threads():
    # 3,000 × 900: few elements but a Gram worth spreading over the cores.
    assert LocalDesign(np.zeros((3000, 900)), n_threads=2)._parallel
    assert not LocalDesign(np.zeros((3000, 10)), n_threads=2)._parallel


def test_threaded_passes_agree_and_repeat_exactly():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20_000, 120))
    y = rng.poisson(1.0, 20_000).astype(float)
    coef = rng.normal(scale=0.02, size=121)
    spec = IterationSpec(glm.Poisson(), True, "fisher")
    threaded = LocalDesign(X, y, n_threads=2)
    assert threaded._parallel and len(threaded.blocks) >= 2
    first = threaded.map_reduce(iteration_pass, coef, spec)
    second = threaded.map_reduce(iteration_pass, coef, spec)
    # The in-place reduction leaves nothing behind: the same call gives the same bits.
    np.testing.assert_array_equal(first.gram, second.gram)
    np.testing.assert_array_equal(first.gradient, second.gradient)
    serial = LocalDesign(X, y, n_threads=1).map_reduce(iteration_pass, coef, spec)
    np.testing.assert_allclose(first.gram, serial.gram, rtol=1e-12,
                               atol=1e-13 * np.abs(serial.gram).max())  # fmt: skip
    np.testing.assert_allclose(first.gradient, serial.gradient, rtol=1e-10, atol=1e-9)
    assert first.deviance == pytest.approx(serial.deviance, rel=1e-13)


def test_in_place_sum_adds_every_field():
    rng = np.random.default_rng(8)

    def sums():
        return PassSums(deviance=1.5, n_invalid=1, pearson=2.0, gradient=rng.normal(size=3),
                        gram=rng.normal(size=(3, 3)), rfactor=np.triu(rng.normal(size=(3, 3))),
                        log_likelihood=-1.0, n_boundary=2, n_positive=3)  # fmt: skip

    a, b = sums(), sums()
    gram, gradient, rfactor = a.gram, a.gradient, a.rfactor
    expected_gram, expected_gradient = gram + b.gram, gradient + b.gradient
    a += b
    assert a.gram is gram and a.gradient is gradient  # updated in place
    assert (a.deviance, a.n_invalid, a.pearson) == (3.0, 2, 4.0)
    assert (a.log_likelihood, a.n_boundary, a.n_positive) == (-2.0, 4, 6)
    np.testing.assert_array_equal(a.gram, expected_gram)
    np.testing.assert_array_equal(a.gradient, expected_gradient)
    # The R factors stack: RᵀR is the sum of the two blocks' RᵀR.
    stacked = rfactor.T @ rfactor + b.rfactor.T @ b.rfactor
    np.testing.assert_allclose(a.rfactor.T @ a.rfactor, stacked)
    missing = PassSums(deviance=1.0)
    missing += b
    assert missing.gram is None and missing.deviance == 1.0 + b.deviance


def test_a_wide_pass_makes_no_copy_of_x():
    rng = np.random.default_rng(9)
    n, p = 32_000, 400
    X = rng.normal(size=(n, p))
    y = rng.poisson(1.0, n).astype(float)
    design = LocalDesign(X, y, n_threads=2)
    coef = rng.normal(scale=0.01, size=p + 1)
    spec = IterationSpec(glm.Poisson(), True, "fisher")
    design.map_reduce(iteration_pass, coef, spec)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    design.map_reduce(iteration_pass, coef, spec)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    # A workspace of one block per thread and a few p×p sums (X itself is 102 MB).
    rows = max(stop - start for start, stop in design.blocks)
    bound = 2 * rows * p * 8 + 8 * (p + 1) ** 2 * 8 + 1_000_000
    assert peak < bound < X.nbytes / 4


# ----------------------------------------------------------------------------------------------
# BLAS threads for factorisations
# ----------------------------------------------------------------------------------------------
def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_factorisations_hold_blas_to_one_thread_below_the_threshold_only():
    with threadpool_limits(2, "blas"):
        with blas_for_factorisation(MULTITHREADED_MIN_ORDER - 1):
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {2}
        with blas_for_factorisation(MULTITHREADED_MIN_ORDER):
            assert set(_blas_threads()) == {2}
        # A large factorisation inside a pass's limit keeps the pass's single thread.
        with single_threaded_blas(), blas_for_factorisation(MULTITHREADED_MIN_ORDER):
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {2}
