"""`Module` and `Parameter`: a tree of named, trainable values (the course's Task 0.4).

Assigning a `Parameter` or a `Module` to an attribute registers it, as in PyTorch. ``modules()``
keeps the course's meaning (the direct children, as a list); ``children()`` is PyTorch's name
for the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "Module",
    "Parameter",
]


class Parameter:
    """A named value that an optimizer may update in place.

    The value may be a float, a `Scalar` or a `Tensor`; values that track gradients (those
    with ``requires_grad_``) are switched on when stored.
    """

    def __init__(self, x: Any, name: str | None = None) -> None:
        self.name = name
        self.value: Any = None
        self.update(x)

    def update(self, x: Any) -> None:
        """Replace the value, keeping it a gradient-tracking leaf."""
        self.value = x
        if hasattr(x, "requires_grad_"):
            x.requires_grad_(True)
            if self.name is not None:
                x.name = self.name

    def __repr__(self) -> str:
        return repr(self.value)

    def __str__(self) -> str:
        return str(self.value)


class Module:
    """A node in a tree of modules; subclasses define ``forward``.

    >>> class Affine(Module):
    ...     def __init__(self) -> None:
    ...         super().__init__()
    ...         self.w = Parameter(2.0)
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    _modules: dict[str, Module]
    _parameters: dict[str, Parameter]
    training: bool

    def __init__(self) -> None:
        self.__dict__["_modules"] = {}
        self.__dict__["_parameters"] = {}
        self.__dict__["training"] = True

    def modules(self) -> Sequence[Module]:
        """The direct child modules (the course's meaning)."""
        return list(self.__dict__["_modules"].values())

    def children(self) -> Sequence[Module]:
        """The direct child modules (PyTorch's name)."""
        return self.modules()

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:
        """This module and all below it, with dotted names (``""`` for the root)."""
        found: list[tuple[str, Module]] = [(prefix, self)]
        for name, child in self._modules.items():
            found.extend(child.named_modules(f"{prefix}.{name}" if prefix else name))
        return found

    def train(self) -> None:
        """Put this module and every descendant in training mode."""
        for _, m in self.named_modules():
            m.__dict__["training"] = True

    def eval(self) -> None:
        """Put this module and every descendant in evaluation mode."""
        for _, m in self.named_modules():
            m.__dict__["training"] = False

    def named_parameters(self) -> Sequence[tuple[str, Parameter]]:
        """Every parameter in the tree, named by its dotted path (``layer1.weights``)."""
        named: list[tuple[str, Parameter]] = []
        for prefix, m in self.named_modules():
            for name, p in m._parameters.items():
                named.append((f"{prefix}.{name}" if prefix else name, p))
        return named

    def parameters(self) -> Sequence[Parameter]:
        """Every parameter in the tree, in `named_parameters` order."""
        return [p for _, p in self.named_parameters()]

    def add_parameter(self, k: str, v: Any) -> Parameter:
        """Register ``v`` as a parameter named ``k`` and return it."""
        p = Parameter(v, k)
        self.__dict__["_parameters"][k] = p
        return p

    def __setattr__(self, key: str, val: Any) -> None:
        if isinstance(val, Parameter):
            self.__dict__["_parameters"][key] = val
        elif isinstance(val, Module):
            self.__dict__["_modules"][key] = val
        else:
            super().__setattr__(key, val)

    def __getattr__(self, key: str) -> Any:
        # ``.get``: while copy or pickle rebuild a module, its dicts are not there yet.
        parameters = self.__dict__.get("_parameters", {})
        modules = self.__dict__.get("_modules", {})
        if key in parameters:
            return parameters[key]
        if key in modules:
            return modules[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """Text shown inside this module's parentheses in ``repr``."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for key, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({key}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
