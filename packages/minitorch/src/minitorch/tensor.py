"""Stage 2's `Tensor` and `History` (the course's ``minitorch.tensor``)."""

from mt_tensor.tensor import *  # noqa: F403  (the stage module's __all__)
