"""Kernels per dtype: compiled lazily, for the dtype they meet, and never for mixed operands."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mt_tensor import dtypes, tensor

_RUN_FLOAT64 = """
import numba
import mt_fast
from mt_fast import kernels, matmul
from mt_tensor import tensor
x = tensor([[1.0, 2.0], [3.0, 4.0]], backend="fast")
((x @ x).exp() * x + 1.0).sum(0)
dispatchers = [k for m in (kernels, matmul) for k in vars(m).values()]
dispatchers += kernels.CACHED
signatures = [str(s) for d in dispatchers if hasattr(d, "signatures") for s in d.signatures]
assert signatures, "no kernel ran"
assert not any("float32" in s for s in signatures), signatures
"""


def test_a_float64_run_compiles_no_float32_kernel() -> None:
    """In a fresh process (this one may have compiled float32 kernels already)."""
    subprocess.run([sys.executable, "-c", _RUN_FLOAT64], check=True, timeout=600)


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.int64], ids=str)
def test_mixed_operands_are_cast_before_the_kernels(dtype: dtypes.DType) -> None:
    """float64 with ``dtype``: one promoted kernel, the output in the promoted dtype."""
    a = tensor([[1.0, 2.0], [3.0, 4.0]], backend="fast")
    b = tensor([[2.0, 1.0], [0.0, 3.0]], backend="fast", dtype=dtype)
    for got, expected in (
        (a * b, a.to_numpy() * b.to_numpy()),
        (b @ a, b.to_numpy() @ a.to_numpy()),
        (b + 2, b.to_numpy() + np.array(2, dtype)),
    ):
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-6)
