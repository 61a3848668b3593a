"""The face's dtypes are real storage: float32 by default, as PyTorch, and `dtype=` honoured."""

from __future__ import annotations

import inspect
import io
import itertools
from collections.abc import Callable, Iterator
from typing import Any

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


CREATION: dict[str, Callable[[Any], tuple[Any, ...]]] = {
    "tensor": lambda T: ([1, 2],),
    "as_tensor": lambda T: ([1, 2],),
    "zeros": lambda T: (2, 3),
    "ones": lambda T: (2, 3),
    "empty": lambda T: (2, 3),
    "full": lambda T: ((2,), 3),
    "eye": lambda T: (2,),
    "rand": lambda T: (2,),
    "randn": lambda T: (2,),
    "randint": lambda T: (0, 5, (3,)),
    "randperm": lambda T: (4,),
    "arange": lambda T: (4,),
    "linspace": lambda T: (0, 1, 5),
    "zeros_like": lambda T: (T.ones(2, 3),),
    "ones_like": lambda T: (T.ones(2, 3),),
    "empty_like": lambda T: (T.ones(2, 3),),
    "full_like": lambda T: (T.ones(2, 3), 2),
    "rand_like": lambda T: (T.ones(2, 3),),
    "randn_like": lambda T: (T.ones(2, 3),),
    "randint_like": lambda T: (T.ones(2, 3), 5),
    "normal": lambda T: (0.0, 1.0, (2,)),
}
"""Every function of the face that takes ``dtype=`` and makes a tensor, with arguments for it
(given the module, ``torch`` or the face)."""

LAYERS: dict[str, tuple[Any, ...]] = {
    "Linear": (2, 3),
    "Conv1d": (1, 2, 3),
    "Conv2d": (1, 2, 3),
    "Embedding": (4, 3),
    "LayerNorm": (3,),
    "BatchNorm1d": (3,),
    "BatchNorm2d": (3,),
}
"""Every layer of the face whose PyTorch twin takes ``dtype=``, with arguments for it."""


def _takes_dtype(fn: Any) -> bool:
    try:
        return "dtype" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return False


def test_the_walk_covers_every_function_and_layer_taking_dtype() -> None:
    """A new creation function or layer with ``dtype=`` must be added to the tables above."""
    torch = pytest.importorskip("torch")
    makers = {
        n
        for n in dir(mtorch)
        if not n.startswith("_")
        and not isinstance(getattr(mtorch, n), type)
        and _takes_dtype(getattr(mtorch, n))
    }
    assert makers <= set(CREATION), makers - set(CREATION)
    layers = {
        n
        for n in dir(mtorch.nn)
        if isinstance(getattr(mtorch.nn, n), type)
        and hasattr(torch.nn, n)
        and _takes_dtype(getattr(torch.nn, n))
    }
    assert layers <= set(LAYERS), layers - set(LAYERS)


@pytest.mark.parametrize("name", sorted(CREATION))
def test_creation_functions_honour_dtype_as_torch(name: str) -> None:
    """Each dtype torch accepts for the function gives that dtype here too, in storage."""
    torch = pytest.importorskip("torch")
    for dt in NAMES:
        try:
            theirs = getattr(torch, name)(*CREATION[name](torch), dtype=getattr(torch, dt))
        except (RuntimeError, TypeError):
            continue
        ours = getattr(mtorch, name)(*CREATION[name](mtorch), dtype=getattr(mtorch, dt))
        assert str(ours.dtype) == str(theirs.dtype), (name, dt)
        assert ours._t.dtype == np.dtype(dt), (name, dt)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_layers_honour_dtype_as_torch(name: str, dt: str) -> None:
    """Parameters and buffers of each dtype as torch's (integer counters stay int64)."""
    torch = pytest.importorskip("torch")
    if not hasattr(mtorch.nn, name):
        pytest.skip(f"the face has no nn.{name}")
    theirs = getattr(torch.nn, name)(*LAYERS[name], dtype=getattr(torch, dt)).state_dict()
    ours = getattr(mtorch.nn, name)(*LAYERS[name], dtype=getattr(mtorch, dt)).state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert str(ours[key].dtype) == str(value.dtype), (name, key)


@pytest.mark.parametrize("method", ["float", "double", "long", "bool", "int"])
@pytest.mark.parametrize("start", NAMES)
def test_conversions_are_torchs(method: str, start: str) -> None:
    torch = pytest.importorskip("torch")
    values = [1.5, -2.5, 0.0]
    ours = getattr(mtorch.tensor(values).to(getattr(mtorch, start)), method)()
    theirs = getattr(torch.tensor(values).to(getattr(torch, start)), method)()
    assert str(ours.dtype) == str(theirs.dtype)
    assert ours.tolist() == theirs.tolist()
    for dt in NAMES:
        assert str(ours.to(getattr(mtorch, dt)).dtype) == f"torch.{dt}"
    with pytest.raises(NotImplementedError, match=r"half|float16"):
        ours.half()


def test_state_dicts_keep_dtypes_through_save_and_load() -> None:
    """A float64 model's state (with BatchNorm's int64 counter, after a training step), plus
    float32 and bool entries, round-trips through save/load and load_state_dict with dtypes and
    values."""

    def model() -> Any:
        return mtorch.nn.Sequential(
            mtorch.nn.Linear(2, 3, dtype=mtorch.float64),
            mtorch.nn.BatchNorm1d(3, dtype=mtorch.float64),
        )

    trained = model()
    trained(mtorch.randn(4, 2, dtype=mtorch.float64))
    state = trained.state_dict()
    state["float32"] = mtorch.tensor([0.1, 0.2])
    state["mask"] = mtorch.tensor([True, False])
    buffer = io.BytesIO()
    mtorch.save(state, buffer)
    buffer.seek(0)
    back = mtorch.load(buffer)
    assert list(back) == list(state)
    kinds = {str(v.dtype) for v in back.values()}
    assert kinds == {"torch.float64", "torch.float32", "torch.int64", "torch.bool"}, kinds
    for key, value in state.items():
        assert back[key].dtype == value.dtype, key
        assert back[key].tolist() == value.tolist(), key
    del back["float32"], back["mask"]
    fresh = model()
    fresh.load_state_dict(back)
    for key, value in fresh.state_dict().items():
        assert value.dtype == state[key].dtype and value.tolist() == state[key].tolist(), key
