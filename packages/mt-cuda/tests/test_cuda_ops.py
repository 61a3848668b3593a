"""The cuda backend against the simple one: every op, every gradient, block and tile edges.

Without an NVIDIA driver the kernels run in numba's CUDA simulator (one Python thread per CUDA
thread), so sizes stay tiny; on a GPU the same tests run on the device. Set
``NUMBA_ENABLE_CUDASIM=0`` to insist on the GPU.
"""

from __future__ import annotations

import os
import shutil

if shutil.which("nvidia-smi") is None and not os.path.exists("/proc/driver/nvidia"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_cuda import CudaOps, mm_practice, sum_practice
from mt_operators import operators
from mt_operators.testing import OPS, OpInfo, floats_in
from mt_tensor import Tensor, TensorBackend, get_backend, tensor
from mt_tensor.tensor_data import on_device
from mt_tensor.testing import (
    TENSOR_OPS,
    TensorOpInfo,
    assert_tensors_close,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    tensor_data,
    tensors,
)

CUDA = get_backend("cuda")
SMALL = TensorBackend(CudaOps(threads=4, tile=2))
"""Tiny blocks and tiles, so that small inputs cross block and tile edges (on a GPU too)."""
MAX_ELEMENTS = 24
"""Largest input drawn (the simulator runs one Python thread per element)."""
FEW = settings(max_examples=5)


def on(backend: TensorBackend | str, t: Tensor) -> Tensor:
    """``t``'s storage, shape and strides on ``backend``: a permuted tensor stays permuted."""
    b = get_backend(backend) if isinstance(backend, str) else backend
    storage, _, _ = t.tuple()
    return Tensor.make(storage.copy(), t.shape, t._tensor.strides, backend=b)


def run(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> tuple[Tensor, list[Any]]:
    """The output of ``fn`` and each input's gradient of its sum (``None`` when none flows)."""
    for x in inputs:
        x.requires_grad_(True)
    out = fn(*inputs)
    out.sum().backward()
    return out, [x.grad for x in inputs]


def assert_same(fn: Callable[..., Tensor], inputs: Sequence[Tensor], backend: Any = CUDA) -> None:
    """``fn`` on ``backend`` gives the simple backend's output and gradients."""
    expected, expected_grads = run(fn, inputs)
    actual, actual_grads = run(fn, [on(backend, x) for x in inputs])
    assert actual.backend is backend
    assert_tensors_close(actual, expected, "forward")
    for i, (g, e) in enumerate(zip(actual_grads, expected_grads, strict=True)):
        got = np.zeros(inputs[i].shape) if g is None else g
        want = np.zeros(inputs[i].shape) if e is None else e
        assert_tensors_close(got, want, f"backward of input {i}")


@st.composite
def elementwise_inputs(draw: st.DrawFn, op: OpInfo) -> list[Tensor]:
    """Small tensors on simple inside ``op``'s domain (broadcast pairs for binary ops)."""
    in_shapes = (
        [draw(shapes(1, 3, 1, 3))] if op.arity == 1 else list(draw(broadcastable_shapes(3, 3)))
    )
    return [draw(tensors(s, "simple", *op.domain)) for s in in_shapes]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@FEW
@given(data=st.data())
def test_elementwise_op_and_gradient(op: OpInfo, data: st.DataObject) -> None:
    assert_same(op.call, data.draw(elementwise_inputs(op)))


@pytest.mark.parametrize("op", TENSOR_OPS, ids=[op.name for op in TENSOR_OPS])
@FEW
@given(data=st.data())
def test_tensor_op_and_gradient(op: TensorOpInfo, data: st.DataObject) -> None:
    inputs, param = data.draw(op.inputs("simple", MAX_ELEMENTS))
    assert_same(lambda *ts: op.call(param, *ts), inputs)


@FEW
@given(
    rows=st.integers(1, 3),
    length=st.integers(5, 13),
    fn=st.sampled_from([lambda t: t.sum(1), lambda t: t.mean(1), lambda t: t.all(1)]),
    data=st.data(),
)
def test_reduce_longer_than_a_block(
    rows: int, length: int, fn: Callable[[Tensor], Tensor], data: st.DataObject
) -> None:
    assert_same(fn, [data.draw(tensors((rows, length), "simple"))], backend=SMALL)


@FEW
@given(length=st.integers(5, 13), start=floats_in(-5.0, 5.0), data=st.data())
def test_reduce_primitives_with_any_start(length: int, start: float, data: st.DataObject) -> None:
    data_ = data.draw(tensors((length,), "simple", -2.0, 2.0))
    for fn in (operators.add, operators.mul, operators.max):
        actual = SMALL.ops.reduce(fn, start)(on(SMALL, data_), 0)
        expected = get_backend("simple").ops.reduce(fn, start)(data_, 0)
        assert_tensors_close(actual, expected, fn.__name__)


@FEW
@given(
    shapes_=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)).map(
        lambda nmp: ((nmp[0], nmp[1]), (nmp[1], nmp[2]))
    ),
    data=st.data(),
)
def test_matmul_across_tile_edges(
    shapes_: tuple[tuple[int, ...], tuple[int, ...]], data: st.DataObject
) -> None:
    inputs = [data.draw(tensors(s, "simple")) for s in shapes_]
    assert_same(lambda a, b: a @ b, inputs, backend=SMALL)


