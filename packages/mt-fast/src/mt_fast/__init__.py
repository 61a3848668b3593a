"""Stage 3a: the numba parallel CPU backend, registered with mt-tensor as ``"fast"``."""

import os

# numba's OpenMP threads spin between kernels by default; on a machine whose cores are busy the
# spinning thread holds a core the caller needs (training steps measured 3x-15x slower). They
# sleep instead unless the user chose otherwise; set before numba starts its threads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .__about__ import __version__
from .fast_ops import FastOps, FastTensorBackend, load_backend

__all__ = ["FastOps", "FastTensorBackend", "__version__", "load_backend"]
