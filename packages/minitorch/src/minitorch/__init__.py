"""MiniTorch: ``import minitorch`` gives every stage's public names in one place.

The facade holds no math. Its names are each stage's own ``__all__``; the course's module layout
(``minitorch.operators``, ``minitorch.tensor_data``, ``minitorch.fast_ops``, ...) is a set of
modules here that re-export their stage, loaded first so that, as in the course,
``minitorch.tensor`` is the constructor and ``minitorch.datasets`` the dict of generators.
``numba.cuda`` (0.3-0.5 s of import that CPU runs never use) loads on first use.
Stage 1's ``ReLU``/``Sigmoid`` are the Scalar functions (the layers are ``mt_nn.ReLU``/
``mt_nn.Sigmoid``). ``MathTest``/``MathTestVariable`` (they need hypothesis) load on first use.
"""

import importlib
from typing import Any

import numba

from . import (
    autodiff,
    cuda_ops,
    fast_conv,
    fast_ops,
    module,
    nn,
    operators,
    optim,
    scalar,
    scalar_functions,
    tensor_data,
    tensor_functions,
    tensor_ops,
)
from . import datasets as _datasets_module  # the name is the dict's, from mt_operators
from . import tensor as _tensor_module  # the name is the constructor's, from mt_tensor

from mt_operators import *
from mt_autodiff import *
from mt_tensor import *
from mt_fast import *
from mt_cuda import *
from mt_nn import *  # type: ignore[assignment]  # ReLU, Sigmoid, History: the course's, below
from mt_nn import data, models
from mt_autodiff import ReLU, Sigmoid
from mt_tensor import History

from .__about__ import __version__


def _numba_cuda(name: str) -> Any:
    """``numba.cuda`` imported when first asked for: the course's tests call
    ``numba.cuda.is_available()`` after ``import numba, minitorch`` without importing it."""
    if name == "cuda":
        return importlib.import_module("numba.cuda")
    raise AttributeError(f"module 'numba' has no attribute {name!r}")


if "__getattr__" not in vars(numba):
    setattr(numba, "__getattr__", _numba_cuda)  # noqa: B010  (a module's PEP 562 hook)

prod = operators.prod
"""The course's ``minitorch.prod``: the product of a list of floats."""


def __getattr__(name: str) -> Any:
    """``MathTest``/``MathTestVariable`` from `minitorch.testing`, imported on first use."""
    if name in ("MathTest", "MathTestVariable"):
        from . import testing

        return getattr(testing, name)
    raise AttributeError(f"module 'minitorch' has no attribute {name!r}")
