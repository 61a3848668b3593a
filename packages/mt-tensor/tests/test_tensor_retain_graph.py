"""The engine's options for PyTorch's face: ``backward(retain_graph=True)`` keeps the graph for
another backward, and ``backpropagate(..., inputs=...)`` returns gradients without accumulating
(``torch.autograd.grad``)."""

from __future__ import annotations

import gc
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_autodiff import backpropagate
from mt_tensor import Tensor, tensor
from mt_tensor.testing import assert_tensors_close

values = st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=5)


def _grad(t: Tensor) -> Tensor:
    assert t.grad is not None
    return t.grad


@given(xs=values, times=st.integers(1, 3))
def test_retained_graph_backpropagates_again(xs: list[float], times: int) -> None:
    x = tensor(xs, requires_grad=True)
    out = (x * x * x).sum()
    for _ in range(times):
        out.backward(retain_graph=True)
    out.backward()
    expected = [3 * v * v * (times + 1) for v in xs]
    assert_tensors_close(_grad(x), expected, "accumulated over the backwards", 1e-9, 1e-9)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()


def test_graph_lives_while_retained_and_is_freed_by_the_last_backward() -> None:
    x = tensor([1.0, 2.0], requires_grad=True)
    middle = (x * x).exp()
    out = middle.sum()
    watch = weakref.ref(middle)
    del middle
    out.backward(retain_graph=True)
    gc.collect()
    assert watch() is not None, "retain_graph=True freed the graph"
    out.backward()
    gc.collect()
    assert watch() is None, "the last backward left the graph alive"


@given(xs=values)
def test_inputs_returns_gradients_without_accumulating(xs: list[float]) -> None:
    x = tensor(xs, requires_grad=True)
    w = tensor([2.0], requires_grad=True)
    unused = tensor([1.0], requires_grad=True)
    middle = x * w
    out = (middle * middle).sum()
    seed = Tensor.make([1.0], (), backend=out.backend)
    dx, dmiddle, dunused = backpropagate(out, seed, True, [x, middle, unused]) or []
    assert_tensors_close(dx, [8.0 * v for v in xs], "d out / d x", 1e-9, 1e-9)
    assert_tensors_close(dmiddle, [4.0 * v for v in xs], "d out / d middle", 1e-9, 1e-9)
    assert dunused is None
    assert x.grad is None and w.grad is None
    out.backward()
    assert_tensors_close(_grad(x), [8.0 * v for v in xs], "the retained graph still works")
