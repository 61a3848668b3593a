"""Stage 0's `Module` and `Parameter` (the course's ``minitorch.module``)."""

from mt_operators.module import *  # noqa: F403  (the stage module's __all__)
