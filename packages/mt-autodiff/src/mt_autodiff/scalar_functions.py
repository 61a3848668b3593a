"""The differentiable primitives of `Scalar`: each a class, ``forward`` and ``backward`` together.

Only these need calculus; every other operation on `Scalar` (``-``, ``/``, ``>``, ...) is composed
from them. A new primitive is one more subclass of `ScalarFunction` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from mt_operators import operators

from . import scalar
from .autodiff import Context, is_grad_enabled

__all__ = [
    "EQ",
    "LT",
    "Add",
    "Exp",
    "Inv",
    "Log",
    "Mul",
    "Neg",
    "ReLU",
    "ScalarFunction",
    "Sigmoid",
]


class ScalarFunction:
    """A function on floats that `Scalar` can differentiate, called through `apply`.

    Subclasses define static ``forward(ctx, *floats) -> float`` and ``backward(ctx, d) ->``
    one float per input (a bare float when there is one input), PyTorch's vocabulary.
    """

    forward: ClassVar[Callable[..., float]]
    backward: ClassVar[Callable[..., float | tuple[float, ...]]]

    @classmethod
    def _forward(cls, ctx: Context, *inps: float) -> float:
        return cls.forward(ctx, *inps)

    @classmethod
    def _backward(cls, ctx: Context, d_out: float) -> tuple[float, ...]:
        d = cls.backward(ctx, d_out)
        return d if isinstance(d, tuple) else (d,)

    @classmethod
    def apply(cls, *vals: scalar.ScalarLike) -> scalar.Scalar:
        """Run ``forward`` on the values and record the step, unless nothing needs a derivative.

        Python numbers become constants; the result is a constant when every input is one or
        grad mode is off (`no_grad`).

        >>> from mt_autodiff import Scalar
        >>> Mul.apply(Scalar(2.0), 3.0)
        Scalar(6.000000)
        """
        Scalar = scalar.Scalar
        scalars: list[scalar.Scalar] = []
        tracked = False
        for v in vals:
            s = v if isinstance(v, Scalar) else scalar._constant(v, cls.__name__)
            tracked = tracked or s.history is not None
            scalars.append(s)
        need_grad = tracked and is_grad_enabled()
        ctx = Context(no_grad=not need_grad)
        c = cls._forward(ctx, *[s.data for s in scalars])
        if not need_grad:
            return Scalar(c, None)
        return Scalar(c, scalar.ScalarHistory(cls, ctx, tuple(scalars)))


class Add(ScalarFunction):
    """$f(x, y) = x + y$; $\\partial f/\\partial x = \\partial f/\\partial y = 1$."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.add(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return d_output, d_output


class Mul(ScalarFunction):
    """$f(x, y) = x y$; $\\partial f/\\partial x = y$, $\\partial f/\\partial y = x$."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        ctx.save_for_backward(a, b)
        return operators.mul(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        a, b = ctx.saved_values
        return operators.mul(d_output, b), operators.mul(d_output, a)


class Inv(ScalarFunction):
    """$f(x) = 1/x$; $f'(x) = -1/x^2$ (``±inf`` at 0, stage 0's domain rule)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.inv(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.inv_back(a, d_output)


class Neg(ScalarFunction):
    """$f(x) = -x$; $f'(x) = -1$."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        return operators.neg(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        return operators.neg(d_output)


class Log(ScalarFunction):
    """$f(x) = \\ln x$; $f'(x) = 1/x$ (``-inf``/``nan`` values outside the domain, no error)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.log(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.log_back(a, d_output)


class Exp(ScalarFunction):
    """$f(x) = e^x$; $f'(x) = e^x$, reusing the saved output."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (out,) = ctx.saved_values
        return operators.mul(d_output, out)


class Sigmoid(ScalarFunction):
    """$\\sigma(x) = 1/(1 + e^{-x})$; $\\sigma' = \\sigma(1 - \\sigma)$, from the saved output."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        out = operators.sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (out,) = ctx.saved_values
        return operators.mul(d_output, out * (1.0 - out))


class ReLU(ScalarFunction):
    """$f(x) = \\max(x, 0)$; $f'(x) = [x > 0]$, so $f'(0) = 0$ (stage 0's rule, as in PyTorch)."""

    @staticmethod
    def forward(ctx: Context, a: float) -> float:
        ctx.save_for_backward(a)
        return operators.relu(a)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> float:
        (a,) = ctx.saved_values
        return operators.relu_back(a, d_output)


class LT(ScalarFunction):
    """$f(x, y) = [x < y]$ as 1.0/0.0: piecewise constant, so both derivatives are 0."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.lt(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0


class EQ(ScalarFunction):
    """$f(x, y) = [x = y]$ as 1.0/0.0: piecewise constant, so both derivatives are 0."""

    @staticmethod
    def forward(ctx: Context, a: float, b: float) -> float:
        return operators.eq(a, b)

    @staticmethod
    def backward(ctx: Context, d_output: float) -> tuple[float, float]:
        return 0.0, 0.0
