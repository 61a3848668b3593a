"""Held under stress: deep graphs, extreme values, NaN and zero-size batches, on every backend.

Sizes here are CI-sized; ``bench/stress.py`` runs the full-size versions and prints the numbers.
"""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

from mt_operators.testing import OPS, OpInfo
from mt_tensor import default_backend, tensor
from mt_tensor.testing import assert_tensors_close, backend_names

BACKENDS = backend_names()
DEPTH = 20_000
"""Twenty times Python's default recursion limit: recursion anywhere in the engine would fail."""
EXTREME = 1e4
NAN = math.nan


def test_deep_chain_backpropagates() -> None:
    """``DEPTH`` chained adds and muls, each step also reusing the leaf (shared subgraphs)."""
    backend = default_backend().name
    x = tensor([0.5], backend=backend, requires_grad=True)
    y = x
    for _ in range(DEPTH // 2):
        y = y * 1.0 + x
    y.sum().backward()
    assert x.grad is not None
    assert_tensors_close(x.grad, [DEPTH // 2 + 1.0], "d(deep chain)/dx")
    assert_tensors_close(y, [0.5 * (DEPTH // 2 + 1)], "deep chain value")


def test_deep_graph_is_freed_without_backward() -> None:
    """Dropping an unused deep graph neither recurses nor leaks."""
    x = tensor([0.5], backend=default_backend().name, requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = -y
    first = weakref.ref(y.history.inputs[0]) if y.history else None
    del y
    gc.collect()
    assert first is not None and first() is None


def test_backward_frees_the_graph() -> None:
    """After ``backward`` no intermediate tensor survives (no cycles keep them alive)."""
    x = tensor([[1.0, 2.0], [3.0, 4.0]], backend=default_backend().name, requires_grad=True)
    hidden = (x @ x).sigmoid()
    loss = (hidden * x).sum()
    ref = weakref.ref(hidden)
    del hidden
    gc.disable()
    try:
        loss.backward()
        assert ref() is None, "an intermediate tensor survived backward()"
    finally:
        gc.enable()


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigmoid_and_exp_at_extremes(backend: str) -> None:
    values = [EXTREME, -EXTREME]
    x = tensor(values, backend=backend, requires_grad=True)
    s = x.sigmoid()
    s.sum().backward()
    assert_tensors_close(s, [1.0, 0.0], "sigmoid(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [0.0, 0.0], "sigmoid'(±1e4)")
    x.zero_grad_()
    e = x.exp()
    e.sum().backward()
    assert_tensors_close(e, [math.inf, 0.0], "exp(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [math.inf, 0.0], "exp'(±1e4)")


NAN_CASES = [
    pytest.param(op, backend, id=f"{op.name}-{backend}") for op in OPS for backend in BACKENDS
]


@pytest.mark.parametrize(("op", "backend"), NAN_CASES)
def test_nan_propagates(op: OpInfo, backend: str) -> None:
    """NaN in gives NaN out (comparisons give 0.0, as IEEE says); backward does not raise."""
    lo, hi = op.domain
    finite = [lo + (hi - lo) / 3, NAN, hi]
    inputs = [tensor(finite, backend=backend, requires_grad=True)]
    inputs += [tensor([hi, hi, NAN], backend=backend, requires_grad=True)] * (op.arity - 1)
    out = op.call(*inputs)
    out.sum().backward()
    got = out.to_numpy()
    has_nan = np.isnan(np.sum([t.to_numpy() for t in inputs], axis=0))
    if op.grad is None:
        assert (got[has_nan] == 0.0).all(), f"{op.name} with NaN gave {got}, expected 0.0"
    else:
        assert np.isnan(got[has_nan]).all(), f"{op.name} with NaN gave {got}, expected NaN"
    assert not np.isnan(got[~has_nan]).any(), f"{op.name} spread NaN to finite inputs: {got}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_propagates_through_reductions_and_matmul(backend: str) -> None:
    a = tensor([[1.0, NAN], [2.0, 3.0]], backend=backend, requires_grad=True)
    b = tensor([[1.0, 0.0], [0.0, 1.0]], backend=backend)
    assert_tensors_close(a.sum(1), [[NAN], [5.0]], "sum with NaN")
    assert_tensors_close(a.mean(0), [[1.5, NAN]], "mean with NaN")
    product = a @ b
    assert_tensors_close(product, [[NAN, NAN], [2.0, 3.0]], "matmul with NaN (nan * 0 is nan)")
    product.sum().backward()
    assert a.grad is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_size_batches(backend: str) -> None:
    """A batch of 0 rows flows through maps, broadcasts, reductions, matmul and backward."""
    x = tensor(np.zeros((0, 3)), backend=backend, requires_grad=True)
    w = tensor(np.ones((3, 2)), backend=backend, requires_grad=True)
    bias = tensor([1.0, 2.0], backend=backend, requires_grad=True)
    y = (x @ w + bias).sigmoid()
    assert y.shape == (0, 2)
    assert x.exp().shape == (0, 3)
    assert x.sum(1).shape == (0, 1)
    assert_tensors_close(x.sum(0), np.zeros((1, 3)), "sum over an empty dim")
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == (0, 3)
    assert w.grad is not None and bias.grad is not None
    assert_tensors_close(w.grad, np.zeros((3, 2)), "grad of w from no rows")
    assert_tensors_close(bias.grad, np.zeros(2), "grad of bias from no rows")
