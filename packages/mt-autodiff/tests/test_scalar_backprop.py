"""Backpropagation through whole graphs: random trees, deep chains, sharing, constants, freeing."""

from __future__ import annotations

import threading
import weakref

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_autodiff import (
    Context,
    Scalar,
    ScalarFunction,
    backpropagate,
    derivative_check,
    is_grad_enabled,
    no_grad,
    topological_sort,
)
from mt_autodiff.testing import Expr, expressions, expressions_at
from mt_operators.testing import assert_close, floats_in


@given(expressions_at(3, max_depth=8))
def test_random_expression_trees(case: tuple[Expr, tuple[float, ...]]) -> None:
    expr, xs = case
    scalars = [Scalar(x) for x in xs]
    derivative_check(expr, *scalars)
    _, grad = expr.reference(*xs)
    for s, g in zip(scalars, grad, strict=True):
        assert_close(s.derivative or 0.0, g)


@given(expressions(3, max_depth=8), st.tuples(*[floats_in(-1e3, 1e3)] * 3))
def test_topological_order_on_any_tree(expr: Expr, xs: tuple[float, ...]) -> None:
    out: Scalar = expr(*[Scalar(x) for x in xs])
    if out.is_constant():
        return
    order = topological_sort(out)
    position = {v.unique_id: i for i, v in enumerate(order)}
    assert order[0] is out
    assert len(position) == len(order)
    for v in order:
        assert not v.is_constant()
        for p in v.parents:
            assert p.is_constant() or position[p.unique_id] > position[v.unique_id]
    out.backward()


def _diamond(x: Scalar) -> tuple[Scalar, list[Scalar]]:
    a = x * 2.0
    b = a + 1.0
    c = a * 3.0
    return b * c, [a, b, c]


def test_topological_sort_of_a_diamond_is_deterministic() -> None:
    x = Scalar(1.0)
    d, (a, b, c) = _diamond(x)
    ids = [v.unique_id for v in topological_sort(d)]
    assert ids == [d.unique_id, c.unique_id, b.unique_id, a.unique_id, x.unique_id]
    assert ids == [v.unique_id for v in topological_sort(d)]


def test_derivatives_accumulate_over_every_use() -> None:
    x = Scalar(3.0)
    (x * x).backward()
    assert x.derivative == 2 * 3.0
    y = Scalar(0.5)
    (y + y + y).backward()
    assert y.derivative == 3.0
    z = Scalar(1.5)
    d, _ = _diamond(z)
    d.backward()
    assert z.derivative is not None
    assert_close(z.derivative, 24 * 1.5 + 6)
    derivative_check(lambda v: _diamond(v)[0], Scalar(1.5))


def test_separate_backwards_add_up_on_a_leaf() -> None:
    x = Scalar(2.0)
    (x * 3.0).backward()
    (x * 4.0).backward(0.5)
    assert x.derivative == 3.0 + 4.0 * 0.5


def test_only_leaves_are_written_and_constants_get_nothing() -> None:
    x = Scalar(2.0)
    c = Scalar(5.0, None)
    frozen = Scalar(7.0).requires_grad_(False)
    d, inner = _diamond(x * c + frozen)
    d.backward()
    assert x.derivative is not None
    assert c.derivative is None and frozen.derivative is None
    assert all(v.derivative is None for v in inner)
    assert d.derivative is None


def test_backward_of_a_leaf_writes_the_leaf() -> None:
    x = Scalar(4.0)
    assert [v.unique_id for v in topological_sort(x)] == [x.unique_id]
    x.backward(2.0)
    assert x.derivative == 2.0


def test_a_chain_of_100_000_operations() -> None:
    n = 100_000
    x = Scalar(0.3)
    y = x
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 0.5
        if i == n // 2:
            middle = weakref.ref(y)
    assert middle() is not None
    y.backward()
    assert x.derivative is not None
    assert_close(x.derivative, 1.0001 ** (n // 2))
    assert middle() is None
    unfreed = x
    for _ in range(n):
        unfreed = unfreed + 1.0
    del unfreed


def test_dropping_the_result_frees_the_intermediates() -> None:
    x = Scalar(0.5)
    y = x.exp()
    z = y * 2.0
    ref = weakref.ref(y)
    del y
    assert ref() is not None
    del z
    assert ref() is None


def test_backward_frees_the_graph() -> None:
    x = Scalar(0.5)
    y = x.exp()
    z = (y * 2.0).sigmoid()
    ref = weakref.ref(y)
    del y
    z.backward()
    assert ref() is None
    assert not z.is_leaf() and not z.is_constant()
    assert x.derivative is not None
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()


def test_backward_through_a_freed_intermediate_raises() -> None:
    x = Scalar(0.5)
    y = x * x
    (y + 1.0).backward()
    with pytest.raises(RuntimeError, match="second time"):
        (y * 3.0).backward()


def test_no_grad_records_nothing_and_is_per_thread() -> None:
    x = Scalar(1.0)
    seen: list[bool] = []
    with no_grad():
        assert not is_grad_enabled()
        worker = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        worker.start()
        worker.join()
        with no_grad():
            assert (x * 2).is_constant()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert seen == [True]

    @no_grad()
    def double(v: Scalar) -> Scalar:
        return v * 2

    assert double(x).is_constant()
    assert is_grad_enabled()


def test_backward_runs_with_grad_off() -> None:
    seen: list[bool] = []

    class Spy(ScalarFunction):
        @staticmethod
        def forward(ctx: Context, a: float) -> float:
            return a

        @staticmethod
        def backward(ctx: Context, d: float) -> float:
            seen.append(is_grad_enabled())
            return d

    x = Scalar(1.0)
    Spy.apply(x).backward()
    assert seen == [False]
    assert x.derivative == 1.0
    assert is_grad_enabled()


def test_backpropagate_is_the_engine_behind_backward() -> None:
    x = Scalar(2.0)
    y = x * x
    backpropagate(y, 3.0)
    assert x.derivative == 3.0 * 2 * 2.0
