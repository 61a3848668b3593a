"""Stage 0's scalar operators and functional helpers (the course's ``minitorch.operators``)."""

from mt_operators.operators import *
