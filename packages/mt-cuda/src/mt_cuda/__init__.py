"""Stage 3b: the numba-cuda GPU backend."""

from .__about__ import __version__

__all__ = ["__version__"]
