"""Stage 0: scalar operators, functional helpers, `Module`/`Parameter` and toy datasets."""

from . import operators
from .__about__ import __version__
from .datasets import Graph, datasets
from .module import Module, Parameter

__all__ = ["Graph", "Module", "Parameter", "__version__", "datasets", "operators"]
