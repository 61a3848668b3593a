"""PyTorch's dtypes as labels over MiniTorch's float64 storage, and PyTorch's promotion rule.

Every tensor stores float64 (the stages compute in float64); a dtype says how its values are
read, printed and combined: ``int64`` and ``bool`` tensors hold integral (or 0/1) values,
``float32`` tensors hold and compute float64 values (never rounded to float32), so they agree
with PyTorch to float32 precision or better.
"""

from __future__ import annotations

import builtins
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

BOOL, INTEGRAL, FLOATING = 0, 1, 2
"""Categories in promotion order."""


@dataclass(frozen=True)
class dtype:  # noqa: N801 (PyTorch's name)
    """A PyTorch dtype: its name, category and width (for promotion within a category)."""

    name: str
    category: int
    bits: int

    @property
    def is_floating_point(self) -> builtins.bool:
        return self.category == FLOATING

    @property
    def is_signed(self) -> builtins.bool:
        return self.category != BOOL

    @property
    def itemsize(self) -> int:
        return max(self.bits // 8, 1)

    def __repr__(self) -> str:
        return f"torch.{self.name}"


float32 = dtype("float32", FLOATING, 32)
float64 = dtype("float64", FLOATING, 64)
int32 = dtype("int32", INTEGRAL, 32)
int64 = dtype("int64", INTEGRAL, 64)
bool_ = dtype("bool", BOOL, 1)

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of tensors made from Python floats (``float32``, as PyTorch)."""
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Make ``d`` (``float32`` or ``float64``) the default floating dtype."""
    global _default_float
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating dtypes can be the default, got {d!r}")
    _default_float = d


def promote(a: dtype, b: dtype) -> dtype:
    """The dtype of an operation on two tensors: the higher category, then the wider."""
    if a.category != b.category:
        return a if a.category > b.category else b
    return a if a.bits >= b.bits else b


def of_number(x: Any) -> dtype:
    """The dtype PyTorch gives a Python number: ``bool``, ``int64`` or the default float."""
    if isinstance(x, builtins.bool | np.bool_):
        return bool_
    if isinstance(x, numbers.Integral):
        return int64
    return _default_float


def with_number(a: dtype, x: Any) -> dtype:
    """The dtype of an operation of a tensor with a Python number: the number raises the
    category only (``int_tensor * 2.5`` is the default float, ``float64 * 2.5`` stays)."""
    n = of_number(x)
    return a if n.category <= a.category else n


def of_numpy(d: np.dtype[Any]) -> dtype:
    """The dtype of a numpy array's values."""
    if d == np.bool_:
        return bool_
    if np.issubdtype(d, np.integer):
        return int64
    if d == np.float32:
        return float32
    if np.issubdtype(d, np.floating):
        return float64
    raise TypeError(f"cannot make a tensor from a numpy array of dtype {d}")


def convert(values: np.ndarray[Any, Any], to: dtype) -> np.ndarray[Any, Any]:
    """Values as ``to`` reads them: integers truncated towards zero, booleans 0/1."""
    if to.category == BOOL:
        return np.asarray(values != 0, dtype=np.float64)
    if to.category == INTEGRAL:
        return np.asarray(np.trunc(values), dtype=np.float64)
    return values
