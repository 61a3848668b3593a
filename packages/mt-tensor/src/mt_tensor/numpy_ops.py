"""The numpy backend: the same primitives vectorised over strided views, no Python loops, and
convolution and pooling as whole-array operations (`mt_tensor.numpy_conv`).

The table's primitives (`mt_operators.operators.PRIMITIVES`) run as the numpy function each
names (``ufunc``) or as an array version from `VECTORISED`; any other float function goes
through `numpy.frompyfunc` (correct, not fast). Values outside an operator's domain follow
stage 0's rule silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mt_operators import operators

from . import numpy_conv
from .tensor_ops import BinaryFn, MapProto, ReduceFn, UnaryFn, ZipFn, matmul_shape, reduce_shape

if TYPE_CHECKING:
    from .tensor import Tensor

Array = npt.NDArray[np.float64]


def _sigmoid(x: Array) -> Array:
    """$\\sigma(x)$ from $e^{-|x|}$, which cannot overflow."""
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


VECTORISED: dict[Callable[..., float], Callable[..., Array]] = {
    operators.sigmoid: _sigmoid,
    operators.relu: lambda x: np.maximum(x, 0.0),
    operators.is_close: lambda x, y: np.abs(x - y) < 1e-2,
    operators.relu_back: lambda x, d: np.where(x > 0, d, 0.0),
    operators.log_back: lambda x, d: np.where(d == 0.0, 0.0, d / x),
    operators.inv_back: lambda x, d: np.where(d == 0.0, 0.0, -d / (x * x)),
    operators.exp_back: lambda x, d: d * np.exp(x),
    operators.sigmoid_back: lambda x, d: d * (_sigmoid(x) * (1.0 - _sigmoid(x))),
}
"""Array versions of table functions that have no numpy ufunc (an optional speed-up: any
other function runs through `numpy.frompyfunc`, correct but slow)."""


def _array_function(fn: Callable[..., float], arity: int) -> Callable[..., Array]:
    """The numpy function for ``fn``: its table ufunc, a `VECTORISED` one, else ``frompyfunc``."""
    if fn in VECTORISED:
        return VECTORISED[fn]
    for p in operators.PRIMITIVES:
        if p.fn is fn and p.ufunc is not None:
            ufunc: Callable[..., Array] = getattr(np, p.ufunc)
            return ufunc
    return np.frompyfunc(fn, arity, 1)  # type: ignore[no-any-return]  # numpy's stubs: Any


def _reducer(fn: BinaryFn) -> np.ufunc:
    """A ufunc with ``reduce`` for ``fn``: the table's ufunc, else ``frompyfunc``."""
    for p in operators.BINARY:
        if p.fn is fn and p.ufunc is not None:
            ufunc = getattr(np, p.ufunc)
            if isinstance(ufunc, np.ufunc):
                return ufunc
    return np.frompyfunc(fn, 2, 1)


class NumpyOps:
    """Vectorised primitives over `as_strided` views of the storage, and a fused convolution and
    pooling (`mt_tensor.numpy_conv`)."""

    name = "numpy"
    device = "cpu"
    compiled = False
    fused = numpy_conv.FUSED

    @staticmethod
    def map(fn: UnaryFn) -> MapProto:
        """Element-wise ``fn`` as a ufunc."""
        ufunc = _array_function(fn, 1)

        def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
            with np.errstate(all="ignore"):
                values = np.asarray(ufunc(a._tensor.to_numpy()), dtype=a.dtype)
            if out is None:
                return a.from_numpy(values, a.backend, dtype=a.dtype, copy=False)
            out._tensor.to_numpy()[...] = values
            return out

        return ret

    @staticmethod
    def zip(fn: BinaryFn) -> ZipFn:
        """Element-wise ``fn`` of two tensors, broadcast by numpy's rule."""
        ufunc = _array_function(fn, 2)

        def ret(a: Tensor, b: Tensor) -> Tensor:
            from .tensor_ops import zip_shape

            shape = zip_shape(a, b)
            with np.errstate(all="ignore"):
                values = np.asarray(
                    ufunc(a._tensor.to_numpy(), b._tensor.to_numpy()), dtype=a.dtype
                )
            if values.shape != shape:  # a ufunc broadcasts already; frompyfunc may not
                values = np.broadcast_to(values, shape)
            return a.from_numpy(values, a.backend, dtype=a.dtype, copy=False)

        return ret

    @staticmethod
    def reduce(fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along a dim with ``ufunc.reduce``."""
        ufunc = _reducer(fn)

        def ret(a: Tensor, dim: int) -> Tensor:
            shape = reduce_shape(a, dim)
            with np.errstate(all="ignore"):
                values = ufunc.reduce(a._tensor.to_numpy(), axis=dim, keepdims=True, initial=start)
            return a.from_numpy(
                np.asarray(values).reshape(shape), a.backend, dtype=a.dtype, copy=False
            )

        return ret

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched product with `numpy.matmul` (BLAS)."""
        shape = matmul_shape(a, b)
        values = np.matmul(a._tensor.to_numpy(), b._tensor.to_numpy())
        return a.from_numpy(values.reshape(shape), a.backend, dtype=a.dtype, copy=False)
