"""1-D and 2-D convolution: parallel numba kernels on the CPU, an unfold into matmuls on cuda.

Course semantics by default: the output keeps the input's width (and height), the kernel is
anchored at the left/top and reads zeros past the edge, so ``[0, 1, 2, 3]`` with ``[1, 2, 3]``
gives ``[8, 14, 8, 3]``. Passing ``stride`` or ``padding`` switches to PyTorch's rule: the input
gets ``padding`` zeros on both sides and the output size is ``(w + 2p - k) // s + 1``.

Both rules are one formula, $out[b, o, y, x] = \\sum_{c, i, j} in[b, c, y s_h - p_h + i,
x s_w - p_w + j]\\; w[o, c, i, j]$ with zeros outside the input, and differ only in the output size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from mt_autodiff import Context
from mt_tensor import Function, Tensor, TensorBackend

Array = npt.NDArray[np.float64]
Pair = tuple[int, int]
F = TypeVar("F", bound=Callable[..., None])


def _kernel(fn: F) -> F:
    """Compile ``fn`` once as a parallel numba kernel, cached on disk."""
    return cast(F, njit(parallel=True, cache=True)(fn))


@_kernel
def conv_forward_kernel(
    out: Array, inp: Array, weight: Array, sh: int, sw: int, ph: int, pw: int
) -> None:
    """``out[b, o, y, x]``: one parallel task per (batch, out channel)."""
    B, C, H, W = inp.shape
    OC, _, KH, KW = weight.shape
    OH, OW = out.shape[2], out.shape[3]
    for task in prange(B * OC):
        b = task // OC
        o = task % OC
        for y in range(OH):
            for x in range(OW):
                acc = 0.0
                for c in range(C):
                    for i in range(KH):
                        yy = y * sh - ph + i
                        if yy < 0 or yy >= H:
                            continue
                        for j in range(KW):
                            xx = x * sw - pw + j
                            if 0 <= xx < W:
                                acc += inp[b, c, yy, xx] * weight[o, c, i, j]
                out[b, o, y, x] = acc


@_kernel
def conv_grad_input_kernel(
    grad_in: Array, grad_out: Array, weight: Array, sh: int, sw: int, ph: int, pw: int
) -> None:
    """$\\partial in[b, c, yy, xx] = \\sum g[b, o, y, x]\\, w[o, c, i, j]$ over
    ``y sh - ph + i = yy`` and ``x sw - pw + j = xx``; one task per (batch, in channel)."""
    B, C, H, W = grad_in.shape
    OC, _, KH, KW = weight.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    for task in prange(B * C):
        b = task // C
        c = task % C
        for yy in range(H):
            for xx in range(W):
                acc = 0.0
                for i in range(KH):
                    ty = yy + ph - i
                    if ty < 0 or ty % sh != 0 or ty // sh >= OH:
                        continue
                    y = ty // sh
                    for j in range(KW):
                        tx = xx + pw - j
                        if tx < 0 or tx % sw != 0 or tx // sw >= OW:
                            continue
                        x = tx // sw
                        for o in range(OC):
                            acc += grad_out[b, o, y, x] * weight[o, c, i, j]
                grad_in[b, c, yy, xx] = acc


@_kernel
def conv_grad_weight_kernel(
    grad_w: Array, grad_out: Array, inp: Array, sh: int, sw: int, ph: int, pw: int
) -> None:
    """$\\partial w[o, c, i, j] = \\sum_{b, y, x} g[b, o, y, x]\\, in[b, c, y sh - ph + i,
    x sw - pw + j]$; one task per weight."""
    B, C, H, W = inp.shape
    OC, _, KH, KW = grad_w.shape
    OH, OW = grad_out.shape[2], grad_out.shape[3]
    for task in prange(OC * C * KH * KW):
        o = task // (C * KH * KW)
        c = (task // (KH * KW)) % C
        i = (task // KW) % KH
        j = task % KW
        acc = 0.0
        for b in range(B):
            for y in range(OH):
                yy = y * sh - ph + i
                if yy < 0 or yy >= H:
                    continue
                for x in range(OW):
                    xx = x * sw - pw + j
                    if 0 <= xx < W:
                        acc += grad_out[b, o, y, x] * inp[b, c, yy, xx]
        grad_w[o, c, i, j] = acc


def _array(t: Tensor) -> Array:
    """A C-contiguous float64 copy-or-view of ``t`` (any strides in)."""
    return np.ascontiguousarray(t._tensor.to_numpy(), dtype=np.float64)


def _from_array(backend: TensorBackend, values: Array) -> Tensor:
    return Tensor.make(values.ravel(), values.shape, backend=backend)


class Conv2dFun(Function):
    """2-D convolution of ``(B, C, H, W)`` by ``(OC, C, KH, KW)`` with numba kernels."""

    @staticmethod
    def forward(
        ctx: Context, inp: Tensor, weight: Tensor, stride: Pair, padding: Pair, out_hw: Pair
    ) -> Tensor:
        x, w = _array(inp), _array(weight)
        ctx.save_for_backward(x, w, stride, padding, inp.backend)
        out = np.empty((x.shape[0], w.shape[0], *out_hw), dtype=np.float64)
        conv_forward_kernel(out, x, w, *stride, *padding)
        return _from_array(inp.backend, out)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        x, w, stride, padding, backend = ctx.saved_values
        g = _array(grad_output)
        grad_in = np.empty_like(x)
        grad_w = np.empty_like(w)
        conv_grad_input_kernel(grad_in, g, w, *stride, *padding)
        conv_grad_weight_kernel(grad_w, g, x, *stride, *padding)
        return _from_array(backend, grad_in), _from_array(backend, grad_w)


def _pair(v: int | Pair, name: str, minimum: int) -> Pair:
    pair = (v, v) if isinstance(v, int) else tuple(v)
    if len(pair) != 2 or any(not isinstance(p, int) or p < minimum for p in pair):
        raise ValueError(f"{name} must be an int or a pair of ints >= {minimum}, got {v!r}")
    return (int(pair[0]), int(pair[1]))


def _output_size(
    size: Pair, kernel: Pair, stride: int | Pair | None, padding: int | Pair | None
) -> tuple[Pair, Pair, Pair]:
    """``(stride, padding, output size)``: the course's rule when neither option is given."""
    if stride is None and padding is None:
        return (1, 1), (0, 0), size
    s = _pair(1 if stride is None else stride, "stride", 1)
    p = _pair(0 if padding is None else padding, "padding", 0)
    out = tuple((n + 2 * pp - k) // ss + 1 for n, k, ss, pp in zip(size, kernel, s, p, strict=True))
    if min(out) < 1:
        raise ValueError(
            f"kernel {kernel} is larger than the input {size} padded by {p}: no output positions"
        )
    return s, p, (out[0], out[1])


def _check(inp: Tensor, weight: Tensor, bias: Tensor | None, dims: int) -> None:
    name = f"conv{dims - 2}d"
    if inp.dims != dims or weight.dims != dims:
        raise ValueError(
            f"{name} needs a {dims}-d input and weight, got {inp.shape} and {weight.shape}"
        )
    if inp.shape[1] != weight.shape[1]:
        raise ValueError(
            f"{name}: input has {inp.shape[1]} channels but weight {weight.shape} expects "
            f"{weight.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias shape {bias.shape} should be ({weight.shape[0]},)")


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Pair | None = None,
    padding: int | Pair | None = None,
) -> Tensor:
    """Convolve ``(B, C, H, W)`` with ``(OC, C, KH, KW)`` into ``(B, OC, OH, OW)``.

    Without ``stride``/``padding``, ``OH, OW = H, W`` (course); with either, PyTorch's size.
    """
    _check(x, weight, bias, 4)
    s, p, out_hw = _output_size(
        (x.shape[2], x.shape[3]), (weight.shape[2], weight.shape[3]), stride, padding
    )
    if x.backend.cuda:
        out = unfold_conv2d(x, weight, s, p, out_hw)
    else:
        out = Conv2dFun.apply(x, weight, s, p, out_hw)
    if bias is not None:
        out = out + bias.contiguous().view(1, weight.shape[0], 1, 1)
    return out


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | None = None,
    padding: int | None = None,
) -> Tensor:
    """Convolve ``(B, C, W)`` with ``(OC, C, K)`` into ``(B, OC, OW)`` (a 2-D conv of height 1).

    >>> from mt_tensor import tensor
    >>> conv1d(tensor([[[0, 1, 2, 3]]]), tensor([[[1, 2, 3]]])).to_numpy().tolist()
    [[[8.0, 14.0, 8.0, 3.0]]]
    """
    _check(x, weight, bias, 3)
    b, c, w = x.shape
    o, _, k = weight.shape
    out = conv2d(
        x.contiguous().view(b, c, 1, w),
        weight.contiguous().view(o, c, 1, k),
        bias,
        None if stride is None else (1, stride),
        None if padding is None and stride is None else (0, padding or 0),
    )
    return out.view(b, o, out.shape[3])


