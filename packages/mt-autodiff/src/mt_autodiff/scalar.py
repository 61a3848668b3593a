"""`Scalar`: a float that records the operations applied to it, so ``backward()`` can differentiate.

Primitive operations go through the `ScalarFunction` classes; the rest (``-``, ``/``, ``>``,
the reflected forms) are one-line compositions of them, with no derivative code of their own.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, TypeAlias

from .autodiff import Context, backpropagate, central_difference, no_grad
from .scalar_functions import EQ, LT, Add, Exp, Inv, Log, Mul, Neg, ReLU, ScalarFunction, Sigmoid

__all__ = ["Scalar", "ScalarHistory", "ScalarLike", "derivative_check"]

ScalarLike: TypeAlias = "Scalar | float | int"
"""What the operators accept: Python numbers become constants."""

_ids = itertools.count(1)

_FREED = (
    "Trying to backward through the graph a second time: backward() already freed the "
    "operations that produced {0!r}. Build the expression again to differentiate it again."
)


@dataclass(frozen=True, slots=True, eq=False)
class ScalarHistory:
    """How a `Scalar` was made: the function, its saved context and its inputs.

    ``ScalarHistory()`` (no function) marks a leaf; a `Scalar` whose history is ``None`` is a
    constant.
    """

    last_fn: type[ScalarFunction] | None = None
    ctx: Context | None = None
    inputs: Sequence[Scalar] = ()


def _number(v: object, where: str, expected: str = "an int or float") -> float:
    if type(v) is float:
        return v
    if isinstance(v, Real):
        return float(v)
    raise TypeError(f"{where}: expected {expected}, got {type(v).__name__} ({v!r})")


def _constant(v: object, fn: str) -> Scalar:
    if type(v) is float:
        return Scalar(v, None)
    return Scalar(_number(v, f"unsupported operand for {fn}", "a Scalar, int or float"), None)


class Scalar:
    """A float in a computation graph: leaves receive ``derivative`` from ``backward()``.

    >>> x = Scalar(2.0)
    >>> y = x * x + 3 * x
    >>> y.backward()
    >>> x.derivative
    7.0
    """

    __slots__ = ("__weakref__", "data", "derivative", "history", "name", "unique_id")

    data: float
    derivative: float | None
    history: ScalarHistory | None
    name: str | None
    unique_id: int

    def __init__(
        self,
        v: float,
        back: ScalarHistory | None = ScalarHistory(),
        name: str | None = None,
    ) -> None:
        self.data = _number(v, "Scalar()")
        self.history = back
        self.derivative = None
        self.name = name
        self.unique_id = next(_ids)

    def __repr__(self) -> str:
        if self.name is None:
            return f"Scalar({self.data:f})"
        return f"Scalar({self.data:f}, name={self.name!r})"

    def __hash__(self) -> int:
        return hash(self.unique_id)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return self.data

    # The graph, as the engine sees it (the `Variable` protocol).

    def is_leaf(self) -> bool:
        """True for a value made by the user (it has a history but no function)."""
        return self.history is not None and self.history.last_fn is None

    def is_constant(self) -> bool:
        """True for a value no derivative flows into (``back=None``)."""
        return self.history is None

    def requires_grad_(self, flag: bool = True) -> Scalar:
        """Make a constant a leaf (``True``) or a leaf a constant (``False``), in place."""
        if flag and self.history is None:
            self.history = ScalarHistory()
        elif not flag and not self.is_constant():
            if not self.is_leaf():
                raise RuntimeError(f"only a leaf Scalar can stop requiring grad, not {self!r}")
            self.history = None
        return self

    @property
    def parents(self) -> Sequence[Scalar]:
        """The inputs of the function that made this value (none for leaves and constants)."""
        h = self.history
        if h is None or h.last_fn is None:
            return ()
        if not h.inputs:
            raise RuntimeError(_FREED.format(self))
        return h.inputs

    def chain_rule(self, d_output: float) -> list[tuple[Scalar, float]]:
        """Every input, constants included, with $d_{output} \\cdot \\partial f / \\partial x_i$.

        As in the course, one pair per input; `backpropagate` skips the constants.
        """
        h = self.history
        if h is None or h.last_fn is None:
            raise RuntimeError(f"chain_rule needs a value made by a function, not {self!r}")
        if not h.inputs:
            raise RuntimeError(_FREED.format(self))
        assert h.ctx is not None, "a ScalarHistory with a function needs its Context"
        derivs = h.last_fn._backward(h.ctx, d_output)
        if len(derivs) != len(h.inputs):
            raise RuntimeError(
                f"{h.last_fn.__name__}.backward returned {len(derivs)} derivatives "
                f"for {len(h.inputs)} inputs"
            )
        return list(zip(h.inputs, derivs, strict=True))

    def accumulate_derivative(self, x: float) -> None:
        """Add ``x`` to this leaf's derivative (a value used twice gets both shares)."""
        if not self.is_leaf():
            raise RuntimeError(f"only leaves accumulate derivatives, not {self!r}")
        self.derivative = x if self.derivative is None else self.derivative + x

    def release_graph(self) -> None:
        """Drop the saved context and inputs once backward is done with them."""
        h = self.history
        if h is not None and h.last_fn is not None:
            self.history = ScalarHistory(h.last_fn)

    def backward(self, d_output: float = 1.0) -> None:
        """Add $d_{output} \\cdot \\partial self / \\partial x$ to each leaf $x$ below this value.

        Frees the graph on the way, as PyTorch does: a second ``backward()`` through it raises.
        """
        if self.is_constant():
            raise RuntimeError(
                f"backward() on a constant {self!r}: it depends on no leaf Scalar "
                "(made from Python numbers, from constants only, or under no_grad)"
            )
        backpropagate(self, _number(d_output, "backward()"))

    # Primitives (each one ScalarFunction).

    def __add__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, b)

    def __mul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, b)

    def __neg__(self) -> Scalar:
        return Neg.apply(self)

    def __lt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(self, b)

    def __eq__(self, b: ScalarLike) -> Scalar:  # type: ignore[override]  # element-wise, like PyTorch
        return EQ.apply(self, b)

    def log(self) -> Scalar:
        """Natural logarithm."""
        return Log.apply(self)

    def exp(self) -> Scalar:
        """Exponential."""
        return Exp.apply(self)

    def sigmoid(self) -> Scalar:
        """Logistic sigmoid."""
        return Sigmoid.apply(self)

    def relu(self) -> Scalar:
        """``max(x, 0)``."""
        return ReLU.apply(self)

    # Derived: algebra on the primitives, no calculus.

    def __radd__(self, b: ScalarLike) -> Scalar:
        return Add.apply(b, self)

    def __rmul__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(b, self)

    def __sub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(self, Neg.apply(b))

    def __rsub__(self, b: ScalarLike) -> Scalar:
        return Add.apply(b, Neg.apply(self))

    def __truediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(self, Inv.apply(b))

    def __rtruediv__(self, b: ScalarLike) -> Scalar:
        return Mul.apply(b, Inv.apply(self))

    def __gt__(self, b: ScalarLike) -> Scalar:
        return LT.apply(b, self)


