"""Every declared op's gradient against central differences, and every backend against simple.

Inputs come from the shared strategies: random shapes, broadcast pairs, matmul shapes with
broadcast batch dims, and tensors stored permuted (non-contiguous) about half the time. The
reference for the central differences is the op's own float (or numpy) function, so neither
side of a comparison depends on the library's autograd.

The cuda backend is among ``OTHER_BACKENDS`` on a GPU. In numba's simulator (one Python thread
per CUDA thread) it is checked against simple by the ``*_in_the_simulator`` tests instead: every
op again, but on tensors of at most `TINY_SIZE` elements and `SIMULATED_EXAMPLES` examples each.

The ``*_in_float32`` tests run the same tables on float32 tensors, on every backend, with
`FLOAT32_EXAMPLES` small examples each (CI time; float64 covers the shapes): values against numpy
computing in float32, gradients against central differences of the float64 function at the
float32 inputs (exactly representable in float64, so the quotient's own error stays float64's
while the gradient under test carries float32's). Tolerances per dtype are
`mt_tensor.testing.TOLERANCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mt_operators.operators import PRIMITIVES_BY_NAME
from mt_operators.testing import OPS, OpInfo
from mt_tensor import Tensor, dtypes, get_backend
from mt_tensor.testing import (
    TENSOR_OPS,
    TOLERANCES,
    TensorOpInfo,
    Tolerances,
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
FLOAT32_EXAMPLES = max(3, (settings.default.max_examples if settings.default else 0) // 5)
"""5 examples per test and backend under the ci profile, 100 under thorough."""
float32_settings = settings(max_examples=FLOAT32_EXAMPLES)
FLOAT64, FLOAT32 = TOLERANCES[dtypes.float64], TOLERANCES[dtypes.float32]
NUMPY_NAMES = {"sub": "subtract", "div": "divide", "gt": "greater"}
"""numpy's function for the table's ops that are not primitives (primitives name their own)."""


@st.composite
def elementwise_inputs(
    draw: st.DrawFn,
    op: OpInfo,
    smooth: bool = False,
    tiny: bool = False,
    backend: str = "simple",
    dtype: dtypes.DType = dtypes.float64,
) -> list[Tensor]:
    """Tensors of ``dtype`` on ``backend`` for ``op`` (broadcast pairs for binary ops); ``tiny``:
    two dims at most.

    With ``smooth``, inputs are kept away from the op's kinks (`OpInfo.avoid`) so that central
    differences are meaningful: a unary op's input is nudged off the kink, a binary one filtered.
    """
    dims = 2 if tiny else 4
    in_shapes = (
        [draw(shapes(max_dims=dims))]
        if op.arity == 1
        else list(draw(broadcastable_shapes(max_dims=min(dims, 3))))
    )
    ts = [draw(tensors(s, backend, *op.domain, dtype=dtype)) for s in in_shapes]
    if smooth and op.avoid is not None:
        near = np.vectorize(op.avoid, otypes=[bool])
        if op.arity == 1:
            storage, _, _ = ts[0].tuple()
            storage[near(storage)] += 0.01
        columns = np.broadcast_arrays(*[t.to_numpy() for t in ts])
        assume(not near(*columns).any())
    return ts


def numpy_reference(op: OpInfo) -> Callable[..., Array]:
    """``op`` computed by numpy in its inputs' dtype: the primitive's own numpy function where it
    has one, else its float function, rounded to the inputs' dtype."""
    primitive = PRIMITIVES_BY_NAME.get(op.name)
    name = NUMPY_NAMES.get(op.name, primitive.ufunc if primitive else None)
    if name is not None:
        return getattr(np, name)  # type: ignore[no-any-return]  # numpy's ufuncs are untyped
    vectorized = np.vectorize(op.fn, otypes=[np.float64])
    return lambda *arrays: vectorized(*arrays).astype(np.result_type(*arrays))


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
    """$\\partial\\, \\mathrm{sum}(f) / \\partial x$ for every element of every input, in
    float64 (float32 inputs are widened exactly).

    Outputs are differenced before they are summed, so those a nudge leaves alone cancel exactly
    instead of adding the whole sum's rounding error (6e-5 in the quotient on a sum of 10^4s:
    it failed the gradient -0.25 of ``x ** -2`` at 2.0, beside 0.01s, in a thorough run).
    """
    grads = []
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
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
    fn: Callable[..., Tensor],
    reference: Callable[..., Array],
    inputs: Sequence[Tensor],
    float_reference: Callable[..., Array] | None = None,
    tol: Tolerances = FLOAT64,
) -> None:
    """Values against ``reference`` (on the inputs' dtype), gradients against central
    differences of ``float_reference`` (default: ``reference``) in float64."""
    arrays = [t.to_numpy() for t in inputs]
    out, grads = run(fn, inputs)
    check_dtypes(grads, inputs)
    assert_tensors_close(out, reference(*arrays), "forward", *tol.forward)
    expected = central_differences(float_reference or reference, arrays)
    for i, (g, e) in enumerate(zip(grads, expected, strict=True)):
        assert_tensors_close(g, e, f"backward of input {i}", *tol.central)


