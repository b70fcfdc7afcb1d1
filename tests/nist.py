"""Reader for the NIST StRD linear-regression files in ``tests/data/nist``.

Each file holds NIST's header (with the line ranges of the certified values and the data), the
certified coefficients with their standard deviations, and the data. The model is read from the
file name: polynomials of one predictor (Norris, Pontius, Filip, Wampler1-5), a line through the
origin (NoInt1, NoInt2) or the six Longley predictors, all with an intercept except NoInt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NIST_DIR = Path(__file__).parent / "data" / "nist"
NAMES = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
         "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]  # fmt: skip
_DEGREE = {"Norris": 1, "Pontius": 2, "NoInt1": 1, "NoInt2": 1, "Filip": 10}


@dataclass
class NistProblem:
    name: str
    X: np.ndarray  # predictors, without the constant column
    y: np.ndarray
    intercept: bool
    coef: np.ndarray  # certified, intercept first when there is one
    std_errors: np.ndarray


def load(name: str) -> NistProblem:
    lines = (NIST_DIR / f"{name}.dat").read_text().splitlines()
    header = "\n".join(lines[:10])
    cert_start, cert_stop = map(int, re.search(r"Certified Values\s+\(lines (\d+) to (\d+)\)",
                                               header).groups())  # fmt: skip
    data_start = int(re.search(r"Data\s+\(lines (\d+) to", header).group(1))
    params = []
    for line in lines[cert_start - 1 : cert_stop]:
        match = re.match(r"\s*B(\d+)\s+(\S+)\s+(\S+)", line)
        if match:
            params.append((float(match.group(2)), float(match.group(3))))
    data = np.array([[float(v) for v in line.split()] for line in lines[data_start - 1 :]
                     if line.strip()])  # fmt: skip
    y, x = data[:, 0], data[:, 1:]
    intercept = not name.startswith("NoInt")
    if name == "Longley":
        X = x
    else:
        degree = _DEGREE.get(name, 5)
        X = x[:, :1] ** np.arange(1, degree + 1)
    coef, se = np.array(params).T
    return NistProblem(name, X, y, intercept, coef, se)


def lre(estimate, certified):
    """Log relative error per entry, McCullough's convention (absolute where certified is 0),
    capped at 15 digits."""
    estimate, certified = np.asarray(estimate, float), np.asarray(certified, float)
    with np.errstate(divide="ignore"):
        err = np.where(certified == 0, np.abs(estimate),
                       np.abs(estimate - certified) / np.abs(certified))  # fmt: skip
        return np.minimum(-np.log10(err), 15.0)
