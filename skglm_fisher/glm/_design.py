"""Row-block views of a design matrix for the Fisher scoring solver.

Every quantity a Fisher scoring pass needs is a sum over rows: the deviance, the score
``Xᵀ r``, the weighted Gram ``Xᵀ diag(w) X``. A design therefore exposes one operation,
:meth:`map_reduce`, which applies a kernel to consecutive row blocks and adds the results. The
kernel sees a block with ``matvec``, ``rmatvec``, ``gram`` and ``dense`` and the matching slices
of the per-row vectors (response, offset, sample weight), so one kernel serves dense arrays,
sparse matrices, one-hot designs and Dask arrays.

Conventions: coefficient vectors handed to a block exclude the intercept; ``gram(w,
intercept=True)`` puts the intercept first. Blocks are small enough (a few MB) that all the
temporaries of a kernel stay in cache and no n×p copy of ``X`` is ever made. Dense and sparse
local designs run blocks on all cores, one thread each with BLAS held to one thread (measured:
1.75× on two cores for a 1e6×50 pass), which also spreads the elementwise work numpy does on one
core; one-hot designs run serially, since ``np.bincount`` holds the GIL for most of its work.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from operator import add

import numpy as np
import scipy.sparse as sp

from skglm_fisher.glm._blas import single_threaded_blas
from skglm_fisher.glm._gram import OneHotStructure, one_hot_structure

__all__ = ["make_design", "LocalDesign", "is_dask_array", "single_threaded_blas"]

#: Bytes of ``X`` in one row block.
BLOCK_BYTES = 1 << 21
#: Below this many stored elements a pass runs on one thread.
PARALLEL_MIN_ELEMENTS = 1 << 21


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class _Block:
    """Rows ``start:stop`` of a local design."""

    def __init__(self, design, start, stop):
        self.design = design
        self.start = start
        self.stop = stop
        self._X = None
        self._other = None

    @property
    def n_rows(self) -> int:
        return self.stop - self.start

    @property
    def X(self):
        if self._X is None:
            self._X = self.design.X[self.start : self.stop]
        return self._X

    @property
    def other(self):
        # The dense non-indicator columns of a one-hot block, extracted once per block.
        if self._other is None:
            self._other = self.design.structure.other_dense(self.design.X, self.start, self.stop)
        return self._other

    def matvec(self, coef):
        """``X_block @ coef`` in float64."""
        structure = self.design.structure
        if structure is not None:
            return structure.matvec(self.design.X, coef, self.start, self.stop, self.other)
        eta = self.X @ coef
        return np.asarray(eta, dtype=np.float64).ravel()

    def rmatvec(self, values):
        """``X_blockᵀ @ values`` in float64."""
        structure = self.design.structure
        if structure is not None:
            return structure.rmatvec(self.design.X, values, self.start, self.stop, self.other)
        if sp.issparse(self.X):
            return np.asarray(self.X.T @ values, dtype=np.float64).ravel()
        return np.asarray(values @ self.X, dtype=np.float64)

    def rmatvec_pair(self, first, second):
        """``(X_blockᵀ first, X_blockᵀ second)``, one read of a dense block for both (the second
        is None where :meth:`gram` does not need it)."""
        if self.design.structure is None and not sp.issparse(self.X):
            both = np.asarray(np.stack([first, second]) @ self.X, dtype=np.float64)
            return both[0], both[1]
        # Sparse and one-hot Grams build their intercept border themselves.
        return self.rmatvec(first), None

    @property
    def fused(self) -> bool:
        """Whether :meth:`score_and_gram` reads the block once (dense float64 blocks)."""
        return (
            self.design.structure is None and self.X.dtype == np.float64 and not sp.issparse(self.X)
        )

    def score_and_gram(self, score, weights, intercept: bool):
        """``(X_blockᵀ score, gram part)`` from one symmetric product.

        The block is scaled into ``B = [sqrt(w) ⊙ X, score / sqrt(w), sqrt(w)]ᵀ`` (a reused
        buffer, rows contiguous) and ``B Bᵀ`` holds the Gram, the score and the intercept border
        at once; the transposed layout is what BLAS multiplies fastest (measured ~20% over
        ``XᵀX`` of the row-major block plus two mat-vecs). Requires ``weights > 0`` wherever
        ``score != 0``, which holds for Fisher weights (both vanish with ``dmu/deta``).
        """
        X = self.X
        rows, p = X.shape
        buffer = self.design._buffer((p + 2, rows))
        root = np.sqrt(weights)
        np.multiply(X.T, root, out=buffer[:p])
        np.divide(score, root, out=buffer[p], where=root > 0)
        buffer[p][root == 0] = 0.0
        buffer[p + 1] = root
        product = buffer @ buffer.T
        gradient = product[:p, p].copy()
        if not intercept:
            return gradient, product[:p, :p].copy()
        gram = np.empty((p + 1, p + 1))
        gram[1:, 1:] = product[:p, :p]
        gram[0, 1:] = gram[1:, 0] = product[:p, p + 1]
        gram[0, 0] = product[p + 1, p + 1]
        return gradient, gram

    def plain_gram(self, scale):
        """``scale · [1, X]ᵀ [1, X]`` (intercept first) without a weighted copy of the block."""
        X = self.X
        if self.design.structure is not None or sp.issparse(X):
            return self.gram(np.full(self.n_rows, scale), True)
        p = X.shape[1]
        gram = np.empty((p + 1, p + 1))
        gram[1:, 1:] = X.T @ X
        gram[0, 1:] = gram[1:, 0] = X.sum(axis=0)
        gram[0, 0] = self.n_rows
        return gram * scale

    def gram(self, weights, intercept: bool, border=None):
        """Summable part of ``[1, X]ᵀ diag(weights) [1, X]``; :meth:`LocalDesign.finish_gram`
        turns a sum of parts into the matrix. Negative weights are allowed. ``border`` is
        ``X_blockᵀ weights`` if already known."""
        structure = self.design.structure
        if structure is not None:
            codes = structure.codes[:, self.start : self.stop]
            return structure.gram_pieces(codes, self.other, weights)
        X = self.X
        p = X.shape[1]
        q = p + intercept
        gram = np.empty((q, q))
        core = gram[intercept:, intercept:]
        if sp.issparse(X):
            core[...] = (X.T @ X.multiply(weights[:, None]).tocsr()).toarray()
        elif np.all(weights >= 0):
            # BLAS syrk-class product of the scaled chunk; float32 chunks stay float32 here.
            scaled = X * np.sqrt(weights).astype(X.dtype)[:, None]
            core[...] = scaled.T @ scaled
        else:
            core[...] = X.T @ (X * weights.astype(X.dtype)[:, None])
        if intercept:
            if border is None:
                border = np.asarray(X.T @ weights, dtype=np.float64).ravel()
            gram[0, 1:] = border
            gram[1:, 0] = border
            gram[0, 0] = weights.sum()
        return gram

    def dense(self):
        """The block as a dense float64 array (for the QR solver)."""
        X = self.X
        X = X.toarray() if sp.issparse(X) else X
        return np.asarray(X, dtype=np.float64)


class LocalDesign:
    """A numpy or scipy.sparse design held in memory.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (n, p)
    y, offset, sample_weight : ndarray of shape (n,) or None
        Per-row vectors sliced along with the blocks.
    n_threads : int, optional
        Threads for a pass; all available cores by default.
    one_hot : bool, default=True
        Look for one-hot blocks in CSR input (:func:`~skglm_fisher.glm._gram.one_hot_structure`).
    """

    def __init__(self, X, y=None, offset=None, sample_weight=None, *, n_threads=None, one_hot=True):
        if sp.issparse(X) and X.format != "csr":
            X = X.tocsr()
        self.X = X
        self.rows = (y, offset, sample_weight)
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.structure: OneHotStructure | None = None
        if sp.issparse(X) and one_hot and self.n_samples >= 1024:
            self.structure = one_hot_structure(X)
        self.n_threads = _cpu_count() if n_threads is None else max(1, int(n_threads))
        if self.structure is not None:
            # np.bincount holds the GIL for much of its work: threads do not pay (measured).
            self.n_threads = 1
        self._bounds = self._block_bounds()

    def _block_bounds(self):
        n = self.n_samples
        if sp.issparse(self.X):
            per_row = max(1.0, self.X.nnz / max(n, 1)) * 12
            rows = 1 << 15 if self.structure is not None else int(BLOCK_BYTES // per_row)
        else:
            rows = BLOCK_BYTES // max(1, self.n_features * self.X.dtype.itemsize)
        rows = int(min(max(rows, 256), 1 << 16))
        return [(s, min(n, s + rows)) for s in range(0, n, rows)] or [(0, 0)]

    @property
    def blocks(self):
        return self._bounds

    def _buffer(self, shape):
        """A scratch array of ``shape`` owned by the calling thread (reused across blocks)."""
        local = self.__dict__.setdefault("_local", threading.local())
        buffer = getattr(local, "buffer", None)
        if buffer is None or buffer.shape != shape:
            buffer = local.buffer = np.empty(shape)
        return buffer

    def with_rows(self, y=None, offset=None, sample_weight=None):
        """A view of the same ``X`` (and its one-hot structure) with other per-row vectors."""
        other = object.__new__(LocalDesign)
        other.__dict__.update(self.__dict__)
        other.rows = (y, offset, sample_weight)
        return other

    def without_columns(self) -> LocalDesign:
        """The same rows with no columns (for the intercept-only model)."""
        return LocalDesign(np.zeros((self.n_samples, 0)), *self.rows, n_threads=self.n_threads)

    def finish_gram(self, part, intercept: bool):
        if self.structure is not None:
            return self.structure.assemble(part, intercept=intercept)
        return part

    def row_totals(self, family) -> tuple[int, float]:
        """``(rows of positive weight, sum of the weights)`` of validated rows."""
        sample_weight = self.rows[2]
        if sample_weight is None:
            return self.n_samples, float(self.n_samples)
        return int(np.count_nonzero(sample_weight > 0)), float(sample_weight.sum())

    def weighted_sums(self) -> tuple[float, float]:
        """``(Σ s·y, Σ s)``."""
        y, _, s = self.rows
        return (float(y.sum()), float(y.size)) if s is None else (float(s @ y), float(s.sum()))

    def _slices(self, start, stop):
        return [None if v is None else v[start:stop] for v in self.rows]

    def _run(self, fn, bounds, args):
        # Kernels check their sums for finiteness; overflow inside them is expected and handled.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            parts = (fn(_Block(self, s, e), *self._slices(s, e), *args) for s, e in bounds)
            return reduce(add, parts)

    def map_reduce(self, fn, *args):
        """``sum(fn(block, y_block, offset_block, weight_block, *args) for each block)``."""
        bounds = self._bounds
        size = self.X.nnz if sp.issparse(self.X) else self.n_samples * self.n_features
        threads = min(self.n_threads, len(bounds))
        if threads <= 1 or size < PARALLEL_MIN_ELEMENTS:
            with single_threaded_blas():
                return self._run(fn, bounds, args)
        groups = [list(g) for g in np.array_split(np.arange(len(bounds)), threads)]
        with single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(self._run, fn, [bounds[i] for i in g], args) for g in groups]
            return reduce(add, [f.result() for f in futures])


def make_design(X, y=None, offset=None, sample_weight=None, *, n_threads=None):
    """The design view of ``X``: a :class:`~skglm_fisher.glm._dask_design.DaskDesign` for Dask
    arrays, else a :class:`LocalDesign`."""
    if is_dask_array(X):
        from skglm_fisher.glm._dask_design import DaskDesign  # it builds on LocalDesign

        return DaskDesign(X, y, offset, sample_weight)
    return LocalDesign(X, y, offset, sample_weight, n_threads=n_threads)
