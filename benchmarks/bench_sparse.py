"""Fit time of L1 and elastic-net GLMs: FisherScoringGLM and regularization_path against glum.

Data: ``n × 50`` dense Gaussian features, 20 of them informative, an intercept; Poisson counts
or logistic labels. Both libraries minimise the same objective,

    1/(2n) · Σ_i unit_deviance_i + alpha · (l1_ratio · ||coef||₁ + (1 - l1_ratio)/2 · ||coef||²),

at their default tolerances, in this process, on the same arrays. Cases:

- ``single``: one fit at ``alpha=0.01``, Poisson and logistic, ``l1_ratio`` 0.5 and 1.0
  (glum's ``GeneralizedLinearRegressor``; ours ``FisherScoringGLM(l1_ratio=...)``);
- ``path``: the Poisson lasso path of 50 alphas from ``alpha_max`` down to
  ``1e-3 · alpha_max`` (glum's ``alpha_search=True``; ours ``glm.regularization_path``);
- ``onehot``: single Poisson fits at ``alpha=1e-4`` on ``bench_glm.py``'s insurance-like CSR
  design (six one-hot categoricals, four numeric columns, a log-exposure offset).

Fits of the two libraries alternate, ``--repeat`` times; the table shows each one's best time
and the spread (slowest over fastest: the machine may be shared), our best over glum's, and
the objective of each answer relative to the other's (``(glum - ours) / ours``: positive when
glum stopped higher). For the path, the objective is compared at every alpha and the largest
difference either way is shown.

Usage::

    python benchmarks/bench_sparse.py                       # 500,000 rows, both cases
    python benchmarks/bench_sparse.py --n-samples 100000 --cases single --repeat 3
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from bench_glm import interleaved  # the script next to this one

from skglm_fisher import FisherScoringGLM, glm

N_FEATURES, N_INFORMATIVE, ALPHA = 50, 20, 0.01


def make_data(family, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_FEATURES))
    beta = np.zeros(N_FEATURES)
    beta[:N_INFORMATIVE] = rng.normal(scale=0.2, size=N_INFORMATIVE)
    eta = 0.5 + X @ beta
    if family == "poisson":
        return X, rng.poisson(np.exp(eta)).astype(float)
    return X, (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)


def objective(family, X, y, coef, intercept, alpha, l1_ratio, offset=None):
    model = glm.Poisson() if family == "poisson" else glm.Bernoulli()
    eta = X @ coef + intercept + (0.0 if offset is None else offset)
    deviance = model.deviance(y, model.mean(eta))
    penalty = l1_ratio * np.abs(coef).sum() + (1 - l1_ratio) / 2 * coef @ coef
    return deviance / (2 * len(y)) + alpha * penalty


def single_case(family, l1_ratio, X, y, repeat, offset=None, alpha=ALPHA):
    import glum

    glum_family = "poisson" if family == "poisson" else "binomial"
    ours_family = "poisson" if family == "poisson" else "bernoulli"
    fits = {
        "ours": lambda: FisherScoringGLM(family=ours_family, alpha=alpha, l1_ratio=l1_ratio).fit(
            X, y, offset=offset
        ),
        "glum": lambda: glum.GeneralizedLinearRegressor(
            family=glum_family, alpha=alpha, l1_ratio=l1_ratio
        ).fit(X, y, offset=offset),
    }
    runs = interleaved(fits, repeat)
    values = {
        name: objective(family, X, y, model.coef_, model.intercept_, alpha, l1_ratio, offset)
        for name, (_, _, model) in runs.items()
    }
    support = {name: int(np.count_nonzero(model.coef_)) for name, (_, _, model) in runs.items()}
    same_support = np.array_equal(runs["ours"][2].coef_ == 0, runs["glum"][2].coef_ == 0)
    return runs, (values["glum"] - values["ours"]) / values["ours"], support, same_support


def path_case(X, y, repeat, n_alphas=50, min_alpha_ratio=1e-3):
    import glum

    fits = {
        "ours": lambda: glm.regularization_path(X, y, glm.Poisson(), l1_ratio=1.0,
                                                n_alphas=n_alphas,
                                                min_alpha_ratio=min_alpha_ratio),  # fmt: skip
        "glum": lambda: glum.GeneralizedLinearRegressor(
            family="poisson", l1_ratio=1.0, alpha_search=True, n_alphas=n_alphas,
            min_alpha_ratio=min_alpha_ratio,
        ).fit(X, y),  # fmt: skip
    }
    runs = interleaved(fits, repeat)
    path, model = runs["ours"][2], runs["glum"][2]
    differences = []
    for k, alpha in enumerate(path.alphas):
        ours = objective("poisson", X, y, path.coefs[k], path.intercepts[k], alpha, 1.0)
        theirs = objective("poisson", X, y, model.coef_path_[k], model.intercept_path_[k],
                           alpha, 1.0)  # fmt: skip
        differences.append((theirs - ours) / ours)
    same_grid = np.allclose(path.alphas, model._alphas) if hasattr(model, "_alphas") else None
    return runs, np.array(differences), int(path.n_iter.sum()), same_grid


def report_single(name, runs, rel, support, same):
    """Print one single-fit row; return its summary entry (name, ratio, target, objective ok)."""
    (t_ours, s_ours, _), (t_glum, s_glum, _) = runs["ours"], runs["glum"]
    print(f"{name:<26} {t_ours:7.2f} {s_ours:6.2f} {t_glum:7.2f} {s_glum:6.2f} "
          f"{t_ours / t_glum:9.2f} {rel:+27.1e}   non-zero {support['ours']}/"
          f"{support['glum']}{'' if same else ' (supports differ)'}")  # fmt: skip
    return name, t_ours / t_glum, 0.7, rel >= -1e-12


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=500_000)
    parser.add_argument("--cases", nargs="+", default=["single", "path", "onehot"],
                        choices=["single", "path", "onehot"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="fits per library (best is shown)")
    args = parser.parse_args(argv)
    print(f"n_samples={args.n_samples}, n_features={N_FEATURES} ({N_INFORMATIVE} informative)")
    header = (
        f"{'case':<26} {'ours s':>7} {'spread':>6} {'glum s':>7} {'spread':>6} "
        f"{'ours/glum':>9} {'objective (glum-ours)/ours':>27}"
    )
    print(header)
    print("-" * len(header))
    summary = []
    data = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glum's line-search notices
        if "single" in args.cases:
            for family in ("poisson", "logistic"):
                data[family] = data.get(family) or make_data(family, args.n_samples)
                for l1_ratio in (0.5, 1.0):
                    result = single_case(family, l1_ratio, *data[family], args.repeat)
                    summary.append(report_single(f"{family} l1_ratio={l1_ratio}", *result))
        if "onehot" in args.cases:
            from bench_glm import insurance_case  # the script next to this one

            X, y, offset = insurance_case(args.n_samples)
            for l1_ratio in (0.5, 1.0):
                result = single_case("poisson", l1_ratio, X, y, args.repeat, offset=offset,
                                     alpha=1e-4)  # fmt: skip
                summary.append(report_single(f"one-hot l1_ratio={l1_ratio}", *result))
        if "path" in args.cases:
            data["poisson"] = data.get("poisson") or make_data("poisson", args.n_samples)
            runs, differences, passes, same_grid = path_case(*data["poisson"], args.repeat)
            (t_ours, s_ours, _), (t_glum, s_glum, _) = runs["ours"], runs["glum"]
            name = "poisson lasso path, 50"
            worst = differences[np.argmax(np.abs(differences))]
            print(f"{name:<26} {t_ours:7.2f} {s_ours:6.2f} {t_glum:7.2f} {s_glum:6.2f} "
                  f"{t_ours / t_glum:9.2f} {worst:+27.1e}   largest over the path; "
                  f"{passes} passes over the rows"
                  + ("" if same_grid in (None, True) else "; grids differ"))  # fmt: skip
            summary.append((name, t_ours / t_glum, 0.5, True))
    print()
    print("targets: single fits <= 0.7 x glum's time at an objective no worse than glum's; "
          "path <= 0.5 x glum's time")  # fmt: skip
    for name, ratio, target, objective_ok in summary:
        flag = "ok" if ratio <= target and objective_ok else "MISSED"
        print(f"  {name:<26} time ratio {ratio:5.2f} (<= {target})  {flag}")


if __name__ == "__main__":
    main()
