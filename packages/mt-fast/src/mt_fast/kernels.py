"""Numba kernels for map, zip and reduce, walking storage by memory layout.

Each kernel handles a span ``[start, stop)`` of output elements in row-major order: it converts
an ordinal to an index once per row (with mt-tensor's own index helpers, compiled here) and then
runs a strided loop over the last dimension, with a unit-stride loop when every operand allows it.
Same-shape contiguous operands arrive as one flat row, so they run a single loop.

The known operators are selected by an integer code inside top-level kernels, so numba's disk
cache (``cache=True``) finds them again in the next process. The ``*_parallel`` kernels split the
span into chunks over ``prange``; the ``*_span`` kernels are the serial ones (no thread launch).
Kernels assume checked input: shapes are validated by `mt_fast.fast_ops` before any call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import numba
import numpy as np

from mt_operators import operators
from mt_tensor import tensor_data
from mt_tensor.tensor_data import Shape, Storage, Strides

from . import fast_math

F = TypeVar("F", bound=Callable[..., Any])


def serial(fn: F, cache: bool = True) -> F:
    """Compile ``fn`` with numba, cached on disk unless ``cache`` is false."""
    return cast(F, numba.njit(cache=cache)(fn))


def parallel(fn: F, cache: bool = True) -> F:
    """Compile ``fn`` with numba's parallel backend (``prange`` runs on threads)."""
    return cast(F, numba.njit(parallel=True, cache=cache)(fn))


def walker(fn: F) -> F:
    """Compile a loop that takes a compiled scalar function, inlined at each call site."""
    return cast(F, numba.njit(inline="always")(fn))


def scalar(fn: F, reassociate: bool = False) -> F:
    """Compile a float function for use inside kernels; ``reassociate`` lets a fold vectorise."""
    flags = {"reassoc", "contract"} if reassociate else set()
    return cast(F, numba.njit(fastmath=flags)(fn))


index_to_position = numba.njit(inline="always")(tensor_data.index_to_position)
to_index = numba.njit(inline="always")(tensor_data.to_index)
broadcast_index = numba.njit(inline="always")(tensor_data.broadcast_index)

# Operator codes: the operators `TensorBackend` specialises, compiled from stage 0 unchanged
# (but for ``exp``, whose C library call would keep every loop around it scalar).
ID, NEG, INV, LOG, EXP, SIGMOID, RELU = range(7)
ADD, MUL, LT, EQ, IS_CLOSE, MAX, RELU_BACK, LOG_BACK, INV_BACK = range(9)

UNARY_CODES: dict[Callable[[float], float], int] = {
    operators.id: ID,
    operators.neg: NEG,
    operators.inv: INV,
    operators.log: LOG,
    operators.exp: EXP,
    operators.sigmoid: SIGMOID,
    operators.relu: RELU,
}
COSTLY_MAPS = frozenset({LOG, EXP, SIGMOID})
"""Maps that take several times longer per element than arithmetic (so go parallel sooner)."""
BINARY_CODES: dict[Callable[[float, float], float], int] = {
    operators.add: ADD,
    operators.mul: MUL,
    operators.lt: LT,
    operators.eq: EQ,
    operators.is_close: IS_CLOSE,
    operators.max: MAX,
    operators.relu_back: RELU_BACK,
    operators.log_back: LOG_BACK,
    operators.inv_back: INV_BACK,
}
REDUCE_CODES: dict[Callable[[float, float], float], int] = {
    operators.add: ADD,
    operators.mul: MUL,
    operators.max: MAX,
}

_id = scalar(operators.id)
_neg = scalar(operators.neg)
_inv = scalar(operators.inv)
_log = scalar(operators.log)
_exp = fast_math.exp  # stage 0's exp within 1 ulp, but vectorisable (see `mt_fast.fast_math`)
_sigmoid = scalar(operators.sigmoid)
_relu = scalar(operators.relu)
_add = scalar(operators.add)
_mul = scalar(operators.mul)
_lt = scalar(operators.lt)
_eq = scalar(operators.eq)
_is_close = scalar(operators.is_close)
_max = scalar(operators.max)
_relu_back = scalar(operators.relu_back)


@scalar
def _log_back(x: float, d: float) -> float:
    """`operators.log_back` (which calls the uncompiled ``inv``) on the compiled `_inv`."""
    return d * _inv(x)


@scalar
def _inv_back(x: float, d: float) -> float:
    """`operators.inv_back` on the compiled `_inv`."""
    return -d * _inv(x * x)


_add_fold = scalar(operators.add, reassociate=True)
_mul_fold = scalar(operators.mul, reassociate=True)


# Walkers over a span of output ordinals, inlined where they are called with a compiled ``fn``
# (a global or a closure's constant, so numba calls it directly and the loop specialises).


