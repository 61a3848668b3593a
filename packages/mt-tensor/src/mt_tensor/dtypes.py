"""The element types a tensor's storage may hold, and PyTorch's rules for combining them.

Dtypes are numpy's (``numpy.dtype`` objects), so storage is an ordinary numpy array of that
dtype. Integer arithmetic wraps around on overflow, as numpy's does (PyTorch's too); the simple
backend, which computes element by element in Python, goes through Python floats for the float
functions, so its integer results are exact up to $2^{53}$.
"""

from __future__ import annotations

import numbers
from typing import Any, TypeAlias

import numpy as np

__all__ = [
    "DTYPES",
    "DType",
    "bool_",
    "float32",
    "float64",
    "float_of",
    "get_default_dtype",
    "int64",
    "is_floating",
    "promote",
    "resolve",
    "scalar_dtype",
    "set_default_dtype",
]

DType: TypeAlias = "np.dtype[Any]"

float32: DType = np.dtype(np.float32)
float64: DType = np.dtype(np.float64)
int64: DType = np.dtype(np.int64)
bool_: DType = np.dtype(np.bool_)

DTYPES: tuple[DType, ...] = (bool_, int64, float32, float64)
"""Every storage dtype, in promotion order (a later one wins within a category)."""

_RANK = {bool_: 0, int64: 1, float32: 2, float64: 3}
_default_float = float64


def get_default_dtype() -> DType:
    """The float dtype of tensors made from Python numbers and of int/int division."""
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (``float32`` or ``float64``) the default float dtype of this stage."""
    global _default_float
    d = resolve(dtype)
    if not is_floating(d):
        raise TypeError(f"only a float dtype can be the default, got {d}")
    _default_float = d


def resolve(dtype: Any) -> DType:
    """``dtype`` (a numpy dtype, a numpy type such as ``np.float32`` or a name) as a storage
    dtype; `TypeError` naming it when it is not one of `DTYPES`."""
    for d in DTYPES:
        if dtype is d or dtype == d or dtype is d.type or dtype == d.name:
            return d
    names = ", ".join(str(x) for x in DTYPES)
    raise TypeError(f"unsupported dtype {dtype!r}: tensors hold one of {names}")


def is_floating(dtype: DType) -> bool:
    """True for ``float32`` and ``float64``: only these tensors carry gradients."""
    return dtype.kind == "f"


def promote(a: DType, b: DType) -> DType:
    """PyTorch's promotion of two tensors' dtypes: ``bool < int64 < float32 < float64``
    (``float32`` with ``int64`` stays ``float32``)."""
    if a is b or a == b:
        return a
    return a if _RANK[a] >= _RANK[b] else b


def scalar_dtype(tensor_dtype: DType, value: Any) -> DType:
    """The dtype a Python number takes beside a tensor: the tensor's, unless the number is of a
    higher kind (``int_tensor * 2.5`` is the default float; ``float32 * 2.5`` stays float32)."""
    if isinstance(value, bool | np.bool_):
        return tensor_dtype
    if isinstance(value, numbers.Integral):
        return tensor_dtype if _RANK[tensor_dtype] >= _RANK[int64] else int64
    return tensor_dtype if is_floating(tensor_dtype) else _default_float


def float_of(dtype: DType) -> DType:
    """``dtype`` when it is a float, else the default float (where float functions compute)."""
    return dtype if dtype.kind == "f" else _default_float
