"""What the torch face provides, listed by looking at it (``python -m minitorch.torch --names``)."""

from __future__ import annotations

import inspect
from types import ModuleType

from . import autograd, nn, optim
from .nn import functional, init, utils
from .optim import lr_scheduler
from .tensors import Tensor
from .utils import data


def _public(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None) or [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and inspect.isfunction(v) and v.__module__ == module.__name__
    ]
    return sorted(names)


def _defined_in(value: object, module: ModuleType) -> bool:
    return (inspect.isfunction(value) or inspect.isclass(value)) and (
        getattr(value, "__module__", None) == module.__name__
    )


def supported() -> dict[str, list[str]]:
    """Each namespace of the face with its public names."""
    import minitorch.torch as torch

    tensor = sorted(
        n
        for n in dir(Tensor)
        if (not n.startswith("_") or n in ("__getitem__", "__setitem__", "__matmul__"))
        and n not in ("value",)
    )
    module = sorted(n for n in dir(nn.Module) if not n.startswith("_") and n != "forward")
    return {
        "torch": _public(torch),
        "torch.Tensor": tensor,
        "torch.nn": _public(nn),
        "torch.nn.Module": module,
        "torch.nn.functional": _public(functional),
        "torch.nn.init": _public(init),
        "torch.nn.utils": _public(utils),
        "torch.optim": _public(optim),
        "torch.optim.lr_scheduler": _public(lr_scheduler),
        "torch.autograd": _public(autograd),
        "torch.utils.data": sorted(
            n for n, v in vars(data).items() if not n.startswith("_") and _defined_in(v, data)
        ),
    }


def report() -> str:
    """The lists as text, one namespace a paragraph."""
    parts = []
    for space, names in supported().items():
        parts.append(f"{space} ({len(names)}): {', '.join(names)}")
    return "\n\n".join(parts)
