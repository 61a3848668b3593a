"""The course's network functions: pooling, max/argmax, softmax, log-softmax and dropout.

Each is composed of the backend's primitives, so it runs (and differentiates) on every backend;
only `max` needs a derivative of its own. Reductions keep the reduced dim with size 1.
Pooling is the course's `tile` then `max` or `mean` over each tile; on the CPU backends the same
function runs as one numba loop over the tiles (`Pool2dFun`), which skips the tile copy and the
broadcasts, each a loop over rows of only ``kw`` or ``kh * kw`` values.
Randomness (dropout masks, layer initialisation) comes from one numpy `Generator`, reset with
`manual_seed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import numpy as np
import numpy.typing as npt
from numba import njit

import mt_tensor
from mt_autodiff import Context
from mt_tensor import Function, Tensor
from mt_tensor import generator as generator  # re-exported: the stages share one generator
from mt_tensor import manual_seed as manual_seed
from mt_tensor.tensor_functions import check_dim

__all__ = [
    "Max",
    "Pool2dFun",
    "adaptive_avgpool2d",
    "argmax",
    "argmax_indices",
    "argmin_indices",
    "avgpool2d",
    "dropout",
    "elu",
    "gelu",
    "logsoftmax",
    "logsumexp",
    "manual_seed",
    "max",
    "maxpool2d",
    "min",
    "silu",
    "softmax",
    "softplus",
    "tile",
]

Array = npt.NDArray[np.float64]
F = TypeVar("F", bound=Callable[..., None])


def _tiles(x: Tensor, kernel: tuple[int, int]) -> tuple[int, int]:
    """The number of tiles down and across, once ``kernel`` is checked against ``x``."""
    if x.dims != 4:
        raise ValueError(f"tile needs a 4-d (batch, channel, height, width) input, got {x.shape}")
    h, w = x.shape[2], x.shape[3]
    kh, kw = kernel
    if kh < 1 or kw < 1 or h % kh or w % kw:
        raise ValueError(f"kernel {kernel} must tile the input's height and width {(h, w)} exactly")
    return h // kh, w // kw


def tile(x: Tensor, kernel: tuple[int, int]) -> tuple[Tensor, int, int]:
    """``(B, C, H, W)`` as ``(B, C, H/kh, W/kw, kh*kw)`` (each pooling tile last), the new height
    and the new width.

    >>> from mt_tensor import tensor
    >>> tiles, nh, nw = tile(tensor([[[[1, 2], [3, 4]]]]), (2, 2))
    >>> tiles.shape, nh, nw
    ((1, 1, 1, 1, 4), 1, 1)
    """
    nh, nw = _tiles(x, kernel)
    b, c = x.shape[0], x.shape[1]
    kh, kw = kernel
    tiles = x.contiguous().view(b, c, nh, kh, nw, kw).permute(0, 1, 2, 4, 3, 5)
    return tiles.contiguous().view(b, c, nh, nw, kh * kw), nh, nw


def _serial(fn: F) -> F:
    """Compile a pooling kernel once, cached on disk."""
    return cast(F, njit(cache=True)(fn))


@_serial
def pool_forward_kernel(out: Array, x: Array, kh: int, kw: int, average: bool) -> None:
    """Each tile's max (folded from $-\\infty$ as ``max_reduce``: a NaN makes it NaN) or mean."""
    B, C, NH, NW = out.shape
    for b in range(B):
        for c in range(C):
            for y in range(NH):
                for t in range(NW):
                    acc = 0.0 if average else -np.inf
                    for i in range(kh):
                        for j in range(kw):
                            v = x[b, c, y * kh + i, t * kw + j]
                            if average:
                                acc += v
                            else:
                                acc = acc if acc > v or acc != acc else v
                    out[b, c, y, t] = acc / (kh * kw) if average else acc


@_serial
def pool_backward_kernel(
    grad_in: Array, x: Array, out: Array, grad_out: Array, kh: int, kw: int, average: bool
) -> None:
    """Mean: each element gets $g / (k_h k_w)$. Max: `Max.backward`'s rule, tied maxima share
    ``g`` equally and the others get 0, selected (no element equals a NaN max: its tile gets 0)."""
    B, C, NH, NW = out.shape
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
                    share = g / hits if hits else np.nan
                    for i in range(kh):
                        for j in range(kw):
                            hit = average or x[b, c, y * kh + i, t * kw + j] == m
                            grad_in[b, c, y * kh + i, t * kw + j] = share if hit else 0.0


