"""1-D and 2-D convolution: the backend's fused kernel where it declares one
(``backend.fused.conv2d``: mt-fast's numba kernels), else the composed default every backend gets,
an unfold into matmuls of the backend's primitives (`Unfold`).

Course semantics by default: the output keeps the input's width (and height), the kernel is
anchored at the left/top and reads zeros past the edge, so ``[0, 1, 2, 3]`` with ``[1, 2, 3]``
gives ``[8, 14, 8, 3]``. Passing ``stride`` or ``padding`` switches to PyTorch's rule: the input
gets ``padding`` zeros on both sides and the output size is ``(w + 2p - k) // s + 1``.

Both rules are one formula, $out[b, o, y, x] = \\sum_{c, i, j} in[b, c, y s_h - p_h + i,
x s_w - p_w + j]\\; w[o, c, i, j]$ with zeros outside the input, and differ only in the output size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mt_autodiff import Context
from mt_tensor import Function, Tensor
from mt_tensor.tensor_ops import Conv2dKernels

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "Unfold",
    "conv1d",
    "conv2d",
    "unfold_conv2d",
]

Array = npt.NDArray[np.float64]
Pair = tuple[int, int]


def _constant(like: Tensor, values: Array) -> Tensor:
    return Tensor.from_numpy(values, like.backend, dtype=like.dtype)


def _selection(out_n: int, n: int, k: int, stride: int, pad: int) -> Array:
    """``S[i * out_n + y, yy] = 1`` where ``yy = y * stride - pad + i`` is inside the input."""
    sel = np.zeros((k * out_n, n))
    for i in range(k):
        for y in range(out_n):
            yy = y * stride - pad + i
            if 0 <= yy < n:
                sel[i * out_n + y, yy] = 1.0
    return sel


def _selections(
    x: Tensor, kernel: Pair, stride: Pair, padding: Pair, out_hw: Pair
) -> tuple[Tensor, Tensor]:
    """The row selection ``(1, KH OH, H)`` and column selection ``(1, W, KW OW)`` on ``x``'s
    backend: ``rows @ image @ cols`` holds every window's values, ``(KH, OH) x (KW, OW)``."""
    rows = _selection(out_hw[0], x.shape[2], kernel[0], stride[0], padding[0])
    cols = _selection(out_hw[1], x.shape[3], kernel[1], stride[1], padding[1]).T
    return _constant(x, rows[None]), _constant(x, cols[None])


def _unfold(x: Tensor, rows: Tensor, cols: Tensor, kernel: Pair, out_hw: Pair) -> Tensor:
    """``(B, C, H, W)`` as ``(B, C KH KW, OH OW)``: column ``(y, x)`` is the window of output
    ``(y, x)``, so the convolution is one matmul with the weight ``(OC, C KH KW)``."""
    b, c, h, w = x.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    picked = rows @ x.contiguous().view(b * c, h, w) @ cols
    return (
        picked.view(b, c, kh, oh, kw, ow)
        .permute(0, 1, 2, 4, 3, 5)
        .contiguous()
        .view(b, c * kh * kw, oh * ow)
    )


