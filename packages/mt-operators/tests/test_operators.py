"""Laws of the scalar operators and the list helpers, as hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_operators import operators
from mt_operators.operators import (
    add,
    addLists,
    central_difference,
    eq,
    exp,
    id,
    inv,
    inv_back,
    is_close,
    log,
    log_back,
    lt,
    max,
    mul,
    neg,
    negList,
    prod,
    relu,
    relu_back,
    sigmoid,
)
from mt_operators.testing import OPS, OpInfo, assert_close, floats_in, op_inputs, small_floats

float_lists = st.lists(small_floats, max_size=20)


@given(small_floats, small_floats)
def test_add_mul_commute(x: float, y: float) -> None:
    assert add(x, y) == add(y, x)
    assert mul(x, y) == mul(y, x)


@given(small_floats, small_floats, small_floats)
def test_distributive(x: float, y: float, z: float) -> None:
    assert_close(mul(z, add(x, y)), add(mul(z, x), mul(z, y)), atol=1e-8)


@given(small_floats)
def test_identity_and_negation(x: float) -> None:
    assert id(x) == x
    assert neg(neg(x)) == x
    assert add(x, neg(x)) == 0.0


@given(small_floats, small_floats)
def test_comparisons(x: float, y: float) -> None:
    assert lt(x, y) == (1.0 if x < y else 0.0)
    assert eq(x, y) == eq(y, x) == (1.0 if x == y else 0.0)
    assert max(x, y) == max(y, x) >= x
    assert lt(x, y) + lt(y, x) + eq(x, y) == 1.0
    assert is_close(x, x) == 1.0


@given(floats_in(-1e4, 1e4))
def test_sigmoid_range_and_symmetry(x: float) -> None:
    s = sigmoid(x)
    assert 0.0 <= s <= 1.0
    assert_close(sigmoid(-x), 1.0 - s, atol=1e-12)


@given(small_floats, small_floats)
def test_sigmoid_monotone(x: float, y: float) -> None:
    if x < y:
        assert sigmoid(x) <= sigmoid(y)


@given(small_floats)
def test_relu(x: float) -> None:
    assert relu(x) == (x if x > 0 else 0.0)
    assert relu(x) >= 0.0


@pytest.mark.parametrize("x", [1e4, -1e4, 710.0, -745.0, 1e308])
def test_large_inputs_stay_finite_or_inf(x: float) -> None:
    assert 0.0 <= sigmoid(x) <= 1.0
    assert exp(x) == (math.inf if x > operators.EXP_MAX else math.exp(x))


def test_domain_rule() -> None:
    assert log(0.0) == -math.inf
    assert math.isnan(log(-1.0))
    assert inv(0.0) == math.inf
    assert inv(-0.0) == -math.inf


@given(floats_in(0.1, 100.0), small_floats)
def test_log_back_is_derivative(x: float, d: float) -> None:
    assert_close(log_back(x, d), d * central_difference(log, x), rtol=1e-4, atol=1e-5)


@given(floats_in(0.5, 100.0), small_floats)
def test_inv_back_is_derivative(x: float, d: float) -> None:
    assert_close(inv_back(x, d), d * central_difference(inv, x), rtol=1e-4, atol=1e-5)


@given(small_floats.filter(lambda x: abs(x) > 1e-3), small_floats)
def test_relu_back_is_derivative(x: float, d: float) -> None:
    assert_close(relu_back(x, d), d * central_difference(relu, x), atol=1e-5)
    assert relu_back(0.0, d) == 0.0


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
@given(data=st.data())
def test_op_table_derivatives(op: OpInfo, data: st.DataObject) -> None:
    """The declared reference derivatives agree with central differences of the floats."""
    xs = data.draw(op_inputs(op))
    for i, expected in enumerate(op.partials(*xs)):
        numeric = central_difference(op.fn, *xs, arg=i)
        assert_close(expected, numeric, rtol=1e-3, atol=1e-4)


@given(float_lists)
def test_list_helpers_match_builtins(ls: list[float]) -> None:
    assert negList(ls) == [-x for x in ls]
    assert_close(operators.sum(ls), math.fsum(ls), atol=1e-8)
    assert operators.map(relu)(ls) == [relu(x) for x in ls]


@given(st.lists(st.tuples(small_floats, small_floats), max_size=20))
def test_add_lists(pairs: list[tuple[float, float]]) -> None:
    a = [x for x, _ in pairs]
    b = [y for _, y in pairs]
    assert addLists(a, b) == [x + y for x, y in pairs]
    assert operators.sum(addLists(a, b)) == pytest.approx(operators.sum(a) + operators.sum(b))


@given(st.lists(floats_in(-2.0, 2.0), max_size=10))
def test_prod(ls: list[float]) -> None:
    assert_close(prod(ls), math.prod(ls), atol=1e-12)


def test_zipwith_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError):
        addLists([1.0], [1.0, 2.0])


@given(small_floats)
def test_max_keeps_nan_in_either_place(x: float) -> None:
    assert math.isnan(operators.max(math.nan, x)) and math.isnan(operators.max(x, math.nan))
