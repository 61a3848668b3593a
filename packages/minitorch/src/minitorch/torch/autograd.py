"""``torch.autograd``: custom differentiable functions, ``grad``, ``backward`` and ``Variable``.

A `Function` subclass's ``forward``/``backward`` run on face tensors; ``apply`` records one
node of the stage graph (mt-tensor's `History`) whose backward calls the user's, so the stage
engine (mt-autodiff's `backpropagate`) drives it like any built-in op. ``grad`` asks the same
engine for the derivatives reaching some tensors instead of accumulating them in ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mt_tensor as mt
from mt_autodiff import Context, backpropagate, is_grad_enabled, no_grad
from mt_autodiff import enable_grad as _enable_grad

from .tensors import Tensor, UnsupportedError, label, wrap


class FunctionCtx:
    """The ``ctx`` of a custom `Function`: what ``forward`` saves for ``backward``."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self._saved: tuple[Any, ...] = ()
        self._non_differentiable: list[Tensor] = []

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep ``tensors`` for backward (read them back as ``saved_tensors``)."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors, but argument {t!r} is of type "
                    f"{type(t).__name__}"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return self._saved

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Outputs that get no gradient (returned as constants)."""
        self._non_differentiable.extend(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` may receive None for an output that got no gradient."""
        self.materialize_grads = value

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise UnsupportedError("ctx.mark_dirty (in-place custom autograd functions)")

    def save_for_forward(self, *tensors: Tensor) -> None:
        raise UnsupportedError("ctx.save_for_forward (forward-mode automatic differentiation)")


class _Custom(mt.Function):
    """The stage node of a custom `Function`: its backward calls the user's."""

    @classmethod
    def _backward(cls, ctx: Context, grad_output: mt.Tensor) -> tuple[mt.Tensor, ...]:
        user, fctx, args, dt = ctx.saved_values
        grads = user.backward(fctx, wrap(grad_output, dt))
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(args):
            raise RuntimeError(
                f"function {user.__name__}Backward returned an incorrect number of gradients "
                f"(expected {len(args)}, got {len(grads)})"
            )
        out = []
        for i, (a, g) in enumerate(zip(args, grads, strict=True)):
            if not isinstance(a, Tensor):
                continue
            if g is None:
                out.append(a.value.zeros(a.shape))
                continue
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"function {user.__name__}Backward returned a gradient of type "
                    f"{type(g).__name__} at index {i}; expected a Tensor or None"
                )
            same_size = g.shape != a.shape and g.numel() == a.numel()
            out.append(g.value.contiguous().view(*a.shape) if same_size else g.value)
        return tuple(out)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``apply``. (PyTorch 2's split ``forward(*args)`` + ``setup_context(ctx, inputs, output)``
    works too.)

    >>> class Double(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * 2
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         return g * 2
    """

    @staticmethod
    def forward(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> Any:
        raise NotImplementedError("setup_context is not overridden")

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise UnsupportedError("autograd.Function.jvp (forward-mode automatic differentiation)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` without recording, then record one node whose backward is this
        class's ``backward``."""
        if kwargs:
            raise UnsupportedError(
                f"keyword arguments to {cls.__name__}.apply (PyTorch takes positional ones only)"
            )
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
        if isinstance(out, tuple):
            if is_grad_enabled() and any(needs):
                raise UnsupportedError(
                    f"{cls.__name__}.forward returning several tensors (one output here)"
                )
            return out
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}"
            )
        if not (is_grad_enabled() and any(needs)) or any(out is t for t in ctx._non_differentiable):
            return out.detach()
        inputs = tuple(a.value for a in args if isinstance(a, Tensor))
        node = Context(False, (cls, ctx, args, out.dtype))
        inner = mt.Tensor(
            out.value._tensor, mt.History(_Custom, node, inputs), backend=out.value.backend
        )
        return label(wrap(inner, out.dtype), f"{cls.__name__}Backward")


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """PyTorch's marker for backwards that are not themselves differentiable (all are here)."""
    return fn


InplaceFunction = Function


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 (PyTorch's name)
    """The pre-0.4 wrapper: now the tensor itself (requiring grad when asked)."""
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    return data.requires_grad_(True) if requires_grad else data


def _seq(x: Any) -> list[Any]:
    return [x] if isinstance(x, Tensor) or x is None else list(x)


def _seed(out: Tensor, given: Tensor | None) -> mt.Tensor:
    """The derivative backward starts from: ``given`` or ones for a one-element output."""
    if given is not None:
        if given.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[0] has a shape of {given.shape} and output[0] "
                f"has a shape of {out.shape}."
            )
        return given.value
    if out.numel() != 1:
        raise RuntimeError("grad can be implicitly created only for scalar outputs")
    return out.value.zeros(out.shape) + 1.0


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` (summed) with respect to each of ``inputs``, without
    touching any ``.grad``; the graph is freed unless ``retain_graph``."""
    if create_graph or is_grads_batched:
        raise UnsupportedError(
            "autograd.grad(create_graph=True / is_grads_batched=True): MiniTorch does not "
            "differentiate gradients"
        )
    outs, ins = _seq(outputs), _seq(inputs)
    seeds = _seq(grad_outputs) if grad_outputs is not None else [None] * len(outs)
    for x in ins:
        if not x.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    total: list[Any] = [None] * len(ins)
    for i, (out, given) in enumerate(zip(outs, seeds, strict=True)):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        keep = bool(retain_graph) or i < len(outs) - 1
        found = backpropagate(out.value, _seed(out, given), keep, [x.value for x in ins]) or []
        total = [
            a if b is None else b if a is None else a + b for a, b in zip(total, found, strict=True)
        ]
    result: list[Tensor | None] = []
    for x, g in zip(ins, total, strict=True):
        if g is None and not (allow_unused or materialize_grads):
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        if g is None:
            result.append(None if not materialize_grads else wrap(x.value.zeros(x.shape), x.dtype))
        else:
            copy = mt.Tensor.make(g.to_numpy().ravel(), x.shape, backend=x.value.backend)
            result.append(wrap(copy, x.dtype))
    return tuple(result)


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """``t.backward(g)`` for each tensor and its gradient."""
    outs = _seq(tensors)
    seeds = _seq(grad_tensors) if grad_tensors is not None else [None] * len(outs)
    for i, (out, given) in enumerate(zip(outs, seeds, strict=True)):
        keep = bool(retain_graph) or i < len(outs) - 1
        out.backward(given, retain_graph=keep, create_graph=create_graph, inputs=inputs)


def enable_grad() -> Any:
    return _enable_grad(True)


__all__ = [
    "Function",
    "FunctionCtx",
    "InplaceFunction",
    "Variable",
    "backward",
    "enable_grad",
    "grad",
    "no_grad",
    "once_differentiable",
]


def __getattr__(name: str) -> Any:
    raise UnsupportedError(f"minitorch.torch does not implement torch.autograd.{name}")
