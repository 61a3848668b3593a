"""Stage 0's scalar operators and functional helpers (the course's ``minitorch.operators``)."""

from mt_operators.operators import *  # noqa: F403  (the stage module's __all__)
