"""FTRL-Proximal optimization on numpy arrays, numerically matching TensorFlow.

:class:`Ftrl` is the optimizer (``apply_gradients``, ``minimize``, slots);
:func:`apply_ftrl` and :func:`sparse_apply_ftrl` are the in-place kernels it runs.
"""

from ._ftrl import Ftrl
from ._kernels import apply_ftrl, ftrl_update, sparse_apply_ftrl

__all__ = ["Ftrl", "apply_ftrl", "ftrl_update", "sparse_apply_ftrl"]
