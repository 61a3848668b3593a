"""Gradients of every tensor function on every backend: central differences (`grad_check`) and
the reference derivatives of `mt_operators.testing.OPS`; graph release and deep graphs."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mt_autodiff import no_grad
from mt_tensor import Tensor, grad_check, tensor
from mt_tensor.testing import (
    OPS,
    TENSOR_OPS,
    OpInfo,
    TensorOpInfo,
    assert_tensors_close,
    backend_names,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    tensor_data,
    tensors,
)

BACKENDS = backend_names()


def _sum_to(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` summed over the dims that broadcasting added to ``shape``."""
    lead = values.ndim - len(shape)
    values = values.sum(axis=tuple(range(lead)))
    dims = tuple(i for i, n in enumerate(shape) if n == 1 and values.shape[i] != 1)
    return np.asarray(values.sum(axis=dims, keepdims=True)).reshape(shape)


def _grad(t: Tensor) -> Tensor:
    """``t.grad``, which the test expects to exist."""
    if t.grad is None:
        raise AssertionError(f"no gradient reached the input of shape {t.shape}")
    return t.grad


def _op_inputs(op: OpInfo, backend: str, data: st.DataObject) -> list[Tensor]:
    """Broadcastable (possibly permuted) inputs in the op's domain, away from its kinks."""
    pair = data.draw(broadcastable_shapes())
    inputs = [
        data.draw(tensors(pair[i], backend=backend, lo=op.domain[0], hi=op.domain[1]))
        for i in range(op.arity)
    ]
    if op.avoid is not None:
        arrays = np.broadcast_arrays(*[t.to_numpy() for t in inputs])
        assume(not np.vectorize(op.avoid)(*arrays).any())
    return inputs


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_grad_check_every_op(backend: str, op: OpInfo, data: st.DataObject) -> None:
    grad_check(op.call, *_op_inputs(op, backend, data))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_every_op_has_its_reference_derivative(
    backend: str, op: OpInfo, data: st.DataObject
) -> None:
    """Each gradient element is the reference partial, summed over broadcast dims."""
    inputs = [t.requires_grad_() for t in _op_inputs(op, backend, data)]
    op.call(*inputs).sum().backward()
    arrays = np.broadcast_arrays(*[t.to_numpy() for t in inputs])
    for i, t in enumerate(inputs):
        partial = np.vectorize(lambda *xs, i=i: op.partials(*xs)[i], otypes=[np.float64])
        expected = _sum_to(partial(*arrays), t.shape)
        got = t.grad if t.grad is not None else np.zeros(t.shape)
        assert_tensors_close(got, expected, f"{op.name}: grad of input {i}", rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", TENSOR_OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_every_tensor_op_matches_numpy_and_central_differences(
    backend: str, op: TensorOpInfo, data: st.DataObject
) -> None:
    """The shared table of tensor-level ops: forward vs its numpy twin, then `grad_check`."""
    inputs, param = data.draw(op.inputs(backend))
    expected = op.reference(param, *[t.to_numpy() for t in inputs])
    assert_tensors_close(op.call(param, *inputs), expected, f"{op.name}({param})")
    grad_check(lambda *ts: op.call(param, *ts), *inputs)


