"""PyTorch's free functions (``torch.exp(x)``, ``torch.sum(x, 1)``...): each calls the `Tensor`
method of the same name, so there is one implementation of each op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .calls import guard_module, with_out
from .tensor_base import is_face_tensor, where

if TYPE_CHECKING:
    from .tensors import Tensor


def _tensor(x: Any, like: Any) -> Tensor:
    """``x`` as a tensor (a number becomes one on ``like``'s device)."""
    if is_face_tensor(x):
        return x
    from .creation import tensor

    return tensor(x, device=like.device if is_face_tensor(like) else None)


@with_out
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002 (PyTorch's names)
    """``input + alpha * other``."""
    return _tensor(input, other).add(other, alpha)


@with_out
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """``input - alpha * other``."""
    return _tensor(input, other).sub(other, alpha)


@with_out
def mul(input: Any, other: Any) -> Tensor:  # noqa: A002
    return _tensor(input, other).mul(other)


@with_out
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    return _tensor(input, other).div(other, rounding_mode=rounding_mode)


subtract, multiply, divide, true_divide = sub, mul, div, div


@with_out
def exp(x: Tensor) -> Tensor:
    return x.exp()


@with_out
def log(x: Tensor) -> Tensor:
    return x.log()


@with_out
def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


@with_out
def abs(x: Tensor) -> Tensor:  # noqa: A001 (PyTorch's name)
    return x.abs()


@with_out
def tanh(x: Tensor) -> Tensor:
    return x.tanh()


@with_out
def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


@with_out
def relu(x: Tensor) -> Tensor:
    return x.relu()


@with_out
def floor(x: Tensor) -> Tensor:
    return x.floor()


@with_out
def ceil(x: Tensor) -> Tensor:
    return x.ceil()


@with_out
def trunc(x: Tensor) -> Tensor:
    return x.trunc()


@with_out
def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 (PyTorch's name)
    return x.round(decimals)


@with_out
def sign(x: Tensor) -> Tensor:
    return x.sign()


@with_out
def sin(x: Tensor) -> Tensor:
    return x.sin()


@with_out
def cos(x: Tensor) -> Tensor:
    return x.cos()


@with_out
def tan(x: Tensor) -> Tensor:
    return x.tan()


@with_out
def log1p(x: Tensor) -> Tensor:
    return x.log1p()


@with_out
def expm1(x: Tensor) -> Tensor:
    return x.expm1()


@with_out
def erf(x: Tensor) -> Tensor:
    return x.erf()


@with_out
def rsqrt(x: Tensor) -> Tensor:
    return x.rsqrt()


@with_out
def reciprocal(x: Tensor) -> Tensor:
    return x.reciprocal()


@with_out
def pow(x: Tensor, exponent: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return x.pow(exponent)


@with_out
def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return x.clamp(min, max)


clip = clamp


def softmax(x: Tensor, dim: int) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return x.log_softmax(dim)


@with_out
def matmul(a: Tensor, b: Tensor) -> Tensor:
    return a.matmul(b)


@with_out
def mm(a: Tensor, b: Tensor) -> Tensor:
    return a.mm(b)


@with_out
def bmm(a: Tensor, b: Tensor) -> Tensor:
    return a.bmm(b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    return a.dot(b)


@with_out
def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return x.sum(dim, keepdim)


@with_out
def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return x.mean(dim, keepdim)


def var(
    x: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool = True,
    keepdim: bool = False,
    *,
    correction: int | None = None,
) -> Tensor:
    return x.var(dim, unbiased, keepdim, correction=correction)


def std(
    x: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool = True,
    keepdim: bool = False,
    *,
    correction: int | None = None,
) -> Tensor:
    return x.std(dim, unbiased, keepdim, correction=correction)


def logsumexp(x: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    return x.logsumexp(dim, keepdim)


@with_out
def square(x: Tensor) -> Tensor:
    return x.square()


def eq(a: Tensor, b: Any) -> Tensor:
    return a.eq(b)


def ne(a: Tensor, b: Any) -> Tensor:
    return a.ne(b)


def lt(a: Tensor, b: Any) -> Tensor:
    return a.lt(b)


def le(a: Tensor, b: Any) -> Tensor:
    return a.le(b)


def gt(a: Tensor, b: Any) -> Tensor:
    return a.gt(b)


def ge(a: Tensor, b: Any) -> Tensor:
    return a.ge(b)


def masked_fill(x: Tensor, mask: Tensor, value: Any) -> Tensor:
    return x.masked_fill(mask, value)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    return x.max(dim, keepdim)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    return x.min(dim, keepdim)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """The larger element of each pair; a tie shares the gradient equally, as PyTorch."""
    return where(a > b, a, where(a < b, b, (a + b) / 2))


def minimum(a: Tensor, b: Tensor) -> Tensor:
    """The smaller element of each pair; a tie shares the gradient equally."""
    return where(a < b, a, where(a > b, b, (a + b) / 2))


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmax(dim, keepdim)


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return x.argmin(dim, keepdim)


def all(x: Tensor, dim: int | None = None) -> Tensor:  # noqa: A001
    return x.all(dim)


def any(x: Tensor, dim: int | None = None) -> Tensor:  # noqa: A001
    return x.any(dim)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return x.flatten(start_dim, end_dim)


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x.reshape(*shape)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return x.transpose(dim0, dim1)


def t(x: Tensor) -> Tensor:
    return x.t()


def permute(x: Tensor, dims: Sequence[int]) -> Tensor:
    return x.permute(*dims)


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    return x.squeeze(dim)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return x.unsqueeze(dim)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    return x.chunk(chunks, dim)


def split(x: Tensor, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    return x.split(split_size, dim)


def numel(x: Tensor) -> int:
    return x.numel()


def is_tensor(x: Any) -> bool:
    return is_face_tensor(x)


def is_floating_point(x: Tensor) -> bool:
    return x.is_floating_point()


def isnan(x: Tensor) -> Tensor:
    return x != x


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool((a == b).all())


guard_module(globals(), "torch")

__all__ = [
    "abs",
    "add",
    "all",
    "allclose",
    "any",
    "argmax",
    "argmin",
    "bmm",
    "ceil",
    "chunk",
    "clamp",
    "clip",
    "cos",
    "div",
    "divide",
    "dot",
    "eq",
    "equal",
    "erf",
    "exp",
    "expm1",
    "flatten",
    "floor",
    "ge",
    "gt",
    "is_face_tensor",
    "is_floating_point",
    "isnan",
    "le",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "lt",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mm",
    "mul",
    "multiply",
    "ne",
    "numel",
    "permute",
    "pow",
    "reciprocal",
    "relu",
    "reshape",
    "round",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sub",
    "subtract",
    "sum",
    "t",
    "tan",
    "tanh",
    "transpose",
    "true_divide",
    "trunc",
    "unsqueeze",
    "var",
    "where",
]
