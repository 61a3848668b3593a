"""``torch.nn.utils``: gradient clipping, by mt-nn's `clip_grad_norm_` and `clip_grad_value_`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import mt_nn
import mt_operators

from .. import dtypes
from ..tensors import Tensor, UnsupportedError


class _Grad(mt_operators.Parameter):
    """A face tensor seen as a stage 0 `Parameter` whose value is its stage tensor."""

    def __init__(self, tensor: Tensor) -> None:
        self.value = tensor._t
        self.name = None


def _params(parameters: Tensor | Iterable[Tensor]) -> list[mt_operators.Parameter]:
    given = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in given:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors to clip, got {type(p).__name__}")
    return [_Grad(p) for p in given]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: Any = None,
) -> Tensor:
    """Scale the gradients together, in place, so their joint norm is at most ``max_norm``;
    returns the norm before clipping (a 0-d tensor)."""
    if error_if_nonfinite:
        raise UnsupportedError("clip_grad_norm_(error_if_nonfinite=True)")
    norm = mt_nn.clip_grad_norm_(_params(parameters), float(max_norm), float(norm_type))
    from ..creation import tensor

    return tensor(norm, dtype=dtypes.get_default_dtype())


def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: Any = None
) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    mt_nn.clip_grad_value_(_params(parameters), float(clip_value))


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
