"""Stage 4's tensor functions: pooling, `max`, `softmax`, `dropout` (the course's
``minitorch.nn``)."""

from mt_nn.nn import *  # noqa: F403  (the stage module's __all__)
