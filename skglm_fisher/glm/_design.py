"""Row-block views of a design matrix for the Fisher scoring solver.

Every quantity a Fisher scoring pass needs is a sum over rows: the deviance, the score
``Xᵀ r``, the weighted Gram ``Xᵀ diag(w) X``. A design therefore exposes one operation,
:meth:`map_reduce`, which applies a kernel to consecutive row blocks and adds the results. The
kernel sees a block with ``matvec``, ``rmatvec``, ``gram``, ``score_and_gram`` and ``dense`` and
the matching slices of the per-row vectors (response, offset, sample weight), so one kernel
serves dense arrays, sparse matrices, one-hot designs and Dask arrays.

Conventions: coefficient vectors handed to a block exclude the intercept; ``gram(w,
intercept=True)`` puts the intercept first. No n×p copy of ``X`` is ever made: a dense block
is scaled into a per-thread workspace of at most a block's size.

How a local pass is run (measured on two cores, see ``benchmarks/bench_glm.py``):

- Dense and sparse designs run blocks on all cores, one thread each with BLAS held to one
  thread. numpy releases the GIL in its products, so two threads each running a one-thread
  ``syrk`` on half the rows take half the time of one (0.45 s against 0.89 s for a
  20,000×1,500 Gram), which is also no slower than one call with two BLAS threads (0.48 s) and
  degrades less when other processes take a core; the threads also share the elementwise work
  numpy does on one core (1.75× for a 1e6×50 pass). One-hot designs run serially, since
  ``np.bincount`` holds the GIL for most of its work.
- Blocks hold :data:`BLOCK_BYTES` of ``X`` but at least :data:`MIN_BLOCK_ROWS` rows: the cost
  of a one-thread ``syrk`` per row falls until about 2,000 rows (at p = 1,500, 256-row blocks
  cost 30% more per row than 2,048-row ones, 512-row blocks 11%), and every block also writes a
  p×p product. Blocks are then evened out so that each thread gets the same number.
- Each thread adds its blocks' sums in place (``+=``), so a pass allocates one p×p total per
  thread, not one per block.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import reduce
from operator import iadd

import numpy as np
import scipy.sparse as sp

from skglm_fisher.glm._blas import single_threaded_blas
from skglm_fisher.glm._gram import OneHotStructure, Workspace, dense_block_gram, one_hot_structure

__all__ = ["make_design", "LocalDesign", "is_dask_array", "single_threaded_blas"]

#: Bytes of ``X`` in one row block (tall-narrow designs: the block's temporaries stay in cache).
BLOCK_BYTES = 1 << 21
#: Fewest rows in a dense block (wide designs: a ``syrk`` runs at full speed from here on).
MIN_BLOCK_ROWS = 2048
#: Most rows in a block.
MAX_BLOCK_ROWS = 1 << 16
#: A pass runs on one thread below this many stored elements...
PARALLEL_MIN_ELEMENTS = 1 << 21
#: ...unless its Gram (``elements × columns`` multiply-adds) reaches this much work.
PARALLEL_MIN_GRAM_WORK = 1 << 27
#: Dense designs with at least this many columns take the wide steps of ``IRLSSolver``: most
#: steps are quasi-Newton chord steps (passes without a Gram), and for float64 data the Gram of
#: a step is multiplied in float32 (about 0.57-0.71 of the float64 time at 20,000 × 1,500 to
#: 200,000 × 200, measured on two cores). Below ~100 columns a pass is bound by memory, not by
#: the product.
WIDE_MIN_COLUMNS = 100
#: ...and a Gram of at least this many multiply-adds (rows × columns²). Below it a fit takes
#: tens of milliseconds either way (Poisson, measured from 600 × 100 to 10,000 × 150: within
#: 10-30% of each other, in both directions); from 50,000 × 100 and 20,000 × 200 on, the wide
#: steps were 12-48% faster for float64 data; on float32 data, 1.7 times faster than Fisher
#: scoring at 20,000 × 1,500 and 1.2-1.8 times at 100,000 × 500.
WIDE_MIN_WORK = 1 << 28


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def wide_steps_pay(dense: bool, n_samples: int, n_features: int) -> bool:
    """Whether a design's information costs far more than its score: dense rows of
    :data:`WIDE_MIN_COLUMNS` columns or more, with a Gram of at least :data:`WIDE_MIN_WORK`
    multiply-adds (sparse and one-hot Grams are not a dense product)."""
    wide = n_features >= WIDE_MIN_COLUMNS
    return dense and wide and n_samples * n_features**2 >= WIDE_MIN_WORK


def single_precision_pays(dense: bool, dtype, n_samples: int, n_features: int) -> bool:
    """Whether a design's step Grams may be multiplied in float32: a wide design
    (:func:`wide_steps_pay`) of float64 data (float32 data multiply in float32 anyway)."""
    return dtype == np.float64 and wide_steps_pay(dense, n_samples, n_features)


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

    @property
    def _dense(self) -> bool:
        return self.design._dense

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

    def score_and_gram(self, score, weights, intercept: bool, precision=None):
        """``(X_blockᵀ score, gram part)``; see :meth:`gram` for the part and ``precision``."""
        if self._dense:
            gram, gradient = dense_block_gram(self.X, weights, intercept=intercept, score=score,
                                              workspace=self.design._workspace(),
                                              precision=precision)  # fmt: skip
            return gradient, gram
        return self.rmatvec(score), self.gram(weights, intercept)

    def plain_gram(self, scale, precision=None):
        """``scale · [1, X]ᵀ [1, X]`` (intercept first) without a weighted copy of the block
        (``Xᵀ X`` in ``precision`` when given, see :meth:`gram`)."""
        X = self.X
        if not self._dense:
            return self.gram(np.full(self.n_rows, scale), True)
        p = X.shape[1]
        gram = np.empty((p + 1, p + 1))
        if precision is not None and X.dtype != precision:
            rows = self.design._workspace().array(X.shape, precision)
            np.copyto(rows, X, casting="same_kind")
            gram[1:, 1:] = rows.T @ rows
        else:
            gram[1:, 1:] = X.T @ X
        gram[0, 1:] = gram[1:, 0] = X.sum(axis=0)
        gram[0, 0] = self.n_rows
        gram *= scale
        return gram

    def gram(self, weights, intercept: bool, precision=None):
        """Summable part of ``[1, X]ᵀ diag(weights) [1, X]``; :meth:`LocalDesign.finish_gram`
        turns a sum of parts into the matrix. Negative weights are allowed. Dense float32
        blocks compute ``Xᵀ diag(w) X`` in float32 and the rest in float64; ``precision``
        float32 does the same for dense float64 blocks (other blocks ignore it)."""
        structure = self.design.structure
        if structure is not None:
            codes = structure.codes[:, self.start : self.stop]
            return structure.gram_pieces(codes, self.other, weights)
        X = self.X
        if self._dense:
            return dense_block_gram(X, weights, intercept=intercept,
                                    workspace=self.design._workspace(),
                                    precision=precision)[0]  # fmt: skip
        p = X.shape[1]
        q = p + intercept
        gram = np.empty((q, q))
        gram[intercept:, intercept:] = (X.T @ X.multiply(weights[:, None]).tocsr()).toarray()
        if intercept:
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

    @property
    def _parallel(self) -> bool:
        """Whether a pass is worth spreading over threads."""
        if self.n_threads <= 1:
            return False
        if sp.issparse(self.X):
            return self.X.nnz >= PARALLEL_MIN_ELEMENTS
        size = self.n_samples * self.n_features
        return size >= PARALLEL_MIN_ELEMENTS or size * self.n_features >= PARALLEL_MIN_GRAM_WORK

    def _block_bounds(self):
        n = self.n_samples
        if sp.issparse(self.X):
            per_row = max(1.0, self.X.nnz / max(n, 1)) * 12
            rows = 1 << 15 if self.structure is not None else int(BLOCK_BYTES // per_row)
            rows = max(rows, 256)
        else:
            rows = BLOCK_BYTES // max(1, self.n_features * self.X.dtype.itemsize)
            rows = max(rows, MIN_BLOCK_ROWS)
        n_blocks = math.ceil(n / min(rows, MAX_BLOCK_ROWS))
        if self._parallel:
            # Equal shares for the threads (a pass waits for the slowest one).
            n_blocks = math.ceil(max(n_blocks, self.n_threads) / self.n_threads) * self.n_threads
        n_blocks = max(1, min(n_blocks, n))
        edges = np.linspace(0, n, n_blocks + 1).round().astype(int).tolist()
        return list(zip(edges[:-1], edges[1:], strict=True))

    @property
    def blocks(self):
        return self._bounds

    def _workspace(self) -> Workspace:
        """The calling thread's :class:`~skglm_fisher.glm._gram.Workspace` (reused across
        blocks)."""
        local = self.__dict__.setdefault("_local", threading.local())
        workspace = getattr(local, "workspace", None)
        if workspace is None:
            workspace = local.workspace = Workspace()
        return workspace

    @property
    def _dense(self) -> bool:
        return self.structure is None and not sp.issparse(self.X)

    @property
    def wide_steps_pay(self) -> bool:
        """Whether the solver should take chord steps (see :func:`wide_steps_pay`)."""
        return wide_steps_pay(self._dense, self.n_samples, self.n_features)

    @property
    def single_precision_gram_pays(self) -> bool:
        """Whether a float32 Gram would be markedly faster (see :func:`single_precision_pays`)."""
        return single_precision_pays(self._dense, self.X.dtype, self.n_samples, self.n_features)

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
        return np.ascontiguousarray(part)

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
        """The sum of ``fn`` over ``bounds``, added into the first block's result with ``+=``
        (in place for float arrays and :class:`~skglm_fisher.glm._passes.PassSums`; a kernel
        returns new objects, never views of data it does not own)."""
        # Kernels check their sums for finiteness; overflow inside them is expected and handled.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            total = None
            for s, e in bounds:
                part = fn(_Block(self, s, e), *self._slices(s, e), *args)
                if total is None:
                    total = part
                else:
                    total += part
            return total

    def map_reduce(self, fn, *args):
        """``sum(fn(block, y_block, offset_block, weight_block, *args) for each block)``.

        Threads take equal runs of consecutive blocks, so the sum is the same from one call to
        the next."""
        bounds = self._bounds
        threads = min(self.n_threads, len(bounds))
        if threads <= 1 or not self._parallel:
            with single_threaded_blas():
                return self._run(fn, bounds, args)
        groups = [list(g) for g in np.array_split(np.arange(len(bounds)), threads)]
        with single_threaded_blas(), ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(self._run, fn, [bounds[i] for i in g], args) for g in groups]
            # Each thread's total is its own: add the others into the first in place.
            return reduce(iadd, [f.result() for f in futures])


def make_design(X, y=None, offset=None, sample_weight=None, *, n_threads=None):
    """The design view of ``X``: a :class:`~skglm_fisher.glm._dask_design.DaskDesign` for Dask
    arrays, else a :class:`LocalDesign`."""
    if is_dask_array(X):
        from skglm_fisher.glm._dask_design import DaskDesign  # it builds on LocalDesign

        return DaskDesign(X, y, offset, sample_weight)
    return LocalDesign(X, y, offset, sample_weight, n_threads=n_threads)
