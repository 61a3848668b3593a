"""The face's `Tensor`, in-place layer: ``add_``, ``zero_``, ``copy_``, random fills."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

import mt_tensor as mt
from mt_autodiff import is_grad_enabled, no_grad

from .tensor_base import (
    Number,
    _no_generator,
    is_face_tensor,
)
from .tensor_index import Indexing

if TYPE_CHECKING:
    from .tensors import Tensor


class InPlace(Indexing):
    """In-place arithmetic and fills, random fills and sampling."""

    # In place.

    def _assign(self, new: mt.Tensor, *sources: Any) -> Tensor:
        """Make ``new`` (this tensor's shape) this tensor's value: written into the storage
        when no gradient is recorded, else a new node of the graph."""
        recording = is_grad_enabled() and (
            self._t.requires_grad() or any(is_face_tensor(s) and s.requires_grad for s in sources)
        )
        if recording:
            if self._t.is_leaf():
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            self._t = new
            return cast("Tensor", self)
        with no_grad():
            if new.shape != self._t.shape:
                new = new.broadcast_to(*self._t.shape)
            self._t.backend.id_map(new.detach(), self._t)
        return cast("Tensor", self)

    def _inplace(self, result: Tensor, *sources: Any) -> Tensor:
        if result.dtype.category > self._dtype.category:
            raise RuntimeError(f"result type {result.dtype} can't be cast to {self._dtype}")
        return self._assign(result._to_dtype(self._dtype)._t, *sources)

    def add_(self, o: Any, alpha: Number = 1) -> Tensor:
        return self._inplace(self.add(o, alpha), o)

    def sub_(self, o: Any, alpha: Number = 1) -> Tensor:
        return self._inplace(self.sub(o, alpha), o)

    def mul_(self, o: Any) -> Tensor:
        return self._inplace(self * o, o)

    def div_(self, o: Any) -> Tensor:
        return self._inplace(self / o, o)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return self._inplace(self.clamp(min, max))

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self._assign(self._t.zeros(self._t.shape) + float(value))

    def copy_(self, src: Tensor) -> Tensor:
        return self._assign(
            src._t.to(self._t.backend) if src.device != self.device else src._t, src
        )

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().normal(mean, std, self.shape))

    def bernoulli_(self, p: float = 0.5, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().random(self.shape) < p)

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        from .creation import bernoulli

        return bernoulli(cast("Tensor", self), p, generator=generator)

    def multinomial(
        self, num_samples: int, replacement: builtins.bool = False, *, generator: Any = None
    ) -> Tensor:
        from .creation import multinomial

        return multinomial(cast("Tensor", self), num_samples, replacement, generator=generator)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Number = 1) -> Tensor:
        return self._inplace(self.index_add(dim, index, source, alpha=alpha), source)

    def _random_(self, values: npt.NDArray[Any]) -> Tensor:
        with no_grad():
            return self._assign(mt.tensor(values.astype(np.float64), backend=self._t.backend))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
