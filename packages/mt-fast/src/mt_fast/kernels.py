"""Numba kernels for map, zip and reduce, walking storage by memory layout.

Each kernel handles a span ``[start, stop)`` of output elements in row-major order: it converts
an ordinal to an index once per row (with mt-tensor's own index helpers, compiled here) and then
runs a strided loop over the last dimension, with a unit-stride loop when every operand allows it.
Same-shape contiguous operands arrive as one flat row, so they run a single loop. A tensor
reaches a kernel as its three arrays ``storage, shape, strides`` (the course's signature), passed
one by one: numba's dispatcher types and unboxes nine arrays faster than three tuples of three
(a zip of ten elements: 0.9 against 1.2 µs a call here), and that call is most of a small op's
kernel time.

The float functions are stage 0's primitives (`mt_operators.operators.PRIMITIVES`), compiled
unchanged (but for ``exp``, whose C library call would keep every loop around it scalar: see
`mt_fast.fast_math`). One kernel template per kind (map, zip, reduce) is specialised for each
primitive (`specialise`); ``MAP_KERNELS[code]`` (``ZIP_KERNELS``, ``REDUCE_KERNELS``) holds the
kernels of the primitive with that code, its index in ``MAP_FNS``/``ZIP_FNS``/``REDUCE_FNS``.
Each specialisation has a name of its own, so numba's disk cache (``cache=True``) finds it again
in the next process, and is compiled only when first used. The ``*_parallel`` kernels split the
span into chunks over ``prange``; the ``*_span`` kernels are the serial ones.
Kernels assume checked input: shapes are validated by `mt_fast.fast_ops` before any call.
"""

from __future__ import annotations

import dis
import inspect
import types
from collections.abc import Callable, Sequence
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

Operand = tuple[Storage, Shape, Strides]
"""A tensor as kernels take it."""


def compile_operator(
    fn: Callable[..., float],
    jit: Callable[[Callable[..., float]], Any],
    done: dict[Callable[..., float], Any],
) -> Any:
    """``fn`` compiled with ``jit``, with the stage-0 functions it calls compiled too.

    numba cannot call a plain Python function from compiled code, so ``fn`` is rebuilt over a
    copy of its globals in which every function of its module it names is compiled (``done``
    holds those already compiled, and may map one to a replacement, as ``exp`` to `fast_math`).
    """
    if fn in done:
        return done[fn]
    if not isinstance(fn, types.FunctionType):
        done[fn] = jit(fn)
        return done[fn]
    names = dict(fn.__globals__)
    called = {i.argval for i in dis.get_instructions(fn) if i.opname == "LOAD_GLOBAL"}
    for name in called:
        value = names.get(name)
        if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
            names[name] = compile_operator(value, jit, done)
    rebuilt = types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__, fn.__closure__)
    done[fn] = jit(rebuilt)
    return done[fn]


_done: dict[Callable[..., float], Any] = {operators.exp: fast_math.exp}
MAP_FNS = tuple(compile_operator(fn, scalar, _done) for fn in operators.MAP_FNS)
ZIP_FNS = tuple(compile_operator(fn, scalar, _done) for fn in operators.ZIP_FNS)
REDUCE_FNS = tuple(
    compile_operator(fn, lambda f: scalar(f, reassociate=True), {}) for fn in operators.REDUCE_FNS
)
"""The compiled primitives by op code; a fold may reassociate (so a sum vectorises)."""
UNARY_CODES = operators.codes(operators.MAP_FNS)
BINARY_CODES = operators.codes(operators.ZIP_FNS)
REDUCE_CODES = operators.codes(operators.REDUCE_FNS)
"""Op codes by float function (found by identity)."""
COSTLY_MAPS = frozenset(UNARY_CODES[p.fn] for p in operators.UNARY if p.costly)
"""Maps that take several times longer per element than arithmetic (so go parallel sooner)."""


# Walkers over a span of output ordinals, inlined where they are called with a compiled ``fn``
# (a constant of the calling function, so numba calls it directly and the loop specialises).


