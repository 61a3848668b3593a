"""Test utilities shared by every stage: the table of differentiable ops and float strategies.

Each op is declared once (the course's ``MathTest``, PyTorch's ``OpInfo``): how to call it on a
`Scalar` or `Tensor` (``call``), its float reference (``fn``) and the reference partial
derivatives (``grad``). Every stage's tests iterate `OPS`, so a new op is covered everywhere by
adding one entry. Importing this module also registers the hypothesis profiles ``ci`` (the
default: bounded, derandomized) and ``thorough``; set ``HYPOTHESIS_PROFILE`` to choose.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from . import operators

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    derandomize=False,  # stated: under CI=1 hypothesis's own defaults derandomize
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@dataclass(frozen=True)
class OpInfo:
    """One differentiable op: call it on values, compute it on floats, and differentiate it.

    ``domain`` is the interval inputs are drawn from; ``avoid`` marks inputs too close to a
    point where the derivative jumps (``relu`` at 0, ``lt`` where the arguments meet), so that
    central differences are meaningful. ``grad`` is ``None`` for piecewise-constant ops, whose
    derivative is 0 wherever it exists.
    """

    name: str
    arity: int
    call: Callable[..., Any]
    fn: Callable[..., float]
    grad: Callable[..., tuple[float, ...]] | None
    domain: tuple[float, float] = (-10.0, 10.0)
    avoid: Callable[..., bool] | None = None
    scalar: bool = True
    """Whether `Scalar` has the op too (the course's ops); others are tensor-only."""

    def partials(self, *xs: float) -> tuple[float, ...]:
        """The reference partial derivatives at ``xs``."""
        if self.grad is None:
            return (0.0,) * self.arity
        return self.grad(*xs)


def _near(a: float, b: float, eps: float = 1e-3) -> bool:
    return abs(a - b) < eps


TENSOR_METHOD = {"max": "maximum"}
"""A binary primitive's tensor method where it is not named as the primitive (the course's
``max`` is a reduction)."""


def _call(p: operators.Primitive) -> Callable[..., Any]:
    """How tests call a primitive on tensors: the method ``x.<name>()`` of a unary one; for a
    binary one Python's operator of that name (``x ** y``, so numbers work on either side),
    else the method ``x.<name>(y)`` (a number ``x`` made a tensor)."""
    if p.arity == 1:
        return lambda a: getattr(a, p.name)()
    if hasattr(operator, p.name):
        return getattr(operator, p.name)  # type: ignore[no-any-return]  # operator's functions
    method = TENSOR_METHOD.get(p.name, p.name)

    def call(a: Any, b: Any) -> Any:
        if isinstance(a, int | float):
            a = b.zeros((1,)) + a  # a number on the left, as a one-element tensor like b
        return getattr(a, method)(b)

    return call


def _avoid(p: operators.Primitive) -> Callable[..., bool] | None:
    """Inputs near a kink: $x$ near one for a unary primitive, $x - y$ for a binary one."""
    kinks = p.kinks
    if not kinks:
        return None
    if p.arity == 1:
        return lambda x: any(_near(x, k) for k in kinks)
    return lambda x, y: any(_near(x - y, k) for k in kinks)


def _from_primitive(p: operators.Primitive) -> OpInfo:
    """The declaration of a primitive of the table (see `_call` for how it is called)."""
    back, partials = p.back, p.partials
    grad: Callable[..., tuple[float, ...]] | None = None
    if back is not None:
        grad = lambda x: (back(x, 1.0),)
    elif partials is not None:
        grad = lambda x, y: (partials[0](x, y), partials[1](x, y))
    return OpInfo(
        p.name, p.arity, _call(p), p.fn, grad, domain=p.domain, avoid=_avoid(p), scalar=False
    )


POSITIVE = (0.1, 100.0)

OPS: tuple[OpInfo, ...] = (
    OpInfo("neg", 1, lambda a: -a, operators.neg, lambda x: (-1.0,)),
    OpInfo(
        "inv",
        1,
        lambda a: 1.0 / a,
        operators.inv,
        lambda x: (-1.0 / (x * x),),
        domain=(0.5, 10.0),
    ),
    OpInfo("log", 1, lambda a: a.log(), operators.log, lambda x: (1.0 / x,), domain=POSITIVE),
    OpInfo(
        "exp",
        1,
        lambda a: a.exp(),
        operators.exp,
        lambda x: (operators.exp(x),),
        domain=(-5.0, 5.0),
    ),
    OpInfo(
        "sigmoid",
        1,
        lambda a: a.sigmoid(),
        operators.sigmoid,
        lambda x: (operators.sigmoid(x) * (1.0 - operators.sigmoid(x)),),
    ),
    OpInfo(
        "relu",
        1,
        lambda a: a.relu(),
        operators.relu,
        lambda x: (1.0 if x > 0 else 0.0,),
        avoid=lambda x: _near(x, 0.0),
    ),
    OpInfo("add", 2, lambda a, b: a + b, operators.add, lambda x, y: (1.0, 1.0)),
    OpInfo("sub", 2, lambda a, b: a - b, lambda x, y: x - y, lambda x, y: (1.0, -1.0)),
    OpInfo("mul", 2, lambda a, b: a * b, operators.mul, lambda x, y: (y, x)),
    OpInfo(
        "div",
        2,
        lambda a, b: a / b,
        lambda x, y: x / y,
        lambda x, y: (1.0 / y, -x / (y * y)),
        domain=(0.5, 10.0),
    ),
    OpInfo("lt", 2, lambda a, b: a < b, operators.lt, None, avoid=_near),
    OpInfo("gt", 2, lambda a, b: a > b, lambda x, y: operators.lt(y, x), None, avoid=_near),
    OpInfo("eq", 2, lambda a, b: a == b, operators.eq, None, avoid=_near),
)
_COURSE = {op.name for op in OPS} | {"id"}
OPS += tuple(
    _from_primitive(p)
    for p in operators.PRIMITIVES
    if p.name not in _COURSE and (p.arity == 1 or p.partials is not None)
)
"""Every differentiable element-wise op, in one table: the course's ops (on `Scalar` and
`Tensor`), then every other primitive of `operators.PRIMITIVES` (tensor methods or operators)."""

OPS_BY_NAME: dict[str, OpInfo] = {op.name: op for op in OPS}

small_floats = st.floats(min_value=-100.0, max_value=100.0, allow_nan=False, allow_infinity=False)
"""Finite floats of moderate size, for laws of the operators."""


def floats_in(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in ``[lo, hi]``."""
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


def op_inputs(op: OpInfo) -> st.SearchStrategy[tuple[float, ...]]:
    """Argument tuples for ``op`` inside its domain and away from its kinks."""
    args = st.tuples(*[floats_in(*op.domain)] * op.arity)
    if op.avoid is None:
        return args
    avoid = op.avoid
    return args.filter(lambda xs: not avoid(*xs))


def assert_close(actual: float, expected: float, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Fail with both values when ``actual`` is not within tolerance of ``expected``."""
    if math.isnan(expected) and math.isnan(actual):
        return
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol):
        raise AssertionError(f"expected {expected!r}, got {actual!r} (rtol={rtol}, atol={atol})")
