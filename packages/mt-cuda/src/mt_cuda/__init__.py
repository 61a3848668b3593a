"""Stage 3b: the numba-cuda GPU backend (importing it never touches CUDA)."""

from .__about__ import __version__
from .cuda_ops import (
    PRACTICE_BLOCK,
    SIMULATOR_THREADS,
    SIMULATOR_TILE,
    THREADS_PER_BLOCK,
    TILE,
    CudaBackend,
    CudaOps,
    load_backend,
    mm_practice,
    sum_practice,
)

__all__ = [
    "PRACTICE_BLOCK",
    "SIMULATOR_THREADS",
    "SIMULATOR_TILE",
    "THREADS_PER_BLOCK",
    "TILE",
    "CudaBackend",
    "CudaOps",
    "__version__",
    "load_backend",
    "mm_practice",
    "sum_practice",
]
