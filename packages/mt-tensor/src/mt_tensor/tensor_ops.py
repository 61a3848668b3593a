"""Backends: the four primitives every tensor op is built from, and the simple reference.

A backend supplies ``map`` (one input), ``zip`` (two inputs, broadcast), ``reduce`` (along one
dim, keeping it with size 1) and ``matrix_multiply`` (batched, broadcast batch dims).
`TensorBackend` specialises them once for the operators the tensor functions use. Backends
recognise an operator by identity (``fn is operators.exp``) to pick a fast kernel, and accept
any other float function on a slower path. A backend may also declare fused kernels for whole
operations (`FusedOps`: convolution, pooling); where it declares none, callers compose the
operation from the four primitives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mt_operators import operators

from . import dtypes
from .tensor_data import (
    IndexingError,
    Shape,
    Storage,
    Strides,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    to_index,
)

__all__ = [
    "COMPARISONS",
    "KEEP_INTEGERS",
    "BinaryFn",
    "Conv2dKernels",
    "FusedOps",
    "MapProto",
    "Pool2dKernels",
    "ReduceFn",
    "SimpleBackend",
    "SimpleOps",
    "TensorBackend",
    "TensorOps",
    "UnaryFn",
    "ZipFn",
    "conv_dtype",
    "matmul_shape",
    "pool_dtype",
    "reduce_shape",
    "tensor_map",
    "tensor_matrix_multiply",
    "tensor_reduce",
    "tensor_zip",
    "typed_map",
    "typed_matmul",
    "typed_reduce",
    "typed_zip",
    "zip_shape",
]

if TYPE_CHECKING:
    from .tensor import Tensor

UnaryFn = Callable[[float], float]
BinaryFn = Callable[[float, float], float]


class MapProto(Protocol):
    """A specialised map: ``f(a)`` or ``f(a, out)`` (``a`` broadcast into ``out``)."""

    def __call__(self, a: Tensor, out: Tensor | None = ..., /) -> Tensor: ...


ZipFn = Callable[["Tensor", "Tensor"], "Tensor"]
ReduceFn = Callable[["Tensor", int], "Tensor"]
Pair = tuple[int, int]


class Conv2dKernels(Protocol):
    """A fused 2-D convolution and its backward, over ``(B, C, H, W)`` by ``(OC, C, KH, KW)``:
    $out[b, o, y, x] = bias[o] + \\sum_{c, i, j} in[b, c, y s_h - p_h + i, x s_w - p_w + j]\\,
    w[o, c, i, j]$, zeros outside the input, for the ``out_hw`` outputs asked for. Inputs come
    checked (shapes, options)."""

    def forward(
        self,
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: Pair,
        padding: Pair,
        out_hw: Pair,
    ) -> tuple[Tensor, Any]:
        """The output ``(B, OC, *out_hw)`` and what the backward needs (opaque to callers)."""
        ...

    def backward(
        self, saved: Any, grad_output: Tensor, input_grad: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Gradients of the input (zeros when not ``input_grad``), weight and bias (``None``
        without one)."""
        ...


class Pool2dKernels(Protocol):
    """A fused pooling over non-overlapping ``(kh, kw)`` tiles of ``(B, C, H, W)`` (the kernel
    tiles H and W exactly, checked by the caller): each tile's mean (``average``) or max, a NaN
    max where the tile holds a NaN. The max's gradient goes to the tile's maxima, shared
    equally on ties, selected (0 elsewhere, and everywhere in a NaN tile)."""

    def forward(self, inp: Tensor, kernel: Pair, average: bool) -> tuple[Tensor, Any]:
        """The output ``(B, C, H / kh, W / kw)`` and what the backward needs."""
        ...

    def backward(self, saved: Any, grad_output: Tensor) -> Tensor:
        """The gradient of the input."""
        ...


