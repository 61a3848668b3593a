"""Scalar operators on Python floats, and the higher-order helpers built from them.

Domain rule (the same on every backend): values outside a function's domain follow IEEE-754
as numpy does, never an exception: ``log(0) = -inf``, ``log(x < 0) = nan``, ``inv(0) = ±inf``
(the sign of the zero), ``exp(x) = inf`` past overflow. ``relu`` has derivative 0 at 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

__all__ = [
    "add",
    "addLists",
    "central_difference",
    "eq",
    "exp",
    "exp_back",
    "id",
    "inv",
    "inv_back",
    "is_close",
    "log",
    "log_back",
    "lt",
    "map",
    "max",
    "mul",
    "neg",
    "negList",
    "prod",
    "reduce",
    "relu",
    "relu_back",
    "sigmoid",
    "sigmoid_back",
    "sum",
    "zipWith",
]

EXP_MAX = 709.782712893384
"""The largest float whose ``exp`` is finite."""


def mul(x: float, y: float) -> float:
    """$x \\cdot y$."""
    return x * y


def id(x: float) -> float:  # noqa: A001 (the course's name for identity)
    """The identity."""
    return x


def add(x: float, y: float) -> float:
    """$x + y$."""
    return x + y


def neg(x: float) -> float:
    """$-x$."""
    return -x


def lt(x: float, y: float) -> float:
    """1.0 if $x < y$ else 0.0."""
    return 1.0 if x < y else 0.0


def eq(x: float, y: float) -> float:
    """1.0 if $x = y$ else 0.0."""
    return 1.0 if x == y else 0.0


def max(x: float, y: float) -> float:  # noqa: A001 (the course's name)
    """The larger of $x$ and $y$; NaN if either is NaN (as numpy's ``maximum``)."""
    return x if x > y or x != x else y


def is_close(x: float, y: float) -> float:
    """1.0 if $|x - y| < 10^{-2}$ else 0.0 (the course's tolerance)."""
    return 1.0 if abs(x - y) < 1e-2 else 0.0


def exp(x: float) -> float:
    """$e^x$, ``inf`` past overflow instead of ``OverflowError`` (NaN stays NaN)."""
    return math.inf if x > EXP_MAX else math.exp(x)


def sigmoid(x: float) -> float:
    """$1 / (1 + e^{-x})$, computed on the side where the exponential cannot overflow.

    >>> sigmoid(0.0)
    0.5
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    """$\\max(x, 0)$; NaN stays NaN."""
    return 0.0 if x <= 0.0 else x


def log(x: float) -> float:
    """Natural log; ``-inf`` at 0 and ``nan`` below it (the domain rule)."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


def inv(x: float) -> float:
    """$1 / x$; ``±inf`` at ±0 (the domain rule)."""
    if x == 0.0:
        return math.copysign(math.inf, x)
    return 1.0 / x


def log_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\log x = d / x$."""
    return d * inv(x)


def inv_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx} x^{-1} = -d / x^2$."""
    return -d * inv(x * x)


def relu_back(x: float, d: float) -> float:
    """$d$ where $x > 0$, else 0."""
    return d if x > 0.0 else 0.0


def sigmoid_back(x: float, d: float) -> float:
    """$d \\cdot \\sigma(x)(1 - \\sigma(x))$."""
    s = sigmoid(x)
    return d * s * (1.0 - s)


def exp_back(x: float, d: float) -> float:
    """$d \\cdot e^x$."""
    return d * exp(x)


def central_difference(
    f: Callable[..., float], *vals: float, arg: int = 0, epsilon: float = 1e-6
) -> float:
    """$\\partial f / \\partial x_{arg}$ by the central difference $(f(x+h) - f(x-h)) / 2h$."""
    up = [v + epsilon if i == arg else v for i, v in enumerate(vals)]
    down = [v - epsilon if i == arg else v for i, v in enumerate(vals)]
    return (f(*up) - f(*down)) / (2.0 * epsilon)


# Higher-order helpers (the course's Task 0.3).


def map(fn: Callable[[float], float]) -> Callable[[Iterable[float]], list[float]]:  # noqa: A001
    """Lift ``fn`` to lists: ``map(neg)([1, 2]) == [-1, -2]``."""

    def apply(ls: Iterable[float]) -> list[float]:
        return [fn(x) for x in ls]

    return apply


def zipWith(  # noqa: N802 (the course's name)
    fn: Callable[[float, float], float],
) -> Callable[[Iterable[float], Iterable[float]], list[float]]:
    """Lift a binary ``fn`` to pairs of lists, element by element."""

    def apply(ls1: Iterable[float], ls2: Iterable[float]) -> list[float]:
        return [fn(x, y) for x, y in zip(ls1, ls2, strict=True)]

    return apply


def reduce(fn: Callable[[float, float], float], start: float) -> Callable[[Iterable[float]], float]:
    """Fold a list from the left: ``reduce(add, 0.0)([1, 2, 3]) == 6``."""

    def apply(ls: Iterable[float]) -> float:
        acc = start
        for x in ls:
            acc = fn(acc, x)
        return acc

    return apply


def negList(ls: Iterable[float]) -> list[float]:  # noqa: N802 (the course's name)
    """Negate every element."""
    return map(neg)(ls)


def addLists(ls1: Iterable[float], ls2: Iterable[float]) -> list[float]:  # noqa: N802
    """Add two lists element by element."""
    return zipWith(add)(ls1, ls2)


def sum(ls: Iterable[float]) -> float:  # noqa: A001 (the course's name)
    """Sum of a list (0.0 when empty)."""
    return reduce(add, 0.0)(ls)


def prod(ls: Iterable[float]) -> float:
    """Product of a list (1.0 when empty)."""
    return reduce(mul, 1.0)(ls)
