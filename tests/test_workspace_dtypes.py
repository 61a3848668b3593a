"""Dtypes through every backend (cuda in numba's simulator): each pair of storage dtypes
(float32, float64, int64, bool) through the binary ops, and the integer and bool tensors through
the unary ops, reductions and matmul, against torch: the result's dtype (PyTorch's promotion) and
its values.

torch is the oracle for which combinations exist: where torch refuses one (``bool - bool``,
``-bool``, an integer ``mean``), ours is not asked either. Two rules of the course differ from
PyTorch's and are expected here: comparisons of float operands give 1.0/0.0 in their float
dtype (integer ones give ``bool``, as torch), and reductions keep the reduced dim. torch runs
with float64 as its default dtype, the course's (``int / int`` and float functions of integers
give it).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_tensor import Tensor, dtypes, tensor
from mt_tensor.testing import TOLERANCES, assert_tensors_close, backend_names

torch = pytest.importorskip("torch")

BACKENDS = backend_names(include_cuda=True)
SIMULATED = [b for b in BACKENDS if b not in backend_names()]
PAIRS = list(itertools.product(dtypes.DTYPES, repeat=2))
INTEGRAL = [dtypes.int64, dtypes.bool_]

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "lt": operator.lt,
    "eq": operator.eq,
    "maximum": lambda a, b: a.maximum(b),
}
UNARY: dict[str, Callable[[Any], Any]] = {
    "neg": operator.neg,
    "abs": lambda a: a.abs(),
    "relu": lambda a: a.relu(),
    "exp": lambda a: a.exp(),
    "sum": lambda a: a.sum(0) if isinstance(a, Tensor) else a.sum(0, keepdim=True),
    "mean": lambda a: a.mean(0) if isinstance(a, Tensor) else a.mean(0, keepdim=True),
    "matmul": lambda a: a @ a.permute(1, 0),
    "number": lambda a: a * 3,
}
"""Ops of one tensor, run on integer and bool tensors (the float ones are the op tables' job)."""

small_ints = st.lists(st.integers(-5, 5), min_size=6, max_size=6)
divisors = st.lists(st.integers(1, 5) | st.integers(-5, -1), min_size=3, max_size=3)
in_the_simulator = settings(max_examples=2)


@pytest.fixture(autouse=True)
def torch_in_float64() -> Iterator[None]:
    """torch's default float as the course's, for the duration of a test."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _ours(values: np.ndarray, dtype: dtypes.DType, backend: str) -> Tensor:
    return tensor(values.astype(dtype), backend=backend, dtype=dtype)


def check_like_torch(
    name: str, fn: Callable[..., Any], arrays: list[np.ndarray], kinds: list[Any], backend: str
) -> None:
    """``fn`` on ours and torch's tensors of ``kinds``: skip what torch refuses, else the same
    dtype (but for float comparisons) and values."""
    try:
        expected = fn(*(torch.tensor(a.astype(k)) for a, k in zip(arrays, kinds, strict=True)))
    except RuntimeError:
        return
    got = fn(*(_ours(a, k, backend) for a, k in zip(arrays, kinds, strict=True)))
    want = np.dtype(str(expected.dtype).removeprefix("torch."))
    floats = [k for k in kinds if dtypes.is_floating(k)]
    if want == dtypes.bool_ and floats:  # the course's float comparisons
        want = max(floats, key=lambda k: k.itemsize)
    label = f"{name}{tuple(str(k) for k in kinds)} on {backend}"
    assert got.dtype == want, f"{label}: dtype {got.dtype}, torch's {want}"
    tol = TOLERANCES.get(got.dtype, TOLERANCES[dtypes.float64])
    assert_tensors_close(got, expected.numpy().astype(np.float64), label, *tol.forward)


def check_pairs(backend: str, xs: list[int], ys: list[int]) -> None:
    a, b = np.array(xs).reshape(2, 3), np.array(ys)
    for (ka, kb), (name, fn) in itertools.product(PAIRS, BINARY.items()):
        check_like_torch(name, fn, [a, b], [ka, kb], backend)


def check_integral(backend: str, xs: list[int]) -> None:
    a = np.array(xs).reshape(2, 3)
    for kind, (name, fn) in itertools.product(INTEGRAL, UNARY.items()):
        check_like_torch(name, fn, [a], [kind], backend)


@pytest.mark.parametrize("backend", backend_names())
@settings(max_examples=3)
@given(xs=small_ints, ys=divisors)
def test_every_dtype_pair_promotes_as_torch(backend: str, xs: list[int], ys: list[int]) -> None:
    """Broadcast ``(2, 3)`` with ``(3,)``, divisors non-zero (torch refuses integer ``// 0``)."""
    check_pairs(backend, xs, ys)


@pytest.mark.parametrize("backend", SIMULATED)
@in_the_simulator
@given(xs=small_ints, ys=divisors)
def test_every_dtype_pair_promotes_as_torch_in_the_simulator(
    backend: str, xs: list[int], ys: list[int]
) -> None:
    check_pairs(backend, xs, ys)


@pytest.mark.parametrize("backend", backend_names())
@settings(max_examples=3)
@given(xs=small_ints)
def test_integer_and_bool_tensors_keep_torchs_dtypes(backend: str, xs: list[int]) -> None:
    check_integral(backend, xs)


@pytest.mark.parametrize("backend", SIMULATED)
@in_the_simulator
@given(xs=small_ints)
def test_integer_and_bool_tensors_keep_torchs_dtypes_in_the_simulator(
    backend: str, xs: list[int]
) -> None:
    check_integral(backend, xs)


@pytest.mark.parametrize("backend", [b for b in backend_names() if b != "simple"])
def test_integer_overflow_wraps_around_as_numpys(backend: str) -> None:
    """As mt-tensor's README says. Left out: the simple backend (it computes through Python
    floats: its integers are exact below 2^53 only) and cuda in numba's simulator (it runs the
    kernel in Python, whose integers raise instead of wrapping; on a GPU cuda is here)."""
    big = np.array([2**62, 2**62 + 1], np.int64)
    x = tensor(big, backend=backend, dtype="int64")
    with np.errstate(over="ignore"):
        product, total = big * 4, np.array([big.sum()])
    assert (x * 4).dtype == x.sum().dtype == dtypes.int64
    assert (x * 4).to_numpy().tolist() == product.tolist()
    assert x.sum().to_numpy().tolist() == total.tolist()
