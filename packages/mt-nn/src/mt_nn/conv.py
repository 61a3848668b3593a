"""1-D and 2-D convolution: numba kernels on the CPU (on threads from `PARALLEL_MIN`
multiply-adds), an unfold into matmuls on cuda.

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
from mt_tensor import Function, Tensor

__all__ = [
    "Conv1dFun",
    "Conv2dFun",
    "conv1d",
    "conv2d",
    "unfold_conv2d",
]

Array = npt.NDArray[np.float64]
Pair = tuple[int, int]
F = TypeVar("F", bound=Callable[..., object])
Geometry = tuple[int, int, int, int, int, int, int]
"""Padded height and width, stride, padding, images per run: ``(Hp, Wp, sh, sw, ph, pw, per)``."""

_FASTMATH = {"reassoc", "contract"}
"""Let LLVM reorder the weight gradient's dot products (to vectorise them) and fuse multiply-adds,
as mt-fast's matmul does."""

PARALLEL_MIN = 1 << 21
"""Multiply-adds below which a convolution kernel runs on the calling thread. With numba's
workers asleep between kernels (mt-fast sets ``OMP_WAIT_POLICY=PASSIVE``), waking them costs
about what 1M multiply-adds take: back to back, threads win by 15% at 1.3M and by 1.5x at 3.7M,
but between the Python steps of a training loop the digits CNN's 1.3M convolution on threads
made its epoch slower (0.062-0.067 s against 0.059 s), and with spinning workers beside a busy
process, 0.10-0.85 s."""


def _serial(fn: F) -> F:
    """Compile a kernel that runs its tasks on the calling thread, cached on disk."""
    return cast(F, njit(fastmath=_FASTMATH, cache=True)(fn))


def _parallel(fn: F) -> F:
    """Compile a kernel whose ``prange`` tasks run on numba's threads, cached on disk."""
    return cast(F, njit(parallel=True, fastmath=_FASTMATH, cache=True)(fn))


def _inlined(fn: F) -> F:
    """A task or helper, compiled into (and with the flags of) each kernel that calls it."""
    return cast(F, njit(inline="always")(fn))


# The kernels compute the convolution at stride 1 over an input already zero-padded to
# ``(Hp, Wp)`` per image and stored channel by channel, ``(C, B * Hp * Wp)``. At that width, output
# ``(y, x)`` of image ``b`` is flat position ``q = (b Hp + y) Wp + x`` and reads input
# ``q + i Wp + j``: each kernel offset ``(i, j)`` is one shifted run over consecutive images, a
# loop long enough to vectorise (`RUN` positions: a whole 28x28 image, ten 8x8 ones). The runs also
# cover the positions past each output row and below each output image; the forward pass drops
# them and the backward passes multiply them by zeros. A stride keeps every ``stride``-th output
# (and the gradient comes back on that grid, zeros between): exact, for ``stride²`` times the
# work. Each kernel is one task function, run by a serial and a parallel loop over the tasks.

RUN = 1024
"""Flat positions a run aims for: whole images are stacked until a run is about this long."""


@_inlined
def _run(geometry: Geometry, images: int, out_h: int, out_w: int) -> int:
    """Flat positions from the first output of ``images`` consecutive images to the last."""
    height, width, sh, sw = geometry[0], geometry[1], geometry[2], geometry[3]
    return (images - 1) * height * width + (out_h - 1) * sh * width + (out_w - 1) * sw + 1


@_inlined
def _forward_task(
    out: Array, padded: Array, weight: Array, bias: Array, geometry: Geometry, task: int
) -> None:
    """$out[b, o, y, x] = bias[o] + \\sum_{c, i, j} padded[c, (b Hp + y s_h + i) Wp + x s_w + j]
    \\, w[o, c, i, j]$ for task ``(o, images)``."""
    height, width, sh, sw, per = geometry[0], geometry[1], geometry[2], geometry[3], geometry[6]
    B, OH, OW = out.shape[0], out.shape[2], out.shape[3]
    C, KH, KW = weight.shape[1], weight.shape[2], weight.shape[3]
    chunks = (B + per - 1) // per
    o, first = task // chunks, (task % chunks) * per
    images = min(per, B - first)
    n = _run(geometry, images, OH, OW)
    base = first * height * width
    acc = np.zeros(n)
    for c in range(C):
        for i in range(KH):
            for j in range(KW):
                wv = weight[o, c, i, j]
                run = padded[c, base + i * width + j : base + i * width + j + n]
                for q in range(n):
                    acc[q] += run[q] * wv
    for b in range(images):
        for y in range(OH):
            for x in range(OW):
                out[first + b, o, y, x] = acc[(b * height + y * sh) * width + x * sw] + bias[o]


