"""Convolution: the course's examples, a numpy reference on random shapes, gradients, torch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_fast import fast_conv
from mt_nn import conv, conv1d, conv2d, unfold_conv2d
from mt_nn.conv import _output_size
from mt_tensor import Tensor, grad_check, tensor
from mt_tensor.testing import assert_matches_torch, assert_tensors_close, backend_names, tensors

BACKENDS = backend_names()
Array = npt.NDArray[np.float64]
Option = int | tuple[int, int] | None
Case = tuple[tuple[int, ...], tuple[int, ...], Option, Option]


def reference_conv2d(x: Array, w: Array, stride: Option = None, padding: Option = None) -> Array:
    """Zero-pad, then sum the kernel's shifted, strided slices (no shared code with the kernels)."""
    (_, _, h, wd), (_, _, kh, kw) = x.shape, w.shape
    if stride is None and padding is None:
        (sh, sw), (ph, pw), (oh, ow) = (1, 1), (0, 0), (h, wd)
    else:
        sh, sw = (1, 1) if stride is None else np.broadcast_to(stride, 2)
        ph, pw = (0, 0) if padding is None else np.broadcast_to(padding, 2)
        oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    big = np.zeros((*x.shape[:2], ph + oh * sh + kh, pw + ow * sw + kw))
    big[:, :, ph : ph + h, pw : pw + wd] = x
    out = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = big[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
            out += np.einsum("bchw,oc->bohw", patch, w[:, :, i, j])
    return out


@st.composite
def conv_case(draw: st.DrawFn) -> Case:
    """Input and weight shapes with either the course's defaults or PyTorch's options."""
    b, c, o = (draw(st.integers(1, 3)) for _ in range(3))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride: Option = None
    padding: Option = None
    if draw(st.booleans()):
        stride = draw(st.integers(1, 2) | st.tuples(st.integers(1, 2), st.integers(1, 2)))
        padding = draw(st.integers(0, 2) | st.tuples(st.integers(0, 2), st.integers(0, 2)))
        ph, pw = np.broadcast_to(padding, 2)
        h, w = max(h, kh - 2 * ph), max(w, kw - 2 * pw)
    return (b, c, h, w), (o, c, kh, kw), stride, padding


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv1d_course_example(backend: str) -> None:
    out = conv1d(tensor([[[0, 1, 2, 3]]], backend=backend), tensor([[[1, 2, 3]]], backend=backend))
    assert_tensors_close(out, [[[8.0, 14.0, 8.0, 3.0]]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv2d_course_example(backend: str) -> None:
    """The course's 6×6 ``arange`` input with a 2×2 kernel of ones: each output sums its window."""
    x = np.arange(36, dtype=np.float64).reshape(1, 1, 6, 6)
    w = np.ones((1, 1, 2, 2))
    out = conv2d(tensor(x, backend=backend), tensor(w, backend=backend))
    assert_tensors_close(out, reference_conv2d(x, w))
    grad_check(conv2d, tensor(x, backend=backend), tensor(w, backend=backend))


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), case=conv_case())
def test_conv2d_matches_reference(backend: str, data: st.DataObject, case: Case) -> None:
    x_shape, w_shape, stride, padding = case
    x = data.draw(tensors(x_shape, backend))
    w = data.draw(tensors(w_shape, backend))
    out = conv2d(x, w, stride=stride, padding=padding)
    assert_tensors_close(out, reference_conv2d(x.to_numpy(), w.to_numpy(), stride, padding))


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), case=conv_case())
def test_conv2d_grad(backend: str, data: st.DataObject, case: Case) -> None:
    x_shape, w_shape, stride, padding = case
    x = data.draw(tensors(x_shape, backend, lo=-3, hi=3))
    w = data.draw(tensors(w_shape, backend, lo=-3, hi=3))
    bias = data.draw(tensors((w_shape[0],), backend, lo=-3, hi=3))
    grad_check(lambda a, b, c: conv2d(a, b, c, stride, padding), x, w, bias)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), case=conv_case())
def test_conv1d_matches_reference_and_grad(backend: str, data: st.DataObject, case: Case) -> None:
    (b, c, _, w), (o, _, _, k), stride, padding = case
    s = None if stride is None else int(np.broadcast_to(stride, 2)[1])
    p = None if padding is None else int(np.broadcast_to(padding, 2)[1])
    x = data.draw(tensors((b, c, w), backend, lo=-3, hi=3))
    wt = data.draw(tensors((o, c, k), backend, lo=-3, hi=3))
    expected = reference_conv2d(
        x.to_numpy()[:, :, None],
        wt.to_numpy()[:, :, None],
        None if s is None else (1, s),
        None if s is None and p is None else (0, p or 0),
    )[:, :, 0]
    assert_tensors_close(conv1d(x, wt, stride=s, padding=p), expected)
    grad_check(lambda a, ww: conv1d(a, ww, stride=s, padding=p), x, wt)


