"""Optimizers with PyTorch's update rules: `SGD` (momentum, dampening, Nesterov, weight decay),
`Adam` and `AdamW`, with PyTorch's parameter groups; and the `StepLR` schedule.

Parameters are stage 0's `Parameter` objects whose values are Tensors (or stage 1 Scalars).
Each group is a dict holding ``"params"`` and its hyperparameters (``"lr"``, ...), which a user
or a schedule may change between steps. Each rule is written once over arrays and runs where the
parameter lives: in numpy for host backends (cheaper per small op than tensor kernels),
as tensor kernels under `no_grad` on a device backend (so parameters, gradients and optimizer
state never leave the GPU). Each parameter then gets a new leaf value on its own backend, in its
own dtype; a parameter with no gradient is skipped, as in PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from mt_autodiff import no_grad
from mt_operators import Parameter
from mt_tensor import Tensor

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
]

Array = npt.NDArray[np.float64]
Values = TypeVar("Values", Array, Tensor)
"""What an update rule computes on: numpy arrays on the host, tensors on a device backend."""
Group = dict[str, Any]
"""One parameter group: ``"params"`` (a list of `Parameter`) and its hyperparameters."""


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
        p.update(Tensor.from_numpy(np.reshape(values, v.shape), v.backend, dtype=v.dtype))
    else:
        p.update(type(v)(float(values)))


def _on_device(v: Any) -> bool:
    """Whether ``v`` is a tensor whose storage is off the host (its backend's declared
    ``device``): its update then runs as tensor ops there instead of in numpy."""
    return isinstance(v, Tensor) and v.backend.device != "cpu"


def _sqrt(x: Values) -> Values:
    return x.sqrt() if isinstance(x, Tensor) else np.sqrt(x)


def _grads(parameters: Iterable[Parameter] | Parameter) -> list[Tensor]:
    """The gradients of the Tensor parameters that have one."""
    given = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    values = [_check(p) for p in given]
    return [v.grad for v in values if isinstance(v, Tensor) and v.grad is not None]


def _largest(g: Tensor) -> float:
    r"""$\max_i |g_i|$, reduced on ``g``'s backend."""
    flat = g.abs().contiguous().view(g.size)
    return flat.f.max_reduce(flat, 0).item()


def _scale_(g: Tensor, factor: float) -> None:
    """Multiply ``g`` by ``factor`` in place (on its backend), so every alias of it sees it."""
    g.backend.id_map(g * factor, g)


