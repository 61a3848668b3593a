"""Every declared op's gradient against central differences, and every backend against simple.

Inputs come from the shared strategies: random shapes, broadcast pairs, matmul shapes with
broadcast batch dims, and tensors stored permuted (non-contiguous) about half the time. The
reference for the central differences is the op's own float (or numpy) function, so neither
side of a comparison depends on the library's autograd.

The cuda backend is among ``OTHER_BACKENDS`` on a GPU. In numba's simulator (one Python thread
per CUDA thread) it is checked against simple by the ``*_in_the_simulator`` tests instead: every
op again, but on tensors of at most `TINY_SIZE` elements and `SIMULATED_EXAMPLES` examples each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mt_operators.testing import OPS, OpInfo
from mt_tensor import Tensor, get_backend
from mt_tensor.testing import (
    TENSOR_OPS,
    TensorOpInfo,
    assert_tensors_close,
    backend_names,
    broadcastable_shapes,
    shapes,
    tensors,
)

Array = npt.NDArray[np.float64]
OTHER_BACKENDS = [b for b in backend_names() if b != "simple"]
REDUCTIONS = [op for op in TENSOR_OPS if op.name in ("sum", "mean", "all")]
EPSILON = 1e-6
SIMULATED = [b for b in backend_names(include_cuda=True) if b not in backend_names()]
"""``["cuda"]`` when it runs in the simulator, else nothing (on a GPU it is a full backend)."""
SIMULATED_EXAMPLES = max(3, (settings.default.max_examples if settings.default else 0) // 50)
"""3 examples per test under the ci profile, 10 under thorough."""
TINY_SIZE = 24
"""The most elements of any input in the simulator."""
in_the_simulator = settings(max_examples=SIMULATED_EXAMPLES)


@st.composite
def elementwise_inputs(
    draw: st.DrawFn, op: OpInfo, smooth: bool = False, tiny: bool = False
) -> list[Tensor]:
    """Tensors on simple for ``op`` (broadcast pairs for binary ops); ``tiny``: two dims at most.

    With ``smooth``, inputs are kept away from the op's kinks (`OpInfo.avoid`) so that central
    differences are meaningful: a unary op's input is nudged off the kink, a binary one filtered.
    """
    dims = 2 if tiny else 4
    in_shapes = (
        [draw(shapes(max_dims=dims))]
        if op.arity == 1
        else list(draw(broadcastable_shapes(max_dims=min(dims, 3))))
    )
    ts = [draw(tensors(s, "simple", *op.domain)) for s in in_shapes]
    if smooth and op.avoid is not None:
        near = np.vectorize(op.avoid, otypes=[bool])
        if op.arity == 1:
            storage, _, _ = ts[0].tuple()
            storage[near(storage)] += 0.01
        columns = np.broadcast_arrays(*[t.to_numpy() for t in ts])
        assume(not near(*columns).any())
    return ts


def same_layout(t: Tensor, backend: str) -> Tensor:
    """``t``'s storage, shape and strides on ``backend``: a permuted tensor stays permuted."""
    storage, _, _ = t.tuple()
    return Tensor.make(storage.copy(), t.shape, t._tensor.strides, backend=get_backend(backend))


