"""Losses, averaged over the batch by default (``reduction="sum"`` or ``"none"`` as PyTorch).

Class labels are float tensors of class indices, shape ``(N,)``, or one-hot (or probability) rows
``(N, C)``. Gradients flow to a target that requires grad too, as in PyTorch.
The log-based losses are stable: `binary_cross_entropy` clamps each log at -100 (as PyTorch),
the ``_with_logits`` and `cross_entropy` forms never take the log of a rounded-off probability.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from mt_autodiff import Context
from mt_tensor import Function, Tensor, dtypes

from .nn import logsoftmax

Reduction = Literal["mean", "sum", "none"]

LOG_FLOOR = -100.0
"""The smallest value a log takes in `binary_cross_entropy` (PyTorch's clamp)."""


def _reduce(losses: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(name: str, x: Tensor, target: Tensor) -> None:
    if x.shape != target.shape:
        raise ValueError(f"{name}: input shape {x.shape} != target shape {target.shape}")


class ClampedLog(Function):
    """$\\max(\\log x, -100)$: finite at 0, with zero gradient where the clamp holds."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        floor = a.make([math.exp(LOG_FLOOR)], (1,), backend=a.backend, dtype=a.dtype)
        safe = a.f.max_zip(a, floor)
        ctx.save_for_backward(safe, a.f.lt_zip(floor, a))
        return a.f.log_map(safe)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        safe, inside = ctx.saved_values
        return grad_output.f.mul_zip(inside, grad_output.f.log_back_zip(safe, grad_output))


class Softplus(Function):
    """$\\log(1 + e^x) = \\max(x, 0) + \\operatorname{log1p}(e^{-|x|})$, which cannot overflow
    and keeps its precision far below 0 (``softplus(-40)`` is $e^{-40}$, not 0)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        f = a.f
        ctx.save_for_backward(a)
        minus_abs = f.neg_map(f.maps["abs"](a))
        return f.add_zip(f.relu_map(a), f.maps["log1p"](f.exp_map(minus_abs)))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """$\\frac{d}{dx} \\log(1 + e^x) = \\sigma(x)$."""
        (a,) = ctx.saved_values
        return grad_output.f.mul_zip(grad_output, a.f.sigmoid_map(a))


def mse_loss(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error $(x - t)^2$."""
    _same_shape("mse_loss", x, target)
    diff = x - target
    return _reduce(diff * diff, reduction)


def l1_loss(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """Mean absolute error $|x - t|$."""
    _same_shape("l1_loss", x, target)
    return _reduce((x - target).abs(), reduction)


def huber_loss(
    x: Tensor, target: Tensor, reduction: Reduction = "mean", delta: float = 1.0
) -> Tensor:
    """$\frac12 d^2$ for $|d| \\le \\delta$, else $\\delta (|d| - \frac12 \\delta)$ with
    $d = x - t$: written as $\frac12 m^2 + \\delta (|d| - m)$ with $m = \\min(|d|, \\delta)$,
    one formula for both sides."""
    _same_shape("huber_loss", x, target)
    if delta <= 0:
        raise ValueError(f"huber_loss delta must be positive, got {delta}")
    a = (x - target).abs()
    m = a.clamp(max=delta)
    return _reduce(m * m * 0.5 + (a - m) * delta, reduction)


def smooth_l1_loss(
    x: Tensor, target: Tensor, reduction: Reduction = "mean", beta: float = 1.0
) -> Tensor:
    """`huber_loss` with $\\delta = \beta$, divided by $\beta$ (PyTorch's ``SmoothL1Loss``)."""
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss beta must be positive, got {beta}")
    return huber_loss(x, target, reduction, beta) * (1.0 / beta)


def binary_cross_entropy(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """$-(t \\log p + (1 - t) \\log(1 - p))$ for probabilities ``p`` (logs clamped at -100)."""
    _same_shape("binary_cross_entropy", x, target)
    t = target
    losses = -(t * ClampedLog.apply(x) + (1.0 - t) * ClampedLog.apply(1.0 - x))
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(
    x: Tensor, target: Tensor, reduction: Reduction = "mean"
) -> Tensor:
    """Binary cross-entropy of $\\sigma(z)$, computed as $\\mathrm{softplus}(z) - z t$ (stable)."""
    _same_shape("binary_cross_entropy_with_logits", x, target)
    return _reduce(Softplus.apply(x) - x * target, reduction)


def one_hot(target: Tensor, classes: int, dtype: Any = None) -> Tensor:
    """``(N,)`` class indices as ``(N, classes)`` one-hot rows on the same backend, of ``dtype``
    (default: mt-tensor's default float)."""
    labels = target.to_numpy()
    if target.dims != 1 or np.any(labels != np.round(labels)) or np.any(labels < 0):
        raise ValueError(f"class labels must be non-negative integers of shape (N,), got {target}")
    if labels.size and labels.max() >= classes:
        raise ValueError(f"class label {int(labels.max())} out of range for {classes} classes")
    rows = np.zeros((labels.size, classes), dtypes.get_default_dtype() if dtype is None else dtype)
    rows[np.arange(labels.size), labels.astype(np.int64)] = 1.0
    return Tensor.from_numpy(rows, target.backend, dtype=rows.dtype, copy=False)


def nll_loss(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """$-\\log p_y$ from log-probabilities ``(N, C)``; labels ``(N,)`` or one-hot ``(N, C)``."""
    if x.dims != 2:
        raise ValueError(f"nll_loss needs (N, C) log-probabilities, got shape {x.shape}")
    n, c = x.shape
    if target.shape == (n,):
        rows = one_hot(target, c, x.dtype)
    elif target.shape == (n, c):
        rows = target
    else:
        raise ValueError(
            f"nll_loss: target shape {target.shape} should be ({n},) labels or ({n}, {c}) one-hot"
        )
    return _reduce(-(x * rows).sum(1).view(n), reduction)


def cross_entropy(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    """`nll_loss` of the `logsoftmax` of logits ``(N, C)``: stable for any magnitude."""
    if x.dims != 2:
        raise ValueError(f"cross_entropy needs (N, C) logits, got shape {x.shape}")
    return nll_loss(logsoftmax(x, 1), target, reduction)