@FEW
@given(shapes_=matmul_shapes(max_batch=2, max_side=3), data=st.data())
def test_matmul_broadcast_batches(
    shapes_: tuple[tuple[int, ...], tuple[int, ...]], data: st.DataObject
) -> None:
    inputs = [data.draw(tensors(s, "simple")) for s in shapes_]
    assert_same(lambda a, b: a @ b, inputs, backend=SMALL)


def test_results_stay_on_the_device() -> None:
    x = tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]], backend=CUDA, requires_grad=True)
    w = tensor([[1.0], [2.0], [3.0]], backend=CUDA, requires_grad=True)
    steps = [x * 2.0]
    steps.append(steps[-1].relu())
    steps.append(steps[-1] @ w)
    steps.append(steps[-1].view(2))
    steps.append(steps[-1].sum())
    steps[-1].backward()
    for t in [*steps, x.grad, w.grad]:
        assert t is not None and on_device(t._tensor._storage), f"{t} came back to the host"
    expected = (np.maximum(x.to_numpy() * 2.0, 0.0) @ w.to_numpy()).sum()
    assert_tensors_close(steps[-1], np.array([expected]))


@FEW
@given(shape=shapes(1, 3, 1, 3), data=st.data())
def test_functions_without_a_kernel_run_on_the_host(
    shape: tuple[int, ...], data: st.DataObject
) -> None:
    def triple(v: float) -> float:
        return 3.0 * v

    data_ = data.draw(tensors(shape, "simple"))
    x = on(CUDA, data_)
    assert_tensors_close(CUDA.ops.map(triple)(x), data_.to_numpy() * 3.0)
    out = x.zeros(x.shape)
    CUDA.ops.map(triple)(x, out)
    assert_tensors_close(out, data_.to_numpy() * 3.0)


@FEW
@given(values=st.integers(1, 70).flatmap(lambda n: tensor_data((n,))))
def test_sum_practice(values: np.ndarray[Any, np.dtype[np.float64]]) -> None:
    out = sum_practice(tensor(values, backend=CUDA))
    padded = np.concatenate([values, np.zeros(-len(values) % 32)])
    assert_tensors_close(out.to_numpy(), padded.reshape(-1, 32).sum(1))


@FEW
@given(
    data=st.integers(1, 5).flatmap(lambda n: st.tuples(tensor_data((n, n)), tensor_data((n, n))))
)
def test_mm_practice(data: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]) -> None:
    a, b = data
    out = mm_practice(tensor(a, backend=CUDA), tensor(b, backend=CUDA))
    assert_tensors_close(out.to_numpy(), a @ b)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sum_practice(tensor([[1.0]], backend=CUDA)), r"1-d tensor, got shape \(1, 1\)"),
        (lambda: mm_practice(tensor([[1.0, 2.0]]), tensor([[1.0, 2.0]])), r"\(1, 2\)"),
        (lambda: mm_practice(*[tensor(np.ones((33, 33)))] * 2), r"from 1 to 32"),
        (lambda: CudaOps(threads=3), "power of two from 1 to 1024, got 3"),
        (lambda: CudaOps(tile=33), "from 1 to 32.*got 33"),
    ],
)
def test_bad_arguments_name_the_values(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
