"""Devices, wrapping a stage tensor, ``grad_fn`` labels and the small helpers every layer of the
face's `Tensor` uses (tensors.py assembles the layers).
"""

from __future__ import annotations

import builtins
import numbers
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeAlias, TypeGuard, cast

import numpy as np
import numpy.typing as npt

import mt_tensor as mt
from mt_tensor import TensorBackend, default_backend, get_backend, installed_backends

from . import dtypes
from .dtypes import BOOL, INTEGRAL
from .dtypes import dtype as DType  # noqa: N812 (the class; `dtype` is a property here)

Number: TypeAlias = "int | float | bool"


if TYPE_CHECKING:
    from .tensors import Tensor


class TensorBase:
    """What every face tensor holds: a stage tensor and a dtype. Its layers (tensor_core.py,
    tensor_arith.py, ...) build on it and tensors.py assembles them into `Tensor`, which it
    records as `face` so that `wrap` makes a `Tensor` without importing tensors.py."""

    _t: mt.Tensor
    _dtype: DType
    face: ClassVar[type[Tensor]]


def is_face_tensor(x: object) -> TypeGuard[Tensor]:
    """Whether ``x`` is a face tensor (an instance of the assembled `Tensor`)."""
    return isinstance(x, TensorBase)


class UnsupportedError(NotImplementedError, AttributeError):
    """A PyTorch feature this face does not have (an `AttributeError` too, so ``hasattr`` is
    simply false)."""


# Devices.


class device:  # noqa: N801 (PyTorch's name)
    """``cpu`` (the best installed CPU backend) or ``cuda`` (the cuda backend)."""

    type: str
    index: int | None

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        name = f"{type.type}:{type.index}" if isinstance(type, device) else type
        if isinstance(type, device) and type.index is None:
            name = type.type
        kind, _, number = name.partition(":")
        if kind not in ("cpu", "cuda"):
            raise UnsupportedError(
                f"minitorch.torch supports devices 'cpu' and 'cuda', not {name!r}"
            )
        self.type = kind
        self.index = int(number) if number else index

    def __eq__(self, other: object) -> builtins.bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


_default_device = "cpu"
"""Where tensors are made when no device is given (`set_default_device`)."""


def set_default_device(where: str | device | None) -> None:
    """Make tensors on ``where`` (``"cpu"`` or ``"cuda"``) when no device is given."""
    global _default_device
    _default_device = "cpu" if where is None else device(where).type


def get_default_device() -> device:
    return device(_default_device)


def backend_of(where: str | device | None) -> TensorBackend:
    """The stage backend behind a device (``None``: the default device's)."""
    where = _default_device if where is None else where
    if device(where).type == "cuda":
        return get_backend("cuda")
    backend = default_backend()
    if backend.cuda:  # the default is a GPU backend: "cpu" means the best one on the CPU
        return next(b for b in map(get_backend, installed_backends()) if b.device == "cpu")
    return backend


def device_of(backend: TensorBackend) -> device:
    return device("cuda", 0) if backend.cuda else device("cpu")


class Size(tuple[int, ...]):
    """A shape: a tuple that prints as ``torch.Size([2, 3])``."""

    def numel(self) -> int:
        return int(np.prod(self)) if self else 1

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"


class MaxMin(NamedTuple):
    """``max(dim)``/``min(dim)``: the values and their indices."""

    values: Tensor
    indices: Tensor


# Wrapping.


def wrap(inner: mt.Tensor, dt: DType) -> Tensor:
    """A face tensor over ``inner`` (no copy when it has ``dt``'s storage dtype, else cast)."""
    if inner.dtype != dtypes.storage(dt):
        inner = inner.astype(dtypes.storage(dt))
    out = object.__new__(TensorBase.face)
    out._t = inner
    out._dtype = dt
    return out


