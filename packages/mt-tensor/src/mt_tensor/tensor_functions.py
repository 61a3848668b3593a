"""Differentiable tensor functions, one class each with ``forward`` and ``backward`` side by side.

``forward`` receives tensors (detached when a graph is recorded, so what it saves holds no
graph) and plain values such as a dim or an order, and calls the backend's primitives;
``backward`` receives the gradient of the output and returns one gradient per tensor input, in
order. Gradients of broadcast inputs are summed back to the input's shape by the engine
(`Tensor.expand`), not by each function. Backward runs with grad mode off, so it may use
ordinary tensor arithmetic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mt_autodiff import Context, is_grad_enabled

from .tensor_data import IndexingError

__all__ = [
    "EQ",
    "LT",
    "Abs",
    "Add",
    "All",
    "BroadcastTo",
    "Clamp",
    "Copy",
    "Exp",
    "Floor",
    "Function",
    "Inv",
    "IsClose",
    "Log",
    "MatMul",
    "Mul",
    "Neg",
    "Permute",
    "Pow",
    "ReLU",
    "Sigmoid",
    "Sqrt",
    "Sum",
    "Tanh",
    "Trunc",
    "View",
    "check_dim",
]

if TYPE_CHECKING:
    from .tensor import History, Tensor


@functools.cache
def _classes() -> tuple[type[Tensor], type[History]]:
    """`Tensor` and `History`, imported once on first use (``tensor`` imports this module)."""
    from .tensor import History, Tensor

    return Tensor, History


class Function:
    """Base class: subclasses define ``forward(ctx, *inputs)`` and ``backward(ctx, grad)``."""

    @staticmethod
    def forward(ctx: Context, *inputs: Any) -> Tensor:
        """Compute the output from detached inputs."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor | tuple[Tensor, ...]:
        """One gradient per tensor input."""
        raise NotImplementedError

    @classmethod
    def _backward(cls, ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        grads = cls.backward(ctx, grad_output)
        return grads if isinstance(grads, tuple) else (grads,)

    @classmethod
    def apply(cls, *vals: Any) -> Tensor:
        """Run ``forward``, recording the graph when an input requires grad."""
        Tensor, History = _classes()
        tensors = [v for v in vals if isinstance(v, Tensor)]
        if not tensors:
            raise TypeError(f"{cls.__name__}.apply needs at least one Tensor, got {vals!r}")
        backend = tensors[0].backend
        need_grad = False
        for t in tensors:
            # Backends of one name share a storage kind (``TensorBackend(FastOps)`` and "fast").
            if t.backend is not backend and t.backend.name != backend.name:
                raise ValueError(
                    f"cannot mix backends {backend.name!r} and {t.backend.name!r} in "
                    f"{cls.__name__}; move one with .to({backend.name!r})"
                )
            need_grad = need_grad or t.history is not None
        if not (need_grad and is_grad_enabled()):
            return cls.forward(Context(True), *vals)
        ctx = Context(False)
        out = cls.forward(ctx, *(v.detach() if isinstance(v, Tensor) else v for v in vals))
        return Tensor(out._tensor, History(cls, ctx, tuple(tensors)), backend=out.backend)


class Neg(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.neg_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output.f.neg_map(grad_output)


class Inv(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.inv_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return grad_output.f.inv_back_zip(a, grad_output)


class Add(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        return a.f.add_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        return grad_output, grad_output


class Mul(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return a.f.mul_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a, b = ctx.saved_values
        return grad_output.f.mul_zip(b, grad_output), grad_output.f.mul_zip(a, grad_output)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        out = a.f.sigmoid_map(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """$\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))$."""
        s: Tensor = ctx.saved_values[0]
        return grad_output * s * (1.0 - s)


class ReLU(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.relu_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return grad_output.f.relu_back_zip(a, grad_output)


class Log(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.log_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (a,) = ctx.saved_values
        return grad_output.f.log_back_zip(a, grad_output)


class Exp(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        out = a.f.exp_map(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (out,) = ctx.saved_values
        return grad_output.f.mul_zip(out, grad_output)


def _constant(like: Tensor, value: float) -> Tensor:
    """A 0-d tensor on ``like``'s backend, broadcast by the primitives (adding no dims)."""
    return like.make([value], (), backend=like.backend)


def _power(a: Tensor, exponent: float) -> Tensor:
    r"""$a^p$ from the primitives: repeated squaring for an integer ``p`` (so negative bases
    work), $e^{p \log a}$ otherwise (NaN for negative bases, as in PyTorch)."""
    f = a.f
    if exponent != int(exponent):
        return f.exp_map(f.mul_zip(f.log_map(a), _constant(a, exponent)))
    result = f.add_zip(a.zeros(a.shape), _constant(a, 1.0))
    base, n = a, abs(int(exponent))
    while n:
        if n & 1:
            result = f.mul_zip(result, base)
        n >>= 1
        if n:
            base = f.mul_zip(base, base)
    return f.inv_map(result) if exponent < 0 else result


class Sqrt(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        r"""$\sqrt a = e^{\log(a) / 2}$: 0 at 0 and NaN below, on every backend's primitives."""
        out = _power(a, 0.5)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """$\frac{d}{da}\\sqrt a = \frac{1}{2 \\sqrt a}$ (``inf`` at 0, as in PyTorch)."""
        (out,) = ctx.saved_values
        f = grad_output.f
        return f.mul_zip(f.mul_zip(grad_output, _constant(out, 0.5)), f.inv_map(out))


class Pow(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, exponent: float) -> Tensor:
        """$a^p$ for a number ``p``."""
        ctx.save_for_backward(a, exponent)
        return _power(a, exponent)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """$\frac{d}{da} a^p = p\\, a^{p - 1}$."""
        a, exponent = ctx.saved_values
        if exponent == 0:
            return grad_output.zeros(a.shape)
        f = grad_output.f
        return f.mul_zip(grad_output, f.mul_zip(_power(a, exponent - 1), _constant(a, exponent)))


class Tanh(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        """$\tanh a = 2 \\sigma(2a) - 1$: never overflows (absolute error about 1e-16)."""
        f = a.f
        s = f.sigmoid_map(f.mul_zip(a, _constant(a, 2.0)))
        out = f.add_zip(f.mul_zip(s, _constant(a, 2.0)), _constant(a, -1.0))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """$\tanh' = 1 - \tanh^2$."""
        (out,) = ctx.saved_values
        f = grad_output.f
        one_minus = f.add_zip(_constant(out, 1.0), f.neg_map(f.mul_zip(out, out)))
        return f.mul_zip(grad_output, one_minus)


class Abs(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        r"""$|a| = \mathrm{relu}(a) + \mathrm{relu}(-a)$ (exact)."""
        ctx.save_for_backward(a)
        f = a.f
        return f.add_zip(f.relu_map(a), f.relu_map(f.neg_map(a)))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The sign of ``a`` times the gradient; 0 at 0 (PyTorch's convention)."""
        (a,) = ctx.saved_values
        f = grad_output.f
        zero = _constant(a, 0.0)
        sign = f.add_zip(f.lt_zip(zero, a), f.neg_map(f.lt_zip(a, zero)))
        return f.mul_zip(grad_output, sign)


class Clamp(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, low: float | None, high: float | None) -> Tensor:
        """``a`` limited to ``[low, high]`` (either bound may be missing)."""
        ctx.save_for_backward(a, low, high)
        f = a.f
        out = a if low is None else f.max_zip(a, _constant(a, low))
        if high is not None:
            out = f.neg_map(f.max_zip(f.neg_map(out), _constant(a, -high)))
        return f.id_map(out) if out is a else out

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The gradient passes where $low \\le a \\le high$ (bounds included, as PyTorch)."""
        a, low, high = ctx.saved_values
        f = grad_output.f
        one = _constant(a, 1.0)
        inside = grad_output
        if low is not None:
            below = f.lt_zip(a, _constant(a, low))
            inside = f.mul_zip(inside, f.add_zip(one, f.neg_map(below)))
        if high is not None:
            above = f.lt_zip(_constant(a, high), a)
            inside = f.mul_zip(inside, f.add_zip(one, f.neg_map(above)))
        return inside


class Floor(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        r"""The largest integer $\le a$ (rounded on the host with numpy)."""
        return _host(a, np.floor)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output.zeros(grad_output.shape)


class Trunc(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        """``a`` rounded towards zero (rounded on the host with numpy)."""
        return _host(a, np.trunc)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output.zeros(grad_output.shape)


def _host(a: Tensor, fn: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]) -> Tensor:
    values = np.array(fn(a.to_numpy()), dtype=np.float64, order="C")
    return a.make(values.ravel(), a.shape, backend=a.backend)


class BroadcastTo(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: tuple[int, ...]) -> Tensor:
        """A view of ``a`` as ``shape`` without copying: broadcast dims get stride 0."""
        ctx.save_for_backward(a.shape)
        pad = len(shape) - a.dims
        strides = [0] * pad + [
            0 if n == 1 and m != 1 else s
            for n, m, s in zip(a.shape, shape[pad:], a._tensor.strides, strict=True)
        ]
        return a.make(a._tensor._storage, shape, strides, backend=a.backend)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The engine sums the gradient back over the broadcast dims."""
        return grad_output


class Sum(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        return a.f.add_reduce(a, dim)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """Each input element gets the gradient of its sum (broadcast back by the engine)."""
        return grad_output


class All(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, dim: int) -> Tensor:
        """1.0 where every element along ``dim`` is non-zero."""
        zero = a.zeros((1,))
        nonzero = a.f.eq_zip(a.f.eq_zip(a, zero), zero)
        return a.f.mul_reduce(nonzero, dim)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output.zeros(grad_output.shape)


class LT(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return a.f.lt_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.saved_values
        return grad_output.zeros(a_shape), grad_output.zeros(b_shape)


class EQ(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return a.f.eq_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.saved_values
        return grad_output.zeros(a_shape), grad_output.zeros(b_shape)


class IsClose(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a.shape, b.shape)
        return a.f.is_close_zip(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a_shape, b_shape = ctx.saved_values
        return grad_output.zeros(a_shape), grad_output.zeros(b_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, order: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(order)
        return a._new(a._tensor.permute(*order))

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """Permute back by the inverse order."""
        (order,) = ctx.saved_values
        inverse = sorted(range(len(order)), key=lambda i: order[i])
        return grad_output._new(grad_output._tensor.permute(*inverse))


class View(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, shape: tuple[int, ...]) -> Tensor:
        """Shares the storage; `Tensor.view` has checked size and contiguity."""
        ctx.save_for_backward(a.shape)
        return a.make(a._tensor._storage, shape, backend=a.backend)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        (shape,) = ctx.saved_values
        g = grad_output.contiguous()
        return g.make(g._tensor._storage, shape, backend=g.backend)


class Copy(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor) -> Tensor:
        return a.f.id_map(a)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        return grad_output


class MatMul(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return a.f.matrix_multiply(a, b)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        """$\\partial a = g\\, b^T$, $\\partial b = a^T g$ (batch dims summed by the engine)."""
        a, b = ctx.saved_values
        f = grad_output.f
        return (
            f.matrix_multiply(grad_output, _transpose(b)),
            f.matrix_multiply(_transpose(a), grad_output),
        )


def _transpose(a: Tensor) -> Tensor:
    order = list(range(a.dims))
    order[-2], order[-1] = order[-1], order[-2]
    return a._new(a._tensor.permute(*order))


def check_dim(dim: int, dims: int, shape: tuple[int, ...]) -> int:
    """``dim`` made non-negative, or `IndexingError` naming it and the shape."""
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or not -dims <= dim < dims:
        raise IndexingError(f"dim {dim!r} out of range for a {dims}-d tensor of shape {shape}")
    return int(dim) % dims
