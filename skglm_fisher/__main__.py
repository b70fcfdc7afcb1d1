"""Demo: ``python -m skglm_fisher`` fits a Poisson GLM by Fisher scoring on synthetic data."""

import numpy as np

from skglm_fisher import __version__, glm


def main() -> None:
    rng = np.random.default_rng(42)
    n_samples = 10_000
    true_coef = np.array([0.5, -0.8, 0.3, 0.0])
    X = np.column_stack([np.ones(n_samples), rng.normal(size=(n_samples, 3))])
    y = rng.poisson(np.exp(X @ true_coef)).astype(float)

    coef, _, converged, iterations = glm.fit(X, y, glm.Poisson())

    print(f"skglm_fisher {__version__}: Poisson GLM by Fisher scoring, n = {n_samples}")
    print(f"converged: {converged} after {iterations} iterations")
    print(f"{'term':>10} {'truth':>8} {'estimate':>9}")
    for name, truth, estimate in zip(["intercept", "x1", "x2", "x3"], true_coef, coef, strict=True):
        print(f"{name:>10} {truth:8.3f} {estimate:9.4f}")


if __name__ == "__main__":
    main()
