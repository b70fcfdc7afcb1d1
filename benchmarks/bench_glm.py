"""Fit time, deviance and memory of FisherScoringGLM against scikit-learn and glum.

Every estimator runs in this process on the same data. Two groups of cases:

Tall designs (``--n-samples`` rows, 1,000,000 by default), unpenalised, each library at its
default tolerance: scikit-learn with ``solver='newton-cholesky'``, glum's
``GeneralizedLinearRegressor`` and ours (``solver='cholesky'``; for the Gamma case also
``'observed'``):

- ``poisson``, ``gamma`` (log link), ``logistic``: ``n × 50`` dense Gaussian features;
- ``insurance``: an insurance-like CSR design, six one-hot categoricals (5 to 100 levels, first
  level dropped) and four numeric columns, Poisson counts with a log-exposure offset
  (scikit-learn has no offset: it fits the rate ``y / exposure`` weighted by exposure, the same
  likelihood).

Wide designs (fixed shapes), Poisson with ``alpha=1e-4`` (the same objective
``deviance / (2n) + alpha/2 · ||coef||²`` in all three libraries), ours at ``tol=1e-8``, the
peers at their default tolerances: ``wide200`` (200,000 × 200), ``wide500`` (100,000 × 500),
``wide1500`` (20,000 × 1,500), dense Gaussian features. These also report the time of one pass
over the rows of our solver (deviance, score and weighted Gram, at the fitted coefficients)
against one ``X.T @ X`` of the same shape, with the process's BLAS threads and with one.

The table reports seconds, our time over each peer's, iterations, the relative difference of
the final deviances (tall cases) or objectives (wide cases) (``(peer - ours) / ours``: positive
when the peer stopped higher), and the peak memory ``fit`` adds (tracemalloc, in a separate
untimed fit) as a fraction of the size of ``X``. Repeats are interleaved and each estimator
reports its fastest fit.

Usage::

    python benchmarks/bench_glm.py                      # every case
    python benchmarks/bench_glm.py --cases wide200 wide500 wide1500 --repeat 3
    python benchmarks/bench_glm.py --n-samples 20000 --cases poisson insurance
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
import warnings

import numpy as np
import scipy.sparse as sp

from skglm_fisher import FisherScoringGLM
from skglm_fisher.glm import Bernoulli, Gamma, Poisson

LEVELS = (5, 8, 15, 30, 50, 100)
TALL = ("poisson", "gamma", "logistic", "insurance")
#: Wide cases: (rows, columns); Poisson with this ridge penalty.
WIDE = {"wide200": (200_000, 200), "wide500": (100_000, 500), "wide1500": (20_000, 1_500)}
WIDE_ALPHA = 1e-4


def dense_case(kind, n, p=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = rng.normal(scale=0.3 / np.sqrt(p), size=p)
    eta = 0.5 + X @ beta
    if kind == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif kind == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return X, y, None


def insurance_case(n, seed=0):
    rng = np.random.default_rng(seed)
    eta = np.full(n, np.log(0.1))
    blocks = []
    for levels in LEVELS:
        codes = rng.integers(0, levels, n)
        eta += rng.normal(scale=0.3, size=levels)[codes]
        rows = np.flatnonzero(codes > 0)
        data = (np.ones(rows.size), (rows, codes[rows] - 1))
        blocks.append(sp.csr_matrix(data, shape=(n, levels - 1)))
    numeric = rng.standard_normal((n, 4))
    eta += numeric @ np.array([0.1, -0.2, 0.05, 0.15])
    X = sp.hstack(blocks + [sp.csr_matrix(numeric)], format="csr")
    X.sort_indices()
    exposure = rng.uniform(0.1, 1.0, n)
    y = rng.poisson(exposure * np.exp(eta)).astype(float)
    return X, y, np.log(exposure)


def nbytes(X):
    if sp.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def timed(fit):
    gc.collect()
    start = time.perf_counter()
    model = fit()
    return model, time.perf_counter() - start


def peak_memory(fit):
    """Peak bytes allocated (numpy included) while ``fit`` runs, above what existed before."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fit()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def interleaved(fits, repeat):
    """``{name: (best seconds, spread, last result)}`` (spread: slowest over fastest); repeats
    run every fit in turn so that a slow spell of the machine hits every estimator alike."""
    times = {name: [] for name in fits}
    results = {}
    for _ in range(repeat):
        for name, fit in fits.items():
            results[name], seconds = timed(fit)
            times[name].append(seconds)
    return {name: (min(t), max(t) / min(t), results[name]) for name, t in times.items()}


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pass_and_gram_times(X, y, coef, repeat):
    """Seconds of one of our passes (deviance, score, weighted Gram) at ``coef`` and of one
    ``X.T @ X`` with the process's BLAS threads and with one (best of ``repeat``)."""
    from threadpoolctl import threadpool_limits

    from skglm_fisher.glm._design import make_design
    from skglm_fisher.glm._passes import IterationSpec, iteration_pass

    design = make_design(X, y)
    spec = IterationSpec(Poisson(), True, "fisher")
    one_pass = best_time(lambda: design.map_reduce(iteration_pass, coef, spec), repeat)
    gram = best_time(lambda: X.T @ X, repeat)
    with threadpool_limits(1, "blas"):
        gram_one = best_time(lambda: X.T @ X, repeat)
    return one_pass, gram, gram_one


