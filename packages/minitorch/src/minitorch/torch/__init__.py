"""The torch face: ``import minitorch.torch as torch`` runs PyTorch-style code on MiniTorch.

Thin adapters over the stages: `Tensor` wraps an mt-tensor tensor and adds PyTorch's dtypes,
devices and conventions (reductions drop the reduced dim unless ``keepdim=True``); ``nn``,
``nn.functional``, ``optim`` and ``utils.data`` call mt-nn. Anything not provided raises
`UnsupportedError` (a `NotImplementedError`) naming the PyTorch feature. ``python -m minitorch.torch
script.py`` runs an unchanged PyTorch script with ``import torch`` meaning this module.
"""

from __future__ import annotations

import builtins
import importlib.abc
import sys
from typing import Any

from mt_autodiff import enable_grad as _enable_grad
from mt_autodiff import is_grad_enabled, no_grad

from ..__about__ import __version__
from . import autograd, cuda, nn, optim, utils
from .creation import (
    arange,
    as_tensor,
    bernoulli,
    cat,
    concat,
    concatenate,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    stack,
    tensor,
    zeros,
    zeros_like,
)
from .dtypes import bool_ as bool
from .dtypes import (
    dtype,
    float32,
    float64,
    get_default_dtype,
    int32,
    int64,
    set_default_dtype,
)
from .ops import *  # noqa: F403 (the free functions, listed in ops.__all__)
from .ops import __all__ as _ops
from .serialization import load, save
from .tensors import (
    BoolTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    Size,
    Tensor,
    UnsupportedError,
    device,
    get_default_device,
    set_default_device,
)

float = float32  # noqa: A001 (PyTorch's name)
double = float64
long = int64
int = int32  # noqa: A001 (PyTorch's name)
inference_mode = no_grad


class set_grad_enabled:  # noqa: N801 (PyTorch's name)
    """Grad mode on or off, as a context manager (or for the rest of the thread when called)."""

    def __init__(self, mode: builtins.bool) -> None:
        self._block = _enable_grad(mode)
        self._block.__enter__()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self._block.__exit__(None, None, None)


def enable_grad() -> Any:
    """Grad mode on inside the block."""
    return _enable_grad(True)


MODULES = (
    "autograd",
    "nn",
    "nn.functional",
    "nn.init",
    "optim",
    "optim.lr_scheduler",
    "utils",
    "utils.data",
    "cuda",
)


class _Missing(importlib.abc.MetaPathFinder):
    """Refuses ``import torch.<anything the face lacks>`` with `UnsupportedError`."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.startswith("torch.") and fullname not in sys.modules:
            raise UnsupportedError(f"minitorch.torch does not implement the module {fullname}")


def install_as_torch() -> None:
    """Make ``import torch`` (and its submodules above) mean this module in this process."""
    sys.modules["torch"] = sys.modules[__name__]
    for name in MODULES:
        module = sys.modules[f"{__name__}.{name}"]
        sys.modules[f"torch.{name}"] = module
        if not hasattr(module, "__path__"):  # a package to the import system, so that
            setattr(module, "__path__", [])  # noqa: B010  (`import torch.<name>.<missing>` asks `_Missing`)
    sys.modules["torch.autograd.function"] = autograd
    if not builtins.any(isinstance(f, _Missing) for f in sys.meta_path):
        sys.meta_path.append(_Missing())


def __getattr__(name: str) -> Any:
    raise UnsupportedError(f"minitorch.torch does not implement torch.{name}")


__all__ = [
    *_ops,
    "BoolTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "autograd",
    "bernoulli",
    "get_default_device",
    "multinomial",
    "normal",
    "randint_like",
    "set_default_device",
    "Size",
    "Tensor",
    "UnsupportedError",
    "__version__",
    "arange",
    "as_tensor",
    "bool",
    "cat",
    "concat",
    "concatenate",
    "cuda",
    "device",
    "double",
    "dtype",
    "empty",
    "empty_like",
    "enable_grad",
    "eye",
    "float",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "inference_mode",
    "install_as_torch",
    "int",
    "int32",
    "int64",
    "is_grad_enabled",
    "linspace",
    "load",
    "long",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "set_default_dtype",
    "set_grad_enabled",
    "stack",
    "tensor",
    "utils",
    "zeros",
    "zeros_like",
]
