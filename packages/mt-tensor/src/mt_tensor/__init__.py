"""Stage 2: strided tensors with broadcasting and autograd."""

from .__about__ import __version__

__all__ = ["__version__"]
