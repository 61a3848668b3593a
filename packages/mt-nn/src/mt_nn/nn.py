"""The course's network functions: pooling, max/argmax, softmax, log-softmax and dropout.

Each is composed of the backend's primitives, so it runs (and differentiates) on every backend;
only `max` needs a derivative of its own. Reductions keep the reduced dim with size 1.
Pooling (`Pool2dFun`) runs the backend's fused kernel where it declares one
(``backend.fused.pool2d``: mt-fast's numba loop over the tiles), else the composed default,
the course's `tile` then a reduction over each tile (`Tiles`).
Randomness (dropout masks, layer initialisation) comes from one numpy `Generator`, reset with
`manual_seed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import mt_tensor
from mt_autodiff import Context
from mt_tensor import Function, Tensor
from mt_tensor import generator as generator  # re-exported: the stages share one generator
from mt_tensor import manual_seed as manual_seed
from mt_tensor.tensor_functions import check_dim
from mt_tensor.tensor_ops import Pool2dKernels

__all__ = [
    "Max",
    "Pool2dFun",
    "Tiles",
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

Pair = tuple[int, int]


def _tiles(x: Tensor, kernel: tuple[int, int]) -> tuple[int, int]:
    """The number of tiles down and across, once ``kernel`` is checked against ``x``."""
    if x.dims != 4:
        raise ValueError(f"tile needs a 4-d (batch, channel, height, width) input, got {x.shape}")
    pair = tuple(kernel) if isinstance(kernel, tuple | list) else ()
    if len(pair) != 2 or not all(
        isinstance(k, int | np.integer) and not isinstance(k, bool) for k in pair
    ):
        raise ValueError(f"kernel must be a pair of ints (kh, kw), got {kernel!r}")
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


def _untile(tiles: Tensor, kernel: Pair) -> Tensor:
    """`tile`'s inverse: ``(B, C, H/kh, W/kw, kh*kw)`` back to ``(B, C, H, W)``."""
    b, c, nh, nw, _ = tiles.shape
    kh, kw = kernel
    spread = tiles.view(b, c, nh, nw, kh, kw).permute(0, 1, 2, 4, 3, 5).contiguous()
    return spread.view(b, c, nh * kh, nw * kw)


class Tiles:
    """The composed pooling, the default of a backend that declares no fused one: `tile`, then
    ``mean`` or ``max_reduce`` over each tile; the max's gradient is `Max.backward`'s rule."""

    @staticmethod
    def forward(inp: Tensor, kernel: Pair, average: bool) -> tuple[Tensor, tuple[Any, ...]]:
        """The pooled output and ``(tiles, pooled tiles, kernel, average)``."""
        tiles, nh, nw = tile(inp, kernel)
        pooled = tiles.mean(4) if average else tiles.f.max_reduce(tiles, 4)
        return pooled.view(inp.shape[0], inp.shape[1], nh, nw), (tiles, pooled, kernel, average)

    @staticmethod
    def backward(saved: tuple[Any, ...], grad_output: Tensor) -> Tensor:
        """Mean: $g / (k_h k_w)$ to every element; max: $g$ shared by the tied maxima, selected."""
        tiles, pooled, kernel, average = saved
        f = grad_output.f
        g = grad_output.contiguous().view(*pooled.shape)
        if average:
            grads = f.add_zip(tiles.zeros(tiles.shape), g * (1.0 / tiles.shape[4]))
        else:
            hits: Tensor = f.eq_zip(tiles, pooled)
            grads = f.relu_back_zip(hits, g / hits.sum(4))
        return _untile(grads, kernel)


TILES = Tiles()


class Pool2dFun(Function):
    """Max or mean over each non-overlapping ``(kh, kw)`` tile, with the backend's fused kernels
    or the composed `Tiles`."""

    @staticmethod
    def forward(ctx: Context, x: Tensor, kernel: Pair, average: bool) -> Tensor:
        fused = x.backend.fused.pool2d
        kernels: Pool2dKernels = TILES if fused is None else fused
        out, saved = kernels.forward(x, kernel, average)
        ctx.save_for_backward(kernels, saved)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        kernels, saved = ctx.saved_values
        grad: Tensor = kernels.backward(saved, grad_output)
        return grad


def _pool(x: Tensor, kernel: Pair, average: bool) -> Tensor:
    _tiles(x, kernel)
    return Pool2dFun.apply(x, (int(kernel[0]), int(kernel[1])), average)


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
    return Tensor.from_numpy(np.argmax(x.to_numpy(), axis=d, keepdims=True), x.backend)


def argmin_indices(x: Tensor, dim: int) -> Tensor:
    """The index of the min along ``dim`` (kept, size 1), the first on ties; no gradient."""
    d = check_dim(dim, x.dims, x.shape)
    return Tensor.from_numpy(np.argmin(x.to_numpy(), axis=d, keepdims=True), x.backend)


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
    return x * Tensor.from_numpy(keep / (1.0 - rate), x.backend, dtype=x.dtype)
