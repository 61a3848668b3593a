"""`Scalar` and its functions: values and derivatives over the shared op table, edges, errors."""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_autodiff import (
    EQ,
    LT,
    Add,
    Context,
    Exp,
    Inv,
    Log,
    Mul,
    Neg,
    ReLU,
    Scalar,
    ScalarFunction,
    ScalarHistory,
    Sigmoid,
    autodiff,
    derivative_check,
    no_grad,
    scalar,
    scalar_functions,
)
from mt_autodiff.testing import SCALAR_OPS as OPS
from mt_operators import operators
from mt_operators.testing import OPS_BY_NAME, OpInfo, assert_close, floats_in, op_inputs

FUNCTIONS: tuple[type[ScalarFunction], ...] = (Add, Mul, Inv, Neg, Log, Exp, Sigmoid, ReLU, LT, EQ)
BINARY = [op for op in OPS if op.arity == 2]


def _op_id(op: OpInfo) -> str:
    return op.name


def _fn_id(fn: type[ScalarFunction]) -> str:
    return fn.__name__


@pytest.mark.parametrize("fn", FUNCTIONS, ids=_fn_id)
@given(data=st.data())
def test_each_function_forward_and_backward(fn: type[ScalarFunction], data: st.DataObject) -> None:
    op = OPS_BY_NAME[fn.__name__.lower()]
    xs = data.draw(op_inputs(op))
    scalars = [Scalar(x) for x in xs]
    out = fn.apply(*scalars)
    assert_close(out.data, op.fn(*xs))
    derivative_check(fn.apply, *scalars)
    for s, expected in zip(scalars, op.partials(*xs), strict=True):
        assert s.derivative is not None
        assert_close(s.derivative, expected)


@pytest.mark.parametrize("op", OPS, ids=_op_id)
@given(data=st.data())
def test_each_table_op_on_scalars(op: OpInfo, data: st.DataObject) -> None:
    xs = data.draw(op_inputs(op))
    scalars = [Scalar(x) for x in xs]
    out = op.call(*scalars)
    assert isinstance(out, Scalar)
    assert_close(out.data, op.fn(*xs))
    derivative_check(op.call, *scalars)
    for s, expected in zip(scalars, op.partials(*xs), strict=True):
        assert_close(s.derivative or 0.0, expected)


def _derivative_of(out: Scalar, x: Scalar) -> float:
    if not out.is_constant():
        out.backward()
    return x.derivative or 0.0


@pytest.mark.parametrize("op", BINARY, ids=_op_id)
@given(data=st.data())
def test_python_numbers_on_either_side(op: OpInfo, data: st.DataObject) -> None:
    a, b = data.draw(op_inputs(op))
    da, db = op.partials(a, b)
    left, right = Scalar(a), Scalar(b)
    with_number_right = op.call(left, b)
    with_number_left = op.call(a, right)
    assert_close(with_number_right.data, op.fn(a, b))
    assert_close(with_number_left.data, op.fn(a, b))
    assert_close(_derivative_of(with_number_right, left), da)
    assert_close(_derivative_of(with_number_left, right), db)


@pytest.mark.parametrize(
    "expr", [lambda v: 2 * v, lambda v: 1 - v, lambda v: 3 / v, lambda v: 1 + v - 2 * v / 5]
)
def test_numbers_on_the_left(expr: Callable[[Any], Any]) -> None:
    assert_close(expr(Scalar(4.0)).data, expr(4.0))
    derivative_check(expr, Scalar(4.0))


def test_a_new_function_is_one_class() -> None:
    class Cube(ScalarFunction):
        """$x^3$, with derivative $3x^2$."""

        @staticmethod
        def forward(ctx: Context, a: float) -> float:
            ctx.save_for_backward(a)
            return a * a * a

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            (a,) = ctx.saved_values
            return float(3.0 * a * a * d)

    derivative_check(lambda x: Cube.apply(x.sigmoid()) * x, Scalar(0.7))


# Edges of the domain: stage 0's rule, never an exception.


def _sigmoid_grad(x: float) -> float:
    return operators.sigmoid_back(x, 1.0)


EDGES: list[tuple[str, Callable[[Scalar], Scalar], Callable[[float], float], Any, float]] = [
    ("relu", lambda s: s.relu(), operators.relu, lambda x: operators.relu_back(x, 1.0), 0.0),
    ("relu", lambda s: s.relu(), operators.relu, lambda x: operators.relu_back(x, 1.0), -0.0),
    ("log", lambda s: s.log(), operators.log, lambda x: operators.log_back(x, 1.0), 0.0),
    ("log", lambda s: s.log(), operators.log, lambda x: operators.log_back(x, 1.0), -2.0),
    ("inv", lambda s: 1.0 / s, operators.inv, lambda x: operators.inv_back(x, 1.0), 0.0),
    ("inv", lambda s: 1.0 / s, operators.inv, lambda x: operators.inv_back(x, 1.0), -0.0),
    ("exp", lambda s: s.exp(), operators.exp, operators.exp, 1000.0),
    ("exp", lambda s: s.exp(), operators.exp, operators.exp, operators.EXP_MAX),
    ("sigmoid", lambda s: s.sigmoid(), operators.sigmoid, _sigmoid_grad, 1e308),
    ("sigmoid", lambda s: s.sigmoid(), operators.sigmoid, _sigmoid_grad, -1e308),
]


