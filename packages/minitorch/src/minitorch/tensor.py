"""Stage 2's `Tensor` and `History` (the course's ``minitorch.tensor``)."""

from mt_tensor.tensor import *