@numba.njit(inline="always")
def _one_row(out_: Operand, operand: Operand) -> bool:
    """True when ``operand`` and ``out_`` are unit-stride rows of one length: element ``i`` of
    each is at position ``i``, so a kernel needs no index arrays (allocating them would cost a
    small op more than its loop)."""
    shape, strides = operand[1], operand[2]
    out_shape, out_strides = out_[1], out_[2]
    if len(out_shape) != 1 or len(shape) != 1 or shape[0] != out_shape[0]:
        return False
    return bool(out_strides[0] == 1 and strides[0] == 1)


@walker
def _map_rows(fn: Any, out_: Operand, args: tuple[Operand], start: int, stop: int) -> None:
    out, out_shape, out_strides = out_
    a, a_shape, a_strides = args[0]
    if _one_row(out_, args[0]):
        out_row, a_row = out[start:stop], a[start:stop]
        for j in range(stop - start):
            out_row[j] = fn(a_row[j])
        return
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
def _zip_rows(fn: Any, out_: Operand, args: tuple[Operand, Operand], start: int, stop: int) -> None:
    out, out_shape, out_strides = out_
    a, a_shape, a_strides = args[0]
    b, b_shape, b_strides = args[1]
    if _one_row(out_, args[0]) and _one_row(out_, args[1]):
        out_row, a_row, b_row = out[start:stop], a[start:stop], b[start:stop]
        for j in range(stop - start):
            out_row[j] = fn(a_row[j], b_row[j])
        return
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
def _reduce_rows(fn: Any, out_: Operand, args: tuple[Operand, int], start: int, stop: int) -> None:
    out, out_shape, out_strides = out_
    a, a_shape, a_strides = args[0]
    dim = args[1]
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


# The kernels: templates specialised for each primitive (`specialise`), the primitive a
# constant of the compiled code. Each specialisation is a top-level function with a name of its
# own (``map_span_exp``), so numba's disk cache finds it again, and it is compiled on the first
# call that needs it: a program compiles the primitives it uses, not the whole table.

_fn: Any = None
"""The primitive a template calls; each specialisation binds its own."""


