"""Reference elastic-net fits by glum, for tests/test_l1_estimator.py.

Run from the repository root with glum installed (``pip install glum``)::

    python tests/data/glum/make_reference.py

Each ``<case>.npz`` holds the inputs (``X`` dense, or ``X_data``/``X_indices``/``X_indptr``/
``X_shape`` for a CSR design, or neither when the case uses the dense design saved once in
``dense_X.npz``; ``y``, ``sample_weight``, ``offset``, ``penalty_factor``, ``alpha``,
``l1_ratio``, ``family``) and glum's answer (``coef``, ``intercept``) for the objective

    1/(2·Σs) · Σ_i s_i · unit_deviance_i
        + alpha · (l1_ratio · Σ_j pf_j |coef_j| + (1 - l1_ratio)/2 · Σ_j pf_j² coef_j²)

(glum's ``P1 = pf``, ``P2 = pf²``), fitted with ``gradient_tol=1e-12``.
"""

import json
from pathlib import Path


def cases():
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(20240601)
    out = {}
    n, p = 600, 20
    X = rng.standard_normal((n, p))
    X[:, 1:] += 0.4 * X[:, :-1]  # correlated neighbours
    beta = np.zeros(p)
    beta[:7] = [0.5, -0.4, 0.3, 0.25, -0.2, 0.15, 0.1]
    eta = 0.2 + X @ beta
    y_poisson = rng.poisson(np.exp(eta)).astype(float)
    y_logistic = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    weights = rng.uniform(0.2, 3.0, n)
    offset = np.log(rng.uniform(0.5, 2.0, n))
    pf = rng.uniform(0.5, 2.0, p)
    pf[3] = 0.0  # one unpenalised feature
    for family, y in (("poisson", y_poisson), ("binomial", y_logistic)):
        for ratio in (0.5, 1.0):
            base = {"X": X, "y": y, "family": family, "alpha": 0.02, "l1_ratio": ratio}
            out[f"{family}_{ratio}_plain"] = dict(base)
            out[f"{family}_{ratio}_weighted"] = dict(
                base, sample_weight=weights, offset=offset, penalty_factor=pf, alpha=0.01
            )
    # A one-hot design (three categoricals, first level dropped) and two numeric columns.
    n = 1500
    blocks, eta = [], np.full(n, -0.5)
    for levels in (5, 8, 12):
        codes = rng.integers(0, levels, n)
        eta += rng.normal(scale=0.4, size=levels)[codes]
        rows = np.flatnonzero(codes > 0)
        blocks.append(sp.csr_matrix((np.ones(rows.size), (rows, codes[rows] - 1)),
                                    shape=(n, levels - 1)))
    numeric = rng.standard_normal((n, 2))
    eta += numeric @ [0.3, 0.0]
    X = sp.hstack(blocks + [sp.csr_matrix(numeric)], format="csr")
    X.sort_indices()
    exposure = rng.uniform(0.2, 1.0, n)
    y = rng.poisson(exposure * np.exp(eta)).astype(float)
    out["poisson_1.0_onehot"] = {"X": X, "y": y, "offset": np.log(exposure),
                                 "family": "poisson", "alpha": 0.002, "l1_ratio": 1.0}
    return out


def main():
    import glum
    import numpy as np
    import scipy.sparse as sp

    here = Path(__file__).parent
    index = {}
    all_cases = cases()
    dense_X = all_cases["poisson_0.5_plain"]["X"]
    np.savez_compressed(here / "dense_X.npz", X=dense_X)
    for name, case in all_cases.items():
        X = case["X"]
        pf = case.get("penalty_factor", np.ones(X.shape[1]))
        model = glum.GeneralizedLinearRegressor(
            family=case["family"], alpha=case["alpha"], l1_ratio=case["l1_ratio"], P1=pf,
            P2=pf**2, gradient_tol=1e-12, max_iter=1000,
        )
        model.fit(X, case["y"], sample_weight=case.get("sample_weight"),
                  offset=case.get("offset"))
        arrays = {k: v for k, v in case.items() if k != "X"}
        arrays["penalty_factor"] = pf
        if sp.issparse(X):
            arrays.update(X_data=X.data, X_indices=X.indices, X_indptr=X.indptr,
                          X_shape=np.array(X.shape))
        elif X is not dense_X:
            arrays["X"] = X
        arrays.update(coef=model.coef_, intercept=model.intercept_, n_iter=model.n_iter_)
        np.savez_compressed(here / f"{name}.npz", **arrays)
        index[name] = {"family": case["family"], "alpha": case["alpha"],
                       "l1_ratio": case["l1_ratio"], "n_nonzero": int(np.count_nonzero(model.coef_)),
                       "glum": glum.__version__}
    (here / "INDEX.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
