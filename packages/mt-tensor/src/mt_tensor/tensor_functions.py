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
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from mt_autodiff import Context, is_grad_enabled
from mt_operators import operators
from mt_operators.operators import Primitive

from . import dtypes
from .tensor_data import IndexingError

__all__ = [
    "EQ",
    "LT",
    "MAPS",
    "ZIPS",
    "Add",
    "All",
    "BroadcastTo",
    "Cast",
    "Clamp",
    "Copy",
    "Exp",
    "FloorDiv",
    "Function",
    "Inv",
    "IsClose",
    "Log",
    "Map",
    "MatMul",
    "Mod",
    "Mul",
    "Neg",
    "Permute",
    "Pow",
    "ReLU",
    "Sigmoid",
    "Sum",
    "View",
    "Zip",
    "check_dim",
]

if TYPE_CHECKING:
    from .tensor import History, Tensor
    from .tensor_ops import TensorBackend


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
        tensor_class, History = _classes()
        backend = None
        need_grad = False
        for t in vals:  # one loop (no comprehension): this runs for every op
            if not isinstance(t, tensor_class):
                continue
            if backend is None:
                backend = t.backend
            elif t.backend is not backend:
                _check_backends(cls, backend, t.backend)
            if t.history is not None:
                need_grad = True
        if backend is None:
            raise TypeError(f"{cls.__name__}.apply needs at least one Tensor, got {vals!r}")
        if not need_grad or not is_grad_enabled():
            return cls.forward(Context(True), *vals)
        ctx = Context(False)
        out = cls.forward(ctx, *[v.detach() if isinstance(v, tensor_class) else v for v in vals])
        if out.dtype.kind != "f":  # integers and booleans carry no gradient
            return out
        inputs = tuple([v for v in vals if isinstance(v, tensor_class)])
        return tensor_class(out._tensor, History(cls, ctx, inputs), backend=out.backend)


def _check_backends(fn: type[Function], first: TensorBackend, other: TensorBackend) -> None:
    """Backends of one name share a storage kind (``TensorBackend(FastOps)`` and "fast");
    other mixes are a `ValueError`."""
    if other.name != first.name:
        raise ValueError(
            f"cannot mix backends {first.name!r} and {other.name!r} in {fn.__name__}; move one "
            f"with .to({first.name!r})"
        )


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


