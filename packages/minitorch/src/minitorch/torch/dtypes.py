"""PyTorch's dtypes over the stages' storage dtypes (`mt_tensor.dtypes`), and PyTorch's
promotion rule.

A tensor's storage has its dtype's numpy dtype (`storage`): ``float32`` tensors hold and
compute float32 values as PyTorch does, ``float64``, ``int64`` and ``bool`` theirs; ``int32``
is stored as int64 (the stages have no int32) and only labelled.
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


_STORAGE: dict[str, np.dtype[Any]] = {
    "float32": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "int32": np.dtype(np.int64),
    "int64": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
}


def storage(d: dtype) -> np.dtype[Any]:
    """The numpy dtype a tensor of dtype ``d`` stores its values in."""
    return _STORAGE[d.name]


def convert(values: np.ndarray[Any, Any], to: dtype) -> np.ndarray[Any, Any]:
    """Values in ``to``'s storage dtype: integers truncated towards zero, booleans non-zero."""
    if to.category == BOOL:
        return np.asarray(values != 0)
    if to.category == INTEGRAL and values.dtype.kind == "f":
        values = np.trunc(values)
    return np.asarray(values, dtype=storage(to))
