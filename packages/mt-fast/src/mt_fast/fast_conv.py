"""The fast backend's fused convolution and pooling (`FusedOps` of `FastOps`): numba kernels,
compiled on first use and cached on disk.

`Conv2d` computes $out[b, o, y, x] = bias[o] + \\sum_{c, i, j} in[b, c, y s_h - p_h + i,
x s_w - p_w + j]\\; w[o, c, i, j]$ with zeros outside the input (mt-nn chooses the output size:
the course's keep-the-size rule or PyTorch's), on threads from `PARALLEL_MIN` multiply-adds.
`Pool2d` takes each non-overlapping tile's max or mean in one loop, skipping the tile copy and
the broadcasts of the composed form. The kernels call nothing outside this file, so numba's own
cache check (this file's time stamp) is enough to recompile them after an edit.

The kernels compute in the operands' dtype (float32 or float64; their accumulators and constants
take the arrays' dtype), so numba compiles and caches one version per dtype on the first
convolution of that dtype: a float64-only run compiles no float32 kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from mt_tensor import Tensor, dtypes
from mt_tensor.tensor_ops import FusedOps, conv_dtype, pool_dtype

__all__ = ["FUSED", "PARALLEL_MIN", "RUN", "Conv2d", "Pool2d"]

Array = npt.NDArray[np.floating[Any]]
"""A float32 or float64 array: every array of one kernel call has the same dtype."""
Pair = tuple[int, int]
F = TypeVar("F", bound=Callable[..., object])
Geometry = tuple[int, int, int, int, int, int, int]
"""Padded height and width, stride, padding, images per run: ``(Hp, Wp, sh, sw, ph, pw, per)``."""
ConvSaved = tuple[Array, Array, bool, Geometry, Pair, bool]
"""What `Conv2d.backward` needs: padded input, weight, bias or not, geometry, input size,
threads or not."""
PoolSaved = tuple[Array, Array, Pair, bool]
"""What `Pool2d.backward` needs: input, output, kernel, average or max."""

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


def _plain(fn: F) -> F:
    """Compile a pooling kernel as written (no reordering of its sums), cached on disk."""
    return cast(F, njit(cache=True)(fn))


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
    acc = np.zeros(n, out.dtype)
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
    acc = np.zeros(images * height * width, grad_in.dtype)
    wide = np.zeros(n, grad_in.dtype)
    zero = grad_in.dtype.type(0)
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
                grad_in[first + b, c, y, x] = acc[at] if inside else zero


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
    wide = np.zeros(_run(geometry, min(per, B), OH, OW), grad_w.dtype)
    zero = grad_w.dtype.type(0)
    grad_w[o, c] = 0.0
    for first in range(0, B, per):
        images = min(per, B - first)
        n = _run(geometry, images, OH, OW)
        base = first * height * width
        _spread(wide, grad_out, first, images, o, geometry)
        for i in range(KH):
            for j in range(KW):
                run = padded[c, base + i * width + j : base + i * width + j + n]
                acc = zero
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


def _array(t: Tensor, dtype: dtypes.DType) -> Array:
    """``t``'s values as a C-contiguous array of ``dtype`` (a copy only where needed)."""
    return np.ascontiguousarray(t._tensor.to_numpy(), dtype)


def _from_array(like: Tensor, values: Array, dtype: dtypes.DType | None = None) -> Tensor:
    """A kernel's fresh ``values`` as a tensor on ``like``'s backend, in ``dtype`` where given
    (the composed default's result dtype for integer operands) and in their own otherwise."""
    return Tensor.from_numpy(values, like.backend, dtype=dtype or values.dtype, copy=False)


def _dtype(*ts: Tensor | None) -> dtypes.DType:
    """The float dtype the kernels compute in: the operands' promoted dtype (PyTorch's rule),
    the default float for integer operands."""
    kinds = [t.dtype for t in ts if t is not None]
    common = kinds[0]
    for d in kinds[1:]:
        common = dtypes.promote(common, d)
    return dtypes.float_of(common)


