"""Holding BLAS to one thread around the work that needs it, safely across threads.

Two kinds of work run with BLAS on one thread: the solver's small p×p factorisations (on small
matrices multi-threaded OpenBLAS can be orders of magnitude slower than one thread; measured: a
207×207 Cholesky took 250 ms on two threads and 0.4 ms on one) and the passes over row blocks
that spread the blocks over the cores with threads of their own. Everything else, in the
library and in the rest of the user's program, keeps the process's BLAS threads.

Large factorisations are different: from about a thousand columns the process's threads pay
(measured on two cores shared with other jobs, median of 15: a 1,500×1,500 Cholesky 26 ms on
two threads against 42 ms on one, its inverse 37 ms against 65 ms; at 1,000 columns 9.5 ms
against 14 ms), while below a few hundred they gain nothing and a call now and then waits
40-130 ms for a thread another process holds. :func:`blas_for_factorisation` picks by the order
of the matrix.

The limit is process-wide (BLAS libraries have one setting), so overlapping fits in several
threads share one: the first to enter records the original limits and sets one thread, the last
to leave restores them. The limit is taken for as short as possible: around each pass and each
factorisation, never across a whole fit. A large factorisation takes no limit: it runs on the
process's threads, or on one while a pass of another fit holds the limit.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["MULTITHREADED_MIN_ORDER", "blas_for_factorisation", "single_threaded_blas"]

#: Order from which a factorisation (Cholesky, inverse, triangular solves of a matrix) runs with
#: the process's BLAS threads rather than one.
MULTITHREADED_MIN_ORDER = 1000


class _SharedLimit:
    """Reference-counted process-wide BLAS limit of one thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._limiter = None
        self._controller = None

    def acquire(self):
        with self._lock:
            if self._depth == 0:
                self._limiter = self._limit()
            self._depth += 1

    def release(self):
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None

    def _limit(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            return None
        if self._controller is None:
            self._controller = ThreadpoolController()
        return self._controller.limit(limits=1, user_api="blas")


_SHARED = _SharedLimit()


class single_threaded_blas:
    """Context manager holding BLAS to one thread (re-entrant, thread-safe).

    Examples
    --------
    >>> import numpy as np
    >>> with single_threaded_blas():
    ...     factor = np.linalg.cholesky(np.eye(3))
    """

    def __enter__(self):
        _SHARED.acquire()
        return self

    def __exit__(self, *exc):
        _SHARED.release()
        return False


def blas_for_factorisation(order: int):
    """The BLAS threading for factorising a matrix of ``order`` rows and columns: one thread
    below :data:`MULTITHREADED_MIN_ORDER`, the process's threads from there on.

    Examples
    --------
    >>> import numpy as np
    >>> with blas_for_factorisation(3):
    ...     factor = np.linalg.cholesky(np.eye(3))
    """
    if order < MULTITHREADED_MIN_ORDER:
        return single_threaded_blas()
    return contextlib.nullcontext()
