"""PyTorch's free functions (``torch.exp(x)``, ``torch.sum(x, 1)``...): each calls the `Tensor`
method of the same name, so there is one implementation of each op."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensors import Tensor, where


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def abs(x: Tensor) -> Tensor:  # noqa: A001 (PyTorch's name)
    return x.abs()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def floor(x: Tensor) -> Tensor:
    return x.floor()


def ceil(x: Tensor) -> Tensor:
    return x.ceil()


def pow(x: Tensor, exponent: Any) -> Tensor:  # noqa: A001 (PyTorch's name)
    return x.pow(exponent)


def clamp(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    return x.clamp(min, max)


clip = clamp


def softmax(x: Tensor, dim: int) -> Tensor:
    return x.softmax(dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return x.log_softmax(dim)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return a.matmul(b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    return a.mm(b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    return a.bmm(b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    return a.dot(b)


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return x.sum(dim, keepdim)


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
    return isinstance(x, Tensor)


def is_floating_point(x: Tensor) -> bool:
    return x.is_floating_point()


def isnan(x: Tensor) -> Tensor:
    return x != x


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool((a == b).all())


__all__ = [
    "abs",
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
    "dot",
    "eq",
    "equal",
    "exp",
    "flatten",
    "floor",
    "ge",
    "gt",
    "is_floating_point",
    "is_tensor",
    "isnan",
    "le",
    "log",
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
    "ne",
    "numel",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "std",
    "sum",
    "t",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]
