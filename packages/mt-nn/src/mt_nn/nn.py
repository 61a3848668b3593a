"""The course's network functions: pooling, max/argmax, softmax, log-softmax and dropout.

Each is composed of the backend's primitives, so it runs (and differentiates) on every backend;
only `max` needs a derivative of its own. Reductions keep the reduced dim with size 1.
Randomness (dropout masks, layer initialisation) comes from one numpy `Generator`, reset with
`manual_seed`.
"""

from __future__ import annotations

import numpy as np

from mt_autodiff import Context
from mt_tensor import Function, Tensor
from mt_tensor.tensor_functions import check_dim

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reset the generator behind dropout masks and layer initialisation."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The shared generator (see `manual_seed`)."""
    return _generator


def tile(x: Tensor, kernel: tuple[int, int]) -> tuple[Tensor, int, int]:
    """``(B, C, H, W)`` as ``(B, C, H/kh, W/kw, kh*kw)`` (each pooling tile last), the new height
    and the new width.

    >>> from mt_tensor import tensor
    >>> tiles, nh, nw = tile(tensor([[[[1, 2], [3, 4]]]]), (2, 2))
    >>> tiles.shape, nh, nw
    ((1, 1, 1, 1, 4), 1, 1)
    """
    if x.dims != 4:
        raise ValueError(f"tile needs a 4-d (batch, channel, height, width) input, got {x.shape}")
    b, c, h, w = x.shape
    kh, kw = kernel
    if kh < 1 or kw < 1 or h % kh or w % kw:
        raise ValueError(f"kernel {kernel} must tile the input's height and width {(h, w)} exactly")
    nh, nw = h // kh, w // kw
    tiles = x.contiguous().view(b, c, nh, kh, nw, kw).permute(0, 1, 2, 4, 3, 5)
    return tiles.contiguous().view(b, c, nh, nw, kh * kw), nh, nw


def avgpool2d(x: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Mean of each non-overlapping ``kernel`` tile: ``(B, C, H, W) → (B, C, H/kh, W/kw)``."""
    tiles, nh, nw = tile(x, kernel)
    return tiles.mean(4).view(x.shape[0], x.shape[1], nh, nw)


def maxpool2d(x: Tensor, kernel: tuple[int, int]) -> Tensor:
    """Max of each non-overlapping ``kernel`` tile: ``(B, C, H, W) → (B, C, H/kh, W/kw)``."""
    tiles, nh, nw = tile(x, kernel)
    return max(tiles, 4).view(x.shape[0], x.shape[1], nh, nw)


class Max(Function):
    """The max along a dim, kept with size 1."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        out = a.f.max_reduce(a, dim)
        ctx.save_for_backward(a, out, dim)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The gradient goes to the arg-max; tied maxima share it equally (as ``torch.amax``)."""
        a, out, dim = ctx.saved_values
        hits: Tensor = a == out
        return grad_output * hits / hits.sum(dim)


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
    rng = generator if generator is not None else _generator
    keep = rng.random(x.shape) >= rate
    mask = keep.ravel() / (1.0 - rate)
    return x * Tensor.make(mask, x.shape, backend=x.backend)
