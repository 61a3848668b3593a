"""MiniTorch: ``import minitorch`` gives every stage's public names in one place.

The facade holds no math: each name below is defined in its stage package.
"""

from mt_operators import Graph, Module, Parameter, datasets, operators

from .__about__ import __version__

__all__ = ["Graph", "Module", "Parameter", "__version__", "datasets", "operators"]