@pytest.mark.parametrize(
    ("name", "call", "fn", "grad", "x"), EDGES, ids=[f"{e[0]}({e[4]})" for e in EDGES]
)
def test_edges_follow_stage_0(
    name: str,
    call: Callable[[Scalar], Scalar],
    fn: Callable[[float], float],
    grad: Callable[[float], float],
    x: float,
) -> None:
    s = Scalar(x)
    out = call(s)
    assert_close(out.data, fn(x))
    out.backward()
    assert s.derivative is not None
    expected = grad(x)
    if math.isinf(expected):
        assert s.derivative == expected
    else:
        assert_close(s.derivative, expected)


def test_relu_derivative_at_zero_is_zero() -> None:
    x = Scalar(0.0)
    x.relu().backward()
    assert x.derivative == 0.0


@given(floats_in(-1e300, 1e300))
def test_sigmoid_value_and_derivative_stay_finite(x: float) -> None:
    s = Scalar(x)
    out = s.sigmoid()
    out.backward()
    assert 0.0 <= out.data <= 1.0
    assert s.derivative is not None
    assert 0.0 <= s.derivative <= 0.25


@given(floats_in(-1e300, operators.EXP_MAX))
def test_exp_stays_finite_below_overflow(x: float) -> None:
    s = Scalar(x)
    out = s.exp()
    out.backward()
    assert math.isfinite(out.data)
    assert s.derivative is not None
    assert math.isfinite(s.derivative)


# The value itself.


def test_leaf_constant_and_interior() -> None:
    x = Scalar(1.0)
    c = Scalar(2.0, None)
    y = x * c
    assert x.is_leaf() and not x.is_constant() and x.derivative is None
    assert c.is_constant() and not c.is_leaf()
    assert not y.is_leaf() and not y.is_constant()
    assert list(y.parents) == [x, c]
    assert list(x.parents) == [] and list(c.parents) == []
    assert x.unique_id != y.unique_id != c.unique_id


def test_ops_on_constants_or_under_no_grad_give_constants() -> None:
    x = Scalar(1.0)
    c = Scalar(3.0, None)
    assert (c * 2 + c.exp()).is_constant()
    with no_grad():
        assert (x * 2).is_constant()
        assert x.sigmoid().is_constant()
    assert not (x * 2).is_constant()


def test_chain_rule_pairs_inputs_with_derivatives() -> None:
    x, y = Scalar(3.0), Scalar(-2.0)
    out = x * y
    pairs = out.chain_rule(5.0)
    assert [(v.unique_id, d) for v, d in pairs] == [
        (x.unique_id, 5.0 * -2.0),
        (y.unique_id, 5.0 * 3.0),
    ]
    used_twice = Scalar(0.0, ScalarHistory(Add, Context(), [x, x]))
    assert [v for v, _ in used_twice.chain_rule(1.0)] == [x, x]
    pairs = (x * 2.0).chain_rule(1.0)
    assert pairs[0][0] is x
    assert len(pairs) == 2 and pairs[1][0].is_constant() and pairs[1][1] == x.data


def test_backpropagate_skips_the_constants_chain_rule_pairs() -> None:
    x = Scalar(3.0)
    c = Scalar(4.0, back=None)
    (x * c).backward()
    assert x.derivative == 4.0
    assert c.derivative is None


def test_repr_hash_bool_and_float() -> None:
    assert repr(Scalar(2.0)) == "Scalar(2.000000)"
    assert repr(Scalar(-0.5, name="w")) == "Scalar(-0.500000, name='w')"
    x, y = Scalar(1.0), Scalar(1.0)
    assert {x: "x", y: "y"}[y] == "y"
    assert len({x, y}) == 2
    assert bool(Scalar(0.0)) is False and bool(x) is True
    assert bool(x == y) and not bool(x < y)
    assert float(Scalar(2.5)) == 2.5


def test_requires_grad_switches_between_constant_and_leaf() -> None:
    c = Scalar(2.0, None)
    assert c.requires_grad_().is_leaf()
    assert c.requires_grad_(False).is_constant()
    with pytest.raises(RuntimeError, match="leaf"):
        (Scalar(1.0) * 2).requires_grad_(False)


# Bad input.


@pytest.mark.parametrize("bad", ["a", None, [1.0], 1j])
def test_scalar_of_a_non_number_raises_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match=type(bad).__name__):
        Scalar(bad)


@pytest.mark.parametrize("op", BINARY, ids=_op_id)
def test_operand_of_a_wrong_type_raises_type_error(op: OpInfo) -> None:
    x = Scalar(1.0)
    with pytest.raises(TypeError, match="str"):
        op.call(x, "a")
    with pytest.raises(TypeError, match="str"):
        op.call("a", x)


def test_backward_on_a_constant_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="constant"):
        Scalar(1.0, None).backward()
    with pytest.raises(RuntimeError, match="constant"):
        (Scalar(2.0, None) * 3).backward()
    with no_grad():
        y = Scalar(1.0) * 2
    with pytest.raises(RuntimeError, match="constant"):
        y.backward()


def test_backward_needs_a_number() -> None:
    with pytest.raises(TypeError, match="str"):
        (Scalar(1.0) * 2).backward("a")  # type: ignore[arg-type]  # the error under test


def test_derivative_check_reports_a_wrong_derivative() -> None:
    class WrongSquare(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, a: float) -> float:
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            (a,) = ctx.saved_values
            return float(a * d)

    with pytest.raises(AssertionError, match=r"argument 0"):
        derivative_check(WrongSquare.apply, Scalar(3.0))


@pytest.mark.parametrize("module", [autodiff, scalar, scalar_functions], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
