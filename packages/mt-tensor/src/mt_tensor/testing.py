"""Tensor test utilities for every stage: strategies, backend parametrisation, comparisons.

Later stages import these instead of writing their own: ``shapes``/``tensors`` generate inputs
(optionally permuted, so non-contiguous), ``backends()`` lists every installed backend for
``pytest.mark.parametrize``, `assert_tensors_close` compares with labelled tolerances, and
`assert_matches_torch` is the torch-parity helper for stage tensors (forward values, then each
input's gradient) and `assert_torch_parity` the one for torch-faced modules such as
``minitorch.torch`` (the same script run on both).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from mt_operators.testing import OPS, OpInfo, floats_in

from . import dtypes
from .backends import get_backend, installed_backends
from .constructors import tensor
from .indexing import cat, index, index_put, pad, where
from .tensor import Tensor
from .tensor_ops import TensorBackend

__all__ = [
    "OPS",
    "TENSOR_OPS",
    "TOLERANCES",
    "OpInfo",
    "TensorOpInfo",
    "Tolerances",
    "assert_matches_torch",
    "assert_tensors_close",
    "assert_torch_parity",
    "backend_names",
    "broadcastable_shapes",
    "matmul_shapes",
    "shapes",
    "tensor_data",
    "tensors",
]


def backend_names(include_cuda: bool | None = None) -> list[str]:
    """Installed backends to parametrise tests over.

    ``cuda`` is included by default only when it runs on a real GPU: numba's simulator runs
    every CUDA thread in Python, so simulator coverage lives in tests that ask for it with
    ``include_cuda=True`` and keep their sizes tiny (mt-cuda's own suite, for one).
    """
    names = installed_backends()
    if "cuda" not in names:
        return names
    if include_cuda is None:
        include_cuda = _cuda_on_gpu()
    return [n for n in names if n != "cuda" or include_cuda]


def _cuda_on_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    try:
        get_backend("cuda")
    except Exception:  # any failure to start CUDA means "no GPU here"
        return False
    return True


def shapes(
    min_dims: int = 1, max_dims: int = 4, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Small tensor shapes."""
    return st.lists(st.integers(min_side, max_side), min_size=min_dims, max_size=max_dims).map(
        tuple
    )


def broadcastable_shapes(
    max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Pairs of shapes that broadcast: dims of one dropped on the left or set to 1."""

    @st.composite
    def pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
        full = draw(shapes(1, max_dims, 1, max_side))
        drop = draw(st.integers(0, len(full) - 1))
        other = [1 if draw(st.booleans()) else n for n in full[drop:]]
        if draw(st.booleans()):
            return full, tuple(other)
        return tuple(other), full

    return pair()


def matmul_shapes(
    max_batch: int = 2, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(..., n, m)`` and ``(..., m, p)`` with broadcast batch dims (``(D,A,B) @ (1,B,C)``)."""

    @st.composite
    def pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
        n, m, p = (draw(st.integers(1, max_side)) for _ in range(3))
        batch = draw(shapes(0, max_batch, 1, 3))
        a_batch = tuple(1 if draw(st.booleans()) else d for d in batch)
        b_batch = tuple(1 if draw(st.booleans()) else d for d in batch)
        b_batch = b_batch[draw(st.integers(0, len(b_batch))) :]
        return (*a_batch, n, m), (*b_batch, m, p)

    return pair()


def tensor_data(
    shape: Sequence[int], lo: float = -10.0, hi: float = 10.0
) -> st.SearchStrategy[npt.NDArray[np.float64]]:
    """A numpy array of ``shape`` with values in ``[lo, hi]``."""
    size = int(np.prod(shape)) if shape else 1
    return st.lists(floats_in(lo, hi), min_size=size, max_size=size).map(
        lambda v: np.array(v, dtype=np.float64).reshape(tuple(shape))
    )


def tensors(
    shape: Sequence[int] | st.SearchStrategy[tuple[int, ...]] | None = None,
    backend: str | TensorBackend = "simple",
    lo: float = -10.0,
    hi: float = 10.0,
    permuted: bool | None = None,
    away_from: Sequence[float] = (),
    dtype: Any = None,
) -> st.SearchStrategy[Tensor]:
    """Tensors of ``dtype`` (default: the default float) on ``backend``; with ``permuted``
    (default: either) stored in another dim order, so their strides are not row-major but their
    shape is ``shape``. Values within 1e-3 of a point of ``away_from`` (an op's kinks) are moved
    0.01 off it, so central differences hold."""
    shape_st = st.just(tuple(shape)) if isinstance(shape, Sequence) else (shape or shapes())

    @st.composite
    def make(draw: st.DrawFn) -> Tensor:
        s = draw(shape_st)
        values = draw(tensor_data(s, lo, hi))
        for point in away_from:
            values[np.abs(values - point) < 1e-3] = point + 0.01
        t = tensor(values, backend=backend, dtype=dtype)
        perm = draw(st.booleans()) if permuted is None else permuted
        if perm and len(s) > 1:
            order = draw(st.permutations(range(len(s))))
            inverse = [order.index(i) for i in range(len(s))]
            stored = tensor(np.transpose(values, order).copy(), backend=backend, dtype=dtype)
            t = stored.permute(*inverse)
        return t

    return make()


@dataclass(frozen=True)
class Tolerances:
    """``(rtol, atol)`` for results of one float dtype: ``forward`` values against a reference
    computing in the same dtype (numpy or torch), ``backward`` gradients against torch's in that
    dtype, ``central`` gradients against central differences of the float64 function."""

    forward: tuple[float, float]
    backward: tuple[float, float]
    central: tuple[float, float]


TOLERANCES: dict[dtypes.DType, Tolerances] = {
    dtypes.float64: Tolerances((1e-5, 1e-7), (1e-4, 1e-6), (1e-4, 1e-5)),
    dtypes.float32: Tolerances((1e-4, 1e-5), (1e-3, 1e-4), (1e-3, 1e-4)),
}
"""Per float dtype, in one place. float64's hold to within the difference quotient's own error
(``central``); float32's allow a few hundred units in its last place (2^-23 = 1.2e-7), which
sums over broadcast dims, cancellations and a derivative's extra steps reach."""


def assert_tensors_close(
    actual: Tensor | npt.ArrayLike,
    expected: Tensor | npt.ArrayLike,
    label: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> None:
    """Fail with the label, both shapes and the element furthest past the tolerance."""
    a = actual.to_numpy() if isinstance(actual, Tensor) else np.asarray(actual, dtype=np.float64)
    e = expected.to_numpy() if isinstance(expected, Tensor) else np.asarray(expected, np.float64)
    prefix = f"{label}: " if label else ""
    if a.shape != e.shape:
        raise AssertionError(f"{prefix}shape {a.shape} != expected {e.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        excess = np.abs(a - e) - (atol + rtol * np.abs(e))
        excess = np.where(np.isnan(a) != np.isnan(e), np.inf, np.nan_to_num(excess, nan=-np.inf))
        worst = np.unravel_index(np.argmax(excess), a.shape) if a.size else ()
        raise AssertionError(
            f"{prefix}values differ (rtol={rtol}, atol={atol}); worst at {worst}: "
            f"{a[worst]} vs expected {e[worst]}"
        )


def assert_matches_torch(
    fn: Callable[..., Any],
    *inputs: npt.NDArray[np.float64],
    ours: Callable[..., Tensor] | None = None,
    backend: str = "simple",
    forward_tol: tuple[float, float] = (1e-5, 1e-7),
    backward_tol: tuple[float, float] = (1e-4, 1e-6),
    dtype: Any = np.float64,
) -> None:
    """Run ``fn`` on torch tensors and on ours (``ours`` if it differs), then compare.

    Both sides compute in ``dtype`` (float64 or float32); forward dtype, values and shapes first,
    then the gradient of each input after ``.sum().backward()``; failures say "forward" or
    "backward of input i". Skips the test when torch is absent.
    """
    import pytest

    torch = pytest.importorskip("torch")
    kind = np.dtype(dtype)
    torch_dtype = getattr(torch, kind.name)
    theirs_in = [torch.tensor(x, dtype=torch_dtype, requires_grad=True) for x in inputs]
    ours_in = [tensor(x, backend=backend, requires_grad=True, dtype=kind) for x in inputs]
    expected = fn(*theirs_in)
    actual = (ours or fn)(*ours_in)
    if isinstance(actual, Tensor) and actual.dtype != kind:
        raise AssertionError(f"forward: dtype {actual.dtype}, expected {kind}")
    assert_tensors_close(actual, expected.detach().numpy(), "forward", *forward_tol)
    expected.sum().backward()
    actual.sum().backward()
    for i, (t, o) in enumerate(zip(theirs_in, ours_in, strict=True)):
        if t.grad is None:
            continue
        got = o.grad.to_numpy() if o.grad is not None else np.zeros(t.shape)
        assert_tensors_close(got, t.grad.numpy(), f"backward of input {i}", *backward_tol)


def _outputs(out: Any) -> list[Any]:
    """A function's tensors as a flat list (a tensor, or a tuple/list/named tuple of them)."""
    if isinstance(out, tuple | list):
        return [t for o in out for t in _outputs(o)]
    return [out]


def assert_torch_parity(
    fn: Callable[..., Any],
    *inputs: npt.NDArray[Any],
    ours: Any,
    forward_tol: tuple[float, float] = (1e-6, 1e-9),
    backward_tol: tuple[float, float] = (1e-5, 1e-8),
) -> None:
    """Run ``fn(T, *tensors)`` with ``T`` = torch and ``T`` = ``ours`` (a module with PyTorch's
    face, such as ``minitorch.torch``) and compare.

    Float arrays become float64 tensors that require grad; integer and boolean arrays become
    ``int64``/``bool`` tensors. First each output's shape, dtype and values ("forward output j"),
    then, when an output requires grad, the gradient of every float input after the sum of the
    outputs' sums is backpropagated ("backward of input i"). Skips the test when torch is absent.
    """
    import pytest

    torch = pytest.importorskip("torch")
    results = []
    for T in (torch, ours):
        tensors = [
            T.tensor(x, dtype=T.float64, requires_grad=True)
            if np.issubdtype(np.asarray(x).dtype, np.floating)
            else T.tensor(x)
            for x in inputs
        ]
        outs = _outputs(fn(T, *tensors))
        grads: list[Any] = []
        learning = [o for o in outs if getattr(o, "requires_grad", False)]
        if learning:
            total = learning[0].sum()
            for o in learning[1:]:
                total = total + o.sum()
            total.backward()
            grads = [t.grad for t in tensors]
        results.append((outs, grads))
    (theirs, their_grads), (mine, my_grads) = results
    if len(theirs) != len(mine):
        raise AssertionError(f"forward: {len(mine)} outputs, expected {len(theirs)}")
    for j, (e, a) in enumerate(zip(theirs, mine, strict=True)):
        label = f"forward output {j}"
        if not hasattr(e, "shape"):
            if e != a:
                raise AssertionError(f"{label}: {a!r} != expected {e!r}")
            continue
        if str(a.dtype) != str(e.dtype):
            raise AssertionError(f"{label}: dtype {a.dtype} != expected {e.dtype}")
        expected = np.asarray(e.detach().numpy(), dtype=np.float64)
        actual = np.asarray(a.detach().numpy(), dtype=np.float64)
        assert_tensors_close(actual, expected, label, *forward_tol)
    for i, (e, a) in enumerate(zip(their_grads, my_grads, strict=True)):
        if e is None and a is None:
            continue
        if e is None or a is None:
            raise AssertionError(f"backward of input {i}: gradient {a} != expected {e}")
        expected = np.asarray(e.numpy(), dtype=np.float64)
        actual = np.asarray(a.numpy(), dtype=np.float64)
        assert_tensors_close(actual, expected, f"backward of input {i}", *backward_tol)


@dataclass(frozen=True)
class TensorOpInfo:
    """One tensor-level op (reduction, movement, indexing, matmul, element-wise beyond `OPS`),
    declared once like `OpInfo`.

    ``cases`` draws the input shapes and the op's parameter (a dim, an order, a shape, a key or
    ``None``); ``call(param, *tensors)`` runs it and ``reference(param, *arrays)`` is its numpy
    twin. ``function`` names the `Function` class it is built on; gradients of ops that are not
    ``differentiable`` are 0. Input values are drawn from ``domain`` and kept off the points
    ``kinks(param)`` where the derivative jumps.
    """

    name: str
    function: str
    call: Callable[..., Tensor]
    reference: Callable[..., npt.NDArray[np.float64]]
    cases: st.SearchStrategy[tuple[tuple[tuple[int, ...], ...], Any]]
    differentiable: bool = True
    domain: tuple[float, float] = (-10.0, 10.0)
    kinks: Callable[[Any], Sequence[float]] = lambda param: ()

    def inputs(
        self,
        backend: str | TensorBackend = "simple",
        max_size: int | None = None,
        dtype: Any = None,
    ) -> st.SearchStrategy[tuple[list[Tensor], Any]]:
        """Inputs of ``dtype`` on ``backend`` (each of at most ``max_size`` elements) and the
        parameter."""
        cases = self.cases
        if max_size is not None:
            limit = max_size
            cases = cases.filter(lambda c: all(int(np.prod(s)) <= limit for s in c[0]))

        @st.composite
        def draw_inputs(draw: st.DrawFn) -> tuple[list[Tensor], Any]:
            in_shapes, param = draw(cases)
            kinks = self.kinks(param)
            return [
                draw(tensors(s, backend, *self.domain, away_from=kinks, dtype=dtype))
                for s in in_shapes
            ], param

        return draw_inputs()


def _with_dim(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[tuple[tuple[int, ...]], Any]]:
    return st.sampled_from([None, *range(len(shape))]).map(lambda d: ((shape,), d))


def _reduced(
    fn: Callable[..., npt.NDArray[np.float64]],
) -> Callable[..., npt.NDArray[np.float64]]:
    """A numpy reduction with the library's rule: the dim kept at size 1, or everything → (1,)."""
    return lambda d, a: (
        np.asarray(fn(a), dtype=np.float64).reshape(1)
        if d is None
        else np.asarray(fn(a, axis=d, keepdims=True), dtype=np.float64)
    )


def _views(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[tuple[tuple[int, ...]], Any]]:
    size = int(np.prod(shape))
    targets = st.one_of(st.just((size,)), st.permutations(shape).map(tuple))
    return targets.map(lambda t: ((shape,), t))


def _unary(param: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    return st.tuples(shapes(), st.none() if param is None else param).map(
        lambda sp: ((sp[0],), sp[1])
    )


@st.composite
def index_keys(draw: st.DrawFn, shape: tuple[int, ...], unique: bool = False) -> tuple[Any, ...]:
    """A numpy-style key for ``shape``: per dim an int, a slice, an index list or nothing, with
    ``None`` (new dims) and at most one index list (so numpy need not broadcast lists), or a
    boolean mask over the leading dims. ``unique`` keeps index lists free of repeats."""
    if shape and draw(st.integers(0, 4)) == 0:
        lead = shape[: draw(st.integers(1, len(shape)))]
        size = int(np.prod(lead))
        mask = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        return (np.array(mask, dtype=np.bool_).reshape(lead),)
    key: list[Any] = []
    used_list = False
    for n in shape[: draw(st.integers(0, len(shape)))]:
        if draw(st.booleans()) and draw(st.booleans()):
            key.append(None)
        kind = draw(st.sampled_from(["int", "slice", "list"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "list" and not used_list:
            used_list = True
            if unique:
                key.append(
                    draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
                )
            else:
                key.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=3)))
        else:
            start = draw(st.none() | st.integers(-n, n))
            stop = draw(st.none() | st.integers(-n, n))
            key.append(slice(start, stop, draw(st.none() | st.integers(1, 3))))
    return tuple(key)


@st.composite
def _index_cases(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...], ...], Any]:
    shape = draw(shapes())
    return (shape,), draw(index_keys(shape))


@st.composite
def _index_put_cases(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...], ...], Any]:
    shape = draw(shapes())
    key = draw(index_keys(shape, unique=True))
    return (shape, np.empty(shape)[key].shape), key


def _put(key: Any, a: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> Any:
    out = a.copy()
    out[key] = v.reshape(out[key].shape)
    return out


@st.composite
def _cat_cases(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...], ...], Any]:
    shape = draw(shapes())
    dim = draw(st.integers(0, len(shape) - 1))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    return tuple((*shape[:dim], n, *shape[dim + 1 :]) for n in sizes), dim


