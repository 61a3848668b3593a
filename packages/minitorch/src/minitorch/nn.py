"""Stage 4's tensor functions: pooling, `max`, `softmax`, `dropout` (the course's
``minitorch.nn``)."""

from mt_nn.nn import *
