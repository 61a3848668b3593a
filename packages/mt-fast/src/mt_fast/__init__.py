"""Stage 3a: the numba parallel CPU backend."""

from .__about__ import __version__

__all__ = ["__version__"]
