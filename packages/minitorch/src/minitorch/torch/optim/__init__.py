"""``torch.optim``: mt-nn's optimizers with PyTorch's defaults, closures and plain tensors.

The update rules, parameter groups and the schedule are mt-nn's; this layer accepts what
PyTorch accepts (`nn.Parameter` objects, or any tensors that require grad, or groups of them)
and refuses options it does not have by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import mt_nn
import mt_operators
import mt_tensor as mt

from ..nn.modules import write_into
from ..tensors import Tensor, UnsupportedError, guard_class
from . import lr_scheduler


class _Leaf(mt_operators.Parameter):
    """A plain tensor given to an optimizer, seen as a stage 0 `Parameter`."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor
        self.name = None

    @property
    def value(self) -> mt.Tensor:
        return self.tensor._t

    @value.setter
    def value(self, inner: mt.Tensor) -> None:
        self.tensor._t = inner

    def update(self, x: mt.Tensor) -> None:
        write_into(self.tensor, x)


def _param(p: Any) -> mt_operators.Parameter:
    if isinstance(p, mt_operators.Parameter):
        return p
    if isinstance(p, Tensor):
        if not p.is_leaf:
            raise ValueError("can't optimize a non-leaf Tensor")
        return _Leaf(p)
    raise TypeError(f"optimizer params must be Tensors, got {type(p).__name__}")


def _params(params: Iterable[Any]) -> list[Any]:
    given = list(params)
    if given and isinstance(given[0], Mapping):
        return [{**g, "params": [_param(p) for p in _listed(g["params"])]} for g in given]
    return [_param(p) for p in given]


def _listed(params: Any) -> list[Any]:
    return [params] if isinstance(params, Tensor) else list(params)


def _refuse(**flags: Any) -> None:
    for name, value in flags.items():
        if value:
            raise UnsupportedError(f"optimizer option {name}={value!r}")


class _Closure:
    """PyTorch's ``step(closure)``: re-evaluate the loss, then update."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = closure() if closure is not None else None
        super().step()  # type: ignore[misc]  # the mt-nn optimizer beside this mixin
        return loss


class SGD(_Closure, mt_nn.SGD):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _refuse(maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(_params(params), lr, momentum, weight_decay, dampening, nesterov)


class Adam(_Closure, mt_nn.Adam):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _refuse(amsgrad=amsgrad, maximize=maximize, capturable=capturable, fused=fused)
        _refuse(differentiable=differentiable)
        super().__init__(_params(params), lr, tuple(betas), eps, weight_decay)  # type: ignore[arg-type]  # a pair


class AdamW(_Closure, mt_nn.AdamW):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Any = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _refuse(amsgrad=amsgrad, maximize=maximize, capturable=capturable, fused=fused)
        _refuse(differentiable=differentiable)
        super().__init__(_params(params), lr, tuple(betas), eps, weight_decay)  # type: ignore[arg-type]  # a pair


class Adagrad(_Closure, mt_nn.Adagrad):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: Any = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: Any = None,
    ) -> None:
        _refuse(maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(
            _params(params), lr, lr_decay, weight_decay, initial_accumulator_value, eps
        )


class RMSprop(_Closure, mt_nn.RMSprop):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Any = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _refuse(capturable=capturable, maximize=maximize, differentiable=differentiable)
        super().__init__(_params(params), lr, alpha, eps, weight_decay, momentum, centered)


Optimizer = mt_nn.Optimizer

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]


for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type):
        guard_class(_value, f"torch.optim.{_name}")


def __getattr__(name: str) -> Any:
    raise UnsupportedError(f"minitorch.torch does not implement torch.optim.{name}")
