"""The packed matmul kernel against numpy: sizes around its tiles and blocks, layouts, dtypes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_fast import fast_ops
from mt_fast.matmul import KC, MC, MR, NC, VECTOR_BYTES, VECTORS
from mt_tensor import Tensor, tensor

FLOATS = [np.float64, np.float32]
NR_MAX = VECTORS * VECTOR_BYTES // 4
"""The widest column panel (float32's)."""


def around(*edges: int) -> st.SearchStrategy[int]:
    """Sizes of 1 to a few tiles, and sizes just either side of each edge."""
    near = [st.integers(max(1, e - 2), e + 2) for e in edges]
    return st.one_of(st.integers(1, 2 * MR + 1), *near)


@contextmanager
def kernel(kind: str) -> Iterator[None]:
    """Force the serial or the parallel kernel whatever the size."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_ops, "MATMUL_PARALLEL_MIN", 0 if kind == "parallel" else 1 << 62)
        yield


def operand(x: np.ndarray, transposed: bool) -> Tensor:
    """``x`` as a fast tensor, contiguous or a transposed view of a contiguous copy."""
    if not transposed:
        return tensor(x, backend="fast", dtype=x.dtype)
    order = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return tensor(np.ascontiguousarray(x.transpose(order)), backend="fast", dtype=x.dtype).permute(
        *order
    )


@pytest.mark.parametrize("kind", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 3),
    batch_on_a=st.booleans(),
    n=around(MR, MC, MC + MR),
    m=around(KC, 2 * KC),
    p=around(NR_MAX // 2, NR_MAX, NC),
    layout=st.tuples(st.booleans(), st.booleans()),
    seed=st.integers(0, 2**32 - 1),
)
def test_matmul_matches_numpy(
    kind: str,
    dtype: type[np.floating],
    batch: int,
    batch_on_a: bool,
    n: int,
    m: int,
    p: int,
    layout: tuple[bool, bool],
    seed: int,
) -> None:
    """``(B,n,m) @ (1,m,p)`` or ``(1,n,m) @ (B,m,p)``, each operand contiguous or transposed,
    in the operands' dtype; float32 within its rounding of a ``m``-term sum."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch if batch_on_a else 1, n, m)).astype(dtype)
    y = rng.standard_normal((1 if batch_on_a else batch, m, p)).astype(dtype)
    with kernel(kind):
        actual = operand(x, layout[0]) @ operand(y, layout[1])
    expected = x.astype(np.float64) @ y.astype(np.float64)
    label = f"{x.shape} @ {y.shape} {dtype.__name__}, transposed {layout}"
    assert actual.dtype == np.dtype(dtype), label
    tolerance = 1e-10 if dtype is np.float64 else 1e-6 * m
    np.testing.assert_allclose(
        actual.to_numpy(), expected, rtol=1e-5, atol=tolerance, err_msg=label
    )


@pytest.mark.parametrize("kind", ["serial", "parallel"])
@given(n=around(MR), m=around(KC), p=around(VECTORS * VECTOR_BYTES // 8), seed=st.integers(0, 99))
@settings(max_examples=10, deadline=None)
def test_integer_matmul_is_exact(kind: str, n: int, m: int, p: int, seed: int) -> None:
    """int64 products sum exactly (multiply and add, no fused rounding to lose)."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(-9, 10, (n, m)), rng.integers(-9, 10, (m, p))
    with kernel(kind):
        actual = tensor(x, backend="fast", dtype=x.dtype) @ tensor(y, backend="fast", dtype=y.dtype)
    np.testing.assert_array_equal(actual.to_numpy(), x @ y)


@pytest.mark.parametrize(("n", "m", "p"), [(1, 1, 1), (1, 300, 1), (1, 7, 600), (600, 7, 1)])
def test_vectors_and_k_of_one(n: int, m: int, p: int) -> None:
    """A row times a matrix, a matrix times a column, and outer products (``k = 1``)."""
    rng = np.random.default_rng(n * m * p)
    x, y = rng.standard_normal((n, m)), rng.standard_normal((m, p))
    actual = tensor(x, backend="fast") @ tensor(y, backend="fast")
    np.testing.assert_allclose(actual.to_numpy(), x @ y, rtol=1e-12, atol=1e-12)
