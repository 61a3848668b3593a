"""Every primitive of `mt_operators.operators.PRIMITIVES` against torch on every backend, and the
edges where a gradient must select instead of multiply.

Central differences for every primitive are in ``test_workspace_gradients.py`` (it iterates
`mt_operators.testing.OPS`, which declares each entry); here the reference is torch, forward and
backward, on each backend (cuda in numba's simulator with a few tiny inputs), in float64 and in
float32 on both sides (fewer examples; tolerances per dtype from `mt_tensor.testing.TOLERANCES`).
Binary primitives are drawn on broadcasting shapes; comparisons are checked forward (torch's
values, as 1.0/0.0 in the operands' dtype: the course's rule; the face gives torch's ``bool``),
the others backward too. The pinned cases are
the ones where 0 * inf used to leak a NaN into a gradient, and the values PyTorch defines at the
edges (``0 ** 0``, a negative base with an integral exponent, ``logsumexp`` of infinities).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mt_nn
from mt_operators import operators
from mt_operators.testing import OPS_BY_NAME
from mt_tensor import Tensor, tensor
from mt_tensor.testing import (
    TOLERANCES,
    assert_matches_torch,
    assert_tensors_close,
    backend_names,
    broadcastable_shapes,
    shapes,
    tensor_data,
)

torch = pytest.importorskip("torch")

BACKENDS = backend_names(include_cuda=True)
SIMULATED = [b for b in BACKENDS if b not in backend_names()]
UNARY = [p for p in operators.UNARY if p.name != "id"]
BINARY = [p for p in operators.BINARY if p.name != "is_close"]
"""All but ``is_close`` (the course's fixed-tolerance test, which torch has no twin of)."""
FLOATS = [np.float64, np.float32]
TORCH_NAME = {"inv": "reciprocal"}
"""Where torch's method has another name than the table's."""


CPU = backend_names()
in_the_simulator = settings(max_examples=3)
"""numba's simulator runs each CUDA thread in Python: a few tiny examples there."""


def _torch_call(name: str) -> Callable[[Any], Any]:
    method = TORCH_NAME.get(name, name)
    return lambda t: getattr(t, method)()


class TorchTolerances(TypedDict):
    forward_tol: tuple[float, float]
    backward_tol: tuple[float, float]


def torch_tolerances(dtype: Any) -> TorchTolerances:
    """`assert_matches_torch`'s tolerances for ``dtype``, from the one table of them."""
    tol = TOLERANCES[np.dtype(dtype)]
    return {"forward_tol": tol.forward, "backward_tol": tol.backward}


def check_unary_against_torch(
    p: operators.Primitive, backend: str, data: st.DataObject, dtype: Any = np.float64
) -> None:
    shape = data.draw(shapes(max_dims=2, max_side=3))
    x = data.draw(tensor_data(shape, *p.domain)).astype(dtype)
    assert_matches_torch(
        _torch_call(p.name),
        x,
        ours=OPS_BY_NAME[p.name].call,
        backend=backend,
        dtype=dtype,
        **torch_tolerances(dtype),
    )


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("p", UNARY, ids=[p.name for p in UNARY])
@given(data=st.data())
def test_unary_primitive_matches_torch(
    p: operators.Primitive, backend: str, data: st.DataObject
) -> None:
    check_unary_against_torch(p, backend, data)


@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("p", UNARY, ids=[p.name for p in UNARY])
@settings(max_examples=8)
@given(data=st.data())
def test_unary_primitive_matches_torch_in_float32(
    p: operators.Primitive, backend: str, data: st.DataObject
) -> None:
    """The same table in float32 on both sides (fewer examples: CI time)."""
    check_unary_against_torch(p, backend, data, np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("backend", SIMULATED)
@pytest.mark.parametrize("p", UNARY, ids=[p.name for p in UNARY])
@in_the_simulator
@given(data=st.data())
def test_unary_primitive_matches_torch_in_the_simulator(
    p: operators.Primitive, backend: str, dtype: Any, data: st.DataObject
) -> None:
    check_unary_against_torch(p, backend, data, dtype)


def check_binary_against_torch(
    p: operators.Primitive, backend: str, data: st.DataObject, dtype: Any, max_side: int = 3
) -> None:
    a_shape, b_shape = data.draw(broadcastable_shapes(max_dims=2, max_side=max_side))
    a, b = (data.draw(tensor_data(s, *p.domain)).astype(dtype) for s in (a_shape, b_shape))
    gap = np.subtract(*np.broadcast_arrays(a, b))
    assume(not any(np.isclose(gap, k, atol=1e-3).any() for k in p.kinks))
    call = OPS_BY_NAME[p.name].call
    expected = call(torch.tensor(a), torch.tensor(b))
    if expected.dtype == torch.bool:  # a comparison: values, no gradient
        actual = call(*(tensor(x, backend=backend, dtype=dtype) for x in (a, b)))
        assert actual.dtype == dtype, f"forward: dtype {actual.dtype}, operands {dtype}"
        assert_tensors_close(actual, expected.numpy(), "forward")
        return
    assert_matches_torch(call, a, b, backend=backend, dtype=dtype, **torch_tolerances(dtype))


@pytest.mark.parametrize("dtype", FLOATS, ids=["float64", "float32"])
@pytest.mark.parametrize("backend", CPU)
@pytest.mark.parametrize("p", BINARY, ids=[p.name for p in BINARY])
@settings(max_examples=8)
@given(data=st.data())
def test_binary_primitive_matches_torch(
    p: operators.Primitive, backend: str, dtype: Any, data: st.DataObject
) -> None:
    """Broadcast pairs in each float dtype, kept off the primitive's kinks; promotion and
    broadcasting of the gradients as torch's."""
    check_binary_against_torch(p, backend, data, dtype)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float64", "float32"])
@pytest.mark.parametrize("backend", SIMULATED)
@pytest.mark.parametrize("p", BINARY, ids=[p.name for p in BINARY])
@in_the_simulator
@given(data=st.data())
def test_binary_primitive_matches_torch_in_the_simulator(
    p: operators.Primitive, backend: str, dtype: Any, data: st.DataObject
) -> None:
    check_binary_against_torch(p, backend, data, dtype, max_side=2)


@pytest.mark.parametrize("dtype", FLOATS, ids=["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=5)
@given(
    base=tensor_data((4,), -3.0, 3.0),
    exponent=st.lists(st.integers(-3, 3), min_size=4, max_size=4),
)
def test_pow_with_integral_exponents_matches_torch(
    backend: str, dtype: Any, base: np.ndarray, exponent: list[int]
) -> None:
    """Negative bases work with integral exponents (IEEE), gradients of both arguments."""
    base[np.abs(base) < 0.1] = 0.5  # away from 0, where negative powers blow up
    assert_matches_torch(
        lambda a, b: a**b,
        base.astype(dtype),
        np.array(exponent, dtype=dtype),
        backend=backend,
        dtype=dtype,
        **torch_tolerances(dtype),
    )


@pytest.mark.parametrize("dtype", FLOATS, ids=["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=5)
@given(base=tensor_data((3,), 0.1, 4.0), exponent=tensor_data((3,), -2.5, 2.5))
def test_pow_with_real_exponents_matches_torch(
    backend: str, dtype: Any, base: np.ndarray, exponent: np.ndarray
) -> None:
    assert_matches_torch(
        lambda a, b: a**b,
        base.astype(dtype),
        exponent.astype(dtype),
        backend=backend,
        dtype=dtype,
        **torch_tolerances(dtype),
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_pow_edges_follow_ieee_and_torch(backend: str) -> None:
    """``0**0 = 1`` (gradients 0), ``(-2)**3 = -8``, ``(-8)**(1/3)`` is NaN, ``0**-1 = inf``,
    ``(-0)**-1 = -inf``, ``x**0 = 1`` for NaN too; a number exponent takes the same path."""
    base = np.array([0.0, -2.0, -8.0, 0.0, -0.0, math.nan, 2.0])
    exponent = np.array([0.0, 3.0, 1.0 / 3.0, -1.0, -1.0, 0.0, 0.5])
    expected = torch.tensor(base) ** torch.tensor(exponent)
    out = tensor(base, backend=backend) ** tensor(exponent, backend=backend)
    np.testing.assert_array_equal(out.to_numpy(), expected.numpy())
    a = tensor([0.0, -3.0], backend=backend, requires_grad=True)
    b = tensor([0.0, 2.0], backend=backend, requires_grad=True)
    (a**b).sum().backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.to_numpy().tolist() == [0.0, -6.0]
    assert b.grad.to_numpy()[0] == 0.0  # torch masks 0**y's log for y >= 0
    assert (tensor([-2.0], backend=backend) ** 3).item() == -8.0


def _grad(fn: Callable[[Tensor], Tensor], values: list[float], backend: str) -> list[float]:
    x = tensor(values, backend=backend, requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert x.grad is not None
    return list(x.grad.to_numpy().tolist())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_branch_not_taken_never_leaks_into_the_gradient(backend: str) -> None:
    """0 * inf on the side a branch did not take stays 0, as in torch."""
    assert _grad(lambda x: x.clamp(0, None).sqrt(), [-1.0], backend) == [0.0]
    assert _grad(lambda x: x.clamp(None, -2.0).log(), [3.0], backend) == [0.0]
    assert _grad(lambda x: x * (x.sqrt() > 1), [0.0], backend) == [0.0]
    assert _grad(lambda x: x.relu() * math.inf, [-1.0], backend) == [0.0]
    assert _grad(lambda x: mt_nn.max(x, 0) * math.inf, [1.0, 2.0], backend) == [0.0, math.inf]


@pytest.mark.parametrize("backend", BACKENDS)
def test_log_backward_is_finite_where_log_is(backend: str) -> None:
    """$d / x$ is divided, not $d \\cdot (1/x)$ with $1/x$ overflowing at a subnormal $x$."""
    got = _grad(lambda x: x.log() * 1e-10, [1e-310], backend)
    x = torch.tensor([1e-310], dtype=torch.float64, requires_grad=True)
    (x.log() * 1e-10).sum().backward()
    assert math.isfinite(got[0])
    assert got[0] == pytest.approx(x.grad.item(), rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_logsumexp_at_infinities_is_torchs(backend: str) -> None:
    rows = np.array([[-math.inf, -math.inf], [math.inf, 1.0], [1000.0, 1000.0]])
    out = mt_nn.logsumexp(tensor(rows, backend=backend), 1)
    expected = torch.logsumexp(torch.tensor(rows), 1, keepdim=True)
    np.testing.assert_allclose(out.to_numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_softplus_keeps_tiny_values(backend: str) -> None:
    """``softplus(-40)`` is ``log1p(e^-40)`` = 4.2e-18, not 0 (``log(1 + e^-40)`` rounds to 0)."""
    values = np.array([-40.0, -1.0, 0.0, 30.0, 800.0])
    out = mt_nn.softplus(tensor(values, backend=backend))
    expected = torch.nn.functional.softplus(torch.tensor(values))
    assert out.to_numpy()[0] > 0.0
    np.testing.assert_allclose(out.to_numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=5)
@given(x=shapes(max_dims=2, max_side=3).flatmap(lambda s: tensor_data(s, -5.0, 5.0)))
def test_gelu_matches_torch(backend: str, x: np.ndarray) -> None:
    assert_matches_torch(torch.nn.functional.gelu, x, ours=mt_nn.gelu, backend=backend)


def test_every_primitive_is_a_tensor_method() -> None:
    """Each table entry is reachable as ``x.<name>()`` (PyTorch's names) but ``id``; ``inv``
    is PyTorch's ``reciprocal``."""
    x = tensor([0.5])
    for p in UNARY:
        assert callable(getattr(Tensor, TORCH_NAME.get(p.name, p.name))), p.name
    assert x.reciprocal().item() == 2.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_maximum_shares_ties_and_selects_as_torch(backend: str) -> None:
    """``max``'s partials: the gradient to the larger argument, halved on a tie (as
    ``torch.maximum``), selected so an infinite gradient gives 0 to the smaller, not NaN."""
    a_values, b_values = [1.0, 2.0, 3.0, math.nan], [2.0, 2.0, -1.0, 0.0]
    assert_matches_torch(
        lambda a, b: a.maximum(b), np.array(a_values), np.array(b_values), backend=backend
    )
    a = tensor([1.0, 3.0], backend=backend, requires_grad=True)
    b = tensor([2.0, -1.0], backend=backend, requires_grad=True)
    (a.maximum(b) * math.inf).sum().backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.to_numpy().tolist() == [0.0, math.inf]
    assert b.grad.to_numpy().tolist() == [math.inf, 0.0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["lt", "eq", "is_close"])
def test_comparisons_have_zero_gradients_even_times_inf(backend: str, name: str) -> None:
    """The comparisons' partials are 0, selected: an infinite upstream gradient stays 0."""
    call = OPS_BY_NAME[name].call
    a = tensor([1.0, 2.0, 2.0], backend=backend, requires_grad=True)
    b = tensor([2.0, 2.0, 1.0], backend=backend, requires_grad=True)
    (call(a, b) * math.inf + a + b).sum().backward()
    assert a.grad is not None and b.grad is not None
    assert a.grad.to_numpy().tolist() == [1.0, 1.0, 1.0]
    assert b.grad.to_numpy().tolist() == [1.0, 1.0, 1.0]
