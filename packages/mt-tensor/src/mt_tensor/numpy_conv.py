"""The numpy backend's fused convolution and pooling (`FusedOps` of `NumpyOps`), in the dtype the
composed default computes in (`tensor_ops.conv_dtype`, `pool_dtype`: float32 stays float32).

`Conv2d` views the zero-padded input as its windows (`sliding_window_view`), copies them once
into a column per output position (im2col, ``(B, C KH KW, OH OW)``) and multiplies the weight by
them, one small matmul per image; the weight gradient is the output gradient times those columns,
and the input gradient puts each kernel offset's share back onto the positions it read (col2im:
one strided slice-add per offset). Per-image matmuls keep every BLAS call small: one product for
the whole batch (``tensordot`` over the windows) made OpenBLAS start its threads, which on a busy
machine made a LeNet step several times slower. `Pool2d` folds the tiles' elements one offset
``(i, j)`` at a time (``x[..., i::kh, j::kw]``, a strided view): ``np.maximum`` or ``+`` over
``kh kw`` whole arrays, ten times faster than a reduction over the two small tile axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from . import dtypes
from .tensor_ops import FusedOps, _as, conv_dtype, pool_dtype

if TYPE_CHECKING:
    from .tensor import Tensor

__all__ = ["FUSED", "Conv2d", "Pool2d"]

Array = npt.NDArray[Any]
Pair = tuple[int, int]
ConvSaved = tuple[Array, Array, bool, Pair, Pair, Pair, Pair]
"""Input columns (im2col), weight, bias or not, stride, padding, input size, padded size."""
PoolSaved = tuple[Array, Array, Pair, bool]
"""Input, output, kernel, average or max."""


def _array(t: Tensor, dtype: dtypes.DType | None = None) -> Array:
    """``t``'s values (a view), in ``dtype`` where given (then a copy where it differs)."""
    return (t if dtype is None else _as(t, dtype))._tensor.to_numpy()


def _tensor(like: Tensor, values: Array) -> Tensor:
    """``values`` as a tensor of their dtype on ``like``'s backend."""
    return like.from_numpy(values, like.backend, dtype=values.dtype, copy=False)


def _overlap(size: Pair, pad: Pair, padded: Pair) -> Pair:
    """Rows and columns of the input inside the padded ``(Hp, Wp)`` (those past it are unread)."""
    return max(0, min(size[0], padded[0] - pad[0])), max(0, min(size[1], padded[1] - pad[1]))


class Conv2d:
    """The convolution as matmuls of the input's windows, one column per output position."""

    @staticmethod
    def forward(
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: Pair,
        padding: Pair,
        out_hw: Pair,
    ) -> tuple[Tensor, ConvSaved]:
        """$out[b, o, q] = bias[o] + \\sum_k w[o, k]\\, cols[b, k, q]$ with ``cols[b, :, q]`` the
        window ``(C, KH, KW)`` of output ``q`` in the input padded (or cropped) to the
        ``(out - 1) * stride + kernel`` rows and columns the outputs read."""
        dtype = conv_dtype(inp, weight)
        x, w = _array(inp, dtype), _array(weight, dtype)
        b, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        (sh, sw), (ph, pw), (oh, ow) = stride, padding, out_hw
        hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw
        padded = np.zeros((b, c, hp, wp), x.dtype)
        rows, cols = _overlap((h, wd), padding, (hp, wp))
        padded[:, :, ph : ph + rows, pw : pw + cols] = x[:, :, :rows, :cols]
        windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        unfolded = windows.transpose(0, 1, 4, 5, 2, 3).reshape(b, c * kh * kw, oh * ow)
        out = (w.reshape(o, c * kh * kw) @ unfolded).reshape(b, o, oh, ow)
        if bias is not None:
            out += _array(bias, dtype)[:, None, None]
        saved = (unfolded, w, bias is not None, stride, padding, (h, wd), (hp, wp))
        return _tensor(inp, out), saved

    @staticmethod
    def backward(
        saved: ConvSaved, grad_output: Tensor, input_grad: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """$\\partial w[o, k] = \\sum_{b, q} g[b, o, q]\\, cols[b, k, q]$; the columns' gradient
        $\\sum_o w[o, k]\\, g[b, o, q]$ goes back onto the positions each column read."""
        unfolded, w, has_bias, (sh, sw), (ph, pw), (h, wd), (hp, wp) = saved
        o, c, kh, kw = w.shape
        g = _array(grad_output).astype(w.dtype, copy=False)
        b, _, oh, ow = g.shape
        flat = g.reshape(b, o, oh * ow)
        grad_w = (flat @ unfolded.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
        grad_b = _tensor(grad_output, g.sum(axis=(0, 2, 3))) if has_bias else None
        grad_in = np.zeros((b, c, h, wd), w.dtype)
        if input_grad:
            shares = (w.reshape(o, c * kh * kw).T @ flat).reshape(b, c, kh, kw, oh, ow)
            grad_padded = np.zeros((b, c, hp, wp), w.dtype)
            for i in range(kh):
                for j in range(kw):
                    grad_padded[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += shares[
                        :, :, i, j
                    ]
            rows, cols = _overlap((h, wd), (ph, pw), (hp, wp))
            grad_in[:, :, :rows, :cols] = grad_padded[:, :, ph : ph + rows, pw : pw + cols]
        return _tensor(grad_output, grad_in), _tensor(grad_output, grad_w), grad_b


def _offsets(kernel: Pair) -> list[tuple[slice, slice]]:
    """Each tile offset ``(i, j)`` as the slices that pick it from every tile at once."""
    kh, kw = kernel
    return [(slice(i, None, kh), slice(j, None, kw)) for i in range(kh) for j in range(kw)]


class Pool2d:
    """Each tile's mean or max, folded over the tile offsets."""

    @staticmethod
    def forward(inp: Tensor, kernel: Pair, average: bool) -> tuple[Tensor, PoolSaved]:
        """The pooled output; a tile holding a NaN has a NaN max (`numpy.maximum` keeps it)."""
        x = _array(inp, pool_dtype(inp, average))
        (first_rows, first_cols), *rest = _offsets(kernel)
        out = x[:, :, first_rows, first_cols].copy()
        for rows, cols in rest:
            (np.add if average else np.maximum)(out, x[:, :, rows, cols], out=out)
        if average:
            out /= kernel[0] * kernel[1]
        pooled = _tensor(inp, out)
        if not average:
            pooled = _as(pooled, inp.dtype)
        return pooled, (x, out, kernel, average)

    @staticmethod
    def backward(saved: PoolSaved, grad_output: Tensor) -> Tensor:
        """Mean: $g / (k_h k_w)$ everywhere; max: $g$ shared by the tile's tied maxima, selected
        (0 elsewhere, and in a NaN tile, where nothing equals the max)."""
        x, out, kernel, average = saved
        g = _array(grad_output)
        grad = np.empty(x.shape, g.dtype)
        if average:
            for rows, cols in _offsets(kernel):
                grad[:, :, rows, cols] = g / (kernel[0] * kernel[1])
            return _tensor(grad_output, grad)
        hits = [x[:, :, rows, cols] == out for rows, cols in _offsets(kernel)]
        share = g / np.maximum(sum(h.astype(g.dtype) for h in hits), 1)
        for hit, (rows, cols) in zip(hits, _offsets(kernel), strict=True):
            grad[:, :, rows, cols] = np.where(hit, share, 0)
        return _tensor(grad_output, grad)


FUSED = FusedOps(conv2d=Conv2d(), pool2d=Pool2d())
"""What `mt_tensor.numpy_ops.NumpyOps` declares."""
