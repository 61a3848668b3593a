"""Stage 4's convolutions, `conv1d`/`conv2d` and `Conv1dFun`/`Conv2dFun` (the course's
``minitorch.fast_conv``)."""

from mt_nn.conv import *  # noqa: F403  (the stage module's __all__)
