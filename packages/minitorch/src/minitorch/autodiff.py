"""Stage 1's autodiff engine: `Context`, `topological_sort`, `backpropagate` (the course's
``minitorch.autodiff``)."""

from mt_autodiff.autodiff import *  # noqa: F403  (the stage module's __all__)
