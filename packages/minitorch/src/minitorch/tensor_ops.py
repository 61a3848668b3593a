"""Stage 2's backends: `TensorOps`, `TensorBackend`, `SimpleOps` (the course's
``minitorch.tensor_ops``)."""

from mt_tensor.tensor_ops import *  # noqa: F403  (the stage module's __all__)