@dataclass(frozen=True)
class FusedOps:
    """The fused operations a backend declares (its ops' ``fused`` attribute), each ``None``
    where it has none: callers then compose the operation from the primitives (unfold and
    matmul for a convolution, tile and reduce for pooling)."""

    conv2d: Conv2dKernels | None = None
    pool2d: Pool2dKernels | None = None

    def names(self) -> tuple[str, ...]:
        """The operations declared, by name."""
        return tuple(f.name for f in fields(self) if getattr(self, f.name) is not None)


class TensorOps(Protocol):
    """The primitives a backend provides."""

    name: str
    device: str
    """Where its storage lives: ``"cpu"`` or ``"cuda"``."""
    compiled: bool
    """Whether its kernels are compiled (numba) rather than run by the interpreter or numpy.

    Optionally, ``fused``: a `FusedOps` naming the backend's fused kernels (none if absent)."""

    def map(self, fn: UnaryFn) -> MapProto:
        """Apply ``fn`` to every element."""
        ...

    def zip(self, fn: BinaryFn) -> ZipFn:
        """Apply ``fn`` to pairs of elements of two broadcast tensors."""
        ...

    def reduce(self, fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along one dim from ``start``; the dim stays, with size 1."""
        ...

    def matrix_multiply(self, a: Tensor, b: Tensor) -> Tensor:
        """Batched matrix product of ``(..., n, m)`` and ``(..., m, p)``."""
        ...


KEEP_INTEGERS = frozenset(
    {"id", "neg", "abs", "sign", "floor", "ceil", "trunc", "round", "relu", "square"}
    | {"add", "mul", "max", "lt", "eq"}
)
"""Primitives that compute on integers in their own dtype; every other one computes on integer
and boolean tensors in the default float dtype (``exp``, ``inv`` and so ``/``, as PyTorch)."""
COMPARISONS = frozenset({"lt", "eq", "is_close"})
"""Primitives whose result is 1.0/0.0 in the operands' float dtype, as the course has them (with
a zero gradient), and ``bool`` for integer and boolean operands; the torch face makes every
comparison ``bool``, as PyTorch."""


def _kernel_dtype(dtype: dtypes.DType) -> dtypes.DType:
    """The dtype kernels compute a result of ``dtype`` in: booleans as int64 (0 and 1)."""
    return dtypes.int64 if dtype == dtypes.bool_ else dtype


def conv_dtype(inp: Tensor, weight: Tensor) -> dtypes.DType:
    """The dtype a fused convolution computes and returns in, the composed default's (its
    matmuls'): the promoted dtype of input and weight, booleans as int64."""
    return _kernel_dtype(dtypes.promote(inp.dtype, weight.dtype))


def pool_dtype(inp: Tensor, average: bool) -> dtypes.DType:
    """The dtype a fused pooling computes in, the composed default's: a mean in a float dtype,
    a max in the input's (booleans as int64, the result cast back)."""
    return dtypes.float_of(inp.dtype) if average else _kernel_dtype(inp.dtype)


def _as(t: Tensor, dtype: dtypes.DType) -> Tensor:
    return t if t.dtype == dtype else t._cast(dtype)


def typed_map(name: str, raw: MapProto) -> MapProto:
    """``raw`` (whose kernels see one dtype) with the dtype rules: the input cast once to the
    dtype it computes in, the output allocated in it (or cast to ``out``'s dtype)."""
    keeps = name in KEEP_INTEGERS

    def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
        dtype = a.dtype
        if out is not None:
            return raw(_as(a, _kernel_dtype(out.dtype)), out) if dtype != out.dtype else raw(a, out)
        if dtype.kind == "f":
            return raw(a)
        if not keeps:
            return raw(_as(a, dtypes.get_default_dtype()))
        result = raw(_as(a, dtypes.int64))
        return _as(result, dtypes.bool_) if dtype == dtypes.bool_ and name == "id" else result

    return ret


