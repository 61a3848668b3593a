"""The course's ``MathTest`` and ``MathTestVariable``: its test expressions, each written once.

An expression is a function of a table of primitives and its arguments. `MathTest` evaluates it
with the stage-0 float functions (each op's ``fn`` in `testing.OPS`), `MathTestVariable` with the
same ops called on Scalars or Tensors (each op's ``call``), so the two classes cannot drift apart
and no primitive is declared a second time. The course's tests use the classes through
``_tests()`` (name and function) and ``_comp_testing()`` (name, float reference, variable form).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import operators
from .testing import OPS_BY_NAME, OpInfo

Fn = Callable[..., Any]


@dataclass(frozen=True)
class Primitives:
    """The named functions an expression may call (arithmetic is Python's own operators)."""

    inv: Fn
    sigmoid: Fn
    log: Fn
    relu: Fn
    exp: Fn
    lt: Fn
    gt: Fn
    eq: Fn
    sum: Fn
    mean: Fn
    mean_all: Fn

    @classmethod
    def from_ops(cls, pick: Callable[[OpInfo], Fn], reductions: tuple[Fn, Fn, Fn]) -> Primitives:
        """The element-wise primitives taken from `OPS` by ``pick``, and the reductions
        ``(sum, mean, mean_all)``."""
        names = ("inv", "sigmoid", "log", "relu", "exp", "lt", "gt", "eq")
        ops = {name: pick(OPS_BY_NAME[name]) for name in names}
        total, mean, mean_all = reductions
        return cls(**ops, sum=total, mean=mean, mean_all=mean_all)


def _float_mean(a: Sequence[float]) -> float:
    return operators.sum(a) / float(len(a))


FLOATS = Primitives.from_ops(lambda op: op.fn, (operators.sum, _float_mean, _float_mean))
"""Stage 0's float functions; reductions over a list of floats."""
VARIABLES = Primitives.from_ops(
    lambda op: op.call, (lambda a: a.sum(0), lambda a: a.mean(0), lambda a: a.mean())
)
"""The same ops called on a `Scalar` or `Tensor`; reductions over a tensor's first dim."""

ONE_ARG: dict[str, Fn] = {
    "neg": lambda p, a: -a,
    "addConstant": lambda p, a: 5 + a,
    "square": lambda p, a: a * a,
    "cube": lambda p, a: a * a * a,
    "subConstant": lambda p, a: a - 5,
    "multConstant": lambda p, a: 5 * a,
    "div": lambda p, a: a / 5,
    "inv": lambda p, a: p.inv(a + 3.5),
    "sig": lambda p, a: p.sigmoid(a),
    "log": lambda p, a: p.log(a + 100000),
    "relu": lambda p, a: p.relu(a + 5.5),
    "exp": lambda p, a: p.exp(a - 200),
    "explog": lambda p, a: p.log(a + 100000) + p.exp(a - 200),
    "complex": lambda p, a: p.log(p.sigmoid(p.relu(p.relu(a * 10 + 7) * 6 + 5) * 10)) / 50,
}
"""Functions of one argument (shifted into each primitive's domain, as the course does)."""
TWO_ARG: dict[str, Fn] = {
    "add2": lambda p, a, b: a + b,
    "mul2": lambda p, a, b: a * b,
    "div2": lambda p, a, b: a / (b + 5.5),
    "gt2": lambda p, a, b: p.gt(a + 1.2, b),
    "lt2": lambda p, a, b: p.lt(a + 1.2, b),
    "eq2": lambda p, a, b: p.eq(a, b + 5.5),
}
"""Functions of two arguments (the course names them with a trailing 2)."""
REDUCTIONS: dict[str, Fn] = {
    "sum_red": lambda p, a: p.sum(a),
    "mean_red": lambda p, a: p.mean(a),
    "mean_full_red": lambda p, a: p.mean_all(a),
}
"""Reductions (the course names them with a trailing ``red``)."""

Test = tuple[str, Fn]
Comparison = tuple[str, Fn, Fn]


def _bind(name: str, expr: Fn, prims: Primitives) -> staticmethod[..., Any]:
    def method(*args: Any) -> Any:
        return expr(prims, *args)

    method.__name__ = method.__qualname__ = name
    return staticmethod(method)


class MathTest:
    """The course's test functions on floats: the reference side of each comparison."""

    @classmethod
    def _tests(cls) -> tuple[list[Test], list[Test], list[Test]]:
        """``(one-argument, two-argument, reduction)`` lists of ``(name, function)``."""
        one, two, red = (
            [(name, getattr(cls, name)) for name in sorted(table)]
            for table in (ONE_ARG, TWO_ARG, REDUCTIONS)
        )
        return one, two, red

    @classmethod
    def _comp_testing(cls) -> tuple[list[Comparison], list[Comparison], list[Comparison]]:
        """The same lists as ``(name, float reference, this class's function)``."""
        one, two, red = (
            [(name, getattr(MathTest, name), fn) for name, fn in tests] for tests in cls._tests()
        )
        return one, two, red


class MathTestVariable(MathTest):
    """The same test functions on `Scalar` or `Tensor` values."""


for _name, _expr in (ONE_ARG | TWO_ARG | REDUCTIONS).items():
    setattr(MathTest, _name, _bind(_name, _expr, FLOATS))
    setattr(MathTestVariable, _name, _bind(_name, _expr, VARIABLES))

__all__ = ["ONE_ARG", "REDUCTIONS", "TWO_ARG", "MathTest", "MathTestVariable", "Primitives"]