@_inlined
def _tasks(rows: int, images: int, per: int) -> int:
    """``rows`` channels times the runs of at most ``per`` images."""
    return rows * ((images + per - 1) // per)


@_serial
def forward_serial(
    out: Array, padded: Array, weight: Array, bias: Array, geometry: Geometry
) -> None:
    """`_forward_task` for every (out channel, run of images), on this thread."""
    for task in range(_tasks(out.shape[1], out.shape[0], geometry[6])):
        _forward_task(out, padded, weight, bias, geometry, task)


@_parallel
def forward_parallel(
    out: Array, padded: Array, weight: Array, bias: Array, geometry: Geometry
) -> None:
    """`_forward_task` for every (out channel, run of images), on threads."""
    for task in prange(_tasks(out.shape[1], out.shape[0], geometry[6])):
        _forward_task(out, padded, weight, bias, geometry, task)


@_inlined
def _spread(
    wide: Array, grad_out: Array, first: int, images: int, o: int, geometry: Geometry
) -> None:
    """Lay ``grad_out[first:first + images, o]`` out as the forward's runs; other positions keep
    their 0."""
    height, width, sh, sw = geometry[0], geometry[1], geometry[2], geometry[3]
    for b in range(images):
        for y in range(grad_out.shape[2]):
            for x in range(grad_out.shape[3]):
                wide[(b * height + y * sh) * width + x * sw] = grad_out[first + b, o, y, x]


@_inlined
def _grad_input_task(
    grad_in: Array, grad_out: Array, weight: Array, geometry: Geometry, task: int
) -> None:
    """$\\partial padded[c, q + i Wp + j] \\mathrel{+}= g[o, q]\\, w[o, c, i, j]$ for task
    ``(c, images)``, with the output gradient ``g`` laid out as the forward's runs, then cropped
    to the input."""
    height, width, ph, pw, per = geometry[0], geometry[1], geometry[4], geometry[5], geometry[6]
    B, H, W = grad_in.shape[0], grad_in.shape[2], grad_in.shape[3]
    OC, KH, KW = weight.shape[0], weight.shape[2], weight.shape[3]
    chunks = (B + per - 1) // per
    c, first = task // chunks, (task % chunks) * per
    images = min(per, B - first)
    n = _run(geometry, images, grad_out.shape[2], grad_out.shape[3])
    acc = np.zeros(images * height * width)
    wide = np.zeros(n)
    for o in range(OC):
        _spread(wide, grad_out, first, images, o, geometry)
        for i in range(KH):
            for j in range(KW):
                wv = weight[o, c, i, j]
                run = acc[i * width + j : i * width + j + n]
                for q in range(n):
                    run[q] += wide[q] * wv
    for b in range(images):
        for y in range(H):
            for x in range(W):
                inside = y + ph < height and x + pw < width
                at = (b * height + y + ph) * width + x + pw
                grad_in[first + b, c, y, x] = acc[at] if inside else 0.0


@_serial
def grad_input_serial(grad_in: Array, grad_out: Array, weight: Array, geometry: Geometry) -> None:
    """`_grad_input_task` for every (in channel, run of images), on this thread."""
    for task in range(_tasks(grad_in.shape[1], grad_in.shape[0], geometry[6])):
        _grad_input_task(grad_in, grad_out, weight, geometry, task)


@_parallel
def grad_input_parallel(grad_in: Array, grad_out: Array, weight: Array, geometry: Geometry) -> None:
    """`_grad_input_task` for every (in channel, run of images), on threads; each writes its own
    images."""
    for task in prange(_tasks(grad_in.shape[1], grad_in.shape[0], geometry[6])):
        _grad_input_task(grad_in, grad_out, weight, geometry, task)


@_inlined
def _grad_weight_task(
    grad_w: Array, grad_out: Array, padded: Array, geometry: Geometry, task: int
) -> None:
    """$\\partial w[o, c, i, j] = \\sum_q g[o, q]\\, padded[c, q + i Wp + j]$ for task ``(o, c)``,
    a run of images at a time: their gradient is laid out once for every ``(i, j)``."""
    height, width, per = geometry[0], geometry[1], geometry[6]
    B, OH, OW = grad_out.shape[0], grad_out.shape[2], grad_out.shape[3]
    C, KH, KW = grad_w.shape[1], grad_w.shape[2], grad_w.shape[3]
    o, c = task // C, task % C
    wide = np.zeros(_run(geometry, min(per, B), OH, OW))
    grad_w[o, c] = 0.0
    for first in range(0, B, per):
        images = min(per, B - first)
        n = _run(geometry, images, OH, OW)
        base = first * height * width
        _spread(wide, grad_out, first, images, o, geometry)
        for i in range(KH):
            for j in range(KW):
                run = padded[c, base + i * width + j : base + i * width + j + n]
                acc = 0.0
                for q in range(n):
                    acc += wide[q] * run[q]
                grad_w[o, c, i, j] += acc


@_serial
def grad_weight_serial(grad_w: Array, grad_out: Array, padded: Array, geometry: Geometry) -> None:
    """`_grad_weight_task` for every (out channel, in channel), on this thread."""
    for task in range(grad_w.shape[0] * grad_w.shape[1]):
        _grad_weight_task(grad_w, grad_out, padded, geometry, task)


@_parallel
def grad_weight_parallel(grad_w: Array, grad_out: Array, padded: Array, geometry: Geometry) -> None:
    """`_grad_weight_task` for every (out channel, in channel), on threads."""
    for task in prange(grad_w.shape[0] * grad_w.shape[1]):
        _grad_weight_task(grad_w, grad_out, padded, geometry, task)


def _threads(work: int) -> bool:
    """Whether ``work`` multiply-adds go to the parallel kernels."""
    return work >= PARALLEL_MIN


class Conv2dFun(Function):
    """2-D convolution of ``(B, C, H, W)`` by ``(OC, C, KH, KW)``, plus an optional bias
    ``(OC,)``, with numba kernels.

    The input is copied once into a zero-padded ``(C, B, Hp, Wp)`` array: ``padding`` on each
    side, or, with the course's rule, ``KH - 1`` rows below and ``KW - 1`` columns to the right.
    Each of the three kernels does about ``B OC C KH KW Hp Wp`` multiply-adds. The bias
    is added as the outputs are written, and its gradient is the output gradient's sum per channel
    (a broadcast add and its reduction, as tensor ops, cost more than the convolution at 8x8).
    ``Conv2dFun.apply(input, weight)`` is the course's convolution; `conv2d` checks the shapes and
    passes the PyTorch-style options, and ``input_grad=False`` where no gradient flows into the
    input (a batch of images), which skips that kernel.
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
        b, c, h, w = inp.shape
        out_hw = (h, w) if out_hw is None else out_hw
        o, _, kh, kw = weight.shape
        (sh, sw), (ph, pw) = stride, padding
        # The rows and columns the outputs read: (out - 1) * stride + kernel.
        hp, wp = (out_hw[0] - 1) * sh + kh, (out_hw[1] - 1) * sw + kw
        padded = np.zeros((c, b, hp, wp))
        rows, cols = max(0, min(h, hp - ph)), max(0, min(w, wp - pw))
        source = inp._tensor.to_numpy().transpose(1, 0, 2, 3)
        padded[:, :, ph : ph + rows, pw : pw + cols] = source[:, :, :rows, :cols]
        flat = padded.reshape(c, b * hp * wp)
        weights = np.ascontiguousarray(weight._tensor.to_numpy())
        shift = np.zeros(o) if bias is None else np.ascontiguousarray(bias._tensor.to_numpy())
        out = np.empty((b, o, *out_hw))
        geometry = (hp, wp, sh, sw, ph, pw, max(1, RUN // (hp * wp)))
        parallel = _threads(b * o * c * kh * kw * hp * wp)
        (forward_parallel if parallel else forward_serial)(out, flat, weights, shift, geometry)
        saved = (flat, weights, bias is not None, input_grad, geometry, (h, w), parallel)
        ctx.save_for_backward(*saved)
        return Tensor.from_numpy(out, inp.backend, copy=False)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        flat, weights, has_bias, input_grad, geometry, (h, w), parallel = ctx.saved_values
        g = np.ascontiguousarray(grad_output._tensor.to_numpy())
        grad_in = (np.empty if input_grad else np.zeros)((g.shape[0], weights.shape[1], h, w))
        grad_w = np.empty_like(weights)
        if input_grad:
            (grad_input_parallel if parallel else grad_input_serial)(grad_in, g, weights, geometry)
        (grad_weight_parallel if parallel else grad_weight_serial)(grad_w, g, flat, geometry)
        backend = grad_output.backend
        grads: tuple[Tensor, ...] = (
            Tensor.from_numpy(grad_in, backend, copy=False),
            Tensor.from_numpy(grad_w, backend, copy=False),
        )
        if has_bias:
            grads += (Tensor.from_numpy(g.sum(axis=(0, 2, 3)), backend, copy=False),)
        return grads


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
    if not x.backend.cuda:
        return Conv2dFun.apply(x, weight, bias, s, p, out_hw, x.requires_grad())
    out = unfold_conv2d(x, weight, s, p, out_hw)
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
    return Tensor.from_numpy(np.ascontiguousarray(values), like.backend, copy=False)


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
