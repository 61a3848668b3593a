"""Indexing, joining, selecting and padding: the movement ops whose layout depends on the data.

`index` takes any numpy-style key (ints, slices, ``None``, ``...``, integer and boolean arrays);
`index_put` writes values at a key into a copy of its input; `cat`/`stack` join tensors along a
dim; `where` picks from two tensors by a mask; `pad` surrounds a tensor with a constant.
Their index arithmetic is numpy's, run on the host over a copy of the values (a device backend
copies there and back), and the results are new tensors on the input's backend: unlike PyTorch,
``index`` never returns a view. Gradients scatter (``numpy.add.at``, so repeated indices
accumulate) or slice the output's gradient back.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence
from types import EllipsisType
from typing import Any, TypeAlias, TypeGuard

import numpy as np
import numpy.typing as npt

from mt_autodiff import Context

from . import dtypes
from .tensor import Tensor
from .tensor_data import IndexingError
from .tensor_functions import Function, check_dim

KeyPart: TypeAlias = "int | slice | EllipsisType | npt.NDArray[Any] | Sequence[Any] | Tensor | None"
Key: TypeAlias = "KeyPart | tuple[KeyPart, ...]"
"""What `index` accepts: one part or a tuple of parts, as numpy does."""
NumpyKey: TypeAlias = tuple[Any, ...]


def _values(t: Tensor) -> npt.NDArray[np.float64]:
    return t.to_numpy()


def _array_part(part: Any, key: Any, shape: tuple[int, ...]) -> npt.NDArray[Any]:
    """An index array (integers or a boolean mask) from a list, an array or a tensor."""
    array = part.to_numpy() if isinstance(part, Tensor) else np.asarray(part)
    if array.dtype == np.bool_:
        return array
    if array.size == 0:
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.number) or np.any(array != np.round(array)):
        raise IndexingError(f"index {key!r} must hold integers or booleans for shape {shape}")
    return array.astype(np.int64)


def normalize_key(key: Key, shape: tuple[int, ...]) -> NumpyKey:
    """``key`` as a tuple numpy indexes with; `IndexingError` naming it and ``shape`` if bad."""
    parts = key if isinstance(key, tuple) else (key,)
    out: list[Any] = []
    for part in parts:
        if part is None or part is Ellipsis:
            out.append(part)
        elif isinstance(part, slice):
            for v in (part.start, part.stop, part.step):
                if v is not None and not _is_int(v):
                    raise IndexingError(f"slice {part} must hold integers for shape {shape}")
            if part.step is not None and part.step <= 0:
                raise IndexingError(f"slice step must be positive, got {part} for shape {shape}")
            out.append(part)
        elif _is_int(part):
            out.append(int(part))
        elif isinstance(part, Tensor | np.ndarray | list | tuple):
            out.append(_array_part(part, key, shape))
        else:
            raise IndexingError(
                f"index {key!r} must hold ints, slices, None, ..., or integer/boolean arrays; "
                f"got {type(part).__name__} for shape {shape}"
            )
    numpy_key = tuple(out)
    try:
        np.empty(shape, dtype=np.bool_)[numpy_key]
    except IndexError as e:
        raise IndexingError(f"index {key!r} out of range for shape {shape}: {e}") from None
    return numpy_key


def _is_int(x: object) -> TypeGuard[int]:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool | np.bool_)


class GetItem(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, key: NumpyKey) -> Tensor:
        """``a[key]`` as a new tensor."""
        ctx.save_for_backward(a.shape, key)
        return Tensor.from_numpy(_values(a)[key], a.backend, dtype=a.dtype)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """Each selected element's gradient lands where it came from; repeats accumulate."""
        shape, key = ctx.saved_values
        grad = np.zeros(shape)
        np.add.at(grad, key, _values(grad_output))
        return Tensor.from_numpy(grad, grad_output.backend, dtype=grad_output.dtype)


class IndexPut(Function):
    @staticmethod
    def forward(ctx: Context, a: Tensor, values: Tensor, key: NumpyKey) -> Tensor:
        """A copy of ``a`` with ``values`` written at ``key`` (broadcast, leading 1s dropped)."""
        out = _values(a).copy()
        target_shape = out[key].shape
        v = _values(values)
        while v.ndim > len(target_shape) and v.shape[0] == 1:
            v = v[0]
        try:
            out[key] = np.broadcast_to(v, target_shape)
        except ValueError:
            raise ValueError(
                f"cannot write values of shape {values.shape} into a[{key!r}] of shape "
                f"{target_shape}"
            ) from None
        ctx.save_for_backward(key)
        return Tensor.from_numpy(out, a.backend, dtype=a.dtype)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        """Overwritten elements pass their gradient to ``values``, the rest to ``a``."""
        (key,) = ctx.saved_values
        g = _values(grad_output)
        grad_a = g.copy()
        grad_a[key] = 0.0
        return Tensor.from_numpy(
            grad_a, grad_output.backend, dtype=grad_output.dtype
        ), Tensor.from_numpy(g[key], grad_output.backend, dtype=grad_output.dtype)


class Cat(Function):
    @staticmethod
    def forward(ctx: Context, dim: int, *tensors: Tensor) -> Tensor:
        """The tensors joined along ``dim``."""
        sizes = [t.shape[dim] for t in tensors]
        ctx.save_for_backward(dim, sizes)
        dtype = functools.reduce(dtypes.promote, (t.dtype for t in tensors))
        values = np.concatenate([_values(t) for t in tensors], axis=dim)
        return Tensor.from_numpy(values, tensors[0].backend, dtype=dtype)

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, ...]:
        """The gradient cut back into each input's piece."""
        dim, sizes = ctx.saved_values
        pieces = np.split(_values(grad_output), np.cumsum(sizes)[:-1], axis=dim)
        return tuple(
            Tensor.from_numpy(p, grad_output.backend, dtype=grad_output.dtype) for p in pieces
        )


