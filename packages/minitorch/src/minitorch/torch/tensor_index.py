"""The face's `Tensor`, indexing layer: ``[]``, Python's protocols, ``index_add`` and
``masked_fill``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

import mt_tensor as mt

from .dtypes import BOOL
from .tensor_base import (
    Number,
    _dim,
    _key,
    is_face_tensor,
    label,
    unwrap,
    where,
    wrap,
)
from .tensor_shape import ShapeMovement

if TYPE_CHECKING:
    from .tensors import Tensor


class Indexing(ShapeMovement):
    """``[]``, Python's protocols (len, iter, bool, float), masked_fill, index_add."""

    # Indexing.

    def __getitem__(self, key: Any) -> Tensor:
        out = wrap(mt.index(self._t, _key(key)), self._dtype)
        parts = key if isinstance(key, tuple) else (key,)
        if all(isinstance(p, builtins.int) for p in parts):
            return label(out, "SelectBackward0")
        if all(isinstance(p, slice | builtins.int) or p is Ellipsis for p in parts):
            return label(out, "SliceBackward0")
        return label(out, "IndexBackward0")

    def __setitem__(self, key: Any, value: Any) -> None:
        values = value._t if is_face_tensor(value) else unwrap(value, self)
        self._assign(mt.index_put(self._t, _key(key), values), value)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} values is ambiguous")
        return builtins.bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.numel() == 1 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Number = 1) -> Tensor:
        """This tensor with ``alpha * source``'s slices along ``dim`` added at ``index``
        (repeats accumulate): ``source`` times a one-hot matrix of the indices, so the stages'
        matmul gives both gradients."""
        d = _dim(dim, self.ndim)
        if not is_face_tensor(index) or index.ndim > 1 or index.is_floating_point():
            raise IndexError("index_add_(): Index is supposed to be a vector of long")
        n, k = self.shape[d] if self.ndim else 1, index.numel()
        wanted = (*self.shape[:d], k, *self.shape[d + 1 :]) if self.ndim else (k,)
        if tuple(source.shape) != wanted:
            raise RuntimeError(
                f"index_add_(): source of shape {list(source.shape)} does not match "
                f"{list(wanted)} (self {list(self.shape)}, {k} indices along dim {d})"
            )
        at = index._t.to_numpy().astype(np.int64).reshape(-1)
        if at.size and (at.min() < -n or at.max() >= n):
            raise IndexError("index out of range in self")
        from .creation import tensor

        onehot = tensor(
            (at[:, None] % n == np.arange(n)).astype(np.float64),
            dtype=source.dtype,
            device=self.device,
        )
        if self.ndim == 0:
            return self + (source @ onehot).reshape(()) * alpha
        spread = (source.transpose(d, -1) @ onehot).transpose(d, -1)
        return self + (spread * alpha if alpha != 1 else spread)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast to this shape) is True, else this."""
        if not is_face_tensor(mask) or mask.dtype.category != BOOL:
            raise RuntimeError("masked_fill only supports boolean masks")
        return where(mask, value, self)
