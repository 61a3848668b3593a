"""Constructors and the small `Tensor` API: nested lists, element access, printing, helpers."""

from __future__ import annotations

import ast
import random
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import Tensor, grad_central_difference, ones, rand, tensor, zeros
from mt_tensor.testing import assert_tensors_close, backend_names, shapes, tensor_data, tensors

BACKENDS = backend_names()


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_tensor_from_nested_lists_of_any_depth(backend: str, data: st.DataObject) -> None:
    values = data.draw(tensor_data(data.draw(shapes(min_dims=1, max_dims=5, max_side=3))))
    from_lists = tensor(values.tolist(), backend=backend)
    from_array = tensor(values, backend=backend)
    from_rows = tensor(list(values), backend=backend)
    for t in (from_lists, from_array, from_rows):
        assert t.shape == values.shape and t.backend.name == backend
        assert_tensors_close(t, values)
    assert_tensors_close(tensor(from_lists, backend=backend), values, "from a tensor")


@pytest.mark.parametrize("backend", BACKENDS)
@given(shape=shapes(), requires_grad=st.booleans())
def test_constant_constructors(backend: str, shape: tuple[int, ...], requires_grad: bool) -> None:
    for make, expected in ((zeros, np.zeros(shape)), (ones, np.ones(shape))):
        t = make(shape, backend=backend, requires_grad=requires_grad)
        assert t.backend.name == backend and t.requires_grad() == requires_grad
        assert_tensors_close(t, expected, make.__name__)
    assert_tensors_close(tensor(2.5, backend=backend), [2.5], "a number is shape (1,)")
    assert_tensors_close(zeros(shape[0]), np.zeros(shape[0]), "an int is a 1-d shape")
    assert_tensors_close(tensor([], backend=backend), np.zeros(0), "empty")


@given(shape=shapes(), seed=st.integers(0, 2**32 - 1))
def test_rand_is_uniform_in_unit_interval_and_seeded(shape: tuple[int, ...], seed: int) -> None:
    random.seed(seed)
    first = rand(shape).to_numpy()
    random.seed(seed)
    assert_tensors_close(rand(shape), first, "same seed, same values")
    assert first.shape == shape and ((first >= 0.0) & (first < 1.0)).all()


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_element_access_on_full_indices(backend: str, data: st.DataObject) -> None:
    t = data.draw(tensors(backend=backend))
    values = t.to_numpy()
    for index in np.ndindex(*t.shape):
        assert t[index] == values[index]
    index = t._tensor.sample()
    x = data.draw(st.floats(-5.0, 5.0))
    t[index] = x
    values[index] = x
    assert_tensors_close(t, values, "after __setitem__")
    if t.dims == 1:
        assert t[index[0]] == x and list(t) == values.tolist() and len(t) == t.shape[0]


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_item_and_to_numpy(backend: str, data: st.DataObject) -> None:
    x = data.draw(st.floats(-1e6, 1e6))
    one = tensor([[x]], backend=backend)
    assert one.item() == x and float(bool(one)) == float(x != 0.0)
    t = data.draw(tensors(backend=backend))
    before = t.to_numpy()
    t.to_numpy()[...] = 0.0
    assert_tensors_close(t, before, "to_numpy() is a copy")
    assert_tensors_close(np.asarray(t), t.to_numpy(), "numpy.asarray")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_repr_shows_values_and_flags(backend: str, data: st.DataObject) -> None:
    t = data.draw(tensors(data.draw(shapes(max_dims=3)), backend=backend))
    text = repr(t.requires_grad_())
    match = re.fullmatch(r"tensor\((.*?)(, requires_grad=True)(, backend='\w+')?\)", text, re.S)
    assert match is not None, text
    np.testing.assert_allclose(np.array(ast.literal_eval(match.group(1))), t.to_numpy(), atol=1e-4)
    if match.group(3):
        assert backend in match.group(3)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_zeros_and_expand_follow_the_tensor(backend: str, data: st.DataObject) -> None:
    t = data.draw(tensors(backend=backend))
    assert t.zeros().shape == t.shape and t.zeros().backend is t.backend
    assert_tensors_close(t.zeros((2,)), np.zeros(2), "zeros(shape)")
    big = data.draw(tensors((2, *t.shape), backend=backend))
    assert_tensors_close(t.expand(big), big.to_numpy().sum(0), "expand sums broadcast dims")
    row = data.draw(tensors((1, t.shape[-1]), backend=backend))
    assert_tensors_close(row.expand(t), t.to_numpy().reshape(-1, t.shape[-1]).sum(0)[None], "rows")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_copies_and_gradients_own_their_storage(backend: str, data: st.DataObject) -> None:
    """Writing into a clone, an identity map's result or one leaf's gradient changes nothing else
    (the numpy backend's identity map once returned its input's storage)."""
    a = data.draw(tensors(backend=backend)).requires_grad_()
    b = data.draw(tensors(a.shape, backend=backend)).requires_grad_()
    original = a.to_numpy()
    index = a._tensor.sample()
    for copy in (a.clone(), a.f.id_map(a), a.contiguous().clone()):
        copy[index] = copy[index] + 1.0
        assert_tensors_close(a, original, "a after writing into its copy")
    (a + b).sum().backward()
    assert a.grad is not None and b.grad is not None
    a.grad[index] = 5.0
    assert_tensors_close(b.grad, np.ones(b.shape), "b.grad after writing into a.grad")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_grad_central_difference_is_the_analytic_derivative(
    backend: str, data: st.DataObject
) -> None:
    t = data.draw(tensors(backend=backend, lo=-2.0, hi=2.0))
    index = t._tensor.sample()
    numeric = grad_central_difference(lambda x: (x * x).exp(), t, ind=index)
    x = t[index]
    assert numeric == pytest.approx(2.0 * x * np.exp(x * x), rel=1e-5, abs=1e-5)


def test_shapes_and_sizes() -> None:
    t = Tensor.make(np.arange(24.0), (2, 3, 4))
    assert (t.shape, t.size, t.dims) == ((2, 3, 4), 24, 3)
    assert t.permute(2, 0, 1).shape == (4, 2, 3)
    assert t.view(6, 4).shape == (6, 4) and t.view(-1, 12).shape == (2, 12)