def check_zero_gradients(
    fn: Callable[..., Tensor],
    reference: Callable[..., Array],
    inputs: Sequence[Tensor],
    float_reference: Callable[..., Array] | None = None,
    tol: Tolerances = FLOAT64,
) -> None:
    out, grads = run(fn, inputs)
    check_dtypes(grads, inputs)
    assert_tensors_close(out, reference(*[t.to_numpy() for t in inputs]), "forward", *tol.forward)
    for i, g in enumerate(grads):
        assert_tensors_close(g, np.zeros(g.shape), f"backward of input {i}")


def check_dtypes(grads: Sequence[Array], inputs: Sequence[Tensor]) -> None:
    """Each gradient is in its input's dtype."""
    for i, (g, x) in enumerate(zip(grads, inputs, strict=True)):
        if x.grad is not None and g.dtype != x.dtype:
            raise AssertionError(f"backward of input {i}: dtype {g.dtype}, input {x.dtype}")


def check_against_simple(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    backend: str,
    label: str = "",
    tol: Tolerances = FLOAT64,
) -> None:
    expected_out, expected_grads = run(fn, inputs)
    out, grads = run(fn, [same_layout(t, backend) for t in inputs])
    if out.dtype != expected_out.dtype:
        raise AssertionError(f"{label}forward on {backend}: {out.dtype} != {expected_out.dtype}")
    assert_tensors_close(out, expected_out, f"{label}forward on {backend}", *tol.forward)
    for i, (g, e) in enumerate(zip(grads, expected_grads, strict=True)):
        assert_tensors_close(g, e, f"{label}backward of input {i} on {backend}", *tol.forward)


def stays_float32(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fn``, failing when its output is a float of another dtype than float32 (comparisons
    give bool)."""

    def call(*ts: Tensor) -> Tensor:
        out = fn(*ts)
        if dtypes.is_floating(out.dtype) and out.dtype != dtypes.float32:
            raise AssertionError(f"forward: dtype {out.dtype} from float32 inputs")
        return out

    return call


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


def check_reductions_against_simple(t: Tensor, backend: str, tol: Tolerances = FLOAT64) -> None:
    for op in REDUCTIONS:
        for dim in [None, *range(t.dims)]:
            fn = lambda a, op=op, dim=dim: op.call(dim, a)
            check_against_simple(fn, [t.detach()], backend, f"{op.name}(dim={dim}) ", tol)


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


@pytest.mark.parametrize("backend", backend_names())
@pytest.mark.parametrize("op", OPS, ids=ids(OPS))
@float32_settings
@given(data=st.data())
def test_elementwise_gradients_match_central_differences_in_float32(
    op: OpInfo, backend: str, data: st.DataObject
) -> None:
    """Each backend in float32: values against numpy in float32, gradients against central
    differences (zero for piecewise-constant ops)."""
    inputs = elementwise_inputs(op, op.grad is not None, True, backend, dtypes.float32)
    check = check_zero_gradients if op.grad is None else check_against_reference
    float_reference = np.vectorize(op.fn, otypes=[np.float64])
    check(stays_float32(op.call), numpy_reference(op), data.draw(inputs), float_reference, FLOAT32)


@pytest.mark.parametrize("backend", backend_names())
@pytest.mark.parametrize("op", TENSOR_OPS, ids=ids(TENSOR_OPS))
@float32_settings
@given(data=st.data())
def test_tensor_op_gradients_match_central_differences_in_float32(
    op: TensorOpInfo, backend: str, data: st.DataObject
) -> None:
    """The tensor-op table (reductions, matmul, pow, indexing, ...) in float32 on each backend;
    numpy's reference computes in float32 on float32 arrays."""
    inputs, param = data.draw(op.inputs(backend, TINY_SIZE, dtypes.float32))
    reference = lambda *arrays: op.reference(param, *arrays)
    check = check_against_reference if op.differentiable else check_zero_gradients
    check(stays_float32(lambda *ts: op.call(param, *ts)), reference, inputs, None, FLOAT32)


def check_float32_reductions(backend: str, data: st.DataObject) -> None:
    shape = data.draw(shapes(max_dims=3, max_side=3).filter(lambda s: np.prod(s) <= TINY_SIZE))
    t = data.draw(tensors(shape, dtype=dtypes.float32))
    check_reductions_against_simple(t, backend, FLOAT32)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@float32_settings
@given(data=st.data())
def test_reductions_over_every_dim_match_simple_in_float32(
    backend: str, data: st.DataObject
) -> None:
    check_float32_reductions(backend, data)


@pytest.mark.parametrize("backend", SIMULATED)
@in_the_simulator
@given(data=st.data())
def test_reductions_over_every_dim_match_simple_in_float32_in_the_simulator(
    backend: str, data: st.DataObject
) -> None:
    check_float32_reductions(backend, data)