def _weights(shape: tuple[int, ...], backend: str) -> Tensor:
    """Distinct weights, so a gradient that lands in the wrong place is caught."""
    return tensor(np.arange(1.0, 1.0 + int(np.prod(shape))).reshape(shape), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_movement_gradients(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend))
    order = tuple(data.draw(st.permutations(range(a.dims))))
    inverse = tuple(int(i) for i in np.argsort(order))
    w = _weights(tuple(a.shape[o] for o in order), backend)
    flat_w = _weights((a.size,), backend)
    cases: dict[str, tuple[Callable[[Tensor], Tensor], np.ndarray]] = {
        "permute": (lambda t: t.permute(*order) * w, np.transpose(w.to_numpy(), inverse)),
        "view": (
            lambda t: t.contiguous().view(a.size) * flat_w,
            flat_w.to_numpy().reshape(a.shape),
        ),
        "contiguous": (
            lambda t: t.contiguous() * w.permute(*inverse),
            w.to_numpy().transpose(inverse),
        ),
    }
    for name, (f, expected) in cases.items():
        grad_check(f, a)
        a.zero_grad_()
        f(a).sum().backward()
        assert_tensors_close(_grad(a), expected, name)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_reduction_gradients_over_each_dim(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend))
    for dim in [*range(a.dims), None]:
        reduced = (1,) if dim is None else (*a.shape[:dim], 1, *a.shape[dim + 1 :])
        w = _weights(reduced, backend)
        count = a.size if dim is None else a.shape[dim]
        expected = np.broadcast_to(w.to_numpy(), a.shape)

        def weighted_sum(t: Tensor, d: int | None = dim, w: Tensor = w) -> Tensor:
            return t.sum(d) * w

        def weighted_mean(t: Tensor, d: int | None = dim, w: Tensor = w) -> Tensor:
            return t.mean(d) * w

        cases = [("sum", weighted_sum, 1.0), ("mean", weighted_mean, 1.0 / count)]
        for name, f, scale in cases:
            grad_check(f, a)
            a.zero_grad_()
            f(a).sum().backward()
            assert_tensors_close(_grad(a), expected * scale, f"{name}({dim})")
    a.zero_grad_()
    a.all().sum().backward()
    assert_tensors_close(_grad(a), np.zeros(a.shape), "all()")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_batched_matmul_gradients(backend: str, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(matmul_shapes())
    a = data.draw(tensors(shape_a, backend=backend))
    b = data.draw(tensors(shape_b, backend=backend))
    grad_check(lambda x, y: x @ y, a, b)
    a.zero_grad_()
    b.zero_grad_()
    (a @ b).sum().backward()
    ones = np.ones((*np.broadcast_shapes(shape_a[:-2], shape_b[:-2]), shape_a[-2], shape_b[-1]))
    va, vb = a.to_numpy(), b.to_numpy()
    assert_tensors_close(_grad(a), _sum_to(ones @ np.swapaxes(vb, -1, -2), shape_a), "grad a")
    assert_tensors_close(_grad(b), _sum_to(np.swapaxes(va, -1, -2) @ ones, shape_b), "grad b")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_matmul_with_1d_operand_gradients(backend: str, data: st.DataObject) -> None:
    m = data.draw(st.integers(1, 4))
    v = data.draw(tensors((m,), backend=backend))
    left = data.draw(tensors((*data.draw(shapes(1, 2)), m), backend=backend))
    right = data.draw(tensors((m, data.draw(st.integers(1, 4))), backend=backend))
    grad_check(lambda x, y: x @ y, left, v)
    grad_check(lambda x, y: x @ y, v, right)
    grad_check(lambda x: x @ x, v)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_composite_with_reuse_accumulates_both_paths(backend: str, data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(tensors(shape_a, backend=backend))
    b = data.draw(tensors(shape_b, backend=backend))
    grad_check(lambda x, y: ((x * y).sigmoid() + x * x - y / 3.0).relu().sum(0), a, b)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_backward_with_grad_output(backend: str, data: st.DataObject) -> None:
    a = data.draw(tensors(backend=backend)).requires_grad_()
    g = tensor(data.draw(tensor_data(a.shape)), backend=backend)
    (a * 3.0).backward(g)
    assert_tensors_close(_grad(a), 3.0 * g.to_numpy(), "first backward")
    (a * 3.0).backward(g)
    assert_tensors_close(_grad(a), 6.0 * g.to_numpy(), "gradients accumulate")
    a.zero_grad_()
    assert a.grad is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_graph_is_freed_after_backward(backend: str) -> None:
    x = tensor([1.0, 2.0, 3.0], backend=backend, requires_grad=True)
    middle = (x * x).exp()
    out = middle.sum()
    watch = weakref.ref(middle)
    del middle
    gc.collect()
    assert watch() is not None, "the graph holds the intermediate before backward"
    out.backward()
    gc.collect()
    assert watch() is None, "backward() left the intermediate alive"
    with pytest.raises(RuntimeError, match="second time"):
        (out * 1.0).backward()


@pytest.mark.parametrize("backend", BACKENDS)
def test_deep_chain_backpropagates_without_recursion(backend: str) -> None:
    depth = 10_000
    x = tensor([0.5], backend=backend, requires_grad=True)
    y = x
    for _ in range(depth):
        y = y + 1.0
    y.sum().backward()
    assert_tensors_close(_grad(x), [1.0], "gradient through the chain")
    assert_tensors_close(y, [0.5 + depth], "forward value")


def test_leaf_state_requires_grad_detach_no_grad() -> None:
    x = tensor([1.0, 2.0])
    assert not x.requires_grad() and x.grad is None
    x.requires_grad_()
    assert x.requires_grad() and x.is_leaf()
    y = x * 2.0
    assert y.requires_grad() and not y.is_leaf()
    assert y.detach().is_constant() and x.grad is None
    with no_grad():
        assert (x * 2.0).is_constant()
    z = x.detach() * 2.0
    assert z.is_constant()
    x.requires_grad_(False)
    assert x.is_constant()


def test_requires_grad_on_a_non_leaf_makes_a_fresh_leaf() -> None:
    """The course's semantics: gradients stop at the new leaf (``grad_check(f, t.sum(0))``)."""
    x = tensor([[1.0, 2.0], [3.0, 4.0]]).requires_grad_()
    y = x.sum(0)
    assert not y.is_leaf()
    assert y.requires_grad_() is y and y.is_leaf()
    (y * 3.0).sum().backward()
    assert_tensors_close(_grad(y), [[3.0, 3.0]], "the new leaf's gradient")
    assert x.grad is None, "nothing flows past the new leaf"
    leaf_before = x.history
    x.requires_grad_()
    assert x.history is leaf_before, "a leaf stays the same leaf"


def test_chain_rule_pairs_every_input_constants_too() -> None:
    x = tensor([1.0, 2.0]).requires_grad_()
    c = tensor([5.0, 7.0])
    pairs = list((x * c).chain_rule(tensor([1.0, 1.0])))
    assert pairs[0][0] is x and pairs[1][0] is c
    assert_tensors_close(pairs[0][1], [5.0, 7.0], "the variable's gradient")
    (x * c).sum().backward()
    assert c.grad is None and x.grad is not None
