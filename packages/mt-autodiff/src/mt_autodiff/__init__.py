"""Stage 1: scalar automatic differentiation with the chain rule."""

from .__about__ import __version__
from .autodiff import (
    Context,
    Variable,
    backpropagate,
    central_difference,
    is_grad_enabled,
    no_grad,
    topological_sort,
)

__all__ = [
    "Context",
    "Variable",
    "__version__",
    "backpropagate",
    "central_difference",
    "is_grad_enabled",
    "no_grad",
    "topological_sort",
]