def _constant(like: Tensor, values: Array) -> Tensor:
    return _from_array(like.backend, np.ascontiguousarray(values))


def _selection(out_n: int, n: int, k: int, stride: int, pad: int) -> Array:
    """``S[i * out_n + y, yy] = 1`` where ``yy = y * stride - pad + i`` is inside the input."""
    sel = np.zeros((k * out_n, n))
    for i in range(k):
        for y in range(out_n):
            yy = y * stride - pad + i
            if 0 <= yy < n:
                sel[i * out_n + y, yy] = 1.0
    return sel


def unfold_conv2d(x: Tensor, weight: Tensor, stride: Pair, padding: Pair, out_hw: Pair) -> Tensor:
    """The same convolution composed of three batched matmuls (what cuda runs; autograd derives
    the backward): select rows, select columns, then contract with the weight."""
    b, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    oh, ow = out_hw
    rows = _selection(oh, h, kh, stride[0], padding[0])
    cols = _selection(ow, w, kw, stride[1], padding[1]).T
    x = x.contiguous().view(b * c, h, w)
    picked = _constant(x, rows[None]) @ x @ _constant(x, cols[None])
    unfolded = (
        picked.view(b, c, kh, oh, kw, ow)
        .permute(0, 1, 2, 4, 3, 5)
        .contiguous()
        .view(b, c * kh * kw, oh * ow)
    )
    out = weight.contiguous().view(1, o, c * kh * kw) @ unfolded
    return out.view(b, o, oh, ow)
