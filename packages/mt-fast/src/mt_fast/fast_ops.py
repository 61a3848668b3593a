"""`FastOps`: the tensor primitives as numba kernels, chosen by memory layout and size.

Shapes are checked here with mt-tensor's rules before any kernel runs, so bad input raises
mt-tensor's errors. The table's primitives run precompiled, disk-cached kernels selected by code;
any other float function gets kernels compiled for it on first use (once per process).
Work below `PARALLEL_MIN` elements (`MATMUL_PARALLEL_MIN` multiply-adds) runs on the calling
thread: waking the worker threads costs a few microseconds, more than they save on less work.
The thresholds are where serial and parallel kernels cross over (the second table of
``python -m bench``); an element of exp, log or sigmoid counts `COSTLY` times.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numba
import numpy as np

from mt_operators import operators
from mt_tensor import Tensor, tensor_data
from mt_tensor.tensor_data import IndexingError, Shape, Storage, TensorData
from mt_tensor.tensor_ops import (
    BinaryFn,
    MapProto,
    ReduceFn,
    TensorBackend,
    UnaryFn,
    ZipFn,
    matmul_shape,
    reduce_shape,
    zip_shape,
)

from . import cache, fast_conv, fast_math, kernels, matmul
from .kernels import Kernels, Operand
from .matmul import matmul_parallel, matmul_serial

__all__ = [
    "COSTLY",
    "MATMUL_PARALLEL_MIN",
    "PARALLEL_MIN",
    "FastOps",
    "FastTensorBackend",
    "load_backend",
]

cache.refresh(
    kernels.CACHED
    + [k for m in (kernels, matmul, fast_math) for k in vars(m).values() if hasattr(k, "_cache")],
    [operators, tensor_data, fast_math, kernels, matmul],
)

PARALLEL_MIN = 1 << 16
"""Elements of work below which map, zip and reduce run serially."""
COSTLY = 8
"""Work per element of the maps in `kernels.COSTLY_MAPS` (about their time over a multiply's)."""
MATMUL_PARALLEL_MIN = 1 << 20
"""Multiply-adds below which a matrix product runs serially."""

_UNIT = np.ones(1, dtype=np.int64)
_custom: dict[tuple[Callable[..., Kernels], Callable[..., float]], Kernels] = {}


def _kernels(
    table: dict[Callable[..., float], int],
    known: tuple[Kernels, ...],
    make: Callable[..., Kernels],
    fn: Callable[..., float],
) -> tuple[int, Kernels]:
    """The op code and kernels for ``fn``: the cached ones for a table primitive, else made."""
    if fn in table:
        return table[fn], known[table[fn]]
    if (make, fn) not in _custom:
        _custom[make, fn] = make(fn)
    return -1, _custom[make, fn]


def _arrays(t: Tensor) -> Operand:
    """``(storage, shape, strides)`` with a 0-d tensor seen as 1-d, the form kernels take."""
    data = t._tensor
    if data.dims == 0:
        return data._storage, _UNIT, _UNIT
    return data._storage, data._shape, data._strides


def _empty(like: Tensor, shape: tuple[int, ...], fill: float | None = None) -> Tensor:
    """A new contiguous tensor of ``like``'s dtype and backend, uninitialised or filled with
    ``fill`` (the inputs were cast to one dtype before: kernels never mix dtypes)."""
    size = math.prod(shape)
    dtype = like._tensor._storage.dtype
    storage = np.empty(size, dtype)
    if fill is not None:
        storage.fill(fill)  # 4x faster than np.full for small arrays
    return Tensor(TensorData.row_major(storage, shape, size), backend=like.backend)


def _launch(kernel: Kernels, op: int, work: int, size: int, *args: object) -> None:
    """Run ``kernel`` over ``size`` outputs: serially for small ``work``, else on threads."""
    if work >= PARALLEL_MIN and size > 1:
        threads = numba.get_num_threads()
        if threads > 1:
            kernel.parallel(op, *args, size, min(threads, size))
            return
    kernel.span(op, *args, 0, size)


def _operands(out: Tensor, *inputs: Tensor) -> list[Storage]:
    """The kernels' arguments for ``out`` and ``inputs``: each tensor's storage, shape, strides.

    When the inputs have the contiguous output's shape and are contiguous too, each is given as
    one flat row (shape ``(size,)``), so the kernels run a single loop with no index arithmetic.
    """
    data = out._tensor
    flat = data._contiguous
    for t in inputs:  # a loop, not all(...): this runs for every kernel call
        flat = flat and t._tensor._contiguous and t._tensor.shape == data.shape
    if flat:
        row = _row(data.size)
        args = [data._storage, row, _UNIT]
        for t in inputs:
            args += (t._tensor._storage, row, _UNIT)
        return args
    args = list(_arrays(out))
    for t in inputs:
        args += _arrays(t)
    return args


@functools.lru_cache(maxsize=256)
def _row(size: int) -> Shape:
    """The shape ``(size,)`` as kernels take it, made once per size (kernels never write it)."""
    return np.array([size], dtype=np.int64)


def _compile_error(fn: Callable[..., float], error: Exception) -> TypeError:
    name = getattr(fn, "__name__", repr(fn))
    return TypeError(f"numba cannot compile {name!r} as a float function: {error}")


class FastOps:
    """Numba kernels over strided storage: flat loops, strided rows, blocked matmul; fused
    convolution and pooling kernels (`mt_fast.fast_conv`)."""

    name = "fast"
    device = "cpu"
    compiled = True
    fused = fast_conv.FUSED

    @staticmethod
    def map(fn: UnaryFn) -> MapProto:
        """Element-wise ``fn``; ``a`` broadcast into ``out`` when one is given."""
        op, kernel = _kernels(kernels.UNARY_CODES, kernels.MAP_KERNELS, kernels.custom_map, fn)

        def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
            if out is None:
                out = _empty(a, a.shape)
            elif zip_shape(a, out) != out.shape:
                raise IndexingError(f"cannot map shape {a.shape} into shape {out.shape}")
            size = out._tensor.size
            if size == 0:
                return out
            try:
                work = size * (COSTLY if op in kernels.COSTLY_MAPS else 1)
                _launch(kernel, op, work, size, *_operands(out, a))
            except numba.core.errors.NumbaError as e:
                raise _compile_error(fn, e) from None
            return out

        return ret

    @staticmethod
    def zip(fn: BinaryFn) -> ZipFn:
        """Element-wise ``fn`` of two tensors broadcast to a common shape."""
        op, kernel = _kernels(kernels.BINARY_CODES, kernels.ZIP_KERNELS, kernels.custom_zip, fn)

        def ret(a: Tensor, b: Tensor) -> Tensor:
            shape = a._tensor.shape
            out = _empty(a, shape if b._tensor.shape == shape else zip_shape(a, b))
            size = out._tensor.size
            if size == 0:
                return out
            try:
                _launch(kernel, op, size, size, *_operands(out, a, b))
            except numba.core.errors.NumbaError as e:
                raise _compile_error(fn, e) from None
            return out

        return ret

    @staticmethod
    def reduce(fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along ``dim`` from ``start``; the dim stays with size 1."""
        op, kernel = _kernels(
            kernels.REDUCE_CODES, kernels.REDUCE_KERNELS, kernels.custom_reduce, fn
        )

        def ret(a: Tensor, dim: int) -> Tensor:
            out = _empty(a, reduce_shape(a, dim), fill=start)
            if out.size == 0 or a.size == 0:
                return out
            try:
                _launch(kernel, op, a.size, out.size, *_arrays(out), *_arrays(a), dim)
            except numba.core.errors.NumbaError as e:
                raise _compile_error(fn, e) from None
            return out

        return ret

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched ``a @ b`` with broadcast batch dims, any strides (see `mt_fast.matmul`)."""
        shape = matmul_shape(a, b)
        out = _empty(a, shape, fill=0.0)
        if out.size == 0 or a.shape[-1] == 0:
            return out
        work = out.size * a.shape[-1]
        kernel = matmul_serial if work < MATMUL_PARALLEL_MIN else matmul_parallel
        kernel(out._tensor._storage, out._tensor._shape, *a.tuple(), *b.tuple())
        return out


FastTensorBackend = TensorBackend(FastOps())
"""The ``"fast"`` backend."""


def load_backend() -> TensorBackend:
    """Entry point for mt-tensor's backend registry (group ``minitorch.backends``)."""
    return FastTensorBackend