def _close(got: float, expected: float, tol: float = 1e-2) -> bool:
    if math.isnan(got) or math.isnan(expected):
        return math.isnan(got) and math.isnan(expected)
    return got == expected or abs(got - expected) <= tol + tol * abs(expected)


def derivative_check(f: Callable[..., Any], *scalars: Scalar) -> None:
    """Check ``backward()`` of ``f`` against central differences at each input (course tolerance).

    Clears the inputs' derivatives first; an input ``f`` does not use must get 0 (or nothing).

    >>> derivative_check(lambda x, y: x * y.exp(), Scalar(1.5), Scalar(-0.5))
    """
    for x in scalars:
        x.derivative = None
    out = f(*scalars)
    if not isinstance(out, Scalar):
        raise TypeError(f"derivative_check needs f to return a Scalar, got {type(out).__name__}")
    if not out.is_constant():
        out.backward()
    values = [x.data for x in scalars]

    def on_floats(*xs: float) -> float:
        with no_grad():
            y = f(*[Scalar(v, None) for v in xs])
        return y.data if isinstance(y, Scalar) else _number(y, "derivative_check")

    for i, x in enumerate(scalars):
        got = 0.0 if x.derivative is None else x.derivative
        expected = central_difference(on_floats, *values, arg=i)
        if not _close(got, expected):
            raise AssertionError(
                f"derivative of f at {values} with respect to argument {i}: backward gave "
                f"{got!r}, central difference gives {expected!r}"
            )
