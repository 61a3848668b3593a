"""Stage 0's toy 2-D datasets (the course's ``minitorch.datasets``)."""

from mt_operators.datasets import *  # noqa: F403  (the stage module's __all__)