@given(data=st.data(), case=conv_case())
def test_unfold_matches_kernel_values_and_gradients(data: st.DataObject, case: Case) -> None:
    """The matmul composition under autograd gives the fused kernels' values and gradients."""
    x_shape, w_shape, stride, padding = case
    x = data.draw(tensors(x_shape, "fast"))
    w = data.draw(tensors(w_shape, "fast"))
    s, p, out_hw = _output_size((x_shape[2], x_shape[3]), (w_shape[2], w_shape[3]), stride, padding)
    ways: list[Callable[[Tensor, Tensor], Tensor]] = [
        lambda a, b: conv2d(a, b, None, stride, padding),
        lambda a, b: unfold_conv2d(a, b, s, p, out_hw),
    ]
    results = []
    for fn in ways:
        a, b = (Tensor.make(t.to_numpy().ravel(), t.shape, backend=t.backend) for t in (x, w))
        a.requires_grad_(True)
        b.requires_grad_(True)
        out = fn(a, b)
        (out * out).sum().backward()
        results.append((out, a.grad, b.grad))
    for label, mine, theirs in zip(("forward", "grad input", "grad weight"), *results, strict=True):
        assert_tensors_close(mine, theirs, label)


@given(case=conv_case().filter(lambda c: c[2] is not None), data=st.data())
def test_conv2d_matches_torch(case: Case, data: st.DataObject) -> None:
    x_shape, w_shape, stride, padding = case
    x = data.draw(tensors(x_shape, "numpy")).to_numpy()
    w = data.draw(tensors(w_shape, "numpy")).to_numpy()
    torch = pytest.importorskip("torch")
    assert_matches_torch(
        lambda a, b: torch.nn.functional.conv2d(a, b, stride=stride, padding=padding),
        x,
        w,
        ours=lambda a, b: conv2d(a, b, stride=stride, padding=padding),
        backend="numpy",
    )


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "padding", "message"),
    [
        ((1, 2, 4, 4), (1, 3, 2, 2), None, None, "channels"),
        ((1, 2, 4), (1, 2, 2, 2), None, None, "4-d input"),
        ((1, 1, 2, 2), (1, 1, 3, 3), None, 0, "larger than the input"),
        ((1, 1, 4, 4), (1, 1, 2, 2), 0, None, "stride"),
        ((1, 1, 4, 4), (1, 1, 2, 2), None, -1, "padding"),
    ],
)
def test_conv2d_errors(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: Option,
    padding: Option,
    message: str,
) -> None:
    x, w = (
        Tensor.make(np.zeros(int(np.prod(x_shape))), x_shape),
        Tensor.make(np.zeros(int(np.prod(w_shape))), w_shape),
    )
    with pytest.raises(ValueError, match=message):
        conv2d(x, w, stride=stride, padding=padding)


@pytest.mark.parametrize("threads", [False, True])
@given(data=st.data(), case=conv_case())
def test_conv2d_serial_and_parallel_kernels(threads: bool, data: st.DataObject, case: Case) -> None:
    """Both kernel loops, with a bias, give the reference's values and the unfold's gradients
    (small cases run serially unless the threshold is lowered)."""
    shapes = [case[0], case[1], case[1][:1], out_shape(case)]
    arrays = [data.draw(tensors(s, "numpy", lo=-3, hi=3)).to_numpy() for s in shapes]
    check_kernels(threads, case, *arrays)


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize(
    "case",
    [((5, 2, 20, 20), (3, 2, 3, 3), None, None), ((3, 1, 30, 31), (2, 1, 5, 4), 2, (2, 1))],
)
def test_conv2d_kernels_split_the_batch_into_runs(threads: bool, case: Case) -> None:
    """Images big enough that a run holds two of them (the last run one), or only one."""
    (b, _, h, w), _, _, _ = case
    assert fast_conv.RUN // (h * w) < b
    rng = np.random.default_rng(0)
    shapes = [case[0], case[1], case[1][:1], out_shape(case)]
    check_kernels(threads, case, *(rng.normal(size=s) for s in shapes))


def out_shape(case: Case) -> tuple[int, ...]:
    x_shape, w_shape, stride, padding = case
    _, _, (oh, ow) = _output_size(x_shape[2:], w_shape[2:], stride, padding)  # type: ignore[arg-type]
    return (x_shape[0], w_shape[0], oh, ow)


def check_kernels(threads: bool, case: Case, x: Array, w: Array, bias: Array, g: Array) -> None:
    """The fast backend's fused kernels: values against the reference, gradients against the
    unfold's under autograd."""
    _, w_shape, stride, padding = case
    s, p, out_hw = _output_size(x.shape[2:], w_shape[2:], stride, padding)  # type: ignore[arg-type]
    ways: list[Callable[[Tensor, Tensor, Tensor], Tensor]] = [
        lambda a, b, c: conv2d(a, b, c, stride, padding),
        lambda a, b, c: unfold_conv2d(a, b, s, p, out_hw) + c.view(1, w_shape[0], 1, 1),
    ]
    expected = reference_conv2d(x, w, stride, padding) + bias[None, :, None, None]
    grads = []
    for fn in ways:
        inputs = [tensor(v, backend="fast", requires_grad=True) for v in (x, w, bias)]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fast_conv, "PARALLEL_MIN", 0 if threads else 1 << 62)
            out = fn(*inputs)
            out.backward(tensor(g, backend="fast"))
        assert_tensors_close(out, expected, "forward")
        grads.append([t.grad for t in inputs])
    for label, mine, theirs in zip(("input", "weight", "bias"), *grads, strict=True):
        assert mine is not None and theirs is not None
        assert_tensors_close(mine, theirs, f"grad {label}")


def test_conv2d_fun_applies_as_the_course_does() -> None:
    """``Conv2dFun.apply(input, weight)``: the course's keep-the-size convolution."""
    out = conv.Conv2dFun.apply(tensor([[[[0, 1, 2, 3]]]]), tensor([[[[1, 2, 3]]]]))
    assert_tensors_close(out, [[[[8.0, 14.0, 8.0, 3.0]]]])
