"""The face's `Tensor`, shape and movement layer: views, reshapes, permutes, expands, splits."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .tensor_base import (
    _dim,
    _shape_args,
    label,
    wrap,
)
from .tensor_reduce import Reductions

if TYPE_CHECKING:
    from .tensors import Tensor


class ShapeMovement(Reductions):
    """Views, reshapes, permutes, transposes, expands and splits."""

    # Shapes.

    def view(self, *shape: Any) -> Tensor:
        return label(wrap(self._t.view(*_shape_args(shape)), self._dtype), "ViewBackward0")

    def reshape(self, *shape: Any) -> Tensor:
        name = "ViewBackward0" if self.is_contiguous() else "UnsafeViewBackward0"
        return label(wrap(self._t.contiguous().view(*_shape_args(shape)), self._dtype), name)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(*other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(*other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        shape = self.shape
        return self.reshape(*shape[:s], int(np.prod(shape[s : e + 1])), *shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _dim(dim, self.ndim)
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        shape = list(self.shape)
        shape.insert(d, 1)
        return label(self.reshape(*shape), "UnsqueezeBackward0")

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return label(self.reshape(*[n for n in self.shape if n != 1]), "SqueezeBackward0")
        d = _dim(dim, self.ndim)
        if self.ndim == 0 or self.shape[d] != 1:
            return cast("Tensor", self)
        return label(self.reshape(*self.shape[:d], *self.shape[d + 1 :]), "SqueezeBackward1")

    def permute(self, *dims: Any) -> Tensor:
        order = [_dim(d, self.ndim) for d in _shape_args(dims)]
        return label(wrap(self._t.permute(*order), self._dtype), "PermuteBackward0")

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        order = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return label(self.permute(*order), "TransposeBackward0")

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return label(self.transpose(0, 1), "TBackward0") if self.ndim == 2 else cast("Tensor", self)

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        asked = _shape_args(sizes)
        pad = len(asked) - self.ndim
        shape = tuple((self.shape[i - pad] if n == -1 else n) for i, n in enumerate(asked))
        return label(wrap(self._t.broadcast_to(*shape), self._dtype), "ExpandBackward0")

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        reps = _shape_args(sizes)
        if len(reps) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of "
                "dimensions of tensor"
            )
        shape = (1,) * (len(reps) - self.ndim) + tuple(self.shape)
        spread = self.reshape(*[d for n in shape for d in (1, n)])
        tiled = spread.expand(*[d for r, n in zip(reps, shape, strict=True) for d in (r, n)])
        return tiled.reshape(*[r * n for r, n in zip(reps, shape, strict=True)])

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        step = -(-self.shape[d] // chunks)
        return self.split(step, d)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        sizes = (
            [split_size] * (-(-n // split_size))
            if isinstance(split_size, int)
            else list(split_size)
        )
        out, start = [], 0
        for size in sizes:
            stop = builtins.min(start + size, n)
            out.append(cast("Tensor", self)[(slice(None),) * d + (slice(start, stop),)])
            start = stop
        return tuple(out)