class Map(Function):
    """A unary primitive of `operators.PRIMITIVES`: forward maps its float function, backward
    zips its derivative ``back(x, d)`` with the input saved by forward."""

    primitive: ClassVar[Primitive]

    @classmethod
    def forward(cls, ctx: Context, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a.f.maps[cls.primitive.name](a)

    @classmethod
    def backward(cls, ctx: Context, grad_output: Tensor) -> Tensor:
        """$d \\cdot f'(a)$; 0 for a piecewise-constant primitive (``back`` is None)."""
        (a,) = ctx.saved_values
        if cls.primitive.back is None:
            return grad_output.zeros(a.shape)
        return grad_output.f.backs[cls.primitive.name](a, grad_output)


def _map_class(name: str, class_name: str | None = None) -> type[Map]:
    """The `Map` function of primitive ``name``, a class named ``class_name`` (its CamelCase)."""
    title = class_name or name.title().replace("_", "")
    doc = f"The primitive ``{name}`` as a `Map`."
    return type(title, (Map,), {"primitive": operators.PRIMITIVES_BY_NAME[name], "__doc__": doc})


MAPS: dict[str, type[Map]] = {
    p.name: _map_class(p.name, {"relu": "ReLU"}.get(p.name))
    for p in operators.UNARY
    if p.name != "id"
}
"""The `Function` of every unary primitive (``id`` is `Copy`)."""


class Zip(Function):
    """A binary primitive of `operators.PRIMITIVES` with partial derivatives: forward zips its
    float function, backward its two partials ``(∂f/∂x, ∂f/∂y)`` times the gradient, or, for a
    primitive that ``selects`` (max, comparisons), the gradient selected by them: where a
    partial is 0 the gradient is 0, even an infinite one."""

    primitive: ClassVar[Primitive]

    @classmethod
    def forward(cls, ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        return a.f.zips[cls.primitive.name](a, b)

    @classmethod
    def backward(cls, ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        a, b = ctx.saved_values
        f = grad_output.f
        dx, dy = f.partials[cls.primitive.name]
        wx, wy = dx(a, b), dy(a, b)
        gx, gy = f.mul_zip(grad_output, wx), f.mul_zip(grad_output, wy)
        if not cls.primitive.selects:
            return gx, gy
        return f.relu_back_zip(wx, gx), f.relu_back_zip(wy, gy)


def _zip_class(name: str, class_name: str | None = None) -> type[Zip]:
    """The `Zip` function of binary primitive ``name``, a class named ``class_name`` (its
    CamelCase)."""
    doc = f"The primitive ``{name}`` as a `Zip`."
    title = class_name or name.title().replace("_", "")
    return type(title, (Zip,), {"primitive": operators.PRIMITIVES_BY_NAME[name], "__doc__": doc})


ZIPS: dict[str, type[Zip]] = {
    p.name: _zip_class(p.name, {"lt": "LT", "eq": "EQ"}.get(p.name))
    for p in operators.BINARY
    if p.partials is not None and p.name not in ("add", "mul")
}
"""The `Function` of every binary primitive with partials (``add`` and ``mul`` are `Add` and
`Mul`, whose gradients need no kernel)."""
Pow = ZIPS["pow"]
LT, EQ, IsClose = ZIPS["lt"], ZIPS["eq"], ZIPS["is_close"]
Neg, Inv, Log, Exp, Sigmoid, ReLU = (
    MAPS[n] for n in ("neg", "inv", "log", "exp", "sigmoid", "relu")
)


def _constant(like: Tensor, value: float) -> Tensor:
    """A 0-d tensor on ``like``'s backend, broadcast by the primitives (adding no dims), of the
    dtype a Python number takes beside ``like``."""
    dtype = dtypes.scalar_dtype(like.dtype, value)
    return like.make([value], (), backend=like.backend, dtype=dtype)


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
        """The gradient passes where $low \\le a \\le high$ (bounds included, as PyTorch),
        selected, not multiplied by a 0/1 mask: an inf or NaN outside never leaks in."""
        a, low, high = ctx.saved_values
        f = grad_output.f
        one = _constant(a, 1.0)
        inside = f.add_zip(a.zeros(a.shape), one)
        if low is not None:
            inside = f.mul_zip(inside, f.add_zip(one, f.neg_map(f.lt_zip(a, _constant(a, low)))))
        if high is not None:
            above = f.lt_zip(_constant(a, high), a)
            inside = f.mul_zip(inside, f.add_zip(one, f.neg_map(above)))
        return f.relu_back_zip(inside, grad_output)


class Cast(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, dtype: dtypes.DType) -> Tensor:
        """``a``'s values as ``dtype`` (numpy's conversion)."""
        ctx.save_for_backward(a.dtype)
        return a._cast(dtype)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The gradient, cast back to the input's dtype."""
        (dtype,) = ctx.saved_values
        return grad_output._cast(dtype)


def _host_zip(a: Tensor, b: Tensor, fn: Any) -> Tensor:
    """numpy's ``fn`` of ``a`` and ``b`` in their promoted dtype, computed on the host."""
    dtype = dtypes.promote(a.dtype, b.dtype)
    if dtype == dtypes.bool_:
        dtype = dtypes.int64
    x = a._tensor.to_numpy().astype(dtype, copy=False)
    y = b._tensor.to_numpy().astype(dtype, copy=False)
    with np.errstate(all="ignore"):
        values = np.ascontiguousarray(fn(x, y), dtype=dtype)
    return a.make(values.ravel(), values.shape, backend=a.backend)


class FloorDiv(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        """``a // b`` with numpy's semantics (``x // 0`` is 0 for integers, inf for floats)."""
        ctx.save_for_backward(a.shape, b.shape)
        return _host_zip(a, b, np.floor_divide)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        """Piecewise constant: zero gradients."""
        a_shape, b_shape = ctx.saved_values
        return grad_output.zeros(a_shape), grad_output.zeros(b_shape)


class Mod(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, b: Tensor) -> Tensor:
        """``a % b`` with numpy's semantics: the sign of ``b``."""
        ctx.save_for_backward(a, b)
        return _host_zip(a, b, np.remainder)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        """$a \\bmod b = a - b \\lfloor a / b \\rfloor$: $\\partial a = g$,
        $\\partial b = -g \\lfloor a / b \\rfloor$."""
        a, b = ctx.saved_values
        quotient = _host_zip(a, b, np.floor_divide)
        return grad_output, -(grad_output * quotient)


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
