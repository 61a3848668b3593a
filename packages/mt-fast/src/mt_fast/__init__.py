"""Stage 3a: the numba parallel CPU backend, registered with mt-tensor as ``"fast"``."""

from .__about__ import __version__
from .fast_ops import FastOps, FastTensorBackend, load_backend

__all__ = ["FastOps", "FastTensorBackend", "__version__", "load_backend"]
