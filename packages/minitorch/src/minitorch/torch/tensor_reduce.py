"""The face's `Tensor`, reductions layer: sums, means, extremes and friends (PyTorch drops
the reduced dims unless ``keepdim``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import mt_nn
import mt_tensor as mt

from . import dtypes
from .dtypes import dtype as DType  # noqa: N812 (the class; `dtype` is a property here)
from .tensor_arith import Arithmetic
from .tensor_base import (
    _TYPE_NAMES,
    MaxMin,
    _dims,
    _floating,
    is_face_tensor,
    label,
    wrap,
)

if TYPE_CHECKING:
    from .tensors import Tensor


class Reductions(Arithmetic):
    """Sums, means, variances, extremes; PyTorch drops reduced dims unless keepdim."""

    # Reductions: PyTorch drops the reduced dims unless keepdim.

    def _flat(self) -> mt.Tensor:
        return self._t.contiguous().view(max(self.numel(), 1) if self.numel() else 0)

    def _reduce(
        self,
        dim: int | Sequence[int] | None,
        keepdim: builtins.bool,
        fn: Callable[[mt.Tensor, int], mt.Tensor],
        dt: DType,
    ) -> Tensor:
        if dim is None:
            out = fn(self._flat(), 0)
            shape: tuple[int, ...] = (1,) * self.ndim if keepdim else ()
            return wrap(out.view(*shape), dt)
        dims = _dims(dim, self.ndim)
        out = self._t if self.ndim else self._t.view(1)
        for d in dims:
            out = fn(out, d)
        if not keepdim:
            out = out.view(*[n for i, n in enumerate(self.shape) if i not in dims])
        return wrap(out, dt)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False) -> Tensor:
        dt = self._dtype if self._dtype.is_floating_point else dtypes.int64
        out = self._reduce(dim, keepdim, lambda t, d: t.sum(d), dt)
        return label(out, "SumBackward0" if dim is None else "SumBackward1")

    def mean(
        self, dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False
    ) -> Tensor:
        if not self._dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_TYPE_NAMES[self._dtype.name]}"
            )
        out = self._reduce(dim, keepdim, lambda t, d: t.mean(d), self._dtype)
        return label(out, "MeanBackward0" if dim is None else "MeanBackward1")

    def _merged(
        self,
        dim: int | Sequence[int] | None,
        keepdim: builtins.bool,
        fn: Callable[[mt.Tensor, int], mt.Tensor],
        dt: DType,
    ) -> Tensor:
        """``fn`` (a reduction keeping its dim) over ``dim`` (all when None) merged into one
        last dim: PyTorch's reductions over several dims that are not repeated ones."""
        dims = list(range(self.ndim)) if dim is None else _dims(dim, self.ndim)
        rest = [d for d in range(self.ndim) if d not in dims]
        merged = self.permute(*rest, *dims).reshape(*[self.shape[d] for d in rest], -1)
        out = wrap(fn(merged._t, merged.ndim - 1), dt).squeeze(-1)
        if keepdim:
            out = out.reshape(*[1 if d in dims else n for d, n in enumerate(self.shape)])
        return out

    def _spread(
        self,
        fn: Callable[[mt.Tensor, int, int], mt.Tensor],
        dim: int | Sequence[int] | None,
        unbiased: builtins.bool,
        keepdim: builtins.bool,
        correction: int | None,
    ) -> Tensor:
        """mt-nn's `var` or `std` with Bessel's ``correction`` (1 unless ``unbiased=False``)."""
        _floating(cast("Tensor", self), fn.__name__)
        c = (1 if unbiased else 0) if correction is None else correction
        return self._merged(dim, keepdim, lambda t, d: fn(t, d, c), self._dtype)

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        return self._spread(mt_nn.var, dim, unbiased, keepdim, correction)

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        return self._spread(mt_nn.std, dim, unbiased, keepdim, correction)

    def logsumexp(self, dim: int | Sequence[int], keepdim: builtins.bool = False) -> Tensor:
        """Log-sum-exp over ``dim``, by mt-nn's stable `logsumexp`."""
        dt = self._dtype if self._dtype.is_floating_point else dtypes.get_default_dtype()
        return self._merged(dim, keepdim, mt_nn.logsumexp, dt)

    def _extreme(self, which: str, dim: Any, keepdim: builtins.bool) -> Any:
        fn = mt_nn.max if which == "max" else mt_nn.min
        arg = mt_nn.argmax_indices if which == "max" else mt_nn.argmin_indices
        if is_face_tensor(dim):
            from .ops import maximum, minimum

            return (
                maximum(cast("Tensor", self), dim)
                if which == "max"
                else minimum(cast("Tensor", self), dim)
            )
        if dim is None:
            return self._reduce(None, False, fn, self._dtype)
        values = self._reduce(dim, keepdim, fn, self._dtype)
        indices = self._reduce(dim, keepdim, arg, dtypes.int64)
        return MaxMin(values, indices)

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """The largest element, or ``(values, indices)`` along ``dim``, or the element-wise
        maximum with another tensor."""
        return self._extreme("max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return self._extreme("min", dim, keepdim)

    def amax(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.max, self._dtype)

    def argmax(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.argmax_indices, dtypes.int64)

    def argmin(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.argmin_indices, dtypes.int64)

    def all(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, lambda t, d: t.all(d), dtypes.bool_).detach()

    def any(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        some = self._reduce(dim, keepdim, lambda t, d: (t == 0.0).all(d), dtypes.bool_)
        return (~some).detach()