@walker
def _map_rows(
    fn: Any,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    start: int,
    stop: int,
) -> None:
    last = len(out_shape) - 1
    length = out_shape[last]
    out_index = np.empty(len(out_shape), np.int64)
    a_index = np.empty(len(a_shape), np.int64)
    os = out_strides[last]
    as_ = a_strides[len(a_shape) - 1] if a_shape[len(a_shape) - 1] > 1 else 0
    i = start
    while i < stop:
        to_index(i, out_shape, out_index)
        broadcast_index(out_index, out_shape, a_shape, a_index)
        o = index_to_position(out_index, out_strides)
        p = index_to_position(a_index, a_strides)
        count = min(length - out_index[last], stop - i)
        if os == 1 and as_ == 1:
            out_row, a_row = out[o : o + count], a[p : p + count]
            for j in range(count):
                out_row[j] = fn(a_row[j])
        elif os == 1 and as_ == 0:
            out[o : o + count] = fn(a[p])
        else:
            for j in range(count):
                out[o + j * os] = fn(a[p + j * as_])
        i += count


@walker
def _zip_rows(
    fn: Any,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    start: int,
    stop: int,
) -> None:
    last = len(out_shape) - 1
    length = out_shape[last]
    out_index = np.empty(len(out_shape), np.int64)
    a_index = np.empty(len(a_shape), np.int64)
    b_index = np.empty(len(b_shape), np.int64)
    os = out_strides[last]
    as_ = a_strides[len(a_shape) - 1] if a_shape[len(a_shape) - 1] > 1 else 0
    bs = b_strides[len(b_shape) - 1] if b_shape[len(b_shape) - 1] > 1 else 0
    i = start
    while i < stop:
        to_index(i, out_shape, out_index)
        broadcast_index(out_index, out_shape, a_shape, a_index)
        broadcast_index(out_index, out_shape, b_shape, b_index)
        o = index_to_position(out_index, out_strides)
        p = index_to_position(a_index, a_strides)
        q = index_to_position(b_index, b_strides)
        count = min(length - out_index[last], stop - i)
        out_row = out[o : o + count]
        if os == 1 and as_ == 1 and bs == 1:
            a_row, b_row = a[p : p + count], b[q : q + count]
            for j in range(count):
                out_row[j] = fn(a_row[j], b_row[j])
        elif os == 1 and as_ == 1 and bs == 0:
            a_row, y = a[p : p + count], b[q]
            for j in range(count):
                out_row[j] = fn(a_row[j], y)
        elif os == 1 and as_ == 0 and bs == 1:
            x, b_row = a[p], b[q : q + count]
            for j in range(count):
                out_row[j] = fn(x, b_row[j])
        else:
            for j in range(count):
                out[o + j * os] = fn(a[p + j * as_], b[q + j * bs])
        i += count


@walker
def _reduce_rows(
    fn: Any,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    dim: int,
    start: int,
    stop: int,
) -> None:
    last = len(out_shape) - 1
    index = np.empty(len(out_shape), np.int64)
    n = a_shape[dim]
    step = a_strides[dim]
    if dim == last:
        for i in range(start, stop):
            to_index(i, out_shape, index)
            o = index_to_position(index, out_strides)
            p = index_to_position(index, a_strides)
            acc = out[o]
            if step == 1:
                row = a[p : p + n]
                for k in range(n):
                    acc = fn(acc, row[k])
            else:
                for k in range(n):
                    acc = fn(acc, a[p + k * step])
            out[o] = acc
        return
    length = out_shape[last]
    os = out_strides[last]
    as_ = a_strides[last] if a_shape[last] > 1 else 0
    i = start
    while i < stop:
        to_index(i, out_shape, index)
        o = index_to_position(index, out_strides)
        p = index_to_position(index, a_strides)
        count = min(length - index[last], stop - i)
        out_row = out[o : o + count]
        for k in range(n):
            row = p + k * step
            if os == 1 and as_ == 1:
                a_row = a[row : row + count]
                for j in range(count):
                    out_row[j] = fn(out_row[j], a_row[j])
            else:
                for j in range(count):
                    out[o + j * os] = fn(out[o + j * os], a[row + j * as_])
        i += count


# Known operators: one cached kernel per primitive, the operator chosen by its code.