class Pool2dFun(Function):
    """Max or mean over each non-overlapping ``(kh, kw)`` tile, with numba loops."""

    @staticmethod
    def forward(ctx: Context, x: Tensor, kernel: tuple[int, int], average: bool) -> Tensor:
        b, c, h, w = x.shape
        kh, kw = kernel
        inp = np.ascontiguousarray(x._tensor.to_numpy())
        out = np.empty((b, c, h // kh, w // kw))
        pool_forward_kernel(out, inp, kh, kw, average)
        ctx.save_for_backward(inp, out, kernel, average)
        return Tensor.make(out.ravel(), out.shape, backend=x.backend)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        inp, out, (kh, kw), average = ctx.saved_values
        g = np.ascontiguousarray(grad_output._tensor.to_numpy())
        grad = np.empty_like(inp)
        pool_backward_kernel(grad, inp, out, g, kh, kw, average)
        return Tensor.make(grad.ravel(), grad.shape, backend=grad_output.backend)


def _pool(x: Tensor, kernel: tuple[int, int], average: bool) -> Tensor:
    _tiles(x, kernel)
    if not x.backend.cuda:
        return Pool2dFun.apply(x, (kernel[0], kernel[1]), average)
    tiles, nh, nw = tile(x, kernel)
    pooled = tiles.mean(4) if average else max(tiles, 4)
    return pooled.view(x.shape[0], x.shape[1], nh, nw)


def avgpool2d(x: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Mean of each non-overlapping ``kernel`` tile: ``(B, C, H, W) → (B, C, H/kh, W/kw)``."""
    return _pool(x, kernel, average=True)


def maxpool2d(x: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Max of each non-overlapping ``kernel`` tile: ``(B, C, H, W) → (B, C, H/kh, W/kw)``."""
    return _pool(x, kernel, average=False)


class Max(Function):
    """The max along a dim, kept with size 1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        out = a.f.max_reduce(a, dim)
        ctx.save_for_backward(a, out, dim)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The gradient goes to the arg-max; tied maxima share it equally (as ``torch.amax``).
        Selected, not multiplied by the 0/1 hits, so an infinite gradient stays off the rest."""
        a, out, dim = ctx.saved_values
        hits: Tensor = a == out
        share: Tensor = a.f.relu_back_zip(hits, grad_output / hits.sum(dim))
        return share


def max(x: Tensor, dim: int) -> Tensor:  # noqa: A001 (the course's name)
    """Max along ``dim`` (kept, size 1); the gradient flows to the arg-max."""
    return Max.apply(x, check_dim(dim, x.dims, x.shape))


def argmax(x: Tensor, dim: int) -> Tensor:
    """One-hot of the max along ``dim`` (ties all marked), as the course; no gradient."""
    c = x.detach()
    return c == c.f.max_reduce(c, check_dim(dim, c.dims, c.shape))


def min(x: Tensor, dim: int) -> Tensor:  # noqa: A001 (PyTorch's name)
    """Min along ``dim`` (kept, size 1): $-\\max(-x)$, so the gradient flows to the arg-min."""
    return -max(-x, dim)


def argmax_indices(x: Tensor, dim: int) -> Tensor:
    """The index of the max along ``dim`` (kept, size 1), the first on ties, as numpy and
    PyTorch choose; a constant (no gradient). Found with numpy on the host."""
    d = check_dim(dim, x.dims, x.shape)
    found = np.argmax(x.to_numpy(), axis=d, keepdims=True).astype(np.float64)
    return Tensor.make(found.ravel(), found.shape, backend=x.backend)


def argmin_indices(x: Tensor, dim: int) -> Tensor:
    """The index of the min along ``dim`` (kept, size 1), the first on ties; no gradient."""
    d = check_dim(dim, x.dims, x.shape)
    found = np.argmin(x.to_numpy(), axis=d, keepdims=True).astype(np.float64)
    return Tensor.make(found.ravel(), found.shape, backend=x.backend)


def _shifted(x: Tensor, dim: int) -> Tensor:
    """``x`` minus its max along ``dim`` (a constant): every exponent is then <= 0."""
    c = x.detach()
    return x - c.f.max_reduce(c, check_dim(dim, c.dims, c.shape))


def softmax(x: Tensor, dim: int) -> Tensor:
    """$e^{x_i} / \\sum_j e^{x_j}$ along ``dim``, from ``x - max`` so it cannot overflow."""
    e = _shifted(x, dim).exp()
    return e / e.sum(dim)


def logsoftmax(x: Tensor, dim: int) -> Tensor:
    """$x_i - \\log \\sum_j e^{x_j}$ along ``dim``, stable for any magnitude (log-sum-exp)."""
    z = _shifted(x, dim)
    return z - z.exp().sum(dim).log()


def logsumexp(x: Tensor, dim: int) -> Tensor:
    r"""$\log \sum_j e^{x_j}$ along ``dim`` (kept, size 1), from ``x - max`` so it cannot
    overflow; an infinite max is not subtracted (``inf - inf`` would be NaN), so a row of
    ``-inf`` gives ``-inf`` and one with ``inf`` gives ``inf``, as PyTorch."""
    c = x.detach()
    top = c.f.max_reduce(c, check_dim(dim, c.dims, c.shape))
    finite = (top - top) == 0.0
    top = c.f.relu_back_zip(finite, top)  # the max where finite, else 0 (selected)
    return (x - top).exp().sum(dim).log() + top


def softplus(x: Tensor, beta: float = 1.0) -> Tensor:
    """$\frac1\beta \\log(1 + e^{\beta x})$, stable for any magnitude (`losses.Softplus`)."""
    from .losses import Softplus

    if beta <= 0:
        raise ValueError(f"softplus beta must be positive, got {beta}")
    out: Tensor = Softplus.apply(x * beta) if beta != 1.0 else Softplus.apply(x)
    return out if beta == 1.0 else out * (1.0 / beta)


def silu(x: Tensor) -> Tensor:
    r"""$x \sigma(x)$ (also called swish)."""
    return x * x.sigmoid()


def gelu(x: Tensor) -> Tensor:
    r"""$x \Phi(x) = \frac{x}{2} (1 + \operatorname{erf}(x / \sqrt 2))$, the exact GELU
    (PyTorch's default ``approximate='none'``)."""
    return x * ((x * 0.7071067811865476).erf() + 1.0) * 0.5


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """$x$ for $x > 0$, else $\alpha (e^x - 1)$, as $\\max(x, 0) + \alpha (e^{\\min(x, 0)} - 1)$:
    no branch, no overflow, and PyTorch's gradient $\alpha$ at 0."""
    return x.relu() + (x.clamp(max=0.0).exp() - 1.0) * alpha


def adaptive_avgpool2d(x: Tensor, size: tuple[int, int]) -> Tensor:
    """Average pooling to the output ``size``; each input side must be a multiple of it (the
    windows then do not overlap, which is what `avgpool2d` computes)."""
    h, w = x.shape[-2:]
    oh, ow = size
    if oh < 1 or ow < 1 or h % oh or w % ow:
        raise ValueError(
            f"adaptive_avgpool2d to {size} needs input sides that are multiples of it, "
            f"got {x.shape}"
        )
    return avgpool2d(x, (h // oh, w // ow))


def dropout(
    x: Tensor, rate: float, ignore: bool = False, generator: np.random.Generator | None = None
) -> Tensor:
    """Zero each element with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    ``rate=0`` keeps the values exactly, ``rate=1`` gives zeros, ``ignore=True`` is the identity.
    The mask comes from ``generator`` (default: the shared one, see `manual_seed`).
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout rate must be in [0, 1], got {rate}")
    if ignore or rate == 0.0:
        return x
    if rate == 1.0:
        return x * 0.0
    rng = generator if generator is not None else mt_tensor.generator()
    keep = rng.random(x.shape) >= rate
    mask = (keep.ravel() / (1.0 - rate)).astype(x.dtype)
    return x * Tensor.make(mask, x.shape, backend=x.backend)
