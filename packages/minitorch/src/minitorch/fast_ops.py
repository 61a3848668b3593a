"""Stage 3a's numba backend, `FastOps` (the course's ``minitorch.fast_ops``)."""

from mt_fast.fast_ops import *  # noqa: F403  (the stage module's __all__)