def _map_span(
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
    _map_rows(_fn, (out, out_shape, out_strides), ((a, a_shape, a_strides),), start, stop)


def _zip_span(
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
    a_, b_ = (a, a_shape, a_strides), (b, b_shape, b_strides)
    _zip_rows(_fn, (out, out_shape, out_strides), (a_, b_), start, stop)


def _reduce_span(
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
    _reduce_rows(_fn, (out, out_shape, out_strides), ((a, a_shape, a_strides), dim), start, stop)


# The parallel twins call the compiled span kernel on each chunk rather than inline the row
# walker again: numba then compiles only the thread loop (2.4 s against 6.1 s for a zip on a
# first run at load 5.7), and a launch runs as fast (41 against 44 µs CPU for 100 000 adds).

_span: Any = None
"""The span kernel a parallel template splits over threads; each specialisation binds its own."""


def _map_parallel(
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
        start, stop = c * size // chunks, (c + 1) * size // chunks
        _span(op, out, out_shape, out_strides, a, a_shape, a_strides, start, stop)


def _zip_parallel(
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
        start, stop = c * size // chunks, (c + 1) * size // chunks
        _span(
            op,
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


def _reduce_parallel(
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
        start, stop = c * size // chunks, (c + 1) * size // chunks
        _span(op, out, out_shape, out_strides, a, a_shape, a_strides, dim, start, stop)


class Kernels(NamedTuple):
    """A serial span kernel and its parallel twin, both taking the op code first."""

    span: Callable[..., None]
    parallel: Callable[..., None]


def specialise(
    span: Callable[..., None], par: Callable[..., None], fn: Any, name: str, cache: bool = True
) -> Kernels:
    """The templates ``span`` and ``par`` compiled for the compiled float function ``fn``, as
    functions named ``<template>_<name>`` (their disk-cache key); ``par`` calls the span kernel."""

    def bind(template: Callable[..., None], constant: str, value: Any) -> Callable[..., None]:
        names = {**template.__globals__, constant: value}
        title = f"{template.__name__.lstrip('_')}_{name}"
        bound = types.FunctionType(template.__code__, names, title)
        bound.__qualname__ = title
        return bound

    span_kernel = serial(bind(span, "_fn", fn), cache=cache)
    return Kernels(span_kernel, parallel(bind(par, "_span", span_kernel), cache=cache))


def _names(fns: Sequence[Callable[..., float]]) -> list[str]:
    """A distinct name per code: the function's own, suffixed with its code (lambdas, repeats)."""
    return [f"{getattr(fn, '__name__', 'fn').strip('<>')}_{code}" for code, fn in enumerate(fns)]


MAP_KERNELS = tuple(
    specialise(_map_span, _map_parallel, fn, name)
    for fn, name in zip(MAP_FNS, _names(operators.MAP_FNS), strict=True)
)
ZIP_KERNELS = tuple(
    specialise(_zip_span, _zip_parallel, fn, name)
    for fn, name in zip(ZIP_FNS, _names(operators.ZIP_FNS), strict=True)
)
REDUCE_KERNELS = tuple(
    specialise(_reduce_span, _reduce_parallel, fn, name)
    for fn, name in zip(REDUCE_FNS, _names(operators.REDUCE_FNS), strict=True)
)
"""The cached kernels of each kind, by op code:
``MAP_KERNELS[code].span(code, *out, *a, start, stop)``, each operand as its three arrays."""
CACHED = [k for table in (MAP_KERNELS, ZIP_KERNELS, REDUCE_KERNELS) for pair in table for k in pair]
"""Every disk-cached kernel of this module (for `mt_fast.cache.refresh`)."""


def map_span(op: int, out: Operand, a: Operand, start: int, stop: int) -> None:
    """``out[i] = f(a[broadcast(i)])`` for output ordinals in ``[start, stop)``; f by code."""
    MAP_KERNELS[op].span(op, *out, *a, start, stop)


def zip_span(op: int, out: Operand, a: Operand, b: Operand, start: int, stop: int) -> None:
    """``out[i] = f(a[broadcast(i)], b[broadcast(i)])`` over ``[start, stop)``; f by code."""
    ZIP_KERNELS[op].span(op, *out, *a, *b, start, stop)


def reduce_span(op: int, out: Operand, a: Operand, dim: int, start: int, stop: int) -> None:
    """Fold ``a`` along ``dim`` into the outputs ``[start, stop)`` (already holding the start)."""
    REDUCE_KERNELS[op].span(op, *out, *a, dim, start, stop)


def map_parallel(op: int, out: Operand, a: Operand, size: int, chunks: int) -> None:
    """`map_span` over ``size`` outputs split into ``chunks`` run on threads."""
    MAP_KERNELS[op].parallel(op, *out, *a, size, chunks)


def zip_parallel(op: int, out: Operand, a: Operand, b: Operand, size: int, chunks: int) -> None:
    """`zip_span` over ``size`` outputs split into ``chunks`` run on threads."""
    ZIP_KERNELS[op].parallel(op, *out, *a, *b, size, chunks)


def reduce_parallel(op: int, out: Operand, a: Operand, dim: int, size: int, chunks: int) -> None:
    """`reduce_span` over ``size`` outputs split into ``chunks`` run on threads."""
    REDUCE_KERNELS[op].parallel(op, *out, *a, dim, size, chunks)


# Any other float function: the same templates specialised for it, not cached (numba's disk
# cache would key on a name, not on the function; `mt_fast.fast_ops` keeps them in a dict, so
# they compile once per process). A builtin such as ``math.exp`` is called from a Python
# function, which numba can compile.


def _custom(fn: Callable[..., float], arity: int, span: Any, par: Any) -> Kernels:
    """``span``/``par`` specialised for ``fn`` (wrapped in a Python function if a builtin)."""
    if not inspect.isfunction(fn):
        builtin = fn
        fn = (lambda x: builtin(x)) if arity == 1 else (lambda x, y: builtin(x, y))
    return specialise(span, par, compile_operator(fn, scalar, dict(_done)), "custom", cache=False)


def custom_map(fn: Callable[[float], float]) -> Kernels:
    """Map kernels for a float function outside the table (``op`` is ignored)."""
    return _custom(fn, 1, _map_span, _map_parallel)


def custom_zip(fn: Callable[[float, float], float]) -> Kernels:
    """Zip kernels for a float function outside the table (``op`` is ignored)."""
    return _custom(fn, 2, _zip_span, _zip_parallel)


def custom_reduce(fn: Callable[[float, float], float]) -> Kernels:
    """Reduce kernels for a float function outside the table (``op`` is ignored)."""
    return _custom(fn, 2, _reduce_span, _reduce_parallel)
