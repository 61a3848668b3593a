"""The numpy backend: the same primitives vectorised over strided views, no Python loops.

Known operators map to numpy ufuncs; any other float function goes through `numpy.frompyfunc`
(correct, not fast). Values outside an operator's domain follow stage 0's rule silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mt_operators import operators

from .tensor_ops import BinaryFn, MapProto, ReduceFn, UnaryFn, ZipFn, matmul_shape, reduce_shape

if TYPE_CHECKING:
    from .tensor import Tensor

Array = npt.NDArray[np.float64]


def _sigmoid(x: Array) -> Array:
    """$\\sigma(x)$ from $e^{-|x|}$, which cannot overflow."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def _relu_back(x: Array, d: Array) -> Array:
    return np.where(x > 0, d, 0.0)


def _is_close(x: Array, y: Array) -> Array:
    return (np.abs(x - y) < 1e-2).astype(np.float64)


UNARY: dict[UnaryFn, Callable[[Array], Array]] = {
    operators.id: np.copy,  # a new array: `clone` and `contiguous` must not share storage
    operators.neg: np.negative,
    operators.inv: np.reciprocal,
    operators.log: np.log,
    operators.exp: np.exp,
    operators.sigmoid: _sigmoid,
    operators.relu: lambda x: np.maximum(x, 0.0),
}

BINARY: dict[BinaryFn, Callable[[Array, Array], Array]] = {
    operators.add: np.add,
    operators.mul: np.multiply,
    operators.max: np.maximum,
    operators.lt: lambda x, y: np.less(x, y).astype(np.float64),
    operators.eq: lambda x, y: np.equal(x, y).astype(np.float64),
    operators.is_close: _is_close,
    operators.relu_back: _relu_back,
    operators.log_back: lambda x, d: d / x,
    operators.inv_back: lambda x, d: -d / (x * x),
}

REDUCERS: dict[BinaryFn, np.ufunc] = {
    operators.add: np.add,
    operators.mul: np.multiply,
    operators.max: np.maximum,
}


def _from_array(like: Tensor, values: Array) -> Tensor:
    values = np.asarray(values, dtype=np.float64, order="C")
    return like.make(values.ravel(), values.shape, backend=like.backend)


class NumpyOps:
    """Vectorised primitives over `as_strided` views of the storage."""

    name = "numpy"
    cuda = False

    @staticmethod
    def map(fn: UnaryFn) -> MapProto:
        """Element-wise ``fn`` as a ufunc."""
        ufunc = UNARY.get(fn) or np.frompyfunc(fn, 1, 1)

        def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
            with np.errstate(all="ignore"):
                values = np.asarray(ufunc(a._tensor.to_numpy()), dtype=np.float64)
            if out is None:
                return _from_array(a, values)
            out._tensor.to_numpy()[...] = values
            return out

        return ret

    @staticmethod
    def zip(fn: BinaryFn) -> ZipFn:
        """Element-wise ``fn`` of two tensors, broadcast by numpy's rule."""
        ufunc = BINARY.get(fn) or np.frompyfunc(fn, 2, 1)

        def ret(a: Tensor, b: Tensor) -> Tensor:
            from .tensor_ops import zip_shape

            shape = zip_shape(a, b)
            with np.errstate(all="ignore"):
                values = np.asarray(ufunc(a._tensor.to_numpy(), b._tensor.to_numpy()))
            if values.shape != shape:  # a ufunc broadcasts already; frompyfunc may not
                values = np.broadcast_to(values, shape)
            return _from_array(a, values)

        return ret

    @staticmethod
    def reduce(fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along a dim with ``ufunc.reduce``."""
        ufunc = REDUCERS.get(fn) or np.frompyfunc(fn, 2, 1)

        def ret(a: Tensor, dim: int) -> Tensor:
            shape = reduce_shape(a, dim)
            with np.errstate(all="ignore"):
                values = ufunc.reduce(a._tensor.to_numpy(), axis=dim, keepdims=True, initial=start)
            return _from_array(a, np.asarray(values, dtype=np.float64).reshape(shape))

        return ret

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched product with `numpy.matmul` (BLAS)."""
        shape = matmul_shape(a, b)
        values = np.matmul(a._tensor.to_numpy(), b._tensor.to_numpy())
        return _from_array(a, values.reshape(shape))
