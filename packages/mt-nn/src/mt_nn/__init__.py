"""Stage 4: neural-network functions, layers, losses, optimizers and training."""

from .__about__ import __version__

__all__ = ["__version__"]