@serial
def map_span(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    start: int,
    stop: int,
) -> None:
    """``out[i] = f(a[broadcast(i)])`` for output ordinals in ``[start, stop)``; f by code."""
    if op == ID:
        _map_rows(_id, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == NEG:
        _map_rows(_neg, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == INV:
        _map_rows(_inv, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == LOG:
        _map_rows(_log, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == EXP:
        _map_rows(_exp, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == SIGMOID:
        _map_rows(_sigmoid, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)
    elif op == RELU:
        _map_rows(_relu, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)


@serial
def zip_span(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    start: int,
    stop: int,
) -> None:
    """``out[i] = f(a[broadcast(i)], b[broadcast(i)])`` over ``[start, stop)``; f by code."""
    if op == ADD:
        _zip_rows(
            _add,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == MUL:
        _zip_rows(
            _mul,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == LT:
        _zip_rows(
            _lt,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == EQ:
        _zip_rows(
            _eq,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == IS_CLOSE:
        _zip_rows(
            _is_close,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == MAX:
        _zip_rows(
            _max,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == RELU_BACK:
        _zip_rows(
            _relu_back,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == LOG_BACK:
        _zip_rows(
            _log_back,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )
    elif op == INV_BACK:
        _zip_rows(
            _inv_back,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )


@serial
def reduce_span(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    dim: int,
    start: int,
    stop: int,
) -> None:
    """Fold ``a`` along ``dim`` into the outputs ``[start, stop)`` (already holding the start)."""
    if op == ADD:
        _reduce_rows(
            _add_fold, out, out_shape, out_strides, a, a_shape, a_strides, dim, start, stop
        )
    elif op == MUL:
        _reduce_rows(
            _mul_fold, out, out_shape, out_strides, a, a_shape, a_strides, dim, start, stop
        )
    elif op == MAX:
        _reduce_rows(_max, out, out_shape, out_strides, a, a_shape, a_strides, dim, start, stop)


@parallel
def map_parallel(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    size: int,
    chunks: int,
) -> None:
    """`map_span` over ``size`` outputs split into ``chunks`` run on threads."""
    for c in numba.prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        map_span(op, out, out_shape, out_strides, a, a_shape, a_strides, lo, hi)


@parallel
def zip_parallel(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    size: int,
    chunks: int,
) -> None:
    """`zip_span` over ``size`` outputs split into ``chunks`` run on threads."""
    for c in numba.prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        zip_span(
            op, out, out_shape, out_strides, a, a_shape, a_strides, b, b_shape, b_strides, lo, hi
        )


@parallel
def reduce_parallel(
    op: int,
    out: Storage,
    out_shape: Shape,
    out_strides: Strides,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    dim: int,
    size: int,
    chunks: int,
) -> None:
    """`reduce_span` over ``size`` outputs split into ``chunks`` run on threads."""
    for c in numba.prange(chunks):
        lo, hi = c * size // chunks, (c + 1) * size // chunks
        reduce_span(op, out, out_shape, out_strides, a, a_shape, a_strides, dim, lo, hi)


# Any other float function: the same walkers in kernels made for it (numba's disk cache cannot
# key on a closure, so these compile once per process; `mt_fast.fast_ops` keeps them in a dict).
# A builtin such as ``math.exp`` is called from a Python function, which numba can compile.


class Kernels(NamedTuple):
    """A serial span kernel and its parallel twin, both taking the op code first."""

    span: Callable[..., None]
    parallel: Callable[..., None]


KNOWN_MAP = Kernels(map_span, map_parallel)
KNOWN_ZIP = Kernels(zip_span, zip_parallel)
KNOWN_REDUCE = Kernels(reduce_span, reduce_parallel)


def custom_map(fn: Callable[[float], float]) -> Kernels:
    """Map kernels for a float function outside the table (``op`` is ignored)."""
    f = scalar(fn if inspect.isfunction(fn) else lambda x: fn(x))

    def span(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        start: int,
        stop: int,
    ) -> None:
        _map_rows(f, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)

    def par(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        size: int,
        chunks: int,
    ) -> None:
        for c in numba.prange(chunks):
            lo, hi = c * size // chunks, (c + 1) * size // chunks
            _map_rows(f, out, out_shape, out_strides, a, a_shape, a_strides, lo, hi)

    return Kernels(serial(span, cache=False), parallel(par, cache=False))


def custom_zip(fn: Callable[[float, float], float]) -> Kernels:
    """Zip kernels for a float function outside the table (``op`` is ignored)."""
    f = scalar(fn if inspect.isfunction(fn) else lambda x, y: fn(x, y))

    def span(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        b: Storage,
        b_shape: Shape,
        b_strides: Strides,
        start: int,
        stop: int,
    ) -> None:
        _zip_rows(
            f,
            out,
            out_shape,
            out_strides,
            a,
            a_shape,
            a_strides,
            b,
            b_shape,
            b_strides,
            start,
            stop,
        )

    def par(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        b: Storage,
        b_shape: Shape,
        b_strides: Strides,
        size: int,
        chunks: int,
    ) -> None:
        for c in numba.prange(chunks):
            lo, hi = c * size // chunks, (c + 1) * size // chunks
            _zip_rows(
                f, out, out_shape, out_strides, a, a_shape, a_strides, b, b_shape, b_strides, lo, hi
            )

    return Kernels(serial(span, cache=False), parallel(par, cache=False))


def custom_reduce(fn: Callable[[float, float], float]) -> Kernels:
    """Reduce kernels for a float function outside the table (``op`` is ignored)."""
    f = scalar(fn if inspect.isfunction(fn) else lambda x, y: fn(x, y))

    def span(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        dim: int,
        start: int,
        stop: int,
    ) -> None:
        _reduce_rows(f, out, out_shape, out_strides, a, a_shape, a_strides, dim, start, stop)

    def par(
        op: int,
        out: Storage,
        out_shape: Shape,
        out_strides: Strides,
        a: Storage,
        a_shape: Shape,
        a_strides: Strides,
        dim: int,
        size: int,
        chunks: int,
    ) -> None:
        for c in numba.prange(chunks):
            lo, hi = c * size // chunks, (c + 1) * size // chunks
            _reduce_rows(f, out, out_shape, out_strides, a, a_shape, a_strides, dim, lo, hi)

    return Kernels(serial(span, cache=False), parallel(par, cache=False))
