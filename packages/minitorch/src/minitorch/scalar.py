"""Stage 1's `Scalar` (the course's ``minitorch.scalar``)."""

from mt_autodiff.scalar import *