@st.composite
def _where_cases(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...], ...], Any]:
    a, b = draw(broadcastable_shapes())
    out = np.broadcast_shapes(a, b)
    mask = np.array(
        draw(st.lists(st.booleans(), min_size=int(np.prod(out)), max_size=int(np.prod(out))))
    )
    return (a, b), mask.reshape(out)


@st.composite
def _broadcast_cases(draw: st.DrawFn) -> tuple[tuple[tuple[int, ...], ...], Any]:
    a, b = draw(broadcastable_shapes())
    return (draw(st.sampled_from([a, b])),), tuple(np.broadcast_shapes(a, b))


def _pad_cases(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[tuple[tuple[int, ...]], Any]]:
    pair = st.tuples(st.integers(0, 2), st.integers(0, 2))
    widths = st.lists(pair, min_size=len(shape), max_size=len(shape)).map(tuple)
    return st.tuples(widths, floats_in(-5.0, 5.0)).map(lambda wv: ((shape,), wv))


def _clamp_bounds() -> st.SearchStrategy[tuple[float | None, float | None]]:
    low = st.none() | floats_in(-5.0, 0.0)
    high = st.none() | floats_in(0.0, 5.0)
    return st.tuples(low, high).filter(lambda b: b != (None, None))


def _where_reference(
    mask: npt.NDArray[np.bool_], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return np.asarray(np.where(mask, a, b), dtype=np.float64)


TENSOR_OPS: tuple[TensorOpInfo, ...] = (
    TensorOpInfo(
        "sum",
        "Sum",
        lambda d, a: a.sum(d),
        _reduced(np.sum),
        shapes().flatmap(_with_dim),
    ),
    TensorOpInfo(
        "mean",
        "Sum",
        lambda d, a: a.mean(d),
        _reduced(np.mean),
        shapes().flatmap(_with_dim),
    ),
    TensorOpInfo(
        "all",
        "All",
        lambda d, a: a.all(d),
        _reduced(lambda a, **kw: np.all(a != 0, **kw)),
        shapes().flatmap(_with_dim),
        differentiable=False,
        kinks=lambda _: (0.0,),
    ),
    TensorOpInfo(
        "is_close",
        "IsClose",
        lambda _, a, b: a.is_close(b),
        lambda _, a, b: (np.abs(a - b) < 1e-2).astype(np.float64),
        broadcastable_shapes().map(lambda ab: (ab, None)),
        differentiable=False,
    ),
    TensorOpInfo(
        "permute",
        "Permute",
        lambda order, a: a.permute(*order),
        lambda order, a: np.transpose(a, order),
        shapes().flatmap(lambda s: st.permutations(range(len(s))).map(lambda o: ((s,), tuple(o)))),
    ),
    TensorOpInfo(
        "view",
        "View",
        lambda shape, a: a.contiguous().view(*shape),
        lambda shape, a: np.reshape(a, shape),
        shapes().flatmap(_views),
    ),
    TensorOpInfo(
        "contiguous",
        "Copy",
        lambda _, a: a.contiguous(),
        lambda _, a: a,
        shapes(min_dims=2).map(lambda s: ((s,), None)),
    ),
    TensorOpInfo(
        "matmul",
        "MatMul",
        lambda _, a, b: a @ b,
        lambda _, a, b: np.matmul(a, b),
        matmul_shapes().map(lambda ab: (ab, None)),
    ),
    TensorOpInfo(
        "pow_int",
        "Pow",
        lambda p, a: a**p,
        lambda p, a: np.power(a, float(p)),
        _unary(st.sampled_from([0, 1, 2, 3, -1, -2])),
        domain=(-3.0, 3.0),
        kinks=lambda p: (0.0,) if p < 0 else (),
    ),
    TensorOpInfo(
        "pow_real",
        "Pow",
        lambda p, a: a**p,
        lambda p, a: np.power(a, p),
        _unary(st.sampled_from([0.5, 1.5, -0.5, 2.5])),
        domain=(0.1, 10.0),
    ),
    TensorOpInfo(
        "astype",
        "Cast",
        lambda d, a: a.astype(d),
        lambda d, a: a.astype(d),
        _unary(st.just("float32")),
        # float32's spacing near 1e-4 (7e-12) is 1e-5 of the difference step (2e-6), within rtol
        domain=(-1e-4, 1e-4),
    ),
    TensorOpInfo(
        "floordiv",
        "FloorDiv",
        lambda p, a: a // p,
        lambda p, a: np.floor_divide(a, p),
        _unary(st.sampled_from([-3, -2, 2, 3])),
        differentiable=False,
        kinks=lambda p: tuple(p * k for k in range(-10, 11)),
    ),
    TensorOpInfo(
        "mod",
        "Mod",
        lambda p, a: a % p,
        lambda p, a: np.remainder(a, p),
        _unary(st.sampled_from([-3, -2, 2, 3])),
        kinks=lambda p: tuple(p * k for k in range(-10, 11)),
    ),
    TensorOpInfo(
        "clamp",
        "Clamp",
        lambda b, a: a.clamp(*b),
        lambda b, a: np.clip(a, *b),
        _unary(_clamp_bounds()),
        kinks=lambda b: tuple(x for x in b if x is not None),
    ),
    TensorOpInfo(
        "broadcast_to",
        "BroadcastTo",
        lambda shape, a: a.broadcast_to(*shape),
        lambda shape, a: np.broadcast_to(a, shape),
        _broadcast_cases(),
    ),
    TensorOpInfo(
        "index", "GetItem", lambda key, a: index(a, key), lambda key, a: a[key], _index_cases()
    ),
    TensorOpInfo(
        "index_put",
        "IndexPut",
        lambda key, a, v: index_put(a, key, v),
        _put,
        _index_put_cases(),
    ),
    TensorOpInfo(
        "cat",
        "Cat",
        lambda dim, *ts: cat(ts, dim),
        lambda dim, *arrays: np.concatenate(arrays, axis=dim),
        _cat_cases(),
    ),
    TensorOpInfo(
        "where",
        "Where",
        lambda mask, a, b: where(mask, a, b),
        _where_reference,
        _where_cases(),
    ),
    TensorOpInfo(
        "pad",
        "Pad",
        lambda wv, a: pad(a, wv[0], wv[1]),
        lambda wv, a: np.pad(a, wv[0], constant_values=wv[1]),
        shapes().flatmap(_pad_cases),
    ),
)
"""Every tensor-level differentiable op, in one table (the element-wise ones are `OPS`)."""
