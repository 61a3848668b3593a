"""The data layer against numpy: index helpers, strides, broadcasting rules, `TensorData`."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import (
    IndexingError,
    TensorData,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    strides_from_shape,
    to_index,
)
from mt_tensor.testing import broadcastable_shapes, shapes, tensor_data

any_shapes = shapes(min_dims=0, max_dims=4, min_side=0, max_side=3)
"""Shapes including 0-d and empty ones, for the pure shape rules."""


def _arange(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)


@given(shapes())
def test_to_index_is_numpy_unravel_and_inverts_index_to_position(shape: tuple[int, ...]) -> None:
    out = np.zeros(len(shape), dtype=np.int64)
    strides = np.array(strides_from_shape(shape), dtype=np.int64)
    for ordinal in range(int(np.prod(shape))):
        to_index(ordinal, np.array(shape, dtype=np.int64), out)
        assert tuple(out) == np.unravel_index(ordinal, shape)
        assert index_to_position(out, strides) == ordinal


@given(shapes(min_dims=0))
def test_strides_from_shape_are_numpy_c_strides(shape: tuple[int, ...]) -> None:
    itemsize = np.dtype(np.float64).itemsize
    expected = tuple(s // itemsize for s in np.zeros(shape).strides)
    assert strides_from_shape(shape) == expected


@given(broadcastable_shapes())
def test_broadcast_index_reads_what_numpy_broadcast_reads(
    pair: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    for small in pair:
        big = shape_broadcast(*pair)
        seen = np.broadcast_to(_arange(small), big)
        small_strides = np.array(strides_from_shape(small), dtype=np.int64)
        out = np.zeros(len(small), dtype=np.int64)
        for big_index in np.ndindex(*big):
            broadcast_index(
                np.array(big_index, dtype=np.int64),
                np.array(big, dtype=np.int64),
                np.array(small, dtype=np.int64),
                out,
            )
            assert index_to_position(out, small_strides) == seen[big_index]


@given(any_shapes, any_shapes)
def test_shape_broadcast_matches_numpy_and_commutes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        for x, y in ((a, b), (b, a)):
            with pytest.raises(IndexingError) as err:
                shape_broadcast(x, y)
            assert str(x) in str(err.value) and str(y) in str(err.value)
        return
    assert shape_broadcast(a, b) == expected == shape_broadcast(b, a)
    assert TensorData.shape_broadcast(a, b) == expected


@given(broadcastable_shapes())
def test_shape_broadcast_of_compatible_shapes_is_numpys(
    pair: tuple[tuple[int, ...], tuple[int, ...]],
) -> None:
    assert shape_broadcast(*pair) == np.broadcast_shapes(*pair)


@given(st.data(), shapes())
def test_permute_reads_numpy_transpose(data: st.DataObject, shape: tuple[int, ...]) -> None:
    values = _arange(shape)
    order = data.draw(st.permutations(range(len(shape))))
    td = TensorData(values.ravel(), shape).permute(*order)
    expected = np.transpose(values, order)
    assert td.shape == expected.shape
    assert td.is_contiguous() == expected.flags.c_contiguous
    assert [td.get(i) for i in td.indices()] == expected.ravel().tolist()
    np.testing.assert_array_equal(td.to_numpy(), expected)


@given(st.data(), shapes())
def test_set_then_get_and_index_is_the_storage_position(
    data: st.DataObject, shape: tuple[int, ...]
) -> None:
    td = TensorData(np.zeros(int(np.prod(shape))), shape)
    index = td.sample()
    assert all(0 <= i < n for i, n in zip(index, shape, strict=True))
    value = data.draw(st.floats(-1e6, 1e6))
    td.set(index, value)
    storage, _, strides = td.tuple()
    assert td.get(index) == value == storage[td.index(index)]
    assert td.index(index) == index_to_position(np.array(index), strides)
    assert storage.sum() == value


@given(st.data(), shapes(max_dims=3))
def test_to_string_shows_the_values_to_four_decimals(
    data: st.DataObject, shape: tuple[int, ...]
) -> None:
    values = data.draw(tensor_data(shape))
    text = TensorData(values.ravel(), shape).to_string()
    np.testing.assert_allclose(np.array(ast.literal_eval(text)), values, atol=1e-4)


@given(any_shapes)
def test_indices_are_numpy_ndindex(shape: tuple[int, ...]) -> None:
    td = TensorData(np.zeros(max(1, int(np.prod(shape)))), shape)
    assert list(td.indices()) == list(np.ndindex(*shape))
    assert td.size == int(np.prod(shape)) and td.dims == len(shape)
