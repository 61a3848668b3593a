"""Every primitive of the fast backend against the simple reference, on every layout."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_fast import FastOps, FastTensorBackend, fast_ops
from mt_operators import operators
from mt_operators.operators import EXP_MAX
from mt_tensor import IndexingError, SimpleBackend, SimpleOps, Tensor, get_backend, tensor
from mt_tensor.testing import (
    OPS,
    OpInfo,
    assert_tensors_close,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    tensors,
)

UNARY = [op for op in OPS if op.arity == 1]
BINARY = [op for op in OPS if op.arity == 2]
LAYOUTS = ["serial", "parallel"]


@contextmanager
def layout(kind: str) -> Iterator[None]:
    """Force the parallel kernels even on tiny tensors (or leave the size rule alone)."""
    saved = fast_ops.PARALLEL_MIN, fast_ops.MATMUL_PARALLEL_MIN
    if kind == "parallel":
        fast_ops.PARALLEL_MIN = fast_ops.MATMUL_PARALLEL_MIN = 0
    try:
        yield
    finally:
        fast_ops.PARALLEL_MIN, fast_ops.MATMUL_PARALLEL_MIN = saved


def simple(t: Tensor) -> Tensor:
    return t.to("simple")


def test_registered_as_fast() -> None:
    assert get_backend("fast") is FastTensorBackend
    assert FastTensorBackend.name == "fast" and not FastTensorBackend.cuda


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("op", UNARY, ids=lambda op: op.name)
@given(data=st.data())
def test_unary_matches_simple(kind: str, op: OpInfo, data: st.DataObject) -> None:
    shape = data.draw(shapes(1, 4, 0, 4))
    a = data.draw(tensors(shape, backend="fast", lo=op.domain[0], hi=op.domain[1]))
    with layout(kind):
        actual = op.call(a)
    assert_tensors_close(actual, op.call(simple(a)), op.name)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
@given(data=st.data())
def test_binary_broadcast_matches_simple(kind: str, op: OpInfo, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(broadcastable_shapes())
    lo, hi = op.domain
    a = data.draw(tensors(shape_a, backend="fast", lo=lo, hi=hi))
    b = data.draw(tensors(shape_b, backend="fast", lo=lo, hi=hi))
    with layout(kind):
        actual = op.call(a, b)
    assert_tensors_close(actual, op.call(simple(a), simple(b)), op.name)


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize(
    "name", ["add_reduce", "mul_reduce", "max_reduce"], ids=lambda n: n.split("_")[0]
)
@given(data=st.data())
def test_reduce_every_dim_matches_simple(kind: str, name: str, data: st.DataObject) -> None:
    a = data.draw(tensors(data.draw(shapes(1, 4, 0, 4)), backend="fast", lo=-2.0, hi=2.0))
    for dim in range(a.dims):
        with layout(kind):
            actual = getattr(FastTensorBackend, name)(a, dim)
        expected = getattr(SimpleBackend, name)(simple(a), dim)
        assert_tensors_close(actual, expected, f"{name} over dim {dim} of {a.shape}")


@pytest.mark.parametrize("kind", LAYOUTS)
@given(data=st.data())
def test_map_into_broadcast_out_matches_simple(kind: str, data: st.DataObject) -> None:
    big, small = data.draw(broadcastable_shapes())
    if tuple(np.broadcast_shapes(big, small)) != big:
        big, small = small, big
    a = data.draw(tensors(small, backend="fast"))
    out = FastTensorBackend.id_map(tensor(np.zeros(big), backend="fast"))
    with layout(kind):
        FastTensorBackend.exp_map(a, out)
    expected = simple(out)
    SimpleBackend.exp_map(simple(a), expected)
    assert_tensors_close(out, expected, f"exp of {small} into {big}")


@pytest.mark.parametrize("kind", LAYOUTS)
@given(data=st.data())
def test_matmul_broadcast_batch_matches_simple(kind: str, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(matmul_shapes())
    a = data.draw(tensors(shape_a, backend="fast"))
    b = data.draw(tensors(shape_b, backend="fast"))
    with layout(kind):
        actual = a @ b
    assert_tensors_close(actual, simple(a) @ simple(b), f"{shape_a} @ {shape_b}")


@pytest.mark.parametrize("kind", LAYOUTS)
@given(data=st.data())
def test_zip_with_empty_dims_matches_simple(kind: str, data: st.DataObject) -> None:
    """Broadcasting where some dim has size 0 (the shared pairs never draw one)."""
    shape = data.draw(shapes(1, 3, 0, 3))
    other = tuple(1 if data.draw(st.booleans()) else n for n in shape)
    a = data.draw(tensors(shape, backend="fast"))
    b = data.draw(tensors(other, backend="fast"))
    with layout(kind):
        actual = a * b + b
    assert_tensors_close(actual, simple(a) * simple(b) + simple(b), f"{shape} with {other}")


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [
        ((0, 3), (3, 2)),
        ((2, 0), (0, 3)),
        ((2, 3), (3, 0)),
        ((0, 2, 3), (3, 4)),
        ((1, 1, 3), (0, 3, 1)),
    ],
)
def test_matmul_with_empty_dims_gives_zeros(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...]
) -> None:
    x, y = np.ones(shape_a), np.ones(shape_b)
    actual = tensor(x, backend="fast") @ tensor(y, backend="fast")
    assert_tensors_close(actual, x @ y, f"{shape_a} @ {shape_b}")


def _square(x: float) -> float:
    return x * x + 1.0


def _hypot(x: float, y: float) -> float:
    return math.sqrt(x * x + y * y)


@pytest.mark.parametrize("kind", LAYOUTS)
@given(data=st.data())
def test_user_functions_match_simple(kind: str, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(tensors(shape_a, backend="fast"))
    b = data.draw(tensors(shape_b, backend="fast"))
    with layout(kind):
        mapped = FastOps.map(_square)(a)
        zipped = FastOps.zip(_hypot)(a, b)
        reduced = FastOps.reduce(_hypot, 0.0)(a, a.dims - 1)
    assert_tensors_close(mapped, SimpleOps.map(_square)(simple(a)), "map")
    assert_tensors_close(zipped, SimpleOps.zip(_hypot)(simple(a), simple(b)), "zip")
    assert_tensors_close(reduced, SimpleOps.reduce(_hypot, 0.0)(simple(a), a.dims - 1), "reduce")


def test_builtin_functions_match_simple() -> None:
    """Builtins (not Python functions, so numba cannot compile them directly) work too."""
    a = tensor(np.linspace(-3.0, 3.0, 12).reshape(3, 4), backend="fast")
    b = tensor(np.linspace(0.5, 2.0, 4), backend="fast")
    cases = [
        (FastOps.map(math.atan)(a), SimpleOps.map(math.atan)(simple(a))),
        (FastOps.zip(math.hypot)(a, b), SimpleOps.zip(math.hypot)(simple(a), simple(b))),
        (FastOps.reduce(min, math.inf)(a, 1), SimpleOps.reduce(min, math.inf)(simple(a), 1)),
    ]
    for i, (actual, expected) in enumerate(cases):
        assert_tensors_close(actual, expected, f"builtin {i}")


def test_domain_rule_matches_operators() -> None:
    values = [-1.0, -0.0, 0.0, 1e-300, 2.0, 800.0]
    a = tensor(values, backend="fast")
    for fn, method in [(operators.log, Tensor.log), (operators.exp, Tensor.exp)]:
        expected = [fn(v) for v in values]
        assert_tensors_close(method(a), expected, fn.__name__)
    assert_tensors_close(1.0 / a, [operators.inv(v) for v in values], "inv")


EXP_EDGES = [0.0, -0.0, 1e-300, 709.0, EXP_MAX, np.nextafter(EXP_MAX, np.inf), 710.0, 800.0]
EXP_EDGES += [-708.39, -708.4, -720.0, -745.1, -745.2, -746.0, -1e308, 1e308]
EXP_EDGES += [math.inf, -math.inf, math.nan]


@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50))
def test_exp_is_stage_0_exp_within_one_ulp(values: list[float]) -> None:
    """The vectorised exp (`mt_fast.fast_math`) against `operators.exp`, edges included."""
    values += EXP_EDGES
    actual = tensor(values, backend="fast").exp().to_numpy()
    expected = np.array([operators.exp(v) for v in values])
    finite = np.isfinite(expected) & (expected != 0.0)
    np.testing.assert_array_equal(actual[~finite], expected[~finite])
    ulps = np.abs(actual[finite] - expected[finite]) / np.spacing(expected[finite])
    assert ulps.max(initial=0.0) <= 1.0, (
        f"{ulps.max()} ulp at {np.array(values)[finite][ulps.argmax()]}"
    )


def _uses_objects(x: float) -> float:
    return float(len({"boxed": object()}))


ERRORS: list[tuple[str, Callable[[], object], type[Exception]]] = [
    (
        "zip",
        lambda: tensor(np.ones((2, 3)), backend="fast") + tensor(np.ones(4), backend="fast"),
        IndexingError,
    ),
    (
        "reduce dim",
        lambda: FastTensorBackend.add_reduce(tensor([1.0, 2.0], backend="fast"), 1),
        IndexingError,
    ),
    (
        "matmul inner",
        lambda: FastOps.matrix_multiply(
            tensor(np.ones((2, 3)), backend="fast"), tensor(np.ones((2, 3)), backend="fast")
        ),
        IndexingError,
    ),
    (
        "matmul dims",
        lambda: FastOps.matrix_multiply(
            tensor(np.ones(3), backend="fast"), tensor(np.ones((3, 3)), backend="fast")
        ),
        IndexingError,
    ),
    (
        "matmul batch",
        lambda: FastOps.matrix_multiply(
            tensor(np.ones((2, 2, 3)), backend="fast"), tensor(np.ones((3, 3, 1)), backend="fast")
        ),
        IndexingError,
    ),
    (
        "map out",
        lambda: FastTensorBackend.id_map(
            tensor(np.ones((2, 3)), backend="fast"), tensor(np.ones((3, 2)), backend="fast")
        ),
        IndexingError,
    ),
    (
        "uncompilable",
        lambda: FastOps.map(_uses_objects)(tensor([1.0], backend="fast")),
        TypeError,
    ),
    (
        "uncompilable callable",
        lambda: FastOps.map(functools.partial(max, 0.0))(tensor([1.0], backend="fast")),
        TypeError,
    ),
]


@pytest.mark.parametrize(("case", "call", "error"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_raises_mt_tensor_errors(
    case: str, call: Callable[[], object], error: type[Exception]
) -> None:
    if case.startswith("uncompilable") and os.environ.get("NUMBA_DISABLE_JIT", "0") != "0":
        pytest.skip("NUMBA_DISABLE_JIT=1 runs the function as Python, which accepts it")
    with pytest.raises(error) as info:
        call()
    assert "numba" not in type(info.value).__module__
