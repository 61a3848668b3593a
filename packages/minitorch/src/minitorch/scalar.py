"""Stage 1's `Scalar` (the course's ``minitorch.scalar``)."""

from mt_autodiff.scalar import *  # noqa: F403  (the stage module's __all__)
