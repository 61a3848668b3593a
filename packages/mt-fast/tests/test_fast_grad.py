"""Gradients on the fast backend: equal to the simple backend's, and to central differences."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import Tensor, grad_check
from mt_tensor.testing import (
    OPS,
    OpInfo,
    assert_tensors_close,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    tensors,
)


def grads(fn: Callable[..., Tensor], *inputs: Tensor) -> list[Tensor]:
    """The gradient of ``fn(*inputs).sum()`` with respect to each input."""
    leaves = [t.detach().requires_grad_() for t in inputs]
    fn(*leaves).sum().backward()
    return [t.grad if t.grad is not None else t.zeros() for t in leaves]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_op_gradients_match_simple(op: OpInfo, data: st.DataObject) -> None:
    shape_pair = data.draw(broadcastable_shapes())
    lo, hi = op.domain
    inputs = [
        data.draw(tensors(shape_pair[i], backend="fast", lo=lo, hi=hi)) for i in range(op.arity)
    ]
    fast = grads(op.call, *inputs)
    reference = grads(op.call, *[t.to("simple") for t in inputs])
    for i, (g, r) in enumerate(zip(fast, reference, strict=True)):
        assert_tensors_close(g, r, f"{op.name}: gradient of input {i}")


@given(data=st.data())
def test_reduction_gradients_match_simple(data: st.DataObject) -> None:
    a = data.draw(tensors(data.draw(shapes(1, 3, 1, 4)), backend="fast"))
    for dim in range(a.dims):
        for name in ("sum", "mean"):
            fn = lambda t, d=dim, n=name: getattr(t, n)(d)
            (fast,) = grads(fn, a)
            (reference,) = grads(fn, a.to("simple"))
            assert_tensors_close(fast, reference, f"{name}({dim}) of {a.shape}")


@given(data=st.data())
def test_matmul_grad_check(data: st.DataObject) -> None:
    shape_a, shape_b = data.draw(matmul_shapes())
    a = data.draw(tensors(shape_a, backend="fast"))
    b = data.draw(tensors(shape_b, backend="fast"))
    grad_check(lambda x, y: x @ y, a, b)


@given(data=st.data())
def test_mlp_step_gradients_match_simple(data: st.DataObject) -> None:
    x = data.draw(tensors((5, 3), backend="fast"))
    w1 = data.draw(tensors((3, 4), backend="fast", lo=-1.0, hi=1.0))
    w2 = data.draw(tensors((4, 1), backend="fast", lo=-1.0, hi=1.0))

    def mlp(x: Tensor, w1: Tensor, w2: Tensor) -> Tensor:
        return ((x @ w1).relu() @ w2).sigmoid()

    fast = grads(mlp, x, w1, w2)
    reference = grads(mlp, *[t.to("simple") for t in (x, w1, w2)])
    for i, (g, r) in enumerate(zip(fast, reference, strict=True)):
        assert_tensors_close(g, r, f"mlp: gradient of input {i}")