def run_wide_case(case, repeat):
    import glum
    from sklearn.linear_model import PoissonRegressor

    n, p = WIDE[case]
    X, y, _ = dense_case("poisson", n, p)
    family = Poisson()

    def objective(model):
        coef = np.ravel(model.coef_)
        mu = family.mean(X @ coef + np.ravel(model.intercept_)[0])
        return family.deviance(y, mu) / (2 * n) + WIDE_ALPHA / 2 * coef @ coef

    ours = FisherScoringGLM(family="poisson", alpha=WIDE_ALPHA, tol=1e-8)
    sk = PoissonRegressor(alpha=WIDE_ALPHA, solver="newton-cholesky")
    gl = glum.GeneralizedLinearRegressor(family="poisson", alpha=WIDE_ALPHA, l1_ratio=0.0)
    fits = {"ours": lambda: ours.fit(X, y), "sklearn": lambda: sk.fit(X, y),
            "glum": lambda: gl.fit(X, y)}  # fmt: skip
    best = interleaved(fits, repeat)
    runs = {name: (seconds, model, objective(model)) for name, (seconds, _, model) in best.items()}
    model = best["ours"][2]
    coef = np.concatenate([[model.intercept_], model.coef_])
    timings = pass_and_gram_times(X, y, coef, max(repeat, 3))
    memory = {"ours": peak_memory(lambda: ours.fit(X, y))}
    return runs, memory, nbytes(X), timings


def run_case(case, n, repeat):
    import glum
    from sklearn.linear_model import GammaRegressor, LogisticRegression, PoissonRegressor

    if case == "insurance":
        X, y, offset = insurance_case(n)
        family, glum_family = Poisson(), "poisson"
        exposure = np.exp(offset)
    else:
        X, y, offset = dense_case(case, n)
        family = {"poisson": Poisson(), "gamma": Gamma(1.0, "log"), "logistic": Bernoulli()}[case]
        glum_family = {"poisson": "poisson", "gamma": "gamma", "logistic": "binomial"}[case]
    ours_family = {"logistic": "bernoulli", "insurance": "poisson"}.get(case, case)

    def deviance_of(eta):
        return family.deviance(y, family.mean(eta))

    def ours(solver):
        est = FisherScoringGLM(family=ours_family, solver=solver)
        return lambda: est.fit(X, y, offset=offset)

    def ours_eta(model):
        return model.linear_predictor(X, offset)

    def linear_eta(model):
        eta = X @ np.ravel(model.coef_) + np.ravel(model.intercept_)[0]
        return eta if offset is None else eta + offset

    fits = {"ours": (ours("cholesky"), ours_eta)}
    if case == "gamma":
        fits["ours observed"] = (ours("observed"), ours_eta)
    if case == "insurance":
        sk = PoissonRegressor(alpha=0.0, solver="newton-cholesky")
        fits["sklearn"] = (lambda: sk.fit(X, y / exposure, sample_weight=exposure), linear_eta)
    elif case == "logistic":
        sk = LogisticRegression(C=np.inf, solver="newton-cholesky")
        fits["sklearn"] = (lambda: sk.fit(X, y), linear_eta)
    else:
        sk = {"poisson": PoissonRegressor, "gamma": GammaRegressor}[case]
        sk = sk(alpha=0.0, solver="newton-cholesky")
        fits["sklearn"] = (lambda: sk.fit(X, y), linear_eta)
    gl = glum.GeneralizedLinearRegressor(family=glum_family, alpha=0.0)
    fits["glum"] = (lambda: gl.fit(X, y, offset=offset), linear_eta)
    best = interleaved({name: fit for name, (fit, _) in fits.items()}, repeat)
    runs = {
        name: (best[name][0], best[name][2], deviance_of(eta_of(best[name][2])))
        for name, (_, eta_of) in fits.items()
    }
    solvers = [("ours", "cholesky")] + ([("ours observed", "observed")] if case == "gamma" else [])
    memory = {name: peak_memory(ours(solver)) for name, solver in solvers}
    return runs, memory, nbytes(X)


