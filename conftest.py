"""Workspace-wide test set-up, loaded before any test module imports numba.

numba reads ``NUMBA_ENABLE_CUDASIM`` when ``numba`` itself is first imported, so the choice
between the GPU and numba's CUDA simulator is made here, once: on a machine without an NVIDIA
driver the cuda backend's tests run in the simulator; with one, on the GPU. Set
``NUMBA_ENABLE_CUDASIM=0`` to insist on the GPU.
"""

from __future__ import annotations

import os
import shutil

if shutil.which("nvidia-smi") is None and not os.path.exists("/proc/driver/nvidia"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

# A `minitorch train` whose kernels numba's cache lacks starts on numpy and leaves another process
# compiling them (`minitorch.warmup`); tests compile in their own process unless they ask for that.
os.environ.setdefault("MINITORCH_BACKGROUND_COMPILE", "0")