class Where(Function):
    @staticmethod
    def forward(ctx: Context, condition: npt.NDArray[np.bool_], a: Tensor, b: Tensor) -> Tensor:
        """``a`` where ``condition`` holds, else ``b`` (all three broadcast)."""
        ctx.save_for_backward(condition)
        dtype = dtypes.promote(a.dtype, b.dtype)
        return Tensor.from_numpy(
            np.where(condition, _values(a), _values(b)), a.backend, dtype=dtype
        )

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> tuple[Tensor, Tensor]:
        """The gradient goes to whichever input was picked (summed back by the engine)."""
        (condition,) = ctx.saved_values
        g = _values(grad_output)
        return (
            Tensor.from_numpy(
                np.where(condition, g, 0.0), grad_output.backend, dtype=grad_output.dtype
            ),
            Tensor.from_numpy(
                np.where(condition, 0.0, g), grad_output.backend, dtype=grad_output.dtype
            ),
        )


class Pad(Function):
    @staticmethod
    def forward(
        ctx: Context, a: Tensor, widths: tuple[tuple[int, int], ...], value: float
    ) -> Tensor:
        """``a`` with ``widths[d] = (before, after)`` elements of ``value`` around dim ``d``."""
        ctx.save_for_backward(a.shape, widths)
        return Tensor.from_numpy(
            np.pad(_values(a), widths, constant_values=value), a.backend, dtype=a.dtype
        )

    @staticmethod
    def backward(ctx: Context, grad_output: Tensor) -> Tensor:
        """The gradient of the original elements: the middle of the output's gradient."""
        shape, widths = ctx.saved_values
        middle = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape, strict=True))
        return Tensor.from_numpy(
            _values(grad_output)[middle], grad_output.backend, dtype=grad_output.dtype
        )


def index(a: Tensor, key: Key) -> Tensor:
    """``a[key]`` by numpy's rules (PyTorch's too), differentiable; always a new tensor.

    >>> from mt_tensor import tensor
    >>> index(tensor([[1, 2, 3], [4, 5, 6]]), (slice(None), [0, 2])).to_numpy().tolist()
    [[1.0, 3.0], [4.0, 6.0]]
    """
    return GetItem.apply(a, normalize_key(key, a.shape))


def index_put(a: Tensor, key: Key, values: Tensor | float) -> Tensor:
    """A copy of ``a`` with ``values`` written at ``key`` (``a[key] = values``, out of place)."""
    v = values if isinstance(values, Tensor) else a._ensure_tensor(values, "index_put")
    return IndexPut.apply(a, v, normalize_key(key, a.shape))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape but for ``dim`` along ``dim``."""
    ts = list(tensors)
    if not ts or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"cat needs a non-empty sequence of Tensors, got {tensors!r}")
    first = ts[0]
    d = check_dim(dim, first.dims, first.shape)
    for t in ts[1:]:
        if t.dims != first.dims or any(
            n != m for i, (n, m) in enumerate(zip(t.shape, first.shape, strict=True)) if i != d
        ):
            raise ValueError(
                f"cat along dim {dim}: shapes {[x.shape for x in ts]} differ outside that dim"
            )
    return Cat.apply(d, *ts)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim ``dim``."""
    ts = list(tensors)
    if not ts or not all(isinstance(t, Tensor) for t in ts):
        raise TypeError(f"stack needs a non-empty sequence of Tensors, got {tensors!r}")
    shape = ts[0].shape
    if any(t.shape != shape for t in ts):
        raise ValueError(f"stack needs tensors of one shape, got {[t.shape for t in ts]}")
    d = check_dim(dim, len(shape) + 1, (*shape, 1))
    new_shape = (*shape[:d], 1, *shape[d:])
    return cat([t.contiguous().view(*new_shape) for t in ts], d)


def where(condition: Tensor | npt.ArrayLike, a: Tensor, b: Tensor) -> Tensor:
    """``a`` where ``condition`` is non-zero, else ``b``; all three broadcast together.

    Unlike ``condition * a + (1 - condition) * b``, an infinite or NaN value in the branch not
    taken does not leak into the result.
    """
    mask = condition.to_numpy() if isinstance(condition, Tensor) else np.asarray(condition)
    if mask.dtype != np.bool_ and not np.issubdtype(mask.dtype, np.number):
        raise ValueError(f"where needs a numeric or boolean condition, got {condition!r}")
    mask = mask.astype(np.bool_)
    try:
        np.broadcast_shapes(mask.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"cannot broadcast condition {mask.shape} with {a.shape} and {b.shape}"
        ) from None
    return Where.apply(mask, a, b)


def pad(a: Tensor, widths: Sequence[tuple[int, int]], value: float = 0.0) -> Tensor:
    """``a`` with ``widths[d] = (before, after)`` elements of ``value`` added around each dim."""
    given = tuple(tuple(w) for w in widths)
    if len(given) != a.dims or any(
        len(w) != 2 or not all(_is_int(n) and n >= 0 for n in w) for w in given
    ):
        raise ValueError(
            f"pad needs one (before, after) pair of non-negative ints per dim of {a.shape}, "
            f"got {tuple(widths)}"
        )
    pairs = tuple((int(lo), int(hi)) for lo, hi in given)
    return Pad.apply(a, pairs, float(value))
