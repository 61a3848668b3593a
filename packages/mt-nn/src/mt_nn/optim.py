"""Optimizers with PyTorch's update rules: `SGD` (momentum, weight decay) and `Adam`.

Parameters are stage 0's `Parameter` objects whose values are Tensors (or stage 1 Scalars).
The update arithmetic runs in float64 numpy on the host, then each parameter gets a new leaf
value on its own backend; a parameter with no gradient is skipped, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from mt_operators import Parameter
from mt_tensor import Tensor

Array = npt.NDArray[np.float64]


def _is_scalar(v: Any) -> bool:
    """A stage 1 `Scalar` (``data`` and ``derivative``), recognised without importing it."""
    return hasattr(v, "derivative") and hasattr(v, "data")


def _check(p: Parameter) -> Any:
    v = p.value
    if not isinstance(v, Tensor) and not _is_scalar(v):
        raise TypeError(f"parameter {p.name!r} holds a {type(v).__name__}, not a Tensor or Scalar")
    return v


def _value(p: Parameter) -> Array:
    v = _check(p)
    return v.to_numpy() if isinstance(v, Tensor) else np.array(v.data, dtype=np.float64)


def _grad(p: Parameter) -> Array | None:
    v = _check(p)
    g = v.grad if isinstance(v, Tensor) else v.derivative
    if g is None:
        return None
    return g.to_numpy() if isinstance(g, Tensor) else np.array(g, dtype=np.float64)


def _write(p: Parameter, values: Array) -> None:
    v = p.value
    if isinstance(v, Tensor):
        p.update(Tensor.make(values.ravel(), v.shape, backend=v.backend))
    else:
        p.update(type(v)(float(values)))


class Optimizer:
    """Holds the parameters and per-parameter state; subclasses define `_update`."""

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.parameters = list(params)
        if lr < 0:
            raise ValueError(f"learning rate lr must be >= 0, got {lr}")
        self.lr = lr
        self.state: dict[int, dict[str, Any]] = {}

    def zero_grad(self) -> None:
        """Forget every parameter's gradient."""
        for p in self.parameters:
            if isinstance(p.value, Tensor):
                p.value.zero_grad_()
            elif _is_scalar(p.value):
                p.value.derivative = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for i, p in enumerate(self.parameters):
            grad = _grad(p)
            if grad is None:
                continue
            _write(p, self._update(_value(p), grad, self.state.setdefault(i, {})))

    def _update(self, value: Array, grad: Array, state: dict[str, Any]) -> Array:
        raise NotImplementedError


class SGD(Optimizer):
    """$g \\mathrel{+}= \\lambda p$, $b \\leftarrow \\mu b + g$ (momentum), then
    $p \\leftarrow p - \\eta b$."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1.0,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum {momentum} and weight_decay {weight_decay} must be >= 0")
        self.momentum = momentum
        self.weight_decay = weight_decay

    def _update(self, value: Array, grad: Array, state: dict[str, Any]) -> Array:
        g = grad + self.weight_decay * value
        if self.momentum:
            buf = state.get("momentum_buffer")
            g = g.copy() if buf is None else self.momentum * buf + g
            state["momentum_buffer"] = g
        return value - self.lr * g


class Adam(Optimizer):
    """Adam with bias-corrected moments, in PyTorch's arithmetic:
    $p \\leftarrow p - \\frac{\\eta}{1 - \\beta_1^t}
    \\frac{m}{\\sqrt{v / (1 - \\beta_2^t)} + \\epsilon}$."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas) or eps < 0 or weight_decay < 0:
            raise ValueError(
                f"need betas in [0, 1), eps >= 0, weight_decay >= 0; got betas={betas}, "
                f"eps={eps}, weight_decay={weight_decay}"
            )
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay

    def _update(self, value: Array, grad: Array, state: dict[str, Any]) -> Array:
        b1, b2 = self.betas
        g = grad + self.weight_decay * value
        t = state.get("step", 0) + 1
        m = b1 * state.get("exp_avg", 0.0) + (1 - b1) * g
        v = b2 * state.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
        state.update(step=t, exp_avg=m, exp_avg_sq=v)
        denom = np.sqrt(v) / np.sqrt(1 - b2**t) + self.eps
        return np.asarray(value - (self.lr / (1 - b1**t)) * m / denom, dtype=np.float64)
