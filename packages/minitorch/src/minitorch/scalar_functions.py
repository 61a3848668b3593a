"""Stage 1's `ScalarFunction` and its functions (the course's ``minitorch.scalar_functions``)."""

from mt_autodiff.scalar_functions import *  # noqa: F403  (the stage module's __all__)
