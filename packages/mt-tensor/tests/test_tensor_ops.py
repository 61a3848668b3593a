"""Forward values of every tensor op on every backend against numpy, on permuted and broadcast
inputs: map, zip, reduce, matmul, movement, and Python numbers on either side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_operators import operators
from mt_tensor import Tensor, get_backend, tensor
from mt_tensor.testing import (
    OPS,
    OpInfo,
    assert_tensors_close,
    backend_names,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    tensors,
)

BACKENDS = backend_names()
UNARY = [op for op in OPS if op.arity == 1]
BINARY = [op for op in OPS if op.arity == 2]


def _reference(op: OpInfo, *arrays: np.ndarray | float) -> np.ndarray:
    """The op's float function applied element by element, with numpy broadcasting."""
    return np.asarray(np.vectorize(op.fn, otypes=[np.float64])(*arrays))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", UNARY, ids=lambda op: op.name)
@given(data=st.data())
def test_map_ops_match_floats(backend: str, op: OpInfo, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend, lo=op.domain[0], hi=op.domain[1]))
    assert_tensors_close(op.call(a), _reference(op, a.to_numpy()), op.name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
@given(data=st.data())
def test_zip_ops_broadcast_like_numpy(backend: str, op: OpInfo, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(tensors(shape_a, backend=backend, lo=op.domain[0], hi=op.domain[1]))
    b = data.draw(tensors(shape_b, backend=backend, lo=op.domain[0], hi=op.domain[1]))
    expected = _reference(op, a.to_numpy(), b.to_numpy())
    assert_tensors_close(op.call(a, b), expected, op.name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
@given(data=st.data())
def test_python_numbers_on_either_side(backend: str, op: OpInfo, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend, lo=op.domain[0], hi=op.domain[1]))
    x = data.draw(st.floats(*op.domain))
    values = a.to_numpy()
    assert_tensors_close(op.call(a, x), _reference(op, values, x), f"{op.name}(t, x)")
    assert_tensors_close(op.call(x, a), _reference(op, x, values), f"{op.name}(x, t)")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_reductions_over_each_dim_keep_it(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend))
    a = a * (a.relu() > 5.0)  # some zeros, so that all() sees both answers
    values = a.to_numpy()
    for dim in range(a.dims):
        assert_tensors_close(a.sum(dim), values.sum(dim, keepdims=True), f"sum({dim})")
        assert_tensors_close(a.mean(dim), values.mean(dim, keepdims=True), f"mean({dim})")
        assert_tensors_close(a.all(dim), values.all(dim, keepdims=True), f"all({dim})")
        assert_tensors_close(a.sum(dim - a.dims), a.sum(dim), f"sum({dim - a.dims})")
        maxes = a.backend.max_reduce(a, dim)
        assert_tensors_close(maxes, values.max(dim, keepdims=True), f"max_reduce({dim})")
    assert_tensors_close(a.sum(), [values.sum()], "sum()")
    assert_tensors_close(a.mean(), [values.mean()], "mean()")
    assert_tensors_close(a.all(), [values.all()], "all()")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_batched_matmul_broadcasts_like_numpy(backend: str, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(matmul_shapes())
    if data.draw(st.booleans()):
        shape_a, shape_b = shape_b[:-2] + shape_a[-2:], shape_a[:-2] + shape_b[-2:]
    a = data.draw(tensors(shape_a, backend=backend))
    b = data.draw(tensors(shape_b, backend=backend))
    expected = np.matmul(a.to_numpy(), b.to_numpy())
    assert_tensors_close(a @ b, expected, f"{shape_a} @ {shape_b}", rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_matmul_with_1d_operands_is_numpys(backend: str, data: st.DataObject) -> None:
    m = data.draw(st.integers(1, 4))
    vector = data.draw(tensors((m,), backend=backend))
    other = data.draw(tensors((*data.draw(shapes(1, 3)), m), backend=backend))
    matrix = other.permute(*range(other.dims - 2), other.dims - 1, other.dims - 2)
    if other.dims == 1:
        matrix = other
    v, om, mm = vector.to_numpy(), other.to_numpy(), matrix.to_numpy()
    assert_tensors_close(vector @ vector, [v @ v], "1-d @ 1-d")
    assert_tensors_close(other @ vector, om @ v, f"{other.shape} @ 1-d")
    assert_tensors_close(vector @ matrix, v @ mm, f"1-d @ {matrix.shape}")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_movement_matches_numpy(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend))
    values = a.to_numpy()
    order = data.draw(st.permutations(range(a.dims)))
    assert_tensors_close(a.permute(*order), np.transpose(values, order), "permute")
    flat = a.contiguous().view(a.size)
    assert flat._tensor.is_contiguous()
    assert_tensors_close(flat, values.ravel(), "contiguous().view(size)")
    assert_tensors_close(flat.view(*a.shape), values, "view back")
    assert_tensors_close(a.contiguous().view(-1), values.ravel(), "view(-1)")


# User functions for the generic path, defined once: a compiling backend ("fast") builds kernels
# per function object, so a fresh lambda in every hypothesis example would compile every time.


def _square_plus_one(x: float) -> float:
    return x * x + 1.0


def _minus_twice(x: float, y: float) -> float:
    return x - 2.0 * y


def _add_square(acc: float, x: float) -> float:
    return acc + x * x


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_primitives_accept_any_float_function(backend: str, data: st.DataObject) -> None:
    """Functions a backend does not know take its generic path, with the same results."""
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(tensors(shape_a, backend=backend))
    b = data.draw(tensors(shape_b, backend=backend))
    ops = a.backend.ops
    va, vb = a.to_numpy(), b.to_numpy()
    assert_tensors_close(ops.map(_square_plus_one)(a), va * va + 1.0, "map")
    assert_tensors_close(ops.zip(_minus_twice)(a, b), va - 2.0 * vb, "zip")
    dim = data.draw(st.integers(0, a.dims - 1))
    reduce = ops.reduce(_add_square, 0.0)
    assert_tensors_close(reduce(a, dim), (va * va).sum(dim, keepdims=True), "reduce")
    out = a.zeros(np.broadcast_shapes(shape_a, shape_b))
    a.backend.id_map(a, out)
    assert_tensors_close(out, np.broadcast_to(va, out.shape), "map into a broadcast out")


@pytest.mark.parametrize("backend", BACKENDS)
def test_domain_edges_follow_stage_0(backend: str) -> None:
    """Outside an operator's domain every backend gives what `mt_operators` gives."""
    edges = [0.0, -0.0, -1.0, 1e308, -1e308, 800.0, -800.0]
    t = tensor(edges, backend=backend)
    for name in ("log", "exp", "sigmoid", "relu"):
        expected = [getattr(operators, name)(x) for x in edges]
        assert_tensors_close(getattr(t, name)(), expected, name)
    assert_tensors_close(1.0 / t, [operators.inv(x) for x in edges], "inv")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_is_close_and_comparisons(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend))
    values = a.to_numpy()
    shifted = a + data.draw(st.sampled_from([0.0, 1e-3, 0.5]))
    expected = (np.abs(values - shifted.to_numpy()) < 1e-2).astype(float)
    assert_tensors_close(a.is_close(shifted), expected, "is_close")
    assert_tensors_close(a == a, np.ones_like(values), "a == a")
    assert_tensors_close(a < a, np.zeros_like(values), "a < a")


@given(shapes())
def test_reductions_keep_the_dim_and_sum_of_all_is_shape_1(shape: tuple[int, ...]) -> None:
    t = tensor(np.ones(shape))
    assert isinstance(t.sum(), Tensor) and t.sum().shape == (1,)
    for dim in range(len(shape)):
        assert t.sum(dim).shape == (*shape[:dim], 1, *shape[dim + 1 :])


ZERO_D: dict[str, tuple[Callable[[Tensor], Tensor], Callable[[Any], Any]]] = {
    "sqrt": (lambda t: t.sqrt(), np.sqrt),
    "pow 3": (lambda t: t**3, lambda a: a**3),
    "pow 0.5": (lambda t: t**0.5, np.sqrt),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "abs": (lambda t: t.abs(), np.abs),
    "clamp": (lambda t: t.clamp(0.5, 2.0), lambda a: np.clip(a, 0.5, 2.0)),
    "exp": (lambda t: t.exp(), np.exp),
    "2 / t + 1": (lambda t: 2 / t + 1, lambda a: 2 / a + 1),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ZERO_D)
@given(value=st.floats(0.1, 5.0))
def test_element_wise_ops_keep_a_0d_tensor_0d(backend: str, name: str, value: float) -> None:
    """A 0-d input gives a 0-d output (sqrt once gave shape (1,) from its constant)."""
    ours, reference = ZERO_D[name]
    x = Tensor.make([value], (), backend=get_backend(backend)).requires_grad_()
    out = ours(x)
    assert out.shape == (), f"{name} of a 0-d tensor has shape {out.shape}"
    assert_tensors_close(out, np.asarray(reference(np.float64(value))), name)
    out.backward()
    assert x.grad is not None and x.grad.shape == ()
