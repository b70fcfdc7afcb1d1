"""Fit time, deviance and memory of FisherScoringGLM against scikit-learn and glum.

Every estimator runs in this process on the same data, unpenalised, at its default tolerance:
scikit-learn with ``solver='newton-cholesky'``, glum's ``GeneralizedLinearRegressor`` and ours
(``solver='cholesky'``; for the Gamma case also ``'observed'``). Cases:

- ``poisson``, ``gamma`` (log link), ``logistic``: ``n × 50`` dense Gaussian features;
- ``insurance``: an insurance-like CSR design, six one-hot categoricals (5 to 100 levels, first
  level dropped) and four numeric columns, Poisson counts with a log-exposure offset
  (scikit-learn has no offset: it fits the rate ``y / exposure`` weighted by exposure, the same
  likelihood).

The table reports seconds, our time over each peer's, iterations, the relative difference of
the final deviances (``(peer - ours) / ours``: positive when the peer stopped at a higher
deviance), and the peak memory ``fit`` adds (tracemalloc, in a separate untimed fit)
as a fraction of the size of ``X``.

Usage::

    python benchmarks/bench_glm.py                      # 1,000,000 rows, every case
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
    # Repeats are interleaved (ours, sklearn, glum, ours, ...) so that a slow spell of the
    # machine hits every estimator alike; each reports its fastest fit.
    times = {name: [] for name in fits}
    models = {}
    for _ in range(repeat):
        for name, (fit, _) in fits.items():
            models[name], seconds = timed(fit)
            times[name].append(seconds)
    runs = {
        name: (min(times[name]), models[name], deviance_of(eta_of(models[name])))
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
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--cases", nargs="+", default=["poisson", "gamma", "logistic", "insurance"],
                        choices=["poisson", "gamma", "logistic", "insurance"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many fits")
    args = parser.parse_args(argv)
    header = (
        f"{'case':<10} {'estimator':<14} {'time s':>8} {'ours/this':>9} {'iter':>5} "
        f"{'dev rel diff':>13} {'fit mem / X':>12}"
    )
    print(f"n_samples={args.n_samples}")
    print(header)
    print("-" * len(header))
    summary = []
    for case in args.cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs, memory, x_bytes = run_case(case, args.n_samples, args.repeat)
        ours_time, _, ours_dev = runs["ours"]
        for name, (seconds, model, dev) in runs.items():
            ratio = ours_time / seconds
            rel = (dev - ours_dev) / abs(ours_dev)
            mem = f"{memory[name] / x_bytes:11.1%}" if name in memory else ""
            print(f"{case:<10} {name:<14} {seconds:8.2f} {ratio:9.2f} {iterations(model):5d} "
                  f"{rel:+13.1e} {mem:>12}")  # fmt: skip
            if not name.startswith("ours"):
                summary.append((case, name, ratio, rel))
        print()
    print("targets: ours/sklearn <= 0.7, ours/glum <= 1.0, our deviance within 1e-9 of theirs "
          "(or lower), memory <= 25%")  # fmt: skip
    for case, name, ratio, rel in summary:
        target = 0.7 if name == "sklearn" else 1.0
        flag = "ok" if ratio <= target and rel >= -1e-9 else "MISSED"
        print(f"  {case:<10} vs {name:<8} time ratio {ratio:5.2f} (<= {target})  "
              f"deviance {rel:+.1e}  {flag}")  # fmt: skip


if __name__ == "__main__":
    main()
