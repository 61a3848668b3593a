"""The fused convolution and pooling kernels mt-fast declares, against numpy loops: forward and
the gradients of ``sum(out * g)``, on both kernel loops (serial and threaded), in float64 and
float32 (the kernels compute in the operands' dtype; the loops in float64 on the same values)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_fast import FastTensorBackend, fast_conv
from mt_tensor import dtypes, tensor
from mt_tensor.tensor_ops import FusedOps
from mt_tensor.testing import assert_tensors_close

Array = npt.NDArray[np.float64]
FLOATS = [dtypes.float64, dtypes.float32]
TOLERANCE = {dtypes.float64: (1e-5, 1e-7), dtypes.float32: (1e-4, 1e-5)}
"""(rtol, atol) per dtype: float32 sums of up to 27 products of normal values, and their
rounding against float64 loops, stay within a few units in float32's last place."""


def reference(
    x: Array, w: Array, bias: Array, stride: int, pad: int, out_hw: tuple[int, int], g: Array
) -> tuple[Array, Array, Array, Array]:
    """Output, and the gradients of ``sum(out * g)`` for the input, weight and bias, by loops
    over every (output, kernel offset) pair."""
    b, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    out = np.zeros((b, o, *out_hw)) + bias[None, :, None, None]
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for y in range(out_hw[0]):
        for xx in range(out_hw[1]):
            for i in range(kh):
                for j in range(kw):
                    r, s = y * stride - pad + i, xx * stride - pad + j
                    if 0 <= r < h and 0 <= s < wd:
                        out[:, :, y, xx] += x[:, :, r, s] @ w[:, :, i, j].T
                        gx[:, :, r, s] += g[:, :, y, xx] @ w[:, :, i, j]
                        gw[:, :, i, j] += g[:, :, y, xx].T @ x[:, :, r, s]
    return out, gx, gw, g.sum(axis=(0, 2, 3))


def test_fast_declares_both_fused_kernels() -> None:
    assert isinstance(FastTensorBackend.fused, FusedOps)
    assert FastTensorBackend.fused.names() == ("conv2d", "pool2d")


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("threads", [False, True])
@given(
    shape=st.tuples(*[st.integers(1, 3)] * 3, st.integers(1, 6), st.integers(1, 6)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
    seed=st.integers(0, 1000),
)
def test_conv2d_matches_loops(
    dtype: dtypes.DType,
    threads: bool,
    shape: tuple[int, int, int, int, int],
    kernel: tuple[int, int],
    stride: int,
    pad: int,
    seed: int,
) -> None:
    b, c, o, h, wd = shape
    kh, kw = kernel
    out_hw = ((h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1)
    if min(out_hw) < 1:
        return
    rng = np.random.default_rng(seed)
    x, w, bias = rng.normal(size=(b, c, h, wd)), rng.normal(size=(o, c, kh, kw)), rng.normal(size=o)
    g = rng.normal(size=(b, o, *out_hw))
    x, w, bias, g = (v.astype(dtype).astype(np.float64) for v in (x, w, bias, g))
    ts = [tensor(v, backend="fast", dtype=dtype) for v in (x, w, bias, g)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_conv, "PARALLEL_MIN", 0 if threads else 1 << 62)
        kernels = fast_conv.Conv2d()
        out, saved = kernels.forward(ts[0], ts[1], ts[2], (stride, stride), (pad, pad), out_hw)
        grads = kernels.backward(saved, ts[3], True)
    expected = reference(x, w, bias, stride, pad, out_hw, g)
    for label, got, want in zip(
        ("forward", "input", "weight", "bias"), (out, *grads), expected, strict=True
    ):
        assert got is not None, label
        assert got.dtype == dtype, f"{label}: {got.dtype}"
        assert_tensors_close(got, want, label, *TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 3)),
    kernel=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    average=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_pool2d_matches_loops(
    dtype: dtypes.DType,
    shape: tuple[int, int, int, int],
    kernel: tuple[int, int],
    average: bool,
    seed: int,
) -> None:
    """Means, or maxima with ties (values from a few integers) sharing the gradient equally."""
    b, c, nh, nw = shape
    kh, kw = kernel
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(b, c, nh * kh, nw * kw)).astype(np.float64)
    g = rng.normal(size=(b, c, nh, nw)).astype(dtype).astype(np.float64)
    tiles = x.reshape(b, c, nh, kh, nw, kw)
    pooled = tiles.mean(axis=(3, 5)) if average else tiles.max(axis=(3, 5))
    if average:
        share = np.broadcast_to((g / (kh * kw))[:, :, :, None, :, None], tiles.shape)
    else:
        hits = tiles == pooled[:, :, :, None, :, None]
        count = hits.sum(axis=(3, 5))[:, :, :, None, :, None]
        share = np.where(hits, g[:, :, :, None, :, None] / count, 0.0)
    kernels = fast_conv.Pool2d()
    out, saved = kernels.forward(tensor(x, backend="fast", dtype=dtype), kernel, average)
    grad = kernels.backward(saved, tensor(g, backend="fast", dtype=dtype))
    assert (out.dtype, grad.dtype) == (dtype, dtype)
    assert_tensors_close(out, pooled, "forward", *TOLERANCE[dtype])
    assert_tensors_close(grad, share.reshape(x.shape), "gradient", *TOLERANCE[dtype])


_SIGNATURES = """
import numpy as np
from mt_fast import fast_conv
from mt_tensor import tensor

def run(dtype):
    x = tensor(np.ones((2, 1, 4, 4)), backend="fast", dtype=dtype, requires_grad=True)
    w = tensor(np.ones((2, 1, 3, 3)), backend="fast", dtype=dtype, requires_grad=True)
    conv, saved = fast_conv.Conv2d.forward(x, w, None, (1, 1), (1, 1), (4, 4))
    fast_conv.Conv2d.backward(saved, conv, True)
    pooled, saved = fast_conv.Pool2d.forward(conv, (2, 2), True)
    fast_conv.Pool2d.backward(saved, pooled)
    pooled, saved = fast_conv.Pool2d.forward(conv, (2, 2), False)
    fast_conv.Pool2d.backward(saved, pooled)
    kernels = [k for k in vars(fast_conv).values() if hasattr(k, "signatures")]
    return {str(s) for k in kernels for s in k.signatures}

first = run("float64")
assert first and not any("float32" in s for s in first), first
added = run("float32") - first
assert added and not any("float64" in s for s in added), added
"""


def test_kernels_compile_per_dtype_and_only_for_the_dtype_met() -> None:
    """A float64 run compiles no float32 kernel; a float32 run then adds kernels whose arrays
    are all float32 (no float64 arithmetic underneath)."""
    done = subprocess.run([sys.executable, "-c", _SIGNATURES], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
