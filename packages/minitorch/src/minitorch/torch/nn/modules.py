"""``nn.Module`` and ``nn.Parameter`` with PyTorch's behaviour, on stage 0's `Module`.

A `Parameter` is a face `Tensor` and a stage 0 `Parameter` at once: modules register it by
attribute assignment (stage 0's mechanism) and mt-nn's optimizers update it (through its
``value``, the stage tensor behind it). Updates are written into the parameter's storage, so a
parameter keeps its identity and every alias of its data sees new values, as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import mt_operators
import mt_tensor as mt
from mt_autodiff import no_grad

from .. import dtypes
from ..tensors import Tensor, UnsupportedError, backend_of, wrap

M = TypeVar("M", bound="Module")


class Parameter(Tensor, mt_operators.Parameter):
    """A tensor a module learns: it requires grad and registers itself with its module."""

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = wrap(mt.zeros((0,), backend=backend_of(None)), dtypes.get_default_dtype())
        self._t = data._t.detach()
        self._dtype = data.dtype
        self.name: str | None = None
        if requires_grad:
            self.requires_grad_(True)

    def update(self, x: mt.Tensor) -> None:
        """Take the values of ``x`` (what an optimizer computed), in place."""
        write_into(self, x)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_parameter, (Tensor.__reduce__(self),))


def write_into(t: Tensor, x: mt.Tensor) -> None:
    """Give ``t`` the values of ``x``: written into its storage (aliases see them) when the
    shapes and backends agree, else by taking ``x`` as its new data. ``t`` stays a leaf."""
    with no_grad():
        if x.shape == t._t.shape and x.backend is t._t.backend:
            t._t.backend.id_map(x.detach(), t._t)
        else:
            t._t = x.detach().requires_grad_(True)


def _parameter(reduced: tuple[Any, ...]) -> Parameter:
    fn, args = reduced
    return Parameter(fn(*args))


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module(mt_operators.Module):
    """PyTorch's ``nn.Module``: a tree of modules, parameters and buffers."""

    _buffers: dict[str, Tensor]

    def __init__(self) -> None:
        super().__init__()
        self.__dict__["_buffers"] = {}

    def __setattr__(self, key: str, val: Any) -> None:
        if key in self.__dict__.get("_buffers", {}) and isinstance(val, Tensor):
            self._buffers[key] = val
        elif "_modules" not in self.__dict__ and isinstance(val, Parameter | Module):
            raise AttributeError("cannot assign parameters or modules before Module.__init__()")
        else:
            super().__setattr__(key, val)

    def __getattr__(self, key: str) -> Any:
        buffers = self.__dict__.get("_buffers", {})
        if key in buffers:
            return buffers[key]
        return super().__getattr__(key)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that belongs to the module's state but is not learned."""
        if tensor is None:
            raise UnsupportedError("register_buffer(name, None): a buffer must be a tensor here")
        self._buffers[name] = tensor

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        setattr(self, name, module)

    register_module = add_module

    # The tree (PyTorch's meanings: iterators, recursive).

    def named_modules(self, prefix: str = "") -> list[tuple[str, Module]]:  # type: ignore[override]  # face modules
        """This module and every one below it, each once (a shared module under its first name)."""
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            path, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            found.append((path, m))
            children = [(f"{path}.{k}" if path else k, c) for k, c in m._modules.items()]
            stack.extend(reversed(children))  # type: ignore[arg-type]  # only face modules here
        return found

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m  # type: ignore[misc]  # only face modules here

    def children(self) -> Iterator[Module]:  # type: ignore[override]  # an iterator, as PyTorch
        for _, m in self.named_children():
            yield m

    def modules(self) -> Iterator[Module]:  # type: ignore[override]  # recursive, as PyTorch
        for _, m in self.named_modules():
            yield m

    def named_parameters(  # type: ignore[override]  # an iterator, as PyTorch
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        modules = self.named_modules() if recurse else [("", self)]
        for path, m in modules:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                full = ".".join(x for x in (prefix, path, name) if x)
                yield full, p  # type: ignore[misc]  # only face parameters here

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:  # type: ignore[override]
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for path, m in self.named_modules():
            for name, b in m._buffers.items():
                yield ".".join(x for x in (prefix, path, name) if x), b

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    def train(self: M, mode: bool = True) -> M:  # type: ignore[override]  # returns self
        for _, m in self.named_modules():
            m.__dict__["training"] = mode
        return self

    def eval(self: M) -> M:  # type: ignore[override]  # returns self, as PyTorch
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def apply(self: M, fn: Callable[[Module], None]) -> M:
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # Moving.

    def to(self: M, *args: Any, **kwargs: Any) -> M:
        """Move every parameter and buffer (``"cpu"``, ``"cuda"``, a dtype), in place."""
        for p in self.parameters():
            learning = p.requires_grad
            moved = p.detach().to(*args, **kwargs)
            p._t, p._dtype = moved._t.detach(), moved.dtype
            if learning:
                p._t.requires_grad_(True)
        for _, m in self.named_modules():
            for name, b in m._buffers.items():
                m._buffers[name] = b.to(*args, **kwargs)
        return self

    def cpu(self: M) -> M:
        return self.to("cpu")

    def cuda(self: M, device_index: int | None = None) -> M:
        return self.to("cuda")

    def float(self: M) -> M:
        return self.to(dtypes.float32)

    def double(self: M) -> M:
        return self.to(dtypes.float64)

    # State.

    def state_dict(
        self,
        destination: OrderedDict[str, Tensor] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name, in PyTorch's order (a module's own, then its
        children's); detached tensors sharing storage unless ``keep_vars``."""
        state: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        own: list[tuple[str, Any]] = [*self._parameters.items(), *self._buffers.items()]
        for name, t in own:
            if t is not None:
                state[prefix + name] = t if keep_vars else t.detach()
        for name, child in self._modules.items():
            if isinstance(child, Module):
                child.state_dict(state, f"{prefix}{name}.", keep_vars)
        return state

    def load_state_dict(
        self, state_dict: Mapping[str, Tensor], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values by name into this module's parameters and buffers."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}: missing keys "
                f"{missing}, unexpected keys {unexpected}"
            )
        wrong = [
            f"{k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(own[k].shape)}"
            for k in own
            if k in state_dict and state_dict[k].shape != own[k].shape
        ]
        if wrong:
            raise RuntimeError(f"size mismatch for {'; '.join(wrong)}")
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    target.copy_(state_dict[k].type(target.dtype))
        return IncompatibleKeys(missing, unexpected)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)


class Sequential(Module):
    """Modules applied in order (given as arguments or an ordered dict of names)."""

    def __init__(self, *args: Module | Mapping[str, Module]) -> None:
        super().__init__()
        first = args[0] if len(args) == 1 else None
        if isinstance(first, Mapping):
            for name, m in first.items():
                self.add_module(name, m)
            return
        for i, layer in enumerate(args):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes modules, got {type(layer).__name__}")
            self.add_module(str(i), layer)

    def forward(self, x: Any) -> Any:
        for m in self.children():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, i: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(i, slice):
            return Sequential(OrderedDict(items[i]))  # type: ignore[arg-type]  # face modules
        return items[i][1]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules, registered as children ``"0"``, ``"1"``, ..."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, i: int) -> Any:
        return list(self._modules.values())[i]

    def forward(self, *args: Any) -> Any:
        raise UnsupportedError("ModuleList is not callable; call its modules")


class ModuleDict(Module):
    """Modules by name, registered as children in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] = ()) -> None:
        super().__init__()
        self.update(modules)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for name, module in pairs:
            self[name] = module

    def __setitem__(self, name: str, module: Module) -> None:
        self.add_module(name, module)

    def __getitem__(self, name: str) -> Any:
        return self._modules[name]

    def __delitem__(self, name: str) -> None:
        del self._modules[name]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[mt_operators.Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, mt_operators.Module]]:
        return self._modules.items()

    def forward(self, *args: Any) -> Any:
        raise UnsupportedError("ModuleDict is not callable; call its modules")
