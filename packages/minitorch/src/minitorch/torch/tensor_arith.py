"""The face's `Tensor`, arithmetic layer: operators, comparisons, logical operators and
element-wise functions, with PyTorch's dtype promotion.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import mt_nn
import mt_tensor as mt

from . import dtypes
from .dtypes import BOOL, FLOATING
from .dtypes import dtype as DType  # noqa: N812 (the class; `dtype` is a property here)
from .tensor_base import (
    Number,
    UnsupportedError,
    _dim,
    _example,
    _scaled,
    is_face_tensor,
    label,
    unwrap,
    wrap,
)
from .tensor_core import TensorCore

if TYPE_CHECKING:
    from .tensors import Tensor


class Arithmetic(TensorCore):
    """Operators, comparisons, logical operators and element-wise functions."""

    # Arithmetic: dtype by PyTorch's promotion, values by the stages.

    def _other_dtype(self, other: Any) -> DType:
        if is_face_tensor(other):
            if other.ndim == 0 and self.ndim > 0:
                return dtypes.with_number(self._dtype, _example(other._dtype))
            if self.ndim == 0 and other.ndim > 0:
                return dtypes.with_number(other._dtype, _example(self._dtype))
            return dtypes.promote(self._dtype, other._dtype)
        if isinstance(other, numbers.Real):
            return dtypes.with_number(self._dtype, other)
        raise TypeError(f"unsupported operand type: 'Tensor' and {type(other).__name__!r}")

    def _binary(
        self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor], name: str
    ) -> Tensor:
        dt = self._other_dtype(other)
        if name == "sub" and dt.category == BOOL:
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported"
            )
        out = fn(self._t, unwrap(other, self))
        if name == "add" and dt.category == BOOL:
            out = 1.0 - (out == 0.0)
        return label(wrap(out, dt), f"{name.capitalize()}Backward0")

    def _reflected(
        self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor], name: str
    ) -> Tensor:
        return self._binary(other, lambda a, b: fn(b, a), name)

    def __add__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a + b, "add")

    def __radd__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a + b, "add")

    def __sub__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a - b, "sub")

    def __rsub__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a - b, "sub")

    def __mul__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a * b, "mul")

    def __rmul__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a * b, "mul")

    def __truediv__(self, o: Any) -> Tensor:
        return self._float(cast("Tensor", self))._binary(o, lambda a, b: a / b, "div")

    def __rtruediv__(self, o: Any) -> Tensor:
        return self._float(cast("Tensor", self))._reflected(o, lambda a, b: a / b, "div")

    def __floordiv__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a // b, "floordiv")

    def __rfloordiv__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a // b, "floordiv")

    def __mod__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a % b, "mod")

    def __pow__(self, o: Any) -> Tensor:
        if isinstance(o, numbers.Integral) and o < 0 and self._dtype.category != FLOATING:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        exponent = o._t if is_face_tensor(o) else o
        name = "PowBackward1" if is_face_tensor(o) else "PowBackward0"
        return label(wrap(self._t**exponent, self._other_dtype(o)), name)

    def __rpow__(self, o: Any) -> Tensor:
        return wrap(float(o) ** self._t, self._other_dtype(o))

    def __matmul__(self, o: Any) -> Tensor:
        return self.matmul(o)

    def __rmatmul__(self, o: Any) -> Tensor:
        if not is_face_tensor(o):
            raise TypeError(f"unsupported operand type(s) for @: {type(o).__name__!r} and 'Tensor'")
        return o.matmul(cast("Tensor", self))

    def __neg__(self) -> Tensor:
        if self._dtype.category == BOOL:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
        return label(wrap(-self._t, self._dtype), "NegBackward0")

    def __pos__(self) -> Tensor:
        return cast("Tensor", self)

    def __abs__(self) -> Tensor:
        return self.abs()

    def _float(self, out: Tensor) -> Tensor:
        """``out`` as the default float dtype when it is an integer tensor (true division)."""
        return out if out._dtype.is_floating_point else wrap(out._t, dtypes.get_default_dtype())

    def _compare(self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor]) -> Tensor:
        self._other_dtype(other)
        return wrap(fn(self._t, unwrap(other, self)), dtypes.bool_).detach()

    def __lt__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: a < b)

    def __gt__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: a > b)

    def __le__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: (a < b) + (a == b))

    def __ge__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: (a > b) + (a == b))

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]  # element-wise, as PyTorch
        return self._compare(o, lambda a, b: a == b)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]  # element-wise, as PyTorch
        return self._compare(o, lambda a, b: 1.0 - (a == b))

    __hash__ = object.__hash__

    def _logical(self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor]) -> Tensor:
        if self._dtype.category != BOOL or not (
            isinstance(other, builtins.bool)
            or (is_face_tensor(other) and other.dtype.category == BOOL)
        ):
            raise UnsupportedError("bitwise operators on integer tensors (only bool tensors here)")
        return wrap(fn(self._t, unwrap(other, self)), dtypes.bool_)

    def __and__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: a * b)

    __rand__ = __and__

    def __or__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: (a + b) > 0.0)

    __ror__ = __or__

    def __xor__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: 1.0 - (a == b))

    def __invert__(self) -> Tensor:
        if self._dtype.category != BOOL:
            raise UnsupportedError("~ on integer tensors (bitwise not); only bool tensors here")
        return wrap(1.0 - self._t, dtypes.bool_)

    def logical_not(self) -> Tensor:
        return (self == 0).detach()

    def eq(self, o: Any) -> Tensor:
        return self.__eq__(o)

    def ne(self, o: Any) -> Tensor:
        return self.__ne__(o)

    def lt(self, o: Any) -> Tensor:
        return self.__lt__(o)

    def le(self, o: Any) -> Tensor:
        return self.__le__(o)

    def gt(self, o: Any) -> Tensor:
        return self.__gt__(o)

    def ge(self, o: Any) -> Tensor:
        return self.__ge__(o)

    def add(self, o: Any, alpha: Number = 1) -> Tensor:
        return self.__add__(_scaled(o, alpha))

    def sub(self, o: Any, alpha: Number = 1) -> Tensor:
        return self.__sub__(_scaled(o, alpha))

    def mul(self, o: Any) -> Tensor:
        return self.__mul__(o)

    def div(self, o: Any, *, rounding_mode: str | None = None) -> Tensor:
        """True division, or rounded ``"trunc"`` (towards zero) or ``"floor"``."""
        if rounding_mode is None:
            return self.__truediv__(o)
        if rounding_mode == "floor":
            return self.__floordiv__(o)
        if rounding_mode == "trunc":
            return wrap((self._t / unwrap(o, self)).trunc(), self._other_dtype(o))
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )

    def pow(self, o: Any) -> Tensor:
        return self.__pow__(o)

    def neg(self) -> Tensor:
        return -self

    def reciprocal(self) -> Tensor:
        return self._unary_float(lambda t: t.reciprocal(), "Reciprocal")

    def square(self) -> Tensor:
        return label(wrap(self._t.square(), self._dtype), "PowBackward0")

    # Element-wise functions.

    def _unary_float(self, fn: Callable[[mt.Tensor], mt.Tensor], name: str) -> Tensor:
        dt = self._dtype if self._dtype.is_floating_point else dtypes.get_default_dtype()
        return label(wrap(fn(self._t), dt), f"{name}Backward0")

    def exp(self) -> Tensor:
        return self._unary_float(lambda t: t.exp(), "Exp")

    def log(self) -> Tensor:
        return self._unary_float(lambda t: t.log(), "Log")

    def sqrt(self) -> Tensor:
        return self._unary_float(lambda t: t.sqrt(), "Sqrt")

    def sigmoid(self) -> Tensor:
        return self._unary_float(lambda t: t.sigmoid(), "Sigmoid")

    def tanh(self) -> Tensor:
        return self._unary_float(lambda t: t.tanh(), "Tanh")

    def relu(self) -> Tensor:
        return label(wrap(self._t.relu(), self._dtype), "ReluBackward0")

    def abs(self) -> Tensor:
        return label(wrap(self._t.abs(), self._dtype), "AbsBackward0")

    def sin(self) -> Tensor:
        return self._unary_float(lambda t: t.sin(), "Sin")

    def cos(self) -> Tensor:
        return self._unary_float(lambda t: t.cos(), "Cos")

    def tan(self) -> Tensor:
        return self._unary_float(lambda t: t.tan(), "Tan")

    def log1p(self) -> Tensor:
        return self._unary_float(lambda t: t.log1p(), "Log1p")

    def expm1(self) -> Tensor:
        return self._unary_float(lambda t: t.expm1(), "Expm1")

    def erf(self) -> Tensor:
        return self._unary_float(lambda t: t.erf(), "Erf")

    def rsqrt(self) -> Tensor:
        return self._unary_float(lambda t: t.rsqrt(), "Rsqrt")

    def sign(self) -> Tensor:
        return label(wrap(self._t.sign(), self._dtype), "SignBackward0")

    def floor(self) -> Tensor:
        return label(wrap(self._t.floor(), self._dtype), "FloorBackward0")

    def ceil(self) -> Tensor:
        return label(wrap(self._t.ceil(), self._dtype), "CeilBackward0")

    def trunc(self) -> Tensor:
        return label(wrap(self._t.trunc(), self._dtype), "TruncBackward0")

    def round(self, decimals: builtins.int = 0) -> Tensor:
        """Half to even, as PyTorch; ``decimals`` scales by a power of ten around it."""
        if decimals == 0:
            return label(wrap(self._t.round(), self._dtype), "RoundBackward0")
        scale = 10.0**decimals
        return label(wrap((self._t * scale).round() / scale, self._dtype), "RoundBackward1")

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (PyTorch's names)
        if is_face_tensor(min) or is_face_tensor(max):
            raise UnsupportedError("clamp with tensor bounds (use torch.where)")
        dt = self._dtype
        for bound in (min, max):
            if bound is not None:
                dt = dtypes.with_number(dt, bound)
        return wrap(self._t.clamp(min, max), dt)

    clip = clamp

    def softmax(self, dim: int) -> Tensor:
        return self._unary_float(lambda t: mt_nn.softmax(t, _dim(dim, self.ndim)), "Softmax")

    def log_softmax(self, dim: int) -> Tensor:
        return self._unary_float(lambda t: mt_nn.logsoftmax(t, _dim(dim, self.ndim)), "LogSoftmax")

    def matmul(self, other: Tensor) -> Tensor:
        if not is_face_tensor(other):
            raise TypeError(f"matmul needs a Tensor, got {type(other).__name__}")
        inner = self._t @ other._t
        if self.ndim == 1 and other.ndim == 1:  # a dot product is 0-d
            inner = inner.contiguous().view()
        out = wrap(inner, self._other_dtype(other))
        kinds = {(2, 2): "Mm", (1, 1): "Dot", (2, 1): "Mv", (3, 3): "Bmm"}
        return label(out, f"{kinds.get((self.ndim, other.ndim), 'UnsafeView')}Backward0")

    def mm(self, other: Tensor) -> Tensor:
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm needs two 2-D tensors, got {self.shape} and {other.shape}")
        return self.matmul(other)

    def bmm(self, other: Tensor) -> Tensor:
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
            raise RuntimeError(
                f"bmm needs two 3-D tensors with one batch size, got {self.shape} and {other.shape}"
            )
        return self.matmul(other)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot needs two 1-D tensors, got {self.shape} and {other.shape}")
        return (self * other).sum()