def typed_zip(name: str | None, raw: ZipFn) -> ZipFn:
    """``raw`` with the dtype rules: both inputs cast once to their promoted dtype (the default
    float for float-only functions), comparisons give ``bool``."""
    keeps = name in KEEP_INTEGERS
    compares = name in COMPARISONS

    def ret(a: Tensor, b: Tensor) -> Tensor:
        dtype = a.dtype
        if dtype.kind == "f" and (b.dtype is dtype or b.dtype == dtype):
            return raw(a, b)
        dtype = dtypes.promote(dtype, b.dtype)
        compute = _kernel_dtype(dtype) if keeps else dtypes.float_of(dtype)
        out = raw(_as(a, compute), _as(b, compute))
        if compares and dtype.kind != "f":
            return _as(out, dtypes.bool_)
        return _as(out, dtypes.bool_) if keeps and dtype == dtypes.bool_ else out

    return ret


def typed_reduce(name: str | None, raw: ReduceFn, start: float) -> ReduceFn:
    """``raw`` with the dtype rules: sums and products of booleans give int64 (as PyTorch);
    integers start from a non-finite value (``max``) by reducing in float64."""
    finite = start == start and abs(start) != float("inf")

    def ret(a: Tensor, dim: int) -> Tensor:
        dtype = a.dtype
        if dtype.kind == "f":
            return raw(a, dim)
        if not finite:
            return _as(raw(_as(a, dtypes.float64), dim), dtype)
        out = raw(_as(a, dtypes.int64), dim)
        return _as(out, dtypes.bool_) if dtype == dtypes.bool_ and name == "max" else out

    return ret


