"""Dtypes: storage, promotion, values per dtype against numpy (and torch), gradients per dtype."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_tensor import dtypes, tensor
from mt_tensor.testing import backend_names

BACKENDS = backend_names()
FLOATS = (dtypes.float32, dtypes.float64)
TOLERANCE = {dtypes.float32: 1e-5, dtypes.float64: 1e-12}

small_ints = st.lists(st.integers(-50, 50), min_size=1, max_size=6)
small_floats = st.lists(
    st.floats(-10, 10, allow_nan=False).filter(lambda x: abs(x) > 1e-3), min_size=1, max_size=6
)


def _pair(values: list[float], dtype: dtypes.DType) -> np.ndarray:
    return np.array(values, dtype=dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@settings(max_examples=15, deadline=None)
@given(xs=small_floats)
def test_float_ops_compute_in_their_dtype(
    backend: str, dtype: dtypes.DType, xs: list[float]
) -> None:
    """Each op keeps the dtype and matches numpy computing in that dtype."""
    a = _pair(xs, dtype)
    b = a[::-1].copy()
    x, y = tensor(a, backend=backend, dtype=dtype), tensor(b, backend=backend, dtype=dtype)
    cases = {
        "add": (x + y, a + b),
        "mul": (x * y, a * b),
        "div": (x / y, a / b),
        "exp": ((x * 0.1).exp(), np.exp(a * dtype.type(0.1))),
        "sum": (x.sum(), np.array([a.sum()])),
        "matmul": (x.view(1, len(xs)) @ y.view(len(xs), 1), a[None] @ b[:, None]),
        "floordiv": (x // y, a // b),
        "mod": (x % y, a % b),
    }
    for name, (got, expected) in cases.items():
        assert got.dtype == dtype, name
        np.testing.assert_allclose(
            got.to_numpy().ravel(), expected.ravel(), rtol=TOLERANCE[dtype], atol=1e-6, err_msg=name
        )


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=15, deadline=None)
@given(xs=small_ints, ys=small_ints)
def test_integer_ops_are_numpys(backend: str, xs: list[int], ys: list[int]) -> None:
    """int64 arithmetic, floor division and remainder exactly as numpy (x // 0 is 0)."""
    n = min(len(xs), len(ys))
    a, b = np.array(xs[:n], np.int64), np.array(ys[:n], np.int64)
    x = tensor(a, backend=backend, dtype="int64")
    y = tensor(b, backend=backend, dtype="int64")
    with np.errstate(all="ignore"):
        cases = {"add": (x + y, a + b), "mul": (x * y, a * b), "floordiv": (x // y, a // b)}
        cases["mod"] = (x % y, a % b)
        cases["max"] = (x.f.max_reduce(x, 0), np.array([a.max()]))
    for name, (got, expected) in cases.items():
        assert got.dtype == dtypes.int64, name
        assert got.to_numpy().tolist() == expected.tolist(), name
    assert (x / y).dtype == dtypes.float64
    assert (x < y).dtype == dtypes.bool_
    assert (x < y).to_numpy().tolist() == (a < b).tolist()


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_overflow_wraps_like_numpy(backend: str) -> None:
    if backend == "simple":
        pytest.skip("the simple backend computes through Python floats (exact below 2**53)")
    big = np.array([2**62, -(2**62)], np.int64)
    x = tensor(big, backend=backend, dtype="int64")
    with np.errstate(all="ignore"):
        assert (x * 4).to_numpy().tolist() == (big * 4).tolist()


PAIRS = list(itertools.product(dtypes.DTYPES, repeat=2))


@pytest.mark.parametrize(("a", "b"), PAIRS, ids=lambda d: str(d))
def test_promotion_is_pytorchs(a: dtypes.DType, b: dtypes.DType) -> None:
    torch = pytest.importorskip("torch")
    names = {dtypes.bool_: "bool", dtypes.int64: "int64"}
    names |= {dtypes.float32: "float32", dtypes.float64: "float64"}
    expected = torch.promote_types(getattr(torch, names[a]), getattr(torch, names[b]))
    assert names[dtypes.promote(a, b)] == str(expected).removeprefix("torch.")
    x = tensor([1, 0], dtype=a) + tensor([1, 1], dtype=b)
    assert x.dtype == dtypes.promote(a, b)


def test_scalars_do_not_widen_a_float32_tensor() -> None:
    x = tensor([1.0], dtype="float32")
    assert (x * 2.5).dtype == dtypes.float32
    assert (x + 1).dtype == dtypes.float32
    assert (tensor([1], dtype="int64") * 2.5).dtype == dtypes.float64
    assert (tensor([1], dtype="int64") + 2).dtype == dtypes.int64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@settings(max_examples=10, deadline=None)
@given(xs=small_floats)
def test_gradients_are_in_the_tensors_dtype_and_match_torch(
    backend: str, dtype: dtypes.DType, xs: list[float]
) -> None:
    x = tensor(_pair(xs, dtype), backend=backend, dtype=dtype, requires_grad=True)
    w = tensor(_pair(xs, dtypes.float64), backend=backend, requires_grad=True)  # float64
    (x * x * w + x.sin()).sum().backward()
    assert x.grad is not None and w.grad is not None
    assert x.grad.dtype == dtype and w.grad.dtype == dtypes.float64
    torch = pytest.importorskip("torch")
    tx = torch.tensor(_pair(xs, dtype), requires_grad=True)
    tw = torch.tensor(_pair(xs, dtypes.float64), requires_grad=True)
    (tx * tx * tw + tx.sin()).sum().backward()
    np.testing.assert_allclose(
        x.grad.to_numpy(), tx.grad.numpy(), rtol=TOLERANCE[dtype] * 10, atol=1e-4
    )


@pytest.mark.parametrize("dtype", [dtypes.int64, dtypes.bool_], ids=str)
def test_integer_and_bool_tensors_cannot_require_grad(dtype: dtypes.DType) -> None:
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        tensor([1, 0], dtype=dtype, requires_grad=True)


def test_astype_and_to_convert_with_a_gradient_between_floats() -> None:
    x = tensor([1.5, -2.5], requires_grad=True)
    y = x.astype("float32")
    assert y.dtype == dtypes.float32 and x.to(np.float32).dtype == dtypes.float32
    (y * 2).sum().backward()
    assert x.grad is not None and x.grad.dtype == dtypes.float64
    assert x.grad.to_numpy().tolist() == [2.0, 2.0]
    assert x.astype("int64").to_numpy().tolist() == [1, -2]
    with pytest.raises(TypeError, match="unsupported dtype"):
        x.astype("float16")


def test_float32_storage_takes_half_the_memory() -> None:
    x = tensor(np.zeros((100, 100)), dtype="float32")
    assert x._tensor._storage.nbytes == 100 * 100 * 4
    assert tensor([0.1], dtype="float32").item() == float(np.float32(0.1))
    assert tensor([1.0]).dtype == dtypes.float64  # the course's default
