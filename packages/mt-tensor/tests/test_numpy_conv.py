"""The numpy backend's fused convolution and pooling (`mt_tensor.numpy_conv`) on their own: the
convolution against the protocol's formula written as loops, its gradients against central
differences, float32 against float64, pooling's NaN and tie rules. (mt-nn's composed default, the
other reference, is a later stage: the workspace's ``tests/test_workspace_conv.py`` compares the
two.)"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import get_backend, tensor
from mt_tensor.numpy_conv import Conv2d, Pool2d
from mt_tensor.testing import assert_tensors_close

Array = np.ndarray[Any, np.dtype[np.float64]]
Case = tuple[Array, Array, Array | None, tuple[int, int], tuple[int, int], tuple[int, int]]
NUMPY = get_backend("numpy")


@st.composite
def conv_cases(draw: st.DrawFn) -> Case:
    """Input, weight, bias or ``None``, stride, padding and an output size with at least one
    position (anything from 1 to PyTorch's size: the course's rule asks for more than fit)."""
    b, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    out_hw = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 1 << 16)))
    bias = rng.uniform(-1, 1, o) if draw(st.booleans()) else None
    return (
        rng.uniform(-1, 1, (b, c, h, w)),
        rng.uniform(-1, 1, (o, c, kh, kw)),
        bias,
        stride,
        padding,
        out_hw,
    )


def _formula(
    x: Array, w: Array, bias: Array | None, stride: Any, padding: Any, out_hw: Any
) -> Array:
    """$bias[o] + \\sum_{c, i, j} x[b, c, y s_h - p_h + i, x s_w - p_w + j]\\, w[o, c, i, j]$,
    zeros outside the input, one output at a time."""
    out = np.zeros((x.shape[0], w.shape[0], *out_hw))
    for b, o, y, xx in np.ndindex(*out.shape):
        acc = 0.0 if bias is None else bias[o]
        for c, i, j in np.ndindex(*w.shape[1:]):
            row, col = y * stride[0] - padding[0] + i, xx * stride[1] - padding[1] + j
            if 0 <= row < x.shape[2] and 0 <= col < x.shape[3]:
                acc += x[b, c, row, col] * w[o, c, i, j]
        out[b, o, y, xx] = acc
    return out


def _forward(case: Case, dtype: str = "float64") -> Array:
    x, w, bias, stride, padding, out_hw = case
    ts = [None if a is None else tensor(a, backend=NUMPY, dtype=dtype) for a in (x, w, bias)]
    assert ts[0] is not None and ts[1] is not None
    out, _ = Conv2d.forward(ts[0], ts[1], ts[2], stride, padding, out_hw)
    assert str(out.dtype) == dtype
    return out.to_numpy()


@given(case=conv_cases())
def test_conv_forward_is_the_formula(case: Case) -> None:
    assert_tensors_close(_forward(case), _formula(*case), "conv2d forward", 1e-12, 1e-12)


def _moved(case: Case, k: int, index: tuple[int, ...], step: float) -> Case:
    """``case`` with element ``index`` of array ``k`` (input, weight, bias) moved by ``step``."""
    x, w, bias, stride, padding, out_hw = case
    x, w, bias = x.copy(), w.copy(), None if bias is None else bias.copy()
    target = (x, w, bias)[k]
    assert target is not None
    target[index] += step
    return x, w, bias, stride, padding, out_hw


@given(case=conv_cases())
def test_conv_gradients_match_central_differences(case: Case) -> None:
    """Each input's gradient of ``(out * g).sum()`` against central differences of the forward."""
    x, w, bias, stride, padding, out_hw = case
    ts = [tensor(a, backend=NUMPY) for a in (x, w)]
    b = None if bias is None else tensor(bias, backend=NUMPY)
    out, saved = Conv2d.forward(ts[0], ts[1], b, stride, padding, out_hw)
    g = np.linspace(-1, 1, out.size).reshape(out.shape)
    grads = [t for t in Conv2d.backward(saved, tensor(g, backend=NUMPY), True) if t is not None]
    arrays = [a for a in (x, w, bias) if a is not None]
    for k, (array, grad) in enumerate(zip(arrays, grads, strict=True)):
        numeric = np.zeros(array.shape)
        for index in np.ndindex(*array.shape):
            up, down = (_forward(_moved(case, k, index, s)) for s in (1e-6, -1e-6))
            numeric[index] = ((up - down) * g).sum() / 2e-6
        assert_tensors_close(grad, numeric, f"gradient of input {k}", 1e-5, 1e-6)


@given(case=conv_cases())
def test_conv_in_float32_computes_in_float32(case: Case) -> None:
    """The float32 result (in float32) is the float64 one within float32's rounding."""
    assert_tensors_close(_forward(case, "float32"), _forward(case), "float32 forward", 1e-5, 1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pooling_nan_tiles_and_ties(dtype: str) -> None:
    """A NaN tile's max is NaN and gets no gradient; three tied maxima get a third each; the mean
    gives every element its share."""
    x = tensor([[[[1.0, 1.0, 0.0, np.nan], [1.0, 0.0, 5.0, 0.0]]]], backend=NUMPY, dtype=dtype)
    g = tensor([[[[3.0, 7.0]]]], backend=NUMPY, dtype=dtype)
    out, saved = Pool2d.forward(x, (2, 2), False)
    assert np.array_equal(out.to_numpy(), [[[[1.0, np.nan]]]], equal_nan=True)
    grad = Pool2d.backward(saved, g)
    assert str(grad.dtype) == dtype
    assert grad.to_numpy().tolist() == [[[[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]]]
    mean, saved = Pool2d.forward(x, (1, 2), True)
    assert np.array_equal(mean.to_numpy(), [[[[1.0, np.nan], [0.5, 2.5]]]], equal_nan=True)
    grad = Pool2d.backward(saved, tensor(np.ones((1, 1, 2, 2)), backend=NUMPY, dtype=dtype))
    assert np.all(grad.to_numpy() == 0.5)


def test_the_numpy_backend_declares_them_and_simple_does_not() -> None:
    assert NUMPY.fused.names() == ("conv2d", "pool2d")
    assert get_backend("simple").fused.names() == ()