def typed_matmul(raw: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """``raw`` with both inputs cast once to their promoted dtype (booleans as int64)."""

    def ret(a: Tensor, b: Tensor) -> Tensor:
        if a.dtype == b.dtype and a.dtype.kind != "b":
            return raw(a, b)
        compute = _kernel_dtype(dtypes.promote(a.dtype, b.dtype))
        return raw(_as(a, compute), _as(b, compute))

    return ret


class TensorBackend:
    """A backend's primitives specialised once for every primitive of the table.

    ``maps[name]``, ``backs[name]`` (a unary primitive's derivative, a zip of the input and the
    gradient), ``zips[name]``, ``partials[name]`` (a binary primitive's two partial derivatives)
    and ``reducers[name]`` come from `operators.PRIMITIVES`; the
    course's names (``neg_map``, ``add_zip``, ``log_back_zip``, ``max_reduce``...) are the same
    functions. ``fused`` is the ops' `FusedOps` declaration (empty when it has none). Each
    primitive is wrapped with the dtype rules (`typed_map`, `typed_zip`...), so a backend's kernels
    only ever see operands of one dtype: float32, float64 or int64.
    """

    def __init__(self, ops: TensorOps | type[TensorOps], name: str | None = None) -> None:
        """``ops`` is an ops object, or its class as the course passes it
        (``TensorBackend(FastOps)``), which is instantiated with its default settings."""
        if isinstance(ops, type):
            ops = ops()
        self.ops = ops
        self.name = name or ops.name
        self.device = ops.device
        self.compiled = ops.compiled
        self.cuda = ops.device == "cuda"
        self.fused: FusedOps = getattr(ops, "fused", None) or FusedOps()
        self.maps: dict[str, MapProto] = {
            p.name: typed_map(p.name, ops.map(p.fn)) for p in operators.UNARY
        }
        self.backs: dict[str, ZipFn] = {
            p.name: typed_zip(None, ops.zip(p.back)) for p in operators.UNARY if p.back is not None
        }
        self.zips: dict[str, ZipFn] = {
            p.name: typed_zip(p.name, ops.zip(p.fn)) for p in operators.BINARY
        }
        self.partials: dict[str, tuple[ZipFn, ZipFn]] = {
            p.name: (
                typed_zip(None, ops.zip(p.partials[0])),
                typed_zip(None, ops.zip(p.partials[1])),
            )
            for p in operators.BINARY
            if p.partials is not None
        }
        self.reducers: dict[str, ReduceFn] = {
            p.name: typed_reduce(p.name, ops.reduce(p.fn, p.start), p.start)
            for p in operators.BINARY
            if p.start is not None
        }

        self.neg_map = self.maps["neg"]
        self.sigmoid_map = self.maps["sigmoid"]
        self.relu_map = self.maps["relu"]
        self.log_map = self.maps["log"]
        self.exp_map = self.maps["exp"]
        self.id_map = self.maps["id"]
        self.inv_map = self.maps["inv"]

        self.add_zip = self.zips["add"]
        self.mul_zip = self.zips["mul"]
        self.lt_zip = self.zips["lt"]
        self.eq_zip = self.zips["eq"]
        self.is_close_zip = self.zips["is_close"]
        self.max_zip = self.zips["max"]
        self.relu_back_zip = self.backs["relu"]
        self.log_back_zip = self.backs["log"]
        self.inv_back_zip = self.backs["inv"]

        self.add_reduce = self.reducers["add"]
        self.mul_reduce = self.reducers["mul"]
        self.max_reduce = self.reducers["max"]
        self.matrix_multiply = typed_matmul(ops.matrix_multiply)

    def __repr__(self) -> str:
        return f"TensorBackend({self.name!r})"


# Shape rules shared by every backend (checked before any kernel runs).


def zip_shape(a: Tensor, b: Tensor) -> tuple[int, ...]:
    """The broadcast output shape of a zip."""
    return shape_broadcast(a.shape, b.shape)


def reduce_shape(a: Tensor, dim: int) -> tuple[int, ...]:
    """``a.shape`` with ``dim`` kept at size 1."""
    if not 0 <= dim < a.dims:
        raise IndexingError(f"dim {dim} out of range for shape {a.shape}")
    return tuple(1 if i == dim else n for i, n in enumerate(a.shape))


def matmul_shape(a: Tensor, b: Tensor) -> tuple[int, ...]:
    """``broadcast(a.batch, b.batch) + (n, p)`` for ``(..., n, m) @ (..., m, p)``."""
    if a.dims < 2 or b.dims < 2:
        raise IndexingError(f"matrix_multiply needs 2-d or more, got {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise IndexingError(
            f"cannot multiply {a.shape} by {b.shape}: inner dimensions "
            f"{a.shape[-1]} and {b.shape[-2]} differ"
        )
    try:
        batch = shape_broadcast(a.shape[:-2], b.shape[:-2])
    except IndexingError:
        raise IndexingError(
            f"cannot multiply {a.shape} by {b.shape}: batch dims {a.shape[:-2]} and "
            f"{b.shape[:-2]} do not broadcast"
        ) from None
    return (*batch, a.shape[-2], b.shape[-1])


# The simple backend: the course's index loops, one element at a time. The reference.
# Elements go through Python floats, so a float32 result is float32's correctly rounded one
# for each element-wise op (sums accumulate in float64) and integers are exact below 2**53.


def tensor_map(fn: UnaryFn) -> Callable[..., None]:
    """Storage-level map: ``out[i] = fn(in[broadcast(i)])`` for every output index."""

    def _map(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        in_storage: Storage,
        in_shape: Shape,
        in_strides: Strides,
    ) -> None:
        out_index = np.zeros(len(out_shape), dtype=np.int64)
        in_index = np.zeros(len(in_shape), dtype=np.int64)
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, in_shape, in_index)
            value = in_storage[index_to_position(in_index, in_strides)]
            out[index_to_position(out_index, out_strides)] = fn(float(value))

    return _map


