"""Statistics and normalisation: `var`, `std` and `layer_norm`, as PyTorch computes them.

Each is composed of differentiable tensor ops (mean, multiply, sqrt), so it runs and
differentiates on every backend; `std` has its own `Std` for PyTorch's gradient at zero spread.
Reductions keep the reduced dims with size 1, as the course's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from mt_autodiff import Context, no_grad
from mt_tensor import Function, Tensor
from mt_tensor.tensor_functions import check_dim


def _check_correction(correction: int) -> None:
    if isinstance(correction, bool) or not isinstance(correction, int) or correction < 0:
        raise ValueError(f"correction must be a non-negative int, got {correction!r}")


def var(x: Tensor, dim: int, correction: int = 1) -> Tensor:
    """$\\sum_i (x_i - \\bar x)^2 / (n - c)$ along ``dim``: ``correction`` $c = 1$ is the unbiased
    estimate (PyTorch's default), 0 the population variance. With $n \\le c$ the result is NaN
    or inf, as PyTorch's."""
    d = check_dim(dim, x.dims, x.shape)
    _check_correction(correction)
    centred = x - x.mean(d)
    dof = x.shape[d] - correction
    return (centred * centred).sum(d) * (1.0 / dof if dof > 0 else math.inf)


class Std(Function):
    """The square root of `var`, with PyTorch's gradient: $(x_i - \bar x) / ((n - c)\\,s)$, and
    0 where $s = 0$ (there every $x_i - \bar x$ is 0; the chain rule through sqrt gives 0/0)."""

    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int, correction: int) -> Tensor:
        centred = a - a.mean(dim)
        dof = a.shape[dim] - correction
        out = ((centred * centred).sum(dim) * (1.0 / dof if dof > 0 else math.inf)).sqrt()
        ctx.save_for_backward(centred, out, dof)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        centred: Tensor
        out: Tensor
        centred, out, dof = ctx.saved_values
        nonzero = out + (out == 0.0)
        grad: Tensor = grad_output * centred / (nonzero * max(dof, 0))
        return grad


def std(x: Tensor, dim: int, correction: int = 1) -> Tensor:
    """The square root of `var` (`Std`, whose gradient is 0 where the deviation is 0)."""
    d = check_dim(dim, x.dims, x.shape)
    _check_correction(correction)
    out: Tensor = Std.apply(x, d, correction)
    return out


def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing dims ``normalized_shape``: $(x - \\mu) / \\sqrt{\\sigma^2 +
    \\epsilon}$ with the population variance, then $\\cdot w + b$ (Ba et al., PyTorch's)."""
    shape = tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.dims - k :] != shape:
        raise ValueError(
            f"layer_norm over {shape} needs an input ending in those dims, got {x.shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(f"layer_norm {name} has shape {p.shape}, expected {shape}")
    dims = range(x.dims - k, x.dims)
    mean = x
    for d in dims:
        mean = mean.mean(d)
    centred = x - mean
    variance = centred * centred
    for d in dims:
        variance = variance.mean(d)
    out = centred / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) over the batch and any spatial dims (Ioffe & Szegedy,
    PyTorch's rule). Training uses the batch's statistics (population variance) and moves the
    running ones towards them in place, by ``momentum`` (the unbiased variance, as PyTorch);
    evaluation uses the running ones. ``weight`` and ``bias`` have one value per channel."""
    if x.dims < 2:
        raise ValueError(f"batch_norm needs (N, C, ...) input, got {x.shape}")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm {name} has shape {t.shape}, expected ({channels},)")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm {name} has shape {t.shape}, expected ({channels},)")
    dims = [d for d in range(x.dims) if d != 1]
    per_channel = (1, channels) + (1,) * (x.dims - 2)
    if training or running_mean is None or running_var is None:
        count = x.size // channels
        if count < 2 and training:
            raise ValueError(
                f"batch_norm in training needs more than one value per channel, got {x.shape}"
            )
        mean = x
        for d in dims:
            mean = mean.mean(d)
        centred = x - mean
        variance = centred * centred
        for d in dims:
            variance = variance.mean(d)
        if training and running_mean is not None and running_var is not None:
            _move_towards(running_mean, mean, momentum)
            _move_towards(running_var, variance * (count / (count - 1)), momentum)
    else:
        mean = running_mean.contiguous().view(*per_channel)
        variance = running_var.contiguous().view(*per_channel)
        centred = x - mean
    out = centred / (variance + eps).sqrt()
    if weight is not None:
        out = out * weight.contiguous().view(*per_channel)
    return out if bias is None else out + bias.contiguous().view(*per_channel)


def _move_towards(running: Tensor, batch: Tensor, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * batch``, written in place."""
    with no_grad():
        new = (
            running * (1.0 - momentum) + batch.detach().contiguous().view(*running.shape) * momentum
        )
        running.backend.id_map(new, running)
