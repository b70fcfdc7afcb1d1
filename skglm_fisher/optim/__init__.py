"""FTRL-Proximal optimization on numpy arrays, numerically matching TensorFlow.

:class:`Ftrl` is the optimizer (``apply_gradients``, ``minimize``, slots): it checks its input
and applies all of a call's steps or none. :func:`apply_ftrl` and :func:`sparse_apply_ftrl` are
the in-place kernels on raw arrays (shapes, dtypes and indices checked, values not), and
:func:`ftrl_update` the update as a function. All of them, and
:class:`~skglm_fisher.FTRLLogisticRegression`, run the same update code.
"""

from ._ftrl import Ftrl
from ._kernels import apply_ftrl, ftrl_update, sparse_apply_ftrl

__all__ = ["Ftrl", "apply_ftrl", "ftrl_update", "sparse_apply_ftrl"]
