"""Fit time and log-loss of FisherScoringClassifier against scikit-learn's LogisticRegression.

Every estimator runs in this process on the same data, unpenalised (scikit-learn with
``C=inf``), ours at its default ``tol=1e-8``, scikit-learn at its default ``tol``. Cases:

- ``binary``: ``n × 50`` Gaussian features, logistic outcome; peer ``solver='newton-cholesky'``
  (target: ours ≤ 0.5× its time at the same or lower log-loss);
- ``multinomial``: ``n × 50`` Gaussian features, five classes from a softmax; peer
  ``solver='lbfgs'``, the fastest scikit-learn option there (target: ours ≤ 1.0× at the same or
  lower log-loss, while ours also delivers the covariance of the 204 free coefficients);
  ``--newton`` adds ``solver='newton-cholesky'``, and ``--statsmodels`` statsmodels' ``MNLogit``,
  the peer that also reports standard errors.

Fits are repeated interleaved (ours, peer, ours, ...) so that a slow spell of the shared machine
hits every estimator alike. ``--one-core`` holds every estimator to one core (BLAS to one thread,
and our passes to one thread), which keeps the ratios steadier on a loaded machine, where
multi-threaded BLAS loses much of its time waiting for a busy core. The table reports each
estimator's fastest fit, the spread of its fits (slowest over fastest), our time over the
peer's (from the fastest fits, and the range of the ratios of fits made back to back), the
iterations, and the mean log-loss on the training rows with its difference from ours
(positive: the peer stopped higher).

Usage::

    python benchmarks/bench_classifier.py                     # 1e6 binary, 5e5 multinomial
    python benchmarks/bench_classifier.py --cases multinomial --repeat 5
    python benchmarks/bench_classifier.py --n-binary 100000 --n-multinomial 50000
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from bench_glm import iterations, timed  # the same timing as the GLM benchmark
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from skglm_fisher import FisherScoringClassifier


def binary_case(n, p=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    beta = rng.normal(scale=0.3 / np.sqrt(p), size=p)
    eta = 0.5 + X @ beta
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)


def multinomial_case(n, p=50, n_classes=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    coef = rng.normal(scale=1.0 / np.sqrt(p), size=(n_classes, p))
    logits = X @ coef.T + rng.normal(scale=0.5, size=n_classes)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return X, (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)


class _StatsmodelsMNLogit:
    """statsmodels' MNLogit (Newton) behind a fit/predict_proba facade."""

    def fit(self, X, y):
        import statsmodels.api as sm

        self.result_ = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", disp=0)
        self.n_iter_ = self.result_.mle_retvals["iterations"]
        return self

    def predict_proba(self, X):
        import statsmodels.api as sm

        return self.result_.predict(sm.add_constant(X))


def run_case(case, n, repeat, extra):
    if case == "binary":
        X, y = binary_case(n)
        peers = {"sklearn newton-cholesky": LogisticRegression(C=np.inf, solver="newton-cholesky")}
    else:
        X, y = multinomial_case(n)
        peers = {"sklearn lbfgs": LogisticRegression(C=np.inf, solver="lbfgs")}
        if "newton" in extra:
            newton = LogisticRegression(C=np.inf, solver="newton-cholesky")
            peers["sklearn newton-cholesky"] = newton
        if "statsmodels" in extra:
            peers["statsmodels MNLogit"] = _StatsmodelsMNLogit()
    estimators = {"ours": FisherScoringClassifier(), **peers}
    times = {name: [] for name in estimators}
    models = {}
    for _ in range(repeat):
        for name, estimator in estimators.items():
            models[name], seconds = timed(lambda e=estimator: e.fit(X, y))
            times[name].append(seconds)
    losses = {name: log_loss(y, model.predict_proba(X)) for name, model in models.items()}
    return times, models, losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-binary", type=int, default=1_000_000)
    parser.add_argument("--n-multinomial", type=int, default=500_000)
    parser.add_argument("--cases", nargs="+", default=["binary", "multinomial"],
                        choices=["binary", "multinomial"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="report the best of this many fits")
    parser.add_argument(
        "--newton",
        action="store_true",
        help="add LogisticRegression(solver='newton-cholesky') to multinomial",
    )
    parser.add_argument("--one-core", action="store_true",
                        help="one BLAS thread and one thread for our passes")  # fmt: skip
    parser.add_argument("--statsmodels", action="store_true",
                        help="add statsmodels' MNLogit to multinomial")  # fmt: skip
    args = parser.parse_args(argv)
    if args.one_core:
        from threadpoolctl import threadpool_limits

        from skglm_fisher.glm import _design

        threadpool_limits(1)
        _design._cpu_count = lambda: 1  # the threads of our passes
        print("one core: BLAS and our passes on one thread")
    extra = {name for name in ("newton", "statsmodels") if getattr(args, name)}
    targets = {"binary": 0.5, "multinomial": 1.0}
    header = (
        f"{'case':<20} {'estimator':<24} {'best s':>7} {'spread':>7} {'ours/this':>9} "
        f"{'ratio range':>12} {'iter':>5} {'log-loss':>12} {'- ours':>9}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for case in args.cases:
        n = args.n_binary if case == "binary" else args.n_multinomial
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times, models, losses = run_case(case, n, args.repeat, extra)
        ours = np.asarray(times["ours"])
        for name, seconds in times.items():
            seconds = np.asarray(seconds)
            ratio = ours.min() / seconds.min()
            pairs = ours / seconds
            print(
                f"{f'{case} n={n}':<20} {name:<24} {seconds.min():7.2f} "
                f"{seconds.max() / seconds.min():7.2f} {ratio:9.2f} "
                f"{f'{pairs.min():.2f}-{pairs.max():.2f}':>12} {iterations(models[name]):5d} "
                f"{losses[name]:12.9f} {losses[name] - losses['ours']:+9.1e}"
            )
            if name != "ours" and name in ("sklearn newton-cholesky", "sklearn lbfgs"):
                if case == "binary" or name == "sklearn lbfgs":
                    summary.append((case, name, ratio, losses[name] - losses["ours"]))
        print()
    print("targets: binary ours/newton-cholesky <= 0.5, multinomial ours/lbfgs <= 1.0, at the "
          "same or lower log-loss")  # fmt: skip
    for case, name, ratio, gap in summary:
        flag = "ok" if ratio <= targets[case] and gap >= -1e-9 else "MISSED"
        print(f"  {case:<12} vs {name:<24} time ratio {ratio:5.2f} (<= {targets[case]})  "
              f"log-loss {gap:+.1e}  {flag}")  # fmt: skip


if __name__ == "__main__":
    main()
