"""The face's dtypes are real storage: float32 by default, as PyTorch, and `dtype=` honoured."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch.torch as mtorch

NAMES = ["bool", "int64", "float32", "float64"]


@pytest.fixture
def float64_default() -> Iterator[None]:
    mtorch.set_default_dtype(mtorch.float64)
    yield
    mtorch.set_default_dtype(mtorch.float32)


def test_float32_by_default_with_float32_values() -> None:
    x = mtorch.tensor([0.1])
    assert x.dtype == mtorch.float32 and x.item() == 0.10000000149011612
    assert x._t.dtype == np.float32
    assert mtorch.zeros(1000, 1000)._t._tensor._storage.nbytes == 4_000_000


def test_set_default_dtype_changes_new_tensors(float64_default: None) -> None:
    assert mtorch.get_default_dtype() == mtorch.float64
    assert mtorch.tensor([0.1]).item() == 0.1
    assert mtorch.nn.Linear(2, 3).weight._t.dtype == np.float64


def test_layers_and_conversions_honour_dtype() -> None:
    layer = mtorch.nn.Linear(2, 3, dtype=mtorch.float64)
    assert layer.weight.dtype == mtorch.float64 and layer.weight._t.dtype == np.float64
    assert mtorch.nn.Conv2d(1, 2, 3, dtype=mtorch.float64).weight._t.dtype == np.float64
    x = mtorch.tensor([1.5, -2.5])
    for method, storage in (("double", np.float64), ("long", np.int64), ("bool", np.bool_)):
        assert getattr(x, method)()._t.dtype == storage, method
    assert x.to(mtorch.float64)._t.dtype == np.float64
    with pytest.raises(NotImplementedError, match="float16"):
        x.half()


def test_training_stays_in_the_parameters_dtype() -> None:
    layer = mtorch.nn.Linear(2, 1)
    optimizer = mtorch.optim.Adam(layer.parameters(), lr=0.1)
    layer(mtorch.randn(4, 2)).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad._t.dtype == np.float32
    optimizer.step()
    assert layer.weight._t.dtype == np.float32


def test_save_load_round_trips_dtypes() -> None:
    values = {name: mtorch.tensor([1, 0], dtype=getattr(mtorch, name)) for name in NAMES[1:]}
    values["bool"] = mtorch.tensor([True, False])
    buffer = io.BytesIO()
    mtorch.save(values, buffer)
    buffer.seek(0)
    back = mtorch.load(buffer)
    for name, t in back.items():
        assert t.dtype == values[name].dtype and t._t.dtype == values[name]._t.dtype, name


@pytest.mark.parametrize(("a", "b"), list(itertools.product(NAMES, repeat=2)))
def test_promotion_and_values_match_torch(a: str, b: str) -> None:
    torch = pytest.importorskip("torch")
    x, y = [1, 0, 3], [2, 1, 1]
    ours = mtorch.tensor(x, dtype=getattr(mtorch, a)) * mtorch.tensor(y, dtype=getattr(mtorch, b))
    theirs = torch.tensor(x, dtype=getattr(torch, a)) * torch.tensor(y, dtype=getattr(torch, b))
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.tolist() == theirs.tolist()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-100, 100, width=32), min_size=1, max_size=8))
def test_float32_arithmetic_is_torchs_bit_for_bit(values: list[float]) -> None:
    """Element-wise float32 results are float32's correctly rounded ones, as torch's (division
    is a product with the reciprocal here: within an ulp)."""
    torch = pytest.importorskip("torch")
    ours, theirs = mtorch.tensor(values), torch.tensor(values)
    assert (ours * 3.1 + ours - 0.1).tolist() == (theirs * 3.1 + theirs - 0.1).tolist()
    quotient = (ours / 7.0).numpy()
    assert quotient.dtype == np.float32
    np.testing.assert_allclose(quotient, (theirs / 7.0).numpy(), rtol=2e-7, atol=1e-38)