def clip_grad_norm_(
    parameters: Iterable[Parameter] | Parameter, max_norm: float, norm_type: float = 2.0
) -> float:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most
    ``max_norm`` (PyTorch's rule: by $\text{max\\_norm} / (\text{norm} + 10^{-6})$ when that is
    below 1). Returns the norm before clipping; ``norm_type`` may be ``math.inf``."""
    if norm_type <= 0:
        raise ValueError(f"norm_type must be positive (or inf), got {norm_type}")
    grads = [g for g in _grads(parameters) if g.size > 0]
    if not grads:
        return 0.0
    with no_grad():  # each norm is reduced on the gradient's backend; one number comes back
        if norm_type == math.inf:
            total = max(_largest(g) for g in grads)
        else:
            total = sum((g.abs() ** norm_type).sum().item() for g in grads) ** (1 / norm_type)
    factor = max_norm / (total + 1e-6)
    if factor < 1.0:
        for g in grads:
            _scale_(g, factor)
    return total


def clip_grad_value_(parameters: Iterable[Parameter] | Parameter, clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        g.backend.id_map(g.clamp(-clip_value, clip_value), g)


class Optimizer:
    """Parameter groups and per-parameter state; subclasses define `_update` and `_validate`.

    ``params`` is an iterable of `Parameter`, or of dicts ``{"params": [...], "lr": ...}`` whose
    missing hyperparameters come from the optimizer's defaults (PyTorch's parameter groups).
    """

    def __init__(self, params: Iterable[Parameter] | Iterable[Mapping[str, Any]], **defaults: Any):
        self.defaults = defaults
        self.param_groups: list[Group] = []
        self.state: dict[int, dict[str, Any]] = {}
        given = list(params)
        if not given:
            raise ValueError("optimizer got an empty parameter list")
        groups = given if isinstance(given[0], Mapping) else [{"params": given}]
        for group in groups:
            self.add_param_group(group)  # type: ignore[arg-type]  # a Mapping, checked above

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add a group; its hyperparameters default to the optimizer's."""
        if "params" not in group:
            raise ValueError(f"a parameter group needs 'params', got keys {sorted(group)}")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"unknown hyperparameters {sorted(unknown)} for {type(self).__name__}")
        full: Group = {**self.defaults, **group, "params": list(group["params"])}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: Group) -> None:
        if group["lr"] < 0:
            raise ValueError(f"learning rate lr must be >= 0, got {group['lr']}")

    @property
    def parameters(self) -> list[Parameter]:
        """Every parameter, group after group."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate."""
        lr: float = self.param_groups[0]["lr"]
        return lr

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (or set it to zeros, ``set_to_none=False``)."""
        for p in self.parameters:
            v = p.value
            if isinstance(v, Tensor):
                v.grad = None if set_to_none or v.grad is None else v.grad.zeros(v.shape)
            elif _is_scalar(v):
                v.derivative = None if set_to_none else 0.0

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            for p in group["params"]:
                v = _check(p)
                if _on_device(v):
                    if v.grad is None:
                        continue
                    state = self.state.setdefault(id(p), {})
                    with no_grad():
                        p.update(self._update(v.detach(), v.grad, state, group).astype(v.dtype))
                    continue
                grad = _grad(p)
                if grad is None:
                    continue
                state = self.state.setdefault(id(p), {})
                _write(p, self._update(_value(p), grad, state, group))

    def _update(self, value: Values, grad: Values, state: dict[str, Any], group: Group) -> Values:
        """The new value of one parameter; ``state`` is its own, kept between steps."""
        raise NotImplementedError


class SGD(Optimizer):
    """$g = \\nabla + \\lambda p$; with momentum $b \\leftarrow \\mu b + (1 - \\tau) g$ and
    $g \\leftarrow b$ (or $g + \\mu b$ with Nesterov); then $p \\leftarrow p - \\eta g$."""

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1.0,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            dampening=dampening,
            nesterov=nesterov,
        )

    def _validate(self, group: Group) -> None:
        super()._validate(group)
        if group["momentum"] < 0 or group["weight_decay"] < 0:
            raise ValueError(
                f"momentum {group['momentum']} and weight_decay {group['weight_decay']} "
                "must be >= 0"
            )
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                f"{group['momentum']}, dampening {group['dampening']}"
            )

    def _update(self, value: Values, grad: Values, state: dict[str, Any], group: Group) -> Values:
        g: Values = grad + group["weight_decay"] * value  # new: the buffer may keep it
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            buf = g if buf is None else momentum * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        lr: float = group["lr"]
        return value - lr * g


class Adam(Optimizer):
    """Adam with bias-corrected moments, in PyTorch's arithmetic:
    $p \\leftarrow p - \\frac{\\eta}{1 - \\beta_1^t}
    \\frac{m}{\\sqrt{v / (1 - \\beta_2^t)} + \\epsilon}$, weight decay added to the gradient."""

    decoupled = False
    """AdamW's rule: decay the weights directly instead of adding to the gradient."""

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _validate(self, group: Group) -> None:
        super()._validate(group)
        betas, eps, wd = group["betas"], group["eps"], group["weight_decay"]
        if not all(0.0 <= b < 1.0 for b in betas) or eps < 0 or wd < 0:
            raise ValueError(
                f"need betas in [0, 1), eps >= 0, weight_decay >= 0; got betas={betas}, "
                f"eps={eps}, weight_decay={wd}"
            )

    def _update(self, value: Values, grad: Values, state: dict[str, Any], group: Group) -> Values:
        b1: float
        b2: float
        (b1, b2), lr, wd = group["betas"], group["lr"], group["weight_decay"]
        if self.decoupled:
            value = value * (1 - lr * wd)
            g = grad
        else:
            g = grad + wd * value
        t = state.get("step", 0) + 1
        m: Values = (1 - b1) * g if t == 1 else b1 * state["exp_avg"] + (1 - b1) * g
        v: Values = (1 - b2) * g * g if t == 1 else b2 * state["exp_avg_sq"] + (1 - b2) * g * g
        state.update(step=t, exp_avg=m, exp_avg_sq=v)
        denom: Values = _sqrt(v) / math.sqrt(1 - b2**t) + group["eps"]
        step_size: float = lr / (1 - b1**t)
        return value - step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's ``AdamW``:
    $p \\leftarrow p (1 - \\eta \\lambda)$ before the Adam step."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """PyTorch's RMSprop: $v \\leftarrow \alpha v + (1 - \alpha) g^2$, then
    $p \\leftarrow p - \\eta\\, g / (\\sqrt{v} + \\epsilon)$; ``centered`` divides by the spread
    $\\sqrt{v - \bar g^2}$ instead, and ``momentum`` $\\mu$ keeps
    $b \\leftarrow \\mu b + g / (\\sqrt{v} + \\epsilon)$ and steps by $\\eta b$."""

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

    def _validate(self, group: Group) -> None:
        super()._validate(group)
        alpha, eps, wd, mu = group["alpha"], group["eps"], group["weight_decay"], group["momentum"]
        if not 0.0 <= alpha <= 1.0 or eps < 0 or wd < 0 or mu < 0:
            raise ValueError(
                f"need alpha in [0, 1] and eps, weight_decay, momentum >= 0; got alpha={alpha}, "
                f"eps={eps}, weight_decay={wd}, momentum={mu}"
            )

    def _update(self, value: Values, grad: Values, state: dict[str, Any], group: Group) -> Values:
        alpha: float = group["alpha"]
        lr: float = group["lr"]
        g: Values = grad + group["weight_decay"] * value
        first = "square_avg" not in state
        v: Values = (
            (1 - alpha) * g * g if first else alpha * state["square_avg"] + (1 - alpha) * g * g
        )
        state["square_avg"] = v
        if group["centered"]:
            mean: Values = (1 - alpha) * g if first else alpha * state["grad_avg"] + (1 - alpha) * g
            state["grad_avg"] = mean
            v = v - mean * mean
        denom: Values = _sqrt(v) + group["eps"]
        if group["momentum"] > 0:
            step: Values = (
                g / denom if first else group["momentum"] * state["momentum_buffer"] + g / denom
            )
            state["momentum_buffer"] = step
            return value - lr * step
        return value - lr * (g / denom)


class Adagrad(Optimizer):
    r"""PyTorch's Adagrad: the step size $\eta / (1 + (t - 1)\,\delta)$ with ``lr_decay``
    $\delta$, $s \leftarrow s + g^2$ (from ``initial_accumulator_value``), then
    $p \leftarrow p - \eta_t\, g / (\sqrt{s} + \epsilon)$."""

    def __init__(
        self,
        params: Iterable[Parameter] | Iterable[Mapping[str, Any]],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )

    def _validate(self, group: Group) -> None:
        super()._validate(group)
        names = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        bad = {name: group[name] for name in names if group[name] < 0}
        if bad:
            raise ValueError(f"Adagrad settings must be >= 0, got {bad}")

    def _update(self, value: Values, grad: Values, state: dict[str, Any], group: Group) -> Values:
        g: Values = grad + group["weight_decay"] * value
        t = state.get("step", 0) + 1
        start: float = group["initial_accumulator_value"]
        total: Values = (g * g + start) if t == 1 else state["sum"] + g * g
        state.update(step=t, sum=total)
        lr: float = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        denom: Values = _sqrt(total) + group["eps"]
        return value - lr * (g / denom)


class StepLR:
    """Multiply every group's learning rate by ``gamma`` once every ``step_size`` calls of
    `step` (one call per epoch), as PyTorch's ``lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        self.optimizer = optimizer
        self.step_size = step_size
        self.gamma = gamma
        self.last_epoch = 0

    def step(self) -> None:
        """End an epoch: decay the learning rates when a multiple of ``step_size`` is reached."""
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.gamma

    def get_last_lr(self) -> list[float]:
        """Each group's current learning rate."""
        return [float(group["lr"]) for group in self.optimizer.param_groups]
