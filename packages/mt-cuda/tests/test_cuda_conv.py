"""The cuda backend's fused convolution and pooling (`mt_cuda.cuda_conv`) against the numpy
backend's (`mt_tensor.numpy_conv`, an independent implementation checked against the composed
default and central differences in the workspace's tests), in float64 and float32.

Blocks of 4 threads, so that the tiny inputs the simulator allows still cross block edges.
"""

from __future__ import annotations

import os
import shutil

if shutil.which("nvidia-smi") is None and not os.path.exists("/proc/driver/nvidia"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_cuda import CudaOps
from mt_tensor import Tensor, TensorBackend, get_backend, tensor
from mt_tensor.tensor_data import on_device
from mt_tensor.testing import assert_tensors_close

SMALL = TensorBackend(CudaOps(threads=4))
NUMPY = get_backend("numpy")
FEW = settings(max_examples=5, deadline=None)
TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-5)}
Array = np.ndarray[Any, np.dtype[np.float64]]


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[list[Array], tuple[int, int], tuple[int, int]]:
    """Input, weight (and maybe bias) arrays, a stride and a padding, with at least one output."""
    b, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), 4))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), 4))
    rng = np.random.default_rng(draw(st.integers(0, 1 << 16)))
    arrays = [rng.uniform(-3, 3, (b, c, h, w)), rng.uniform(-3, 3, (o, c, kh, kw))]
    if draw(st.booleans()):
        arrays.append(rng.uniform(-3, 3, o))
    return arrays, stride, padding


@st.composite
def pool_inputs(draw: st.DrawFn) -> tuple[Array, tuple[int, int]]:
    """Small integers (tied maxima), sometimes a NaN, and a kernel that tiles them."""
    kh, kw = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 2)), 1, kh * draw(st.integers(1, 2)), kw * draw(st.integers(1, 2)))
    size = int(np.prod(shape))
    x = np.array(draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size)), np.float64)
    if draw(st.booleans()):
        x[draw(st.integers(0, size - 1))] = np.nan
    return x.reshape(shape), (kh, kw)


def _results(out: Tensor, grads: list[Tensor | None], dtype: str) -> list[Array]:
    values = [t for t in [out, *grads] if t is not None]
    assert all(str(t.dtype) == dtype for t in values), [t.dtype for t in values]
    return [t.to_numpy() for t in values]


def _compare(got: list[Array], want: list[Array], dtype: str, what: str) -> None:
    rtol, atol = TOLERANCES[dtype]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert_tensors_close(g, w, f"{what} in {dtype}: result {i}", rtol, atol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@FEW
@given(case=conv_cases(), input_grad=st.booleans())
def test_conv2d_matches_numpy(
    dtype: str, case: tuple[list[Array], tuple[int, int], tuple[int, int]], input_grad: bool
) -> None:
    arrays, stride, padding = case
    h, w = arrays[0].shape[2:]
    kh, kw = arrays[1].shape[2:]
    out_hw = (
        (h + 2 * padding[0] - kh) // stride[0] + 1,
        (w + 2 * padding[1] - kw) // stride[1] + 1,
    )
    found = []
    for backend in (SMALL, NUMPY):
        x, weight, *bias = (tensor(a, backend=backend, dtype=dtype) for a in arrays)
        kernels = backend.fused.conv2d
        assert kernels is not None
        out, saved = kernels.forward(x, weight, bias[0] if bias else None, stride, padding, out_hw)
        g = tensor(np.linspace(-1, 1, out.size).reshape(out.shape), backend=backend, dtype=dtype)
        found.append(_results(out, list(kernels.backward(saved, g, input_grad)), dtype))
    _compare(found[0], found[1], dtype, f"conv2d stride {stride} padding {padding}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("average", [True, False], ids=["avg", "max"])
@FEW
@given(case=pool_inputs())
def test_pool2d_matches_numpy(
    dtype: str, average: bool, case: tuple[Array, tuple[int, int]]
) -> None:
    """Means, maxima (NaN in a tile holding one), and gradients shared by tied maxima."""
    x, kernel = case
    found = []
    for backend in (SMALL, NUMPY):
        kernels = backend.fused.pool2d
        assert kernels is not None
        out, saved = kernels.forward(tensor(x, backend=backend, dtype=dtype), kernel, average)
        g = tensor(np.linspace(1, 2, out.size).reshape(out.shape), backend=backend, dtype=dtype)
        found.append(_results(out, [kernels.backward(saved, g)], dtype))
    _compare(found[0], found[1], dtype, f"{'avg' if average else 'max'}pool2d {kernel}")


def test_a_nan_tile_and_ties() -> None:
    """The protocol's rules spelled out: a NaN tile's max is NaN and gets no gradient; three tied
    maxima get a third each."""
    x = tensor([[[[1.0, 1.0, 0.0, np.nan], [1.0, 0.0, 5.0, 0.0]]]], backend=SMALL)
    kernels = SMALL.fused.pool2d
    assert kernels is not None
    out, saved = kernels.forward(x, (2, 2), False)
    assert np.array_equal(out.to_numpy(), [[[[1.0, np.nan]]]], equal_nan=True)
    grad = kernels.backward(saved, tensor([[[[3.0, 7.0]]]], backend=SMALL)).to_numpy()
    assert grad.tolist() == [[[[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]]]


def test_results_stay_on_the_device() -> None:
    x = tensor(np.ones((1, 1, 3, 3)), backend=SMALL)
    w = tensor(np.ones((2, 1, 2, 2)), backend=SMALL)
    conv, pool = SMALL.fused.conv2d, SMALL.fused.pool2d
    assert conv is not None and pool is not None
    out, saved = conv.forward(x, w, None, (1, 1), (0, 0), (2, 2))
    pooled, _ = pool.forward(out, (2, 2), True)
    grads = conv.backward(saved, out, True)
    assert all(on_device(t._tensor._storage) for t in (out, pooled, grads[0], grads[1]))


@pytest.mark.parametrize(
    ("dtype", "average", "expected"),
    [("int64", False, "int64"), ("bool", False, "bool"), ("int64", True, "float64")],
)
def test_pooling_integers_keeps_the_composed_dtypes(
    dtype: str, average: bool, expected: str
) -> None:
    """As the composed default: a max keeps the input's dtype, a mean of integers is float."""
    x = np.array([[[[0, 1], [1, 1]]]])
    pool = SMALL.fused.pool2d
    assert pool is not None
    out, _ = pool.forward(tensor(x, backend=SMALL, dtype=dtype), (2, 2), average)
    assert str(out.dtype) == expected
    assert out.to_numpy().tolist() == [[[[0.75 if average else 1]]]]


def test_conv_of_booleans_computes_in_int64() -> None:
    """As the composed default's matmul: booleans are counted, not or-ed."""
    x = tensor(np.ones((1, 1, 2, 2)), backend=SMALL, dtype="bool")
    conv = SMALL.fused.conv2d
    assert conv is not None
    out, _ = conv.forward(x, x, None, (1, 1), (0, 0), (1, 1))
    assert str(out.dtype) == "int64" and out.to_numpy().tolist() == [[[[4]]]]
