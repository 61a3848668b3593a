"""Stage 2's tensor functions and constructors (the course's ``minitorch.tensor_functions``)."""

from mt_tensor.constructors import *  # noqa: F403  (the stage module's __all__)
from mt_tensor.tensor_functions import *  # noqa: F403  (the stage module's __all__)
