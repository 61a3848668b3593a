"""Making tensors: from nested lists, zeros, ones, random values; numerical gradient checks."""

from __future__ import annotations

import numbers
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import dtypes
from .tensor import Tensor
from .tensor_data import UserShape
from .tensor_ops import TensorBackend

__all__ = [
    "generator",
    "grad_central_difference",
    "grad_check",
    "manual_seed",
    "ones",
    "rand",
    "tensor",
    "zeros",
]


def _flatten(ls: Any) -> tuple[Any, tuple[int, ...]]:
    """Values and shape of a nested list, or `ValueError` naming the ragged or bad entry. The
    numbers are kept as given (not made floats), so int64 values past 2^53 stay exact."""
    if isinstance(ls, Tensor):
        return ls.to_numpy().ravel().tolist(), ls.shape
    if isinstance(ls, np.ndarray):
        if not np.issubdtype(ls.dtype, np.number) and ls.dtype != np.bool_:
            raise ValueError(f"non-numeric array of dtype {ls.dtype}")
        return ls.ravel().copy(), tuple(ls.shape) or (1,)
    if _is_number(ls):
        return [ls], (1,)
    values: list[Any] = []
    stack: list[tuple[Any, str, int]] = [(ls, "ls", 0)]
    depth_shape: dict[int, tuple[int, str]] = {}
    leaf_depth: int | None = None
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, np.ndarray):
            item = item.tolist()
        if _is_number(item):
            if (leaf_depth is not None and depth != leaf_depth) or depth in depth_shape:
                raise ValueError(f"ragged nested list: {path} is a number where lists were found")
            leaf_depth = depth
            values.append(item)
            continue
        if not isinstance(item, Sequence) or isinstance(item, str | bytes):
            raise ValueError(f"non-numeric value {item!r} of type {type(item).__name__} at {path}")
        if leaf_depth is not None and depth >= leaf_depth:
            raise ValueError(f"ragged nested list: {path} is a list where numbers were found")
        n = len(item)
        if depth in depth_shape and depth_shape[depth][0] != n:
            expected, where = depth_shape[depth]
            raise ValueError(
                f"ragged nested list: {path} has length {n} but {where} has length {expected}"
            )
        depth_shape.setdefault(depth, (n, path))
        for i in reversed(range(n)):
            stack.append((item[i], f"{path}[{i}]", depth + 1))
    shape = tuple(depth_shape[d][0] for d in sorted(depth_shape))
    return values, shape


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real | np.bool_)


def tensor(
    ls: Any,
    backend: TensorBackend | str | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """A tensor from a number, a nested list of any depth or a numpy array, of ``dtype``
    (default: `dtypes.get_default_dtype`, float64, whatever the values, as the course expects).

    >>> tensor([[1, 2], [3, 4]]).shape
    (2, 2)
    """
    values, shape = _flatten(ls)
    return _make(values, shape, backend, requires_grad, dtype)


def _make(
    values: Any,
    shape: UserShape,
    backend: TensorBackend | str | None,
    requires_grad: bool,
    dtype: Any = None,
) -> Tensor:
    from .backends import get_backend

    b = get_backend(backend) if isinstance(backend, str) else backend
    d = dtypes.get_default_dtype() if dtype is None else dtypes.resolve(dtype)
    t = Tensor.make(np.asarray(values, dtype=d).ravel(), tuple(shape), backend=b)
    return t.requires_grad_(True) if requires_grad else t


def _shape(shape: UserShape | int) -> tuple[int, ...]:
    """``shape`` as a tuple (a single int means a 1-d shape); `ValueError` naming it if bad."""
    dims: tuple[Any, ...] = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0 for d in dims):
        raise ValueError(f"shape {dims} must hold non-negative integers")
    return tuple(int(d) for d in dims)


def _size(shape: UserShape) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def zeros(
    shape: UserShape | int,
    backend: TensorBackend | str | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """A tensor of zeros."""
    shape = _shape(shape)
    return _make(np.zeros(_size(shape)), shape, backend, requires_grad, dtype)


def ones(
    shape: UserShape | int,
    backend: TensorBackend | str | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """A tensor of ones."""
    shape = _shape(shape)
    return _make(np.ones(_size(shape)), shape, backend, requires_grad, dtype)


_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reset the one generator behind every random draw of the stages (layer initialisation,
    dropout, sampling) and seed Python's `random`, which `rand` draws from as the course does."""
    global _generator
    _generator = np.random.default_rng(seed)
    random.seed(seed)


def generator() -> np.random.Generator:
    """The shared numpy generator (see `manual_seed`)."""
    return _generator


def rand(
    shape: UserShape | int,
    backend: TensorBackend | str | None = None,
    requires_grad: bool = False,
    dtype: Any = None,
) -> Tensor:
    """Uniform values in [0, 1) from Python's `random` (seeded by `manual_seed` or
    ``random.seed``)."""
    shape = _shape(shape)
    values = [random.random() for _ in range(_size(shape))]
    return _make(values, shape, backend, requires_grad, dtype)


def grad_central_difference(
    f: Callable[..., Tensor],
    *vals: Tensor,
    arg: int = 0,
    epsilon: float = 1e-6,
    ind: Sequence[int],
) -> float:
    """$\\partial\\, \\mathrm{sum}(f) / \\partial\\, vals[arg][ind]$ by the central difference."""
    x = vals[arg]
    up = x.to_numpy().astype(np.float64)
    down = x.to_numpy().astype(np.float64)
    up[tuple(ind)] += epsilon
    down[tuple(ind)] -= epsilon
    # In float64 whatever x's dtype: a float32 step of 1e-6 would be rounding noise.
    vals_up = [
        v if j != arg else tensor(up, x.backend, dtype="float64") for j, v in enumerate(vals)
    ]
    vals_down = [
        v if j != arg else tensor(down, x.backend, dtype="float64") for j, v in enumerate(vals)
    ]
    delta = f(*vals_up).sum().item() - f(*vals_down).sum().item()
    return delta / (2.0 * epsilon)


def grad_check(f: Callable[..., Tensor], *vals: Tensor, tol: float = 1e-2) -> None:
    """Check every input's gradient of ``f(*vals).sum()`` against central differences.

    Samples one element per input, as the course does; raises `AssertionError` naming it.
    """
    for x in vals:
        x.requires_grad_(True)
        x.zero_grad_()
    out = f(*vals)
    out.sum().backward()
    for i, x in enumerate(vals):
        if x.size == 0:
            continue
        ind = x._tensor.sample()
        numeric = grad_central_difference(f, *[v.detach() for v in vals], arg=i, ind=ind)
        got = 0.0 if x.grad is None else x.grad[ind]
        if not np.isclose(got, numeric, rtol=tol, atol=tol):
            raise AssertionError(
                f"gradient check failed for {f} on input {i} at index {ind}: "
                f"autograd gives {got}, central difference gives {numeric}"
            )
