"""Designs held in Dask arrays: every pass over the rows is one round trip to the workers.

A :class:`DaskDesign` persists its row blocks once (on the workers of a ``dask.distributed``
cluster, or in memory with the default scheduler) and runs each pass as one task per block
followed by a sum of the small results (Grams, scores, deviances: a few KiB per block), so
``X`` never leaves its workers. Inside a block the pass runs exactly as on an in-memory design
(:class:`~skglm_fisher.glm._design.LocalDesign`, one thread), so a Dask fit equals the
in-memory fit to rounding. Validation and the weighted sums the start needs come back from one
first pass.
"""

from __future__ import annotations

from functools import reduce
from operator import iadd

import numpy as np
import scipy.sparse as sp

from skglm_fisher.glm._design import LocalDesign, single_precision_pays, wide_steps_pay

__all__ = ["DaskDesign"]


def _block_apply(fn, X, y, offset, sample_weight, args):
    """Run the kernel ``fn`` on one in-memory block, in the local design's sub-blocks."""
    design = LocalDesign(X, y, offset, sample_weight, n_threads=1, one_hot=False)
    return design.map_reduce(fn, *args)


def _validate_block(block, y, offset, sample_weight, family):
    """Check one block; return ``[rows of positive weight, Σ s, Σ s·y]``."""
    X = block.X
    values = X.data if sp.issparse(X) else X
    if not np.all(np.isfinite(values)):
        raise ValueError("Input X contains NaN or infinity.")
    family.check_response(y)
    if offset is not None and not np.all(np.isfinite(offset)):
        raise ValueError("offset contains NaN or infinity.")
    if sample_weight is None:
        return np.array([y.shape[0], y.shape[0], y.sum()], dtype=float)
    if np.any(sample_weight < 0) or not np.all(np.isfinite(sample_weight)):
        raise ValueError("sample_weight must be finite and non-negative.")
    return np.array([np.sum(sample_weight > 0), sample_weight.sum(), sample_weight @ y],
                    dtype=float)  # fmt: skip


class DaskDesign:
    """A ``dask.array`` design chunked by rows (see the module docstring).

    Parameters
    ----------
    X : dask.array.Array of shape (n, p)
        Rechunked to whole rows if its columns are chunked.
    y, offset, sample_weight : array-like or dask arrays of shape (n,), or None
        Rechunked like the rows of ``X``.
    """

    def __init__(self, X, y=None, offset=None, sample_weight=None):
        import dask
        import dask.array as da

        if X.ndim != 2:
            raise ValueError(f"Expected a 2-dimensional dask array; got {X.ndim} dimensions.")
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: -1})
        self.n_samples, self.n_features = (int(d) for d in X.shape)
        self.dtype = X.dtype
        self.structure = None
        self.n_threads = 1
        self._row_chunks = X.chunks[0]
        self.rows = (y, offset, sample_weight)
        arrays = [X] + [None if v is None else da.asarray(v).rechunk((self._row_chunks,))
                        for v in self.rows]  # fmt: skip
        # Persist once: every pass reads the same blocks (nothing recomputed from the source).
        present = [a for a in arrays if a is not None]
        persisted = iter(dask.persist(*present))
        arrays = [None if a is None else next(persisted) for a in arrays]
        # Hold the persisted collections: on a cluster they own the futures of the blocks.
        self._persisted = arrays
        self.X = arrays[0]
        self._blocks = [a.to_delayed().ravel().tolist() if a is not None
                        else [None] * len(self._row_chunks) for a in arrays]  # fmt: skip
        self._sums = None

    @property
    def _dense_chunks(self) -> bool:
        return not sp.issparse(getattr(self.X, "_meta", None))

    @property
    def wide_steps_pay(self) -> bool:
        """As for a local design (:func:`~skglm_fisher.glm._design.wide_steps_pay`), judged by
        the chunks' type."""
        return wide_steps_pay(self._dense_chunks, self.n_samples, self.n_features)

    @property
    def single_precision_gram_pays(self) -> bool:
        """As for a local design (:func:`~skglm_fisher.glm._design.single_precision_pays`)."""
        return single_precision_pays(self._dense_chunks, self.dtype, self.n_samples,
                                     self.n_features)  # fmt: skip

    @property
    def blocks(self):
        bounds = np.concatenate([[0], np.cumsum(self._row_chunks)])
        return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))

    def without_columns(self) -> DaskDesign:
        """The same rows with no columns (for the intercept-only model)."""
        return DaskDesign(self.X[:, :0], *self.rows)

    def finish_gram(self, part, intercept: bool):
        return part

    def row_totals(self, family) -> tuple[int, float]:
        """``(rows of positive weight, Σ s)``, validating every block on its worker (finite
        ``X`` and offset, ``y`` in the family's domain, valid weights); ``Σ s·y`` is kept for
        :meth:`weighted_sums`."""
        n_obs, sum_weights, sum_weighted_y = self.map_reduce(_validate_block, family)
        if not sum_weights > 0:
            raise ValueError("sample_weight must have at least one positive entry.")
        self._sums = (float(sum_weighted_y), float(sum_weights))
        return int(n_obs), float(sum_weights)

    def weighted_sums(self) -> tuple[float, float]:
        """``(Σ s·y, Σ s)``, from the validation pass when it ran."""
        if self._sums is None:
            from skglm_fisher.glm._start import sums_pass

            self._sums = tuple(float(v) for v in self.map_reduce(sums_pass))
        return self._sums

    def map_reduce(self, fn, *args):
        """``sum(fn(block, y_block, offset_block, weight_block, *args))``: one task per block,
        computed together, the small results summed here."""
        import dask

        X, ys, offsets, weights = self._blocks
        tasks = [
            dask.delayed(_block_apply, pure=False)(fn, xb, yb, ob, wb, args)
            for xb, yb, ob, wb in zip(X, ys, offsets, weights, strict=True)
        ]
        return reduce(iadd, dask.compute(*tasks))  # fresh results: summed in place