class Unfold:
    """The composed convolution, the default of a backend that declares no fused one: unfold
    (two selection matmuls), then one batched matmul with the weight. Backward, with
    $U$ the unfolded input and $g$ the output gradient: $\\partial w = \\sum_b g_b U_b^T$,
    $\\partial U = w^T g$, folded back through the transposed selections."""

    @staticmethod
    def forward(
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: Pair,
        padding: Pair,
        out_hw: Pair,
    ) -> tuple[Tensor, tuple[Any, ...]]:
        """The output and ``(unfolded input, weight, selections, shapes, bias or not)``."""
        b = inp.shape[0]
        o, c, kh, kw = weight.shape
        rows, cols = _selections(inp, (kh, kw), stride, padding, out_hw)
        unfolded = _unfold(inp, rows, cols, (kh, kw), out_hw)
        w = weight.contiguous().view(1, o, c * kh * kw)
        out = (w @ unfolded).view(b, o, *out_hw)
        if bias is not None:
            out = out + bias.contiguous().view(1, o, 1, 1)
        return out, (unfolded, w, rows, cols, inp.shape, weight.shape, bias is not None)

    @staticmethod
    def backward(
        saved: tuple[Any, ...], grad_output: Tensor, input_grad: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Gradients of the input (zeros when not ``input_grad``), the weight and the bias."""
        unfolded, w, rows, cols, (b, c, h, wd), weight_shape, has_bias = saved
        o, _, kh, kw = weight_shape
        oh, ow = grad_output.shape[2], grad_output.shape[3]
        g = grad_output.contiguous().view(b, o, oh * ow)
        grad_w = (g @ unfolded.permute(0, 2, 1)).sum(0).view(*weight_shape)
        grad_b = grad_output.sum(3).sum(2).sum(0).view(o) if has_bias else None
        if not input_grad:
            return grad_output.zeros((b, c, h, wd)), grad_w, grad_b
        picked = (
            (w.permute(0, 2, 1) @ g)
            .view(b, c, kh, kw, oh, ow)
            .permute(0, 1, 2, 4, 3, 5)
            .contiguous()
            .view(b * c, kh * oh, kw * ow)
        )
        grad_in = rows.permute(0, 2, 1) @ picked @ cols.permute(0, 2, 1)
        return grad_in.view(b, c, h, wd), grad_w, grad_b


UNFOLD = Unfold()


def _kernels(x: Tensor) -> Conv2dKernels:
    """The backend's fused convolution, else the composed one."""
    fused = x.backend.fused.conv2d
    return UNFOLD if fused is None else fused


class Conv2dFun(Function):
    """2-D convolution of ``(B, C, H, W)`` by ``(OC, C, KH, KW)``, plus an optional bias
    ``(OC,)``, with the backend's fused kernels or the composed `Unfold`.

    ``Conv2dFun.apply(input, weight)`` is the course's convolution; `conv2d` checks the shapes and
    passes the PyTorch-style options, and ``input_grad=False`` where no gradient flows into the
    input (a batch of images), which skips that part of the backward.
    """

    @staticmethod
    def forward(
        ctx: Context,
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None = None,
        stride: Pair = (1, 1),
        padding: Pair = (0, 0),
        out_hw: Pair | None = None,
        input_grad: bool = True,
    ) -> Tensor:
        kernels = _kernels(inp)
        out_hw = (inp.shape[2], inp.shape[3]) if out_hw is None else out_hw
        out, saved = kernels.forward(inp, weight, bias, stride, padding, out_hw)
        ctx.save_for_backward(kernels, saved, input_grad)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        kernels, saved, input_grad = ctx.saved_values
        grad_in, grad_w, grad_b = kernels.backward(saved, grad_output, input_grad)
        return (grad_in, grad_w) if grad_b is None else (grad_in, grad_w, grad_b)


class Conv1dFun(Function):
    """The course's 1-D convolution, ``Conv1dFun.apply(input, weight)``: ``(B, C, W)`` by
    ``(OC, C, K)`` into ``(B, OC, W)``, computed as a `Conv2dFun` over rows of height 1."""

    @staticmethod
    def forward(ctx: Context, inp: Tensor, weight: Tensor) -> Tensor:
        _check(inp, weight, None, 3)
        b, c, w = inp.shape
        o, _, k = weight.shape
        out = Conv2dFun.forward(
            ctx, inp.contiguous().view(b, c, 1, w), weight.contiguous().view(o, c, 1, k)
        )
        return out.view(b, o, w)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        b, o, w = grad_output.shape
        grad_in, grad_w = Conv2dFun.backward(ctx, grad_output.contiguous().view(b, o, 1, w))
        return (
            grad_in.view(grad_in.shape[0], grad_in.shape[1], w),
            grad_w.view(grad_w.shape[0], grad_w.shape[1], grad_w.shape[3]),
        )


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
    return Conv2dFun.apply(x, weight, bias, s, p, out_hw, x.requires_grad())


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


def unfold_conv2d(x: Tensor, weight: Tensor, stride: Pair, padding: Pair, out_hw: Pair) -> Tensor:
    """`Unfold`'s forward as differentiable tensor ops, autograd deriving the backward (a check
    of `Unfold.backward`, and of the fused kernels)."""
    o, c, kh, kw = weight.shape
    rows, cols = _selections(x, (kh, kw), stride, padding, out_hw)
    unfolded = _unfold(x, rows, cols, (kh, kw), out_hw)
    out = weight.contiguous().view(1, o, c * kh * kw) @ unfolded
    return out.view(x.shape[0], o, *out_hw)
