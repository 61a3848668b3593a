"""Without a GPU and without the simulator: importing works, asking for "cuda" says what to do.

Each check runs in a fresh interpreter, because numba reads ``NUMBA_ENABLE_CUDASIM`` once, when
``numba.cuda`` is first imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

HAS_GPU = shutil.which("nvidia-smi") is not None or os.path.exists("/proc/driver/nvidia")


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with the simulator off."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_import_never_touches_cuda() -> None:
    result = python("import sys, mt_cuda; print('numba.cuda' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


@pytest.mark.skipif(HAS_GPU, reason="this machine has an NVIDIA driver")
@pytest.mark.parametrize(
    "ask",
    [
        "from mt_tensor import get_backend; get_backend('cuda')",
        "from mt_tensor import tensor; tensor([1.0], backend='cuda')",
        "from mt_cuda import load_backend; load_backend()",
    ],
)
def test_asking_for_cuda_without_a_gpu_says_both_ways_out(ask: str) -> None:
    result = python(ask)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: the 'cuda' backend cannot run here")
    assert "NVIDIA GPU and its CUDA driver" in last
    assert "set NUMBA_ENABLE_CUDASIM=1" in last
