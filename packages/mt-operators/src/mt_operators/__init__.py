"""Stage 0: scalar operators, functional helpers, `Module`/`Parameter` and toy datasets."""

from . import operators  # noqa: F401  (reached as mt_operators.operators)
from .__about__ import __version__
from .datasets import Graph, datasets
from .module import Module, Parameter

# The stage's names; the module `operators` is reached as ``mt_operators.operators``.
__all__ = ["Graph", "Module", "Parameter", "__version__", "datasets"]
