"""FisherScoringGLM on Dask arrays against dask-ml, on a local cluster of worker processes.

The same persisted Dask array (row blocks on the workers) is fitted by both libraries with
Newton's method; the script prints the fit times, their ratio, the mean negative
log-likelihood each reaches, the time per Fisher scoring iteration next to the in-memory fit's,
and the number of passes (round trips) ours made.

    python benchmarks/bench_dask.py --n-samples 2000000 --workers 2

Needs the ``bench`` extra (dask-ml, distributed).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def _mean_nll(family, X, y, coef, intercept):
    eta = X @ coef + intercept
    if family == "bernoulli":
        return float(np.mean(np.logaddexp(0.0, eta) - y * eta))
    return float(np.mean(np.exp(eta) - y * eta))  # Poisson, up to log(y!)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=2_000_000)
    parser.add_argument("--n-features", type=int, default=50)
    parser.add_argument("--n-blocks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=["bernoulli", "poisson"])
    args = parser.parse_args()

    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait
    from dask_ml.linear_model import LogisticRegression, PoissonRegression

    import skglm_fisher.glm._dask_design as dask_design
    from skglm_fisher import FisherScoringGLM

    n, p = args.n_samples, args.n_features
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)  # fmt: skip
    client = Client(cluster)
    rng = np.random.default_rng(0)
    beta = rng.normal(scale=0.5, size=p)
    state = da.random.RandomState(0)
    X = (state.normal(size=(n, p), chunks=(n // args.n_blocks, p)) / np.sqrt(p)).persist()
    eta = 0.3 + X @ beta
    targets = {
        "bernoulli": (state.random_sample(n, chunks=n // args.n_blocks)
                      < 1 / (1 + da.exp(-eta))).astype(float),
        "poisson": state.poisson(da.exp(eta - 0.5)).astype(float),
    }  # fmt: skip
    passes = []
    original = dask_design.DaskDesign.map_reduce

    def counted(self, fn, *fn_args):
        passes.append(fn.__name__)
        return original(self, fn, *fn_args)

    dask_design.DaskDesign.map_reduce = counted
    print(f"n={n} p={p} blocks={args.n_blocks} workers={args.workers}")
    print(f"{'case':10s} {'ours s':>8s} {'dask-ml s':>10s} {'ratio':>6s} {'ours nll':>12s} "
          f"{'dask-ml nll':>12s} {'passes':>6s} {'s/iter':>7s} {'memory s/iter':>13s}")  # fmt: skip
    timed = {}
    for case in args.cases:
        y = targets[case].persist()
        wait([X, y])
        ours_times, theirs_times = [], []
        for _ in range(args.repeat):
            passes.clear()
            start = time.perf_counter()
            ours = FisherScoringGLM(family=case, tol=1e-8).fit(X, y)
            ours_times.append(time.perf_counter() - start)
            peer = LogisticRegression if case == "bernoulli" else PoissonRegression
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                theirs = peer(solver="newton", C=1e12, tol=1e-8, max_iter=100).fit(X, y)
                theirs_times.append(time.perf_counter() - start)
        timed[case] = (y, ours, theirs, min(ours_times), min(theirs_times), len(passes))
    # Gathering X to the client can leave all of its blocks on one worker (and halve the speed
    # of every later fit), so the in-memory comparison comes after all the cluster timings.
    Xn = X.compute()
    for case, (y, ours, theirs, best_ours, best_theirs, n_passes) in timed.items():
        yn = y.compute()
        start = time.perf_counter()
        in_memory = FisherScoringGLM(family=case, tol=1e-8).fit(Xn, yn)
        memory_time = time.perf_counter() - start
        ours_nll = _mean_nll(case, Xn, yn, ours.coef_, ours.intercept_)
        theirs_nll = _mean_nll(case, Xn, yn, np.ravel(theirs.coef_), float(theirs.intercept_))
        print(f"{case:10s} {best_ours:8.2f} {best_theirs:10.2f} {best_ours / best_theirs:6.2f} "
              f"{ours_nll:12.8f} {theirs_nll:12.8f} {n_passes:6d} "
              f"{best_ours / max(ours.n_iter_, 1):7.2f} "
              f"{memory_time / max(in_memory.n_iter_, 1):13.2f}")  # fmt: skip
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