def unwrap(x: Any, like: TensorBase) -> mt.Tensor:
    """``x`` as a stage tensor on ``like``'s backend (numbers become 0-d tensors)."""
    if is_face_tensor(x):
        return x._t
    if isinstance(x, numbers.Real):
        kind = mt.dtypes.scalar_dtype(like._t.dtype, x)
        return like._t.make(np.array([x], kind), (), backend=like._t.backend)
    raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}: {x!r}")


def _dim(d: int, ndim: int) -> int:
    """``d`` made non-negative; PyTorch's error otherwise."""
    if isinstance(d, builtins.bool) or not isinstance(d, int | np.integer):
        raise TypeError(f"dim must be an int, got {d!r}")
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
            f"{max(ndim, 1) - 1}], but got {d})"
        )
    return int(d) % max(ndim, 1)


def _dims(dim: int | Sequence[int], ndim: int) -> list[int]:
    """One dim or several, each made non-negative, sorted; a repeated dim is PyTorch's error."""
    given = [_dim(d, ndim) for d in ((dim,) if isinstance(dim, int) else dim)]
    for d in given:
        if given.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return sorted(given)


def _floating(x: Tensor, name: str) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")


def _shape_args(args: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` alike."""
    if len(args) == 1 and isinstance(args[0], Sequence):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _format(values: npt.NDArray[np.float64], dt: DType, prefix: str) -> str:
    """The elements as PyTorch prints them: aligned, 4 decimals (or ``1.`` for whole floats,
    or scientific across wide ranges)."""
    fmt: Callable[[float], str]
    if dt.category == BOOL:
        fmt = lambda v: "True" if v else "False"
    elif dt.category == INTEGRAL:
        fmt = lambda v: str(int(v))
    else:
        if dt.bits == 32:  # shown as PyTorch holds it: rounded to float32
            values = values.astype(np.float32).astype(np.float64)
        finite = np.abs(values[np.isfinite(values)])
        nonzero = finite[finite > 0]
        whole = finite.size == 0 or bool(np.all(finite == np.round(finite)))
        big = nonzero.size > 0 and nonzero.max() >= 1e8
        wide = nonzero.size > 0 and (nonzero.max() / nonzero.min() > 1e3 or nonzero.min() < 1e-4)
        if big or (wide and not whole):
            fmt = lambda v: f"{v:.4e}" if np.isfinite(v) else f"{v}"
        elif whole:
            fmt = lambda v: f"{v:.0f}." if np.isfinite(v) else f"{v}"
        else:
            fmt = lambda v: f"{v:.4f}" if np.isfinite(v) else f"{v}"
    width = max((len(fmt(float(v))) for v in values.ravel()), default=0)
    return np.array2string(
        values,
        separator=", ",
        prefix=prefix,
        formatter=cast(Any, {"all": lambda v: fmt(float(v)).rjust(width)}),
        max_line_width=81,  # PyTorch fills a line to 80 columns with its trailing comma
        threshold=1000,
    )


_names: dict[int, tuple[str, weakref.ref[mt.Tensor]]] = {}
"""PyTorch's name of the op that made each live stage tensor the face labelled (by id), with a
weak reference whose callback forgets the entry when the tensor goes."""


def _forget(key: int) -> Callable[[object], object]:
    return lambda _: _names.pop(key, None)


def label(out: Tensor, name: str) -> Tensor:
    """Remember ``name`` (``"MulBackward0"``) as the PyTorch op that made ``out``, so its
    ``grad_fn`` reads as PyTorch's; nothing is kept once ``out``'s stage tensor is gone."""
    inner = out._t
    if inner.history is not None and inner.history.last_fn is not None:
        key = inner.unique_id
        entry = _names.get(key)
        _names[key] = (name, entry[1] if entry else weakref.ref(inner, _forget(key)))
    return out


def unlabel(out: Tensor) -> None:
    """Forget ``out``'s name: it is a step inside a larger PyTorch op, which ``next_functions``
    looks through."""
    _names.pop(out._t.unique_id, None)


class AccumulateGrad:
    """The node that receives a leaf's gradient (``grad_fn.next_functions`` shows it)."""

    def __init__(self, leaf: mt.Tensor) -> None:
        self.variable = wrap(leaf, dtypes.get_default_dtype())
        self.next_functions: tuple[tuple[Any, int], ...] = ()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class GradFn:
    """What made a tensor, as PyTorch shows it (``<MulBackward0 object at 0x...>``): the op's
    PyTorch name and, in ``next_functions``, the nodes of its inputs that take a gradient
    (stage nodes inside one face op are looked through, so the structure is PyTorch's; inputs
    that take none are left out, where PyTorch lists None)."""

    def __init__(self, inner: mt.Tensor) -> None:
        self._inner = inner

    def name(self) -> str:
        found = _names.get(self._inner.unique_id)
        if found is not None:
            return found[0]
        history = self._inner.history
        fn = history.last_fn if history is not None else None
        return f"{fn.__name__ if fn is not None else 'Unknown'}Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        out: list[tuple[Any, int]] = []
        inside: set[int] = set()  # inputs reached through steps of this op, listed once
        todo = [(p, False) for p in reversed(list(self._inner.parents))]
        while todo:
            inp, deeper = todo.pop()
            if inp.is_constant() or (deeper and inp.unique_id in inside):
                continue
            if deeper:
                inside.add(inp.unique_id)
            if inp.is_leaf():
                out.append((AccumulateGrad(inp), 0))
            elif inp.unique_id in _names or not list(inp.parents):
                out.append((GradFn(inp), 0))
            else:
                todo.extend((p, True) for p in reversed(list(inp.parents)))
        return tuple(out)

    def register_hook(self, *args: Any) -> None:
        raise UnsupportedError("grad_fn.register_hook (backward hooks)")

    def __eq__(self, other: object) -> builtins.bool:
        return isinstance(other, GradFn) and other._inner is self._inner

    def __hash__(self) -> int:
        return hash(self._inner.unique_id)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self._inner):#x}>"


_TYPE_NAMES = {
    "int64": "Long",
    "int32": "Int",
    "bool": "Bool",
    "float32": "Float",
    "float64": "Double",
}
"""PyTorch's names of the dtypes in messages and ``type()``."""


def _scaled(o: Any, alpha: Number) -> Any:
    """``alpha * o``, a step inside ``add``/``sub`` (not a node of its own in ``grad_fn``)."""
    if alpha == 1:
        return o
    out = o * alpha
    if is_face_tensor(out):
        unlabel(out)
    return out


def _no_generator(generator: Any) -> None:
    if generator is not None:
        raise UnsupportedError("explicit torch.Generator objects (use torch.manual_seed)")


def _example(dt: DType) -> Number:
    """A Python number of ``dt``'s category (a 0-d tensor promotes like one)."""
    return {BOOL: True, INTEGRAL: 1}.get(dt.category, 1.0)


def _unpickle(
    values: list[float], shape: tuple[int, ...], name: str, requires_grad: builtins.bool
) -> Tensor:
    dt = {
        d.name: d
        for d in (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64, dtypes.bool_)
    }[name]
    out = wrap(
        mt.Tensor.make(np.array(values, dtype=np.float64), shape, backend=backend_of(None)), dt
    )
    return out.requires_grad_(True) if requires_grad else out


def _key(key: Any) -> Any:
    """A PyTorch index with our tensors replaced by numpy arrays (bool masks stay masks)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for part in parts:
        if is_face_tensor(part):
            if part.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            values = part._t.to_numpy()
            part = (
                values.astype(np.bool_) if part.dtype.category == BOOL else values.astype(np.int64)
            )
        out.append(part)
    return tuple(out)


def where(condition: Tensor, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (numbers allowed for ``a`` or ``b``)."""
    like = a if is_face_tensor(a) else b if is_face_tensor(b) else condition
    ta, tb = unwrap(a, like), unwrap(b, like)
    dt_a = a.dtype if is_face_tensor(a) else dtypes.of_number(a)
    dt_b = b.dtype if is_face_tensor(b) else dtypes.of_number(b)
    return wrap(mt.where(condition._t, ta, tb), dtypes.promote(dt_a, dt_b))