def run(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> tuple[Array, list[Array]]:
    """The output of ``fn`` and the gradient of its sum with respect to each input."""
    for x in inputs:
        x.requires_grad_(True)
    out = fn(*inputs)
    out.sum().backward()
    grads = [np.zeros(x.shape) if x.grad is None else x.grad.to_numpy() for x in inputs]
    return out.to_numpy(), grads


def central_differences(f: Callable[..., Array], arrays: Sequence[Array]) -> list[Array]:
    """$\\partial\\, \\mathrm{sum}(f) / \\partial x$ for every element of every input.

    Outputs are differenced before they are summed, so those a nudge leaves alone cancel exactly
    instead of adding the whole sum's rounding error (6e-5 in the quotient on a sum of 10^4s:
    it failed the gradient -0.25 of ``x ** -2`` at 2.0, beside 0.01s, in a thorough run).
    """
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros(a.shape)
        for idx in np.ndindex(a.shape):
            up = [x.copy() for x in arrays]
            down = [x.copy() for x in arrays]
            up[i][idx] += EPSILON
            down[i][idx] -= EPSILON
            g[idx] = np.sum(f(*up) - f(*down)) / (2 * EPSILON)
        grads.append(g)
    return grads


def check_against_reference(
    fn: Callable[..., Tensor], reference: Callable[..., Array], inputs: Sequence[Tensor]
) -> None:
    arrays = [t.to_numpy() for t in inputs]
    out, grads = run(fn, inputs)
    assert_tensors_close(out, reference(*arrays), "forward")
    expected = central_differences(reference, arrays)
    for i, (g, e) in enumerate(zip(grads, expected, strict=True)):
        assert_tensors_close(g, e, f"backward of input {i}", rtol=1e-4, atol=1e-5)


def check_zero_gradients(
    fn: Callable[..., Tensor], reference: Callable[..., Array], inputs: Sequence[Tensor]
) -> None:
    out, grads = run(fn, inputs)
    assert_tensors_close(out, reference(*[t.to_numpy() for t in inputs]), "forward")
    for i, g in enumerate(grads):
        assert_tensors_close(g, np.zeros(g.shape), f"backward of input {i}")


def check_against_simple(
    fn: Callable[..., Tensor], inputs: Sequence[Tensor], backend: str, label: str = ""
) -> None:
    expected_out, expected_grads = run(fn, inputs)
    out, grads = run(fn, [same_layout(t, backend) for t in inputs])
    assert_tensors_close(out, expected_out, f"{label}forward on {backend}")
    for i, (g, e) in enumerate(zip(grads, expected_grads, strict=True)):
        assert_tensors_close(g, e, f"{label}backward of input {i} on {backend}")


def ids(ops: Sequence[OpInfo | TensorOpInfo]) -> list[str]:
    return [op.name for op in ops]


@pytest.mark.parametrize("op", OPS, ids=ids(OPS))
@given(data=st.data())
def test_elementwise_gradients_match_central_differences(op: OpInfo, data: st.DataObject) -> None:
    """Piecewise-constant ops (no ``grad`` in the table) must give zero gradients."""
    reference = np.vectorize(op.fn, otypes=[np.float64])
    if op.grad is None:
        check_zero_gradients(op.call, reference, data.draw(elementwise_inputs(op)))
    else:
        check_against_reference(op.call, reference, data.draw(elementwise_inputs(op, True)))


@pytest.mark.parametrize("op", TENSOR_OPS, ids=ids(TENSOR_OPS))
@given(data=st.data())
def test_tensor_op_gradients_match_central_differences(
    op: TensorOpInfo, data: st.DataObject
) -> None:
    inputs, param = data.draw(op.inputs("simple"))
    reference = lambda *arrays: op.reference(param, *arrays)
    check = check_against_reference if op.differentiable else check_zero_gradients
    check(lambda *ts: op.call(param, *ts), reference, inputs)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@pytest.mark.parametrize("op", OPS, ids=ids(OPS))
@given(data=st.data())
def test_elementwise_ops_match_simple(op: OpInfo, backend: str, data: st.DataObject) -> None:
    check_against_simple(op.call, data.draw(elementwise_inputs(op)), backend)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@pytest.mark.parametrize("op", TENSOR_OPS, ids=ids(TENSOR_OPS))
@given(data=st.data())
def test_tensor_ops_match_simple(op: TensorOpInfo, backend: str, data: st.DataObject) -> None:
    inputs, param = data.draw(op.inputs("simple"))
    check_against_simple(lambda *ts: op.call(param, *ts), inputs, backend)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@given(t=tensors())
def test_reductions_over_every_dim_match_simple(backend: str, t: Tensor) -> None:
    check_reductions_against_simple(t, backend)


def check_reductions_against_simple(t: Tensor, backend: str) -> None:
    for op in REDUCTIONS:
        for dim in [None, *range(t.dims)]:
            fn = lambda a, op=op, dim=dim: op.call(dim, a)
            check_against_simple(fn, [t.detach()], backend, f"{op.name}(dim={dim}) ")


@pytest.mark.parametrize("backend", SIMULATED)
@pytest.mark.parametrize("op", OPS, ids=ids(OPS))
@in_the_simulator
@given(data=st.data())
def test_elementwise_ops_match_simple_in_the_simulator(
    op: OpInfo, backend: str, data: st.DataObject
) -> None:
    check_against_simple(op.call, data.draw(elementwise_inputs(op, tiny=True)), backend)


@pytest.mark.parametrize("backend", SIMULATED)
@pytest.mark.parametrize("op", TENSOR_OPS, ids=ids(TENSOR_OPS))
@in_the_simulator
@given(data=st.data())
def test_tensor_ops_match_simple_in_the_simulator(
    op: TensorOpInfo, backend: str, data: st.DataObject
) -> None:
    inputs, param = data.draw(op.inputs("simple", max_size=TINY_SIZE))
    check_against_simple(lambda *ts: op.call(param, *ts), inputs, backend)


@pytest.mark.parametrize("backend", SIMULATED)
@in_the_simulator
@given(data=st.data())
def test_reductions_over_every_dim_match_simple_in_the_simulator(
    backend: str, data: st.DataObject
) -> None:
    shape = data.draw(shapes(max_dims=3, max_side=3).filter(lambda s: np.prod(s) <= TINY_SIZE))
    check_reductions_against_simple(data.draw(tensors(shape)), backend)
