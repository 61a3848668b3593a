"""Stage 3b's numba-cuda backend, `CudaOps` and the practice kernels (the course's
``minitorch.cuda_ops``)."""

from mt_cuda.cuda_ops import *  # noqa: F403  (the stage module's __all__)
