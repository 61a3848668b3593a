"""Strided storage: where element ``(i, j, ...)`` of a tensor lives in a flat array.

The index helpers are plain loops over numpy integer arrays, so that mt-fast and mt-cuda compile
these very functions with numba instead of writing their own. The type aliases here are the
ones every stage uses.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from . import dtypes

__all__ = [
    "MAX_DIMS",
    "Index",
    "IndexingError",
    "OutIndex",
    "Shape",
    "Storage",
    "Strides",
    "TensorData",
    "UserIndex",
    "UserShape",
    "UserStrides",
    "broadcast_index",
    "index_to_position",
    "on_device",
    "shape_broadcast",
    "strides_from_shape",
    "to_index",
]

Storage: TypeAlias = npt.NDArray[Any]
"""The flat array a tensor's elements live in, of one of the dtypes of `mt_tensor.dtypes`."""
Index: TypeAlias = npt.NDArray[np.int64]
"""A multi-dimensional index, one entry per dimension."""
OutIndex: TypeAlias = npt.NDArray[np.int64]
Shape: TypeAlias = npt.NDArray[np.int64]
Strides: TypeAlias = npt.NDArray[np.int64]

UserIndex: TypeAlias = Sequence[int]
UserShape: TypeAlias = Sequence[int]
UserStrides: TypeAlias = Sequence[int]

MAX_DIMS = 32


class IndexingError(IndexError, ValueError):
    """A bad index, shape, stride or broadcast; the message names the values involved.

    It is an `IndexError` (for code indexing out of range) and a `ValueError` (for shapes).
    """


def index_to_position(index: Index, strides: Strides) -> int:
    """The storage position of ``index``: $\\sum_i index_i \\cdot strides_i$."""
    position = 0
    for i in range(len(index)):
        position += index[i] * strides[i]
    return position


def to_index(ordinal: int, shape: Shape, out_index: OutIndex) -> None:
    """Write into ``out_index`` the index of the ``ordinal``-th element in row-major order."""
    remaining = ordinal
    for i in range(len(shape) - 1, -1, -1):
        out_index[i] = remaining % shape[i]
        remaining = remaining // shape[i]


def broadcast_index(big_index: Index, big_shape: Shape, shape: Shape, out_index: OutIndex) -> None:
    """Map an index into the broadcast ``big_shape`` to the index into the smaller ``shape``.

    Dimensions are aligned on the right; a dimension of size 1 always reads position 0.
    """
    offset = len(big_shape) - len(shape)
    for i in range(len(shape)):
        out_index[i] = big_index[i + offset] if shape[i] > 1 else 0


def shape_broadcast(shape1: UserShape, shape2: UserShape) -> tuple[int, ...]:
    """The shape both shapes broadcast to (numpy's rule), or `IndexingError` naming both."""
    if shape1 == shape2:
        return tuple(shape1)
    n = max(len(shape1), len(shape2))
    a = (1,) * (n - len(shape1)) + tuple(shape1)
    b = (1,) * (n - len(shape2)) + tuple(shape2)
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and x != 1 and y != 1:
            raise IndexingError(f"cannot broadcast {tuple(shape1)} with {tuple(shape2)}")
        out.append(y if x == 1 else x)
    return tuple(out)


def strides_from_shape(shape: UserShape) -> tuple[int, ...]:
    """Row-major (contiguous) strides for ``shape``."""
    strides = []
    step = 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return tuple(reversed(strides))


_row_major_strides = functools.lru_cache(maxsize=1024)(strides_from_shape)
"""`strides_from_shape`, remembered: a training step makes the same few shapes many times."""


@functools.lru_cache(maxsize=4096)
def _int_array(values: tuple[int, ...]) -> Shape:
    """``values`` as the int64 array kernels take, made once per value (kernels never write
    shapes or strides, so tensors share them)."""
    return np.array(values, dtype=np.int64)


def _row_major(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """True when ``strides`` are row-major for ``shape`` with no gaps (size-1 dims aside)."""
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides), strict=True):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


_KEPT = frozenset(dtypes.DTYPES)
"""Storage dtypes a `TensorData` keeps as they are."""


