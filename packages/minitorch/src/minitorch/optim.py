"""Stage 4's optimizers (the course's ``minitorch.optim``)."""

from mt_nn.optim import *  # noqa: F403  (the stage module's __all__)