def tensor_zip(fn: BinaryFn) -> Callable[..., None]:
    """Storage-level zip: ``out[i] = fn(a[broadcast(i)], b[broadcast(i)])``."""

    def _zip(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a_storage: Storage,
        a_shape: Shape,
        a_strides: Strides,
        b_storage: Storage,
        b_shape: Shape,
        b_strides: Strides,
    ) -> None:
        out_index = np.zeros(len(out_shape), dtype=np.int64)
        a_index = np.zeros(len(a_shape), dtype=np.int64)
        b_index = np.zeros(len(b_shape), dtype=np.int64)
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, out_index)
            broadcast_index(out_index, out_shape, a_shape, a_index)
            broadcast_index(out_index, out_shape, b_shape, b_index)
            x = float(a_storage[index_to_position(a_index, a_strides)])
            y = float(b_storage[index_to_position(b_index, b_strides)])
            out[index_to_position(out_index, out_strides)] = fn(x, y)

    return _zip


def tensor_reduce(fn: BinaryFn) -> Callable[..., None]:
    """Storage-level reduce: fold ``fn`` into each output over the reduced dim."""

    def _reduce(
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a_storage: Storage,
        a_shape: Shape,
        a_strides: Strides,
        reduce_dim: int,
    ) -> None:
        index = np.zeros(len(out_shape), dtype=np.int64)
        for ordinal in range(int(np.prod(out_shape))):
            to_index(ordinal, out_shape, index)
            position = index_to_position(index, out_strides)
            acc = float(out[position])
            for j in range(int(a_shape[reduce_dim])):
                index[reduce_dim] = j
                acc = fn(acc, float(a_storage[index_to_position(index, a_strides)]))
            out[position] = acc

    return _reduce


def tensor_matrix_multiply(
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a_storage: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b_storage: Storage,
    b_shape: Shape,
    b_strides: Strides,
) -> None:
    """Storage-level batched matmul: each output is a dot product along the inner dim."""
    dims = len(out_shape)
    out_index = np.zeros(dims, dtype=np.int64)
    a_index = np.zeros(len(a_shape), dtype=np.int64)
    b_index = np.zeros(len(b_shape), dtype=np.int64)
    inner = int(a_shape[-1])
    for ordinal in range(int(np.prod(out_shape))):
        to_index(ordinal, out_shape, out_index)
        broadcast_index(out_index, out_shape, a_shape, a_index)
        broadcast_index(out_index, out_shape, b_shape, b_index)
        acc = 0.0
        for k in range(inner):
            a_index[-2] = out_index[dims - 2]
            a_index[-1] = k
            b_index[-2] = k
            b_index[-1] = out_index[dims - 1]
            acc += float(a_storage[index_to_position(a_index, a_strides)]) * float(
                b_storage[index_to_position(b_index, b_strides)]
            )
        out[index_to_position(out_index, out_strides)] = acc


class SimpleOps:
    """The course's reference backend: readable loops over every index, in Python."""

    name = "simple"
    device = "cpu"
    compiled = False

    @staticmethod
    def map(fn: UnaryFn) -> MapProto:
        """Element-wise ``fn``."""
        kernel = tensor_map(fn)

        def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
            if out is None:
                out = a.zeros(a.shape)
            kernel(*out.tuple(), *a.tuple())
            return out

        return ret

    @staticmethod
    def zip(fn: BinaryFn) -> ZipFn:
        """Element-wise ``fn`` of two broadcast tensors."""
        kernel = tensor_zip(fn)

        def ret(a: Tensor, b: Tensor) -> Tensor:
            out = a.zeros(zip_shape(a, b))
            kernel(*out.tuple(), *a.tuple(), *b.tuple())
            return out

        return ret

    @staticmethod
    def reduce(fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along a dim."""
        kernel = tensor_reduce(fn)

        def ret(a: Tensor, dim: int) -> Tensor:
            out = a.zeros(reduce_shape(a, dim))
            out._tensor._storage[:] = start
            kernel(*out.tuple(), *a.tuple(), dim)
            return out

        return ret

    @staticmethod
    def matrix_multiply(a: Tensor, b: Tensor) -> Tensor:
        """Batched matrix product."""
        out = a.zeros(matmul_shape(a, b))
        tensor_matrix_multiply(*out.tuple(), *a.tuple(), *b.tuple())
        return out


SimpleBackend = TensorBackend(SimpleOps())
