"""The autodiff engine: a `Variable` protocol, `Context`, and iterative backpropagation.

The engine knows nothing of `Scalar` or `Tensor`; both implement `Variable`, so this module
serves stage 1 and stage 2 alike. Backward walks the graph with explicit stacks (no recursion
limit) and releases each node's saved values once it has passed them on, so no graph survives
a ``backward()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from mt_operators.operators import central_difference

__all__ = [
    "Context",
    "Variable",
    "backpropagate",
    "central_difference",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "topological_sort",
]


class Variable(Protocol):
    """What the engine needs of a value in a computation graph."""

    def accumulate_derivative(self, x: Any) -> None:
        """Add ``x`` to this leaf's derivative."""

    @property
    def unique_id(self) -> int:
        """An id no other variable shares."""

    def is_leaf(self) -> bool:
        """True for variables created by the user (they receive derivatives)."""

    def is_constant(self) -> bool:
        """True for values that no derivative flows into."""

    @property
    def parents(self) -> Iterable[Variable]:
        """The inputs of the function that produced this variable."""

    def chain_rule(self, d_output: Any) -> Iterable[tuple[Variable, Any]]:
        """Each non-constant input with its share of ``d_output``."""

    def release_graph(self) -> None:
        """Forget saved values and inputs once backward has used them."""


@dataclass
class Context:
    """What a function's ``forward`` saves for its ``backward``."""

    no_grad: bool = False
    saved_values: tuple[Any, ...] = ()

    def save_for_backward(self, *values: Any) -> None:
        """Keep ``values`` for backward (skipped when no gradient is needed)."""
        if self.no_grad:
            return
        self.saved_values = values

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """PyTorch's name for `saved_values`."""
        return self.saved_values


class _GradMode(threading.local):
    """Grad mode of each thread: on until a thread turns it off."""

    enabled = True  # a class attribute: reading it is 10x faster than getattr with a default


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether new operations record a graph (per thread, like PyTorch)."""
    return _grad_mode.enabled


F = TypeVar("F", bound=Callable[..., Any])


class no_grad:  # noqa: N801 (PyTorch's name)
    """Context manager and decorator: operations inside record no graph.

    >>> with no_grad():
    ...     is_grad_enabled()
    False
    """

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        _grad_mode.enabled = False

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._previous

    def __call__(self, fn: F) -> F:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps keeps fn's signature


@contextmanager
def enable_grad(enabled: bool = True) -> Iterator[None]:
    """Set grad mode inside the block (``enable_grad(False)`` is `no_grad`)."""
    previous = is_grad_enabled()
    _grad_mode.enabled = enabled
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def topological_sort(variable: Variable) -> list[Variable]:
    """Non-constant variables reachable from ``variable``, each before its parents.

    Depth-first with an explicit stack, so graph depth is limited by memory, not recursion.
    The order is deterministic: parents are visited in argument order.
    """
    order: list[Variable] = []
    visited: set[int] = set()
    stack: list[tuple[Variable, bool]] = [(variable, False)]
    while stack:
        var, expanded = stack.pop()
        if expanded:
            order.append(var)
            continue
        uid = var.unique_id
        if uid in visited or var.is_constant():
            continue
        visited.add(uid)
        stack.append((var, True))
        if not var.is_leaf():
            for parent in reversed(tuple(var.parents)):
                if parent.unique_id not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order


def backpropagate(
    variable: Variable,
    deriv: Any,
    retain_graph: bool = False,
    inputs: Sequence[Variable] | None = None,
) -> list[Any] | None:
    """Push ``deriv`` from ``variable`` to every leaf by the chain rule.

    Each node is visited once, after every path into it has added its share, so values used
    twice receive both contributions. Leaves accumulate; interior nodes release their graph
    unless ``retain_graph`` (then a second backward can run). With ``inputs`` nothing
    accumulates: the derivative reaching each of ``inputs`` is returned (None where none
    reaches it), as ``torch.autograd.grad``. Runs with grad mode off: derivative arithmetic
    records no graph of its own.
    """
    with enable_grad(False):
        return _backpropagate(variable, deriv, retain_graph, inputs)


def _backpropagate(
    variable: Variable, deriv: Any, retain_graph: bool, inputs: Sequence[Variable] | None
) -> list[Any] | None:
    wanted: dict[int, Any] | None = None if inputs is None else {v.unique_id: None for v in inputs}
    derivatives: dict[int, Any] = {variable.unique_id: deriv}
    for var in topological_sort(variable):
        uid = var.unique_id
        d = derivatives.pop(uid, None)
        if d is None:
            continue
        if wanted is not None and uid in wanted:
            wanted[uid] = d
        if var.is_leaf():
            if wanted is None:
                var.accumulate_derivative(d)
            continue
        for parent, d_parent in var.chain_rule(d):
            if parent.is_constant():
                continue
            key = parent.unique_id
            derivatives[key] = derivatives[key] + d_parent if key in derivatives else d_parent
        if not retain_graph:
            var.release_graph()
    return None if wanted is None or inputs is None else [wanted[v.unique_id] for v in inputs]
