"""Stage 2's `TensorData` and index helpers (the course's ``minitorch.tensor_data``)."""

from mt_tensor.tensor_data import *  # noqa: F403  (the stage module's __all__)
