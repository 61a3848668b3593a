"""Stage 0's `Module` and `Parameter` (the course's ``minitorch.module``)."""

from mt_operators.module import *