def iterations(model):
    n_iter = getattr(model, "n_iter_", None)
    return int(np.max(n_iter)) if n_iter is not None else -1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000, help="rows of the tall cases")
    parser.add_argument("--cases", nargs="+", default=[*TALL, *WIDE], choices=[*TALL, *WIDE])
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many fits")
    args = parser.parse_args(argv)
    header = (
        f"{'case':<10} {'estimator':<14} {'time s':>8} {'ours/this':>9} {'iter':>5} "
        f"{'rel diff':>13} {'fit mem / X':>12}"
    )
    print(f"tall cases: n_samples={args.n_samples}; wide cases: {WIDE}, alpha={WIDE_ALPHA}")
    print("rel diff: the peer's final deviance (tall) or objective (wide) relative to ours")
    print(header)
    print("-" * len(header))
    summary, passes = [], []
    for case in args.cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if case in WIDE:
                runs, memory, x_bytes, timings = run_wide_case(case, args.repeat)
                passes.append((case, *timings))
            else:
                runs, memory, x_bytes = run_case(case, args.n_samples, args.repeat)
        ours_time, _, ours_value = runs["ours"]
        for name, (seconds, model, value) in runs.items():
            ratio = ours_time / seconds
            rel = (value - ours_value) / abs(ours_value)
            mem = f"{memory[name] / x_bytes:11.1%}" if name in memory else ""
            print(f"{case:<10} {name:<14} {seconds:8.2f} {ratio:9.2f} {iterations(model):5d} "
                  f"{rel:+13.1e} {mem:>12}")  # fmt: skip
            if not name.startswith("ours"):
                summary.append((case, name, ratio, rel))
        print()
    if passes:
        print("one pass of ours (deviance, score, Gram) against one X.T @ X of the same shape")
        print(f"  {'case':<9} {'shape':>15} {'pass s':>7} {'X.T@X s':>8} {'1 thread':>9} "
              f"{'pass / X.T@X':>13}")  # fmt: skip
        for case, one_pass, gram, gram_one in passes:
            shape = "{} x {}".format(*WIDE[case])
            print(f"  {case:<9} {shape:>15} {one_pass:7.3f} {gram:8.3f} {gram_one:9.3f} "
                  f"{one_pass / gram:13.2f}")  # fmt: skip
        print()
    print("targets: tall cases ours/sklearn <= 0.7, ours/glum <= 1.0; wide cases ours/sklearn "
          "<= 0.4, ours/glum <= 0.3; the peer's deviance or objective no lower than ours by more "
          "than 1e-9 relative; memory <= 25% (tall cases)")  # fmt: skip
    for case, name, ratio, rel in summary:
        wide = case in WIDE
        target = (0.4 if wide else 0.7) if name == "sklearn" else (0.3 if wide else 1.0)
        flag = "ok" if ratio <= target and rel >= -1e-9 else "MISSED"
        print(f"  {case:<10} vs {name:<8} time ratio {ratio:5.2f} (<= {target})  "
              f"rel diff {rel:+.1e}  {flag}")  # fmt: skip


if __name__ == "__main__":
    main()