def _is_int(x: object) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _check_shape(shape: UserShape) -> tuple[int, ...]:
    if type(shape) is tuple and len(shape) <= MAX_DIMS:
        for d in shape:  # a loop, not all(...): this runs for every tensor made
            if type(d) is not int or d < 0:
                break
        else:
            return shape
    dims = tuple(shape)
    if len(dims) > MAX_DIMS:
        raise IndexingError(f"shape {dims} has more than {MAX_DIMS} dimensions")
    for d in dims:
        if not _is_int(d) or d < 0:
            raise IndexingError(f"shape {dims} must hold non-negative integers")
    return tuple(int(d) for d in dims)


def on_device(storage: object) -> bool:
    """True for a device array (numba's ``DeviceNDArray``): a device backend keeps its tensors'
    storage there, and the host reads it through `to_numpy`, `get` and `set`."""
    return hasattr(storage, "copy_to_host")


class TensorData:
    """A flat storage seen through a shape and strides; its dtype is the storage's.

    A list (or an array of another dtype) becomes ``dtype``, by default float64 (the course's),
    while an array of a supported dtype is kept as it is.

    ``_shape`` and ``_strides`` (the numpy forms kernels take) are made once per distinct
    value and shared: many tensors, such as the outputs of flat element-wise kernels, never
    need them, and the rest mostly have a shape seen before.
    """

    _storage: Storage
    _contiguous: bool
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    size: int
    dims: int

    def __init__(
        self,
        storage: Sequence[float] | Storage,
        shape: UserShape,
        strides: UserStrides | None = None,
        dtype: Any = None,
    ) -> None:
        if type(storage) is np.ndarray and dtype is None and storage.dtype in _KEPT:
            self._storage = storage  # the common case first: this runs for every tensor made
        elif on_device(storage):
            self._storage = cast(Storage, storage)
        elif dtype is not None:
            self._storage = np.asarray(storage, dtypes.resolve(dtype))
        elif isinstance(storage, np.ndarray) and storage.dtype in dtypes.DTYPES:
            self._storage = storage
        else:
            self._storage = np.asarray(storage, np.float64)
        if self._storage.ndim != 1:
            raise IndexingError(f"storage must be flat, got shape {self._storage.shape}")
        self.shape = _check_shape(shape)
        self.dims = len(self.shape)
        if strides is None:  # row-major: valid whenever the storage is long enough
            self.strides = _row_major_strides(self.shape)
            self.size = math.prod(self.shape)
            if self.size > len(self._storage):
                raise IndexingError(
                    f"shape {self.shape} needs {self.size} elements, storage has "
                    f"{len(self._storage)}"
                )
            self._contiguous = True
            return
        if not all(_is_int(s) for s in strides):
            raise IndexingError(f"strides {tuple(strides)} must hold integers")
        self.strides = tuple(int(s) for s in strides)
        if len(self.strides) != len(self.shape):
            raise IndexingError(
                f"strides {self.strides} do not match shape {self.shape} (one per dimension)"
            )
        self.size = math.prod(self.shape)
        if self.size > 0:
            last = sum((n - 1) * s for n, s in zip(self.shape, self.strides, strict=True))
            if last >= len(self._storage) or any(s < 0 for s in self.strides):
                raise IndexingError(
                    f"shape {self.shape} with strides {self.strides} reaches position {last}, "
                    f"past storage of size {len(self._storage)}"
                )
        self._contiguous = _row_major(self.shape, self.strides)

    @classmethod
    def row_major(cls, storage: Storage, shape: tuple[int, ...], size: int) -> TensorData:
        """Row-major data over a new flat array of exactly ``size`` elements of a supported
        dtype, with ``shape`` a tuple of sizes of that product: a kernel's output, correct by
        construction, so nothing is checked (the constructor's checks cost more than a small
        kernel)."""
        data = cls.__new__(cls)
        data._storage = storage
        data.shape = shape
        data.dims = len(shape)
        data.size = size
        data.strides = _row_major_strides(shape)
        data._contiguous = True
        return data

    @property
    def dtype(self) -> dtypes.DType:
        """The dtype of the storage (one of `mt_tensor.dtypes.DTYPES`)."""
        return self._storage.dtype

    @property
    def _shape(self) -> Shape:
        """The shape as the int64 array kernels take (shared by every tensor of this shape)."""
        return _int_array(self.shape)

    @property
    def _strides(self) -> Strides:
        """The strides as the int64 array kernels take (shared like `_shape`)."""
        return _int_array(self.strides)

    def to_cuda_(self) -> None:  # pragma: no cover (only with a CUDA device)
        """Hook for device backends (a no-op for host storage)."""

    def is_contiguous(self) -> bool:
        """True when the strides are row-major with no gaps (a `view` is then possible)."""
        return self._contiguous

    @staticmethod
    def shape_broadcast(shape_a: UserShape, shape_b: UserShape) -> tuple[int, ...]:
        """The course's spelling of `shape_broadcast`."""
        return shape_broadcast(shape_a, shape_b)

    def index(self, index: int | UserIndex | Index) -> int:
        """The storage position of a full index, checked against the shape."""
        if isinstance(index, int | np.integer):
            raw: tuple[Any, ...] = (index,)
        elif isinstance(index, Sequence | np.ndarray):
            raw = tuple(index)
        else:
            raise IndexingError(f"index {index!r} must hold integers for shape {self.shape}")
        if not all(_is_int(i) for i in raw):
            raise IndexingError(f"index {raw!r} must hold integers for shape {self.shape}")
        idx = tuple(int(i) for i in raw)
        if len(idx) != self.dims:
            raise IndexingError(f"index {idx} has {len(idx)} entries for shape {self.shape}")
        for i, n in zip(idx, self.shape, strict=True):
            if not 0 <= i < n:
                raise IndexingError(f"index {idx} out of range for shape {self.shape}")
        return sum(i * s for i, s in zip(idx, self.strides, strict=True))

    def indices(self) -> Iterable[tuple[int, ...]]:
        """Every full index in row-major order."""
        out = np.zeros(self.dims, dtype=np.int64)
        for ordinal in range(self.size if all(self.shape) else 0):
            to_index(ordinal, self._shape, out)
            yield tuple(int(i) for i in out)

    def sample(self) -> tuple[int, ...]:
        """A random valid index."""
        return tuple(random.randint(0, n - 1) for n in self.shape)

    def get(self, key: UserIndex) -> float:
        """The element at ``key`` as a Python float (exact for float32 values)."""
        return float(self._storage[self.index(key)])

    def set(self, key: UserIndex, val: float) -> None:
        """Write ``val`` at ``key``."""
        self._storage[self.index(key)] = val

    def tuple(self) -> tuple[Storage, Shape, Strides]:
        """``(storage, shape, strides)`` as arrays, the form kernels take."""
        return (self._storage, self._shape, self._strides)

    def permute(self, *order: int) -> TensorData:
        """The same storage with dimensions reordered: dimension ``i`` becomes ``order[i]``."""
        if sorted(order) != list(range(self.dims)):
            raise IndexingError(
                f"permutation {tuple(order)} is not an ordering of the {self.dims} dims "
                f"of shape {self.shape}"
            )
        return TensorData(
            self._storage,
            tuple(self.shape[o] for o in order),
            tuple(self.strides[o] for o in order),
        )

    def to_numpy(self) -> npt.NDArray[Any]:
        """A numpy view with this shape and strides (no copy, except from a device)."""
        host = self._storage
        if on_device(host):
            host = cast(Any, host).copy_to_host()
        byte_strides = tuple(s * host.itemsize for s in self.strides)
        if host.flags.c_contiguous:  # the fast way to a view; as_strided handles the rest
            return np.ndarray(self.shape, host.dtype, buffer=host, strides=byte_strides)
        return np.lib.stride_tricks.as_strided(host, self.shape, byte_strides)

    def to_string(self, prefix: str = "") -> str:
        """The elements as nested brackets; continuation lines are indented by ``prefix``."""
        return np.array2string(
            self.to_numpy(),
            separator=", ",
            precision=4,
            threshold=1000,
            floatmode="fixed",
            prefix=prefix,
        )