class Conv2d:
    """The convolution as three numba kernels (forward, input gradient, weight gradient).

    The input is copied once into a zero-padded ``(C, B, Hp, Wp)`` array, ``Hp, Wp`` the rows
    and columns the outputs read, ``(out - 1) * stride + kernel``. Each kernel does about
    ``B OC C KH KW Hp Wp`` multiply-adds. The bias is added as the outputs are written, and its
    gradient is the output gradient's sum per channel (a broadcast add and its reduction, as
    tensor ops, cost more than the convolution at 8x8). Without ``input_grad`` (a batch of
    images) the input-gradient kernel is skipped.
    """

    @staticmethod
    def forward(
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: Pair,
        padding: Pair,
        out_hw: Pair,
    ) -> tuple[Tensor, ConvSaved]:
        """The output and what the backward needs."""
        b, c, h, w = inp.shape
        o, _, kh, kw = weight.shape
        (sh, sw), (ph, pw) = stride, padding
        hp, wp = (out_hw[0] - 1) * sh + kh, (out_hw[1] - 1) * sw + kw
        dtype = _dtype(inp, weight, bias)
        padded = np.zeros((c, b, hp, wp), dtype)
        rows, cols = max(0, min(h, hp - ph)), max(0, min(w, wp - pw))
        source = inp._tensor.to_numpy().transpose(1, 0, 2, 3)
        padded[:, :, ph : ph + rows, pw : pw + cols] = source[:, :, :rows, :cols]
        flat = padded.reshape(c, b * hp * wp)
        weights = _array(weight, dtype)
        shift = np.zeros(o, dtype) if bias is None else _array(bias, dtype)
        out = np.empty((b, o, *out_hw), dtype)
        geometry = (hp, wp, sh, sw, ph, pw, max(1, RUN // (hp * wp)))
        parallel = b * o * c * kh * kw * hp * wp >= PARALLEL_MIN
        (forward_parallel if parallel else forward_serial)(out, flat, weights, shift, geometry)
        result = _from_array(inp, out, conv_dtype(inp, weight))
        return result, (flat, weights, bias is not None, geometry, (h, w), parallel)

    @staticmethod
    def backward(
        saved: ConvSaved, grad_output: Tensor, input_grad: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Gradients of the input, the weight and the bias."""
        flat, weights, has_bias, geometry, (h, w), parallel = saved
        g = _array(grad_output, weights.dtype)
        grad_in = (np.empty if input_grad else np.zeros)(
            (g.shape[0], weights.shape[1], h, w), weights.dtype
        )
        grad_w = np.empty_like(weights)
        if input_grad:
            (grad_input_parallel if parallel else grad_input_serial)(grad_in, g, weights, geometry)
        (grad_weight_parallel if parallel else grad_weight_serial)(grad_w, g, flat, geometry)
        grad_b = _from_array(grad_output, g.sum(axis=(0, 2, 3))) if has_bias else None
        return _from_array(grad_output, grad_in), _from_array(grad_output, grad_w), grad_b


@_plain
def pool_forward_kernel(out: Array, x: Array, kh: int, kw: int, average: bool) -> None:
    """Each tile's max (folded from $-\\infty$ as ``max_reduce``: a NaN makes it NaN) or mean."""
    B, C, NH, NW = out.shape
    start = out.dtype.type(0) if average else out.dtype.type(-np.inf)
    count = out.dtype.type(kh * kw)
    for b in range(B):
        for c in range(C):
            for y in range(NH):
                for t in range(NW):
                    acc = start
                    for i in range(kh):
                        for j in range(kw):
                            v = x[b, c, y * kh + i, t * kw + j]
                            if average:
                                acc += v
                            else:
                                acc = acc if acc > v or acc != acc else v
                    out[b, c, y, t] = acc / count if average else acc


@_plain
def pool_backward_kernel(
    grad_in: Array, x: Array, out: Array, grad_out: Array, kh: int, kw: int, average: bool
) -> None:
    """Mean: each element gets $g / (k_h k_w)$. Max: tied maxima share ``g`` equally and the
    others get 0, selected (no element equals a NaN max: its tile gets 0)."""
    B, C, NH, NW = out.shape
    zero, nan = grad_in.dtype.type(0), grad_in.dtype.type(np.nan)
    for b in range(B):
        for c in range(C):
            for y in range(NH):
                for t in range(NW):
                    m, g = out[b, c, y, t], grad_out[b, c, y, t]
                    hits = kh * kw
                    if not average:
                        hits = 0
                        for i in range(kh):
                            for j in range(kw):
                                if x[b, c, y * kh + i, t * kw + j] == m:
                                    hits += 1
                    share = g / grad_in.dtype.type(hits) if hits else nan
                    for i in range(kh):
                        for j in range(kw):
                            hit = average or x[b, c, y * kh + i, t * kw + j] == m
                            grad_in[b, c, y * kh + i, t * kw + j] = share if hit else zero


class Pool2d:
    """Max or mean over each non-overlapping ``(kh, kw)`` tile, one numba loop each way."""

    @staticmethod
    def forward(inp: Tensor, kernel: Pair, average: bool) -> tuple[Tensor, PoolSaved]:
        """The pooled output and what the backward needs."""
        b, c, h, w = inp.shape
        kh, kw = kernel
        x = _array(inp, _dtype(inp))
        out = np.empty((b, c, h // kh, w // kw), x.dtype)
        pool_forward_kernel(out, x, kh, kw, average)
        result = _from_array(inp, out, pool_dtype(inp, average) if average else inp.dtype)
        return result, (x, out, kernel, average)

    @staticmethod
    def backward(saved: PoolSaved, grad_output: Tensor) -> Tensor:
        """The gradient of the input."""
        x, out, (kh, kw), average = saved
        grad = np.empty_like(x)
        pool_backward_kernel(grad, x, out, _array(grad_output, x.dtype), kh, kw, average)
        return _from_array(grad_output, grad)


FUSED = FusedOps(conv2d=Conv2d(), pool2d=Pool2d())
"""What `mt_fast.FastOps` declares."""
