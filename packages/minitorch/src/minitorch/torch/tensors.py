"""`Tensor` with PyTorch's face: a thin wrapper over a stage tensor (`mt_tensor.Tensor`).

The wrapper adds what PyTorch code expects and the stages leave to the user: a dtype
(`minitorch.torch.dtypes`), a device, reductions that drop the reduced dim unless
``keepdim=True``, ``size()`` as a method, in-place methods, indexing with slices and tensors.
Every value is computed by the stages (mt-tensor's ops, mt-nn's max and softmax), so the
gradient is theirs too; the wrapper only chooses which stage function to call and relabels the
result. In-place methods write into the tensor's storage when no gradient is recorded (so
``.data`` and ``.grad`` aliases see the change, as in PyTorch) and otherwise record a new node.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import numbers
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, TypeAlias, cast

import numpy as np
import numpy.typing as npt

import mt_nn
import mt_tensor as mt
from mt_autodiff import is_grad_enabled, no_grad
from mt_tensor import TensorBackend, default_backend, get_backend, installed_backends

from . import dtypes
from .dtypes import BOOL, FLOATING, INTEGRAL
from .dtypes import dtype as DType  # noqa: N812 (the class; `dtype` is a property here)

Number: TypeAlias = "int | float | bool"


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
    if backend.cuda:
        return get_backend(next(n for n in ("fast", "numpy") if n in installed_backends()))
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
    out = object.__new__(Tensor)
    out._t = inner
    out._dtype = dt
    return out


def unwrap(x: Any, like: Tensor) -> mt.Tensor:
    """``x`` as a stage tensor on ``like``'s backend (numbers become 0-d tensors)."""
    if isinstance(x, Tensor):
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


# The tensor.


class Tensor:
    """A tensor with PyTorch's methods; its values and gradients live in a stage tensor."""

    _t: mt.Tensor
    _dtype: DType

    _legacy_dtype: DType | None = None
    """The dtype ``torch.FloatTensor(...)`` and friends make (``torch.Tensor``: the default)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's legacy constructors: ``torch.Tensor([1, 2])`` copies data,
        ``torch.FloatTensor(2, 3)`` makes a tensor of that shape (zeros here)."""
        if cls is not Tensor and cls._legacy_dtype is None:  # a subclass (`Parameter`)
            return object.__new__(cls)
        from .creation import tensor, zeros

        dt = cls._legacy_dtype or dtypes.get_default_dtype()
        unknown = sorted(set(kwargs) - {"device"})
        if unknown:
            raise UnsupportedError(f"torch.{cls.__name__}() keyword arguments {unknown}")
        where = kwargs.get("device")
        if len(args) == 1 and not isinstance(args[0], numbers.Integral | Size):
            return tensor(args[0], dtype=dt, device=where)
        return zeros(*args, dtype=dt, device=where)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Everything happened in ``__new__``."""

    # Identity: shape, dtype, device.

    @property
    def shape(self) -> Size:
        return Size(self._t.shape)

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the size of one dim."""
        return self.shape if dim is None else self._t.shape[_dim(dim, self.ndim)]

    @property
    def ndim(self) -> int:
        return self._t.dims

    def dim(self) -> int:
        return self._t.dims

    def numel(self) -> int:
        return self._t.size

    nelement = numel

    @property
    def dtype(self) -> DType:
        return self._dtype

    @property
    def device(self) -> device:
        return device_of(self._t.backend)

    @property
    def is_cuda(self) -> builtins.bool:
        return builtins.bool(self._t.backend.cuda)

    def is_floating_point(self) -> builtins.bool:
        return self._dtype.is_floating_point

    @property
    def value(self) -> mt.Tensor:
        """The stage tensor behind this one (what mt-nn's optimizers read and write)."""
        return self._t

    @value.setter
    def value(self, inner: mt.Tensor) -> None:
        self._t = inner

    # Autograd.

    @property
    def requires_grad(self) -> builtins.bool:
        return self._t.requires_grad()

    @requires_grad.setter
    def requires_grad(self, flag: builtins.bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, not {self._dtype}"
            )
        if not requires_grad and not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use .detach()"
            )
        if requires_grad != self._t.requires_grad():  # PyTorch: a no-op on a non-leaf
            self._t.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> builtins.bool:
        return not self._t.requires_grad() or self._t.is_leaf()

    @property
    def grad_fn(self) -> GradFn | None:
        history = self._t.history
        if history is None or history.last_fn is None:
            return None
        return GradFn(self._t)

    @property
    def grad(self) -> Tensor | None:
        g = self._t.grad
        return None if g is None else wrap(g, self._dtype)

    @grad.setter
    def grad(self, g: Tensor | None) -> None:
        if g is not None and g.shape != self.shape:
            raise RuntimeError(f"assigned grad has shape {g.shape}, expected {self.shape}")
        self._t.grad = None if g is None else g._t

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: builtins.bool | None = None,
        create_graph: builtins.bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate gradients into the leaves; the graph is freed on the way unless
        ``retain_graph`` (then backward can run again)."""
        if create_graph:
            raise UnsupportedError(
                "backward(create_graph=True): MiniTorch does not differentiate gradients"
            )
        if inputs is not None:
            raise UnsupportedError("backward(inputs=...): use torch.autograd.grad")
        if not self._t.requires_grad():
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if gradient is None and self.numel() != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        self._t.backward(None if gradient is None else gradient._t, builtins.bool(retain_graph))

    def detach(self) -> Tensor:
        """The same storage, cut from the graph."""
        return wrap(self._t.detach(), self._dtype)

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, other: Tensor) -> None:
        flag = self._t.requires_grad()
        self._t = other._t.detach()
        if flag:
            self._t.requires_grad_(True)

    def clone(self) -> Tensor:
        return label(wrap(self._t.clone(), self._dtype), "CloneBackward0")

    def contiguous(self) -> Tensor:
        return wrap(self._t.contiguous(), self._dtype)

    def is_contiguous(self) -> builtins.bool:
        return self._t._tensor.is_contiguous()

    def new_full(
        self, size: Sequence[int], fill_value: float, *, dtype: Any = None, device: Any = None
    ) -> Tensor:
        """A tensor of ``size`` on this tensor's device and of its dtype (unless given)."""
        from .creation import full

        return full(size, fill_value, dtype=dtype or self._dtype, device=device or self.device)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None) -> Tensor:
        return self.new_full(_shape_args(size), 0.0, dtype=dtype, device=device)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None) -> Tensor:
        return self.new_full(_shape_args(size), 1.0, dtype=dtype, device=device)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None) -> Tensor:
        from .creation import tensor

        return tensor(data, dtype=dtype or self._dtype, device=device or self.device)

    # Conversion.

    def item(self) -> Number:
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self._python(self._t.contiguous().view(1).item())

    def _python(self, v: float) -> Number:
        if self._dtype.category == BOOL:
            return builtins.bool(v)
        if self._dtype.category == INTEGRAL:
            return int(v)
        return v

    def tolist(self) -> Any:
        values = self._t.to_numpy()
        if self._dtype.category == BOOL:
            return values.astype(np.bool_).tolist()
        if self._dtype.category == INTEGRAL:
            return values.astype(np.int64).tolist()
        return values.tolist()

    def numpy(self, force: builtins.bool = False) -> npt.NDArray[Any]:
        """The values as a numpy array. A floating CPU tensor that owns contiguous storage
        gives a view of that storage (writes show on both sides, as in PyTorch), of its dtype.
        Other tensors give a copy."""
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self.is_cuda and not force:
            raise TypeError(
                "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first."
            )
        data = self._t._tensor
        storage = data._storage
        if (
            self._dtype.is_floating_point
            and isinstance(storage, np.ndarray)
            and data.is_contiguous()
            and storage.size == self.numel()
        ):
            return storage.reshape(self.shape)
        values = self._t.to_numpy()
        kinds: dict[str, Any] = {"bool": np.bool_, "int64": np.int64, "int32": np.int32}
        return values.astype(
            kinds.get(self._dtype.name, np.float32 if self._dtype.bits == 32 else np.float64)
        )

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> npt.NDArray[Any]:
        values = self.detach().numpy()
        return values if dtype is None else values.astype(dtype)

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)`` or keywords."""
        unknown = sorted(set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"})
        if unknown:
            raise TypeError(f"to() received an invalid combination of arguments: {unknown}")
        target_device: device | None = None
        target_dtype: DType | None = None
        for a in (*args, kwargs.get("device"), kwargs.get("dtype")):
            if isinstance(a, Tensor):
                target_device, target_dtype = a.device, a.dtype
            elif isinstance(a, DType):
                target_dtype = a
            elif isinstance(a, str | device):
                target_device = device(a)
        out = self
        if target_device is not None and target_device != self.device:
            moved = self._t.to(backend_of(target_device))
            out = wrap(moved, self._dtype)
        return out._to_dtype(target_dtype) if target_dtype is not None else out

    def type(self, dt: Any = None) -> Any:
        """The dtype converted to: a dtype, ``torch.FloatTensor`` or its name (``type()`` alone
        names the tensor type, as PyTorch)."""
        if dt is None:
            return f"torch.{'cuda.' if self.is_cuda else ''}{_TYPE_NAMES[self._dtype.name]}Tensor"
        if isinstance(dt, str):
            named = {f"torch.{v}Tensor": k for k, v in _TYPE_NAMES.items()}
            if dt not in named:
                raise UnsupportedError(f"Tensor.type({dt!r})")
            dt = getattr(dtypes, named[dt] if named[dt] != "bool" else "bool_")
        elif isinstance(dt, type) and issubclass(dt, Tensor):
            dt = dt._legacy_dtype or dtypes.get_default_dtype()
        return self._to_dtype(dt)

    def _to_dtype(self, dt: DType) -> Tensor:
        """Floating to floating relabels (the gradient flows); other conversions round
        towards zero (integers) or test for non-zero (bool) and are constants."""
        if dt == self._dtype:
            return self
        if dt.category == FLOATING and self._dtype.is_floating_point:
            return wrap(self._t, dt)
        return self._cast(dt)

    def _cast(self, dt: DType) -> Tensor:
        if dt.category == BOOL:
            return wrap(1.0 - (self._t == 0.0), dt).detach()
        if dt.category == INTEGRAL and self._dtype.category == FLOATING:
            return wrap(self._t.trunc(), dt).detach()
        return wrap(self._t.detach(), dt)

    def type_as(self, other: Tensor) -> Tensor:
        return self._to_dtype(other.dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device_index: int | None = None) -> Tensor:
        return self.to("cuda")

    # Arithmetic: dtype by PyTorch's promotion, values by the stages.

    def _other_dtype(self, other: Any) -> DType:
        if isinstance(other, Tensor):
            if other.ndim == 0 and self.ndim > 0:
                return dtypes.with_number(self._dtype, _example(other._dtype))
            if self.ndim == 0 and other.ndim > 0:
                return dtypes.with_number(other._dtype, _example(self._dtype))
            return dtypes.promote(self._dtype, other._dtype)
        if isinstance(other, numbers.Real):
            return dtypes.with_number(self._dtype, other)
        raise TypeError(f"unsupported operand type: 'Tensor' and {type(other).__name__!r}")

    def _binary(
        self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor], name: str
    ) -> Tensor:
        dt = self._other_dtype(other)
        if name == "sub" and dt.category == BOOL:
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported"
            )
        out = fn(self._t, unwrap(other, self))
        if name == "add" and dt.category == BOOL:
            out = 1.0 - (out == 0.0)
        return label(wrap(out, dt), f"{name.capitalize()}Backward0")

    def _reflected(
        self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor], name: str
    ) -> Tensor:
        return self._binary(other, lambda a, b: fn(b, a), name)

    def __add__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a + b, "add")

    def __radd__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a + b, "add")

    def __sub__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a - b, "sub")

    def __rsub__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a - b, "sub")

    def __mul__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a * b, "mul")

    def __rmul__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a * b, "mul")

    def __truediv__(self, o: Any) -> Tensor:
        return self._float(self)._binary(o, lambda a, b: a / b, "div")

    def __rtruediv__(self, o: Any) -> Tensor:
        return self._float(self)._reflected(o, lambda a, b: a / b, "div")

    def __floordiv__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a // b, "floordiv")

    def __rfloordiv__(self, o: Any) -> Tensor:
        return self._reflected(o, lambda a, b: a // b, "floordiv")

    def __mod__(self, o: Any) -> Tensor:
        return self._binary(o, lambda a, b: a % b, "mod")

    def __pow__(self, o: Any) -> Tensor:
        if isinstance(o, numbers.Integral) and o < 0 and self._dtype.category != FLOATING:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        exponent = o._t if isinstance(o, Tensor) else o
        name = "PowBackward1" if isinstance(o, Tensor) else "PowBackward0"
        return label(wrap(self._t**exponent, self._other_dtype(o)), name)

    def __rpow__(self, o: Any) -> Tensor:
        return wrap(float(o) ** self._t, self._other_dtype(o))

    def __matmul__(self, o: Any) -> Tensor:
        return self.matmul(o)

    def __rmatmul__(self, o: Any) -> Tensor:
        if not isinstance(o, Tensor):
            raise TypeError(f"unsupported operand type(s) for @: {type(o).__name__!r} and 'Tensor'")
        return o.matmul(self)

    def __neg__(self) -> Tensor:
        if self._dtype.category == BOOL:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
        return label(wrap(-self._t, self._dtype), "NegBackward0")

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def _float(self, out: Tensor) -> Tensor:
        """``out`` as the default float dtype when it is an integer tensor (true division)."""
        return out if out._dtype.is_floating_point else wrap(out._t, dtypes.get_default_dtype())

    def _compare(self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor]) -> Tensor:
        self._other_dtype(other)
        return wrap(fn(self._t, unwrap(other, self)), dtypes.bool_).detach()

    def __lt__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: a < b)

    def __gt__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: a > b)

    def __le__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: (a < b) + (a == b))

    def __ge__(self, o: Any) -> Tensor:
        return self._compare(o, lambda a, b: (a > b) + (a == b))

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]  # element-wise, as PyTorch
        return self._compare(o, lambda a, b: a == b)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]  # element-wise, as PyTorch
        return self._compare(o, lambda a, b: 1.0 - (a == b))

    __hash__ = object.__hash__

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Number = 1) -> Tensor:
        """This tensor with ``alpha * source``'s slices along ``dim`` added at ``index``
        (repeats accumulate): ``source`` times a one-hot matrix of the indices, so the stages'
        matmul gives both gradients."""
        d = _dim(dim, self.ndim)
        if not isinstance(index, Tensor) or index.ndim > 1 or index.is_floating_point():
            raise IndexError("index_add_(): Index is supposed to be a vector of long")
        n, k = self.shape[d] if self.ndim else 1, index.numel()
        wanted = (*self.shape[:d], k, *self.shape[d + 1 :]) if self.ndim else (k,)
        if tuple(source.shape) != wanted:
            raise RuntimeError(
                f"index_add_(): source of shape {list(source.shape)} does not match "
                f"{list(wanted)} (self {list(self.shape)}, {k} indices along dim {d})"
            )
        at = index._t.to_numpy().astype(np.int64).reshape(-1)
        if at.size and (at.min() < -n or at.max() >= n):
            raise IndexError("index out of range in self")
        from .creation import tensor

        onehot = tensor(
            (at[:, None] % n == np.arange(n)).astype(np.float64),
            dtype=source.dtype,
            device=self.device,
        )
        if self.ndim == 0:
            return self + (source @ onehot).reshape(()) * alpha
        spread = (source.transpose(d, -1) @ onehot).transpose(d, -1)
        return self + (spread * alpha if alpha != 1 else spread)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Number = 1) -> Tensor:
        return self._inplace(self.index_add(dim, index, source, alpha=alpha), source)

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast to this shape) is True, else this."""
        if not isinstance(mask, Tensor) or mask.dtype.category != BOOL:
            raise RuntimeError("masked_fill only supports boolean masks")
        return where(mask, value, self)

    def _logical(self, other: Any, fn: Callable[[mt.Tensor, mt.Tensor], mt.Tensor]) -> Tensor:
        if self._dtype.category != BOOL or not (
            isinstance(other, builtins.bool)
            or (isinstance(other, Tensor) and other.dtype.category == BOOL)
        ):
            raise UnsupportedError("bitwise operators on integer tensors (only bool tensors here)")
        return wrap(fn(self._t, unwrap(other, self)), dtypes.bool_)

    def __and__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: a * b)

    __rand__ = __and__

    def __or__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: (a + b) > 0.0)

    __ror__ = __or__

    def __xor__(self, o: Any) -> Tensor:
        return self._logical(o, lambda a, b: 1.0 - (a == b))

    def __invert__(self) -> Tensor:
        if self._dtype.category != BOOL:
            raise UnsupportedError("~ on integer tensors (bitwise not); only bool tensors here")
        return wrap(1.0 - self._t, dtypes.bool_)

    def logical_not(self) -> Tensor:
        return (self == 0).detach()

    def eq(self, o: Any) -> Tensor:
        return self.__eq__(o)

    def ne(self, o: Any) -> Tensor:
        return self.__ne__(o)

    def lt(self, o: Any) -> Tensor:
        return self.__lt__(o)

    def le(self, o: Any) -> Tensor:
        return self.__le__(o)

    def gt(self, o: Any) -> Tensor:
        return self.__gt__(o)

    def ge(self, o: Any) -> Tensor:
        return self.__ge__(o)

    def add(self, o: Any, alpha: Number = 1) -> Tensor:
        return self.__add__(_scaled(o, alpha))

    def sub(self, o: Any, alpha: Number = 1) -> Tensor:
        return self.__sub__(_scaled(o, alpha))

    def mul(self, o: Any) -> Tensor:
        return self.__mul__(o)

    def div(self, o: Any, *, rounding_mode: str | None = None) -> Tensor:
        """True division, or rounded ``"trunc"`` (towards zero) or ``"floor"``."""
        if rounding_mode is None:
            return self.__truediv__(o)
        if rounding_mode == "floor":
            return self.__floordiv__(o)
        if rounding_mode == "trunc":
            return wrap((self._t / unwrap(o, self)).trunc(), self._other_dtype(o))
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )

    def pow(self, o: Any) -> Tensor:
        return self.__pow__(o)

    def neg(self) -> Tensor:
        return -self

    def reciprocal(self) -> Tensor:
        return self._unary_float(lambda t: t.reciprocal(), "Reciprocal")

    def square(self) -> Tensor:
        return label(wrap(self._t.square(), self._dtype), "PowBackward0")

    # Element-wise functions.

    def _unary_float(self, fn: Callable[[mt.Tensor], mt.Tensor], name: str) -> Tensor:
        dt = self._dtype if self._dtype.is_floating_point else dtypes.get_default_dtype()
        return label(wrap(fn(self._t), dt), f"{name}Backward0")

    def exp(self) -> Tensor:
        return self._unary_float(lambda t: t.exp(), "Exp")

    def log(self) -> Tensor:
        return self._unary_float(lambda t: t.log(), "Log")

    def sqrt(self) -> Tensor:
        return self._unary_float(lambda t: t.sqrt(), "Sqrt")

    def sigmoid(self) -> Tensor:
        return self._unary_float(lambda t: t.sigmoid(), "Sigmoid")

    def tanh(self) -> Tensor:
        return self._unary_float(lambda t: t.tanh(), "Tanh")

    def relu(self) -> Tensor:
        return label(wrap(self._t.relu(), self._dtype), "ReluBackward0")

    def abs(self) -> Tensor:
        return label(wrap(self._t.abs(), self._dtype), "AbsBackward0")

    def sin(self) -> Tensor:
        return self._unary_float(lambda t: t.sin(), "Sin")

    def cos(self) -> Tensor:
        return self._unary_float(lambda t: t.cos(), "Cos")

    def tan(self) -> Tensor:
        return self._unary_float(lambda t: t.tan(), "Tan")

    def log1p(self) -> Tensor:
        return self._unary_float(lambda t: t.log1p(), "Log1p")

    def expm1(self) -> Tensor:
        return self._unary_float(lambda t: t.expm1(), "Expm1")

    def erf(self) -> Tensor:
        return self._unary_float(lambda t: t.erf(), "Erf")

    def rsqrt(self) -> Tensor:
        return self._unary_float(lambda t: t.rsqrt(), "Rsqrt")

    def sign(self) -> Tensor:
        return label(wrap(self._t.sign(), self._dtype), "SignBackward0")

    def floor(self) -> Tensor:
        return label(wrap(self._t.floor(), self._dtype), "FloorBackward0")

    def ceil(self) -> Tensor:
        return label(wrap(self._t.ceil(), self._dtype), "CeilBackward0")

    def trunc(self) -> Tensor:
        return label(wrap(self._t.trunc(), self._dtype), "TruncBackward0")

    def round(self, decimals: builtins.int = 0) -> Tensor:
        """Half to even, as PyTorch; ``decimals`` scales by a power of ten around it."""
        if decimals == 0:
            return label(wrap(self._t.round(), self._dtype), "RoundBackward0")
        scale = 10.0**decimals
        return label(wrap((self._t * scale).round() / scale, self._dtype), "RoundBackward1")

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 (PyTorch's names)
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            raise UnsupportedError("clamp with tensor bounds (use torch.where)")
        dt = self._dtype
        for bound in (min, max):
            if bound is not None:
                dt = dtypes.with_number(dt, bound)
        return wrap(self._t.clamp(min, max), dt)

    clip = clamp

    def softmax(self, dim: int) -> Tensor:
        return self._unary_float(lambda t: mt_nn.softmax(t, _dim(dim, self.ndim)), "Softmax")

    def log_softmax(self, dim: int) -> Tensor:
        return self._unary_float(lambda t: mt_nn.logsoftmax(t, _dim(dim, self.ndim)), "LogSoftmax")

    def matmul(self, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul needs a Tensor, got {type(other).__name__}")
        inner = self._t @ other._t
        if self.ndim == 1 and other.ndim == 1:  # a dot product is 0-d
            inner = inner.contiguous().view()
        out = wrap(inner, self._other_dtype(other))
        kinds = {(2, 2): "Mm", (1, 1): "Dot", (2, 1): "Mv", (3, 3): "Bmm"}
        return label(out, f"{kinds.get((self.ndim, other.ndim), 'UnsafeView')}Backward0")

    def mm(self, other: Tensor) -> Tensor:
        if self.ndim != 2 or other.ndim != 2:
            raise RuntimeError(f"mm needs two 2-D tensors, got {self.shape} and {other.shape}")
        return self.matmul(other)

    def bmm(self, other: Tensor) -> Tensor:
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
            raise RuntimeError(
                f"bmm needs two 3-D tensors with one batch size, got {self.shape} and {other.shape}"
            )
        return self.matmul(other)

    def dot(self, other: Tensor) -> Tensor:
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"dot needs two 1-D tensors, got {self.shape} and {other.shape}")
        return (self * other).sum()

    # Reductions: PyTorch drops the reduced dims unless keepdim.

    def _flat(self) -> mt.Tensor:
        return self._t.contiguous().view(max(self.numel(), 1) if self.numel() else 0)

    def _reduce(
        self,
        dim: int | Sequence[int] | None,
        keepdim: builtins.bool,
        fn: Callable[[mt.Tensor, int], mt.Tensor],
        dt: DType,
    ) -> Tensor:
        if dim is None:
            out = fn(self._flat(), 0)
            shape: tuple[int, ...] = (1,) * self.ndim if keepdim else ()
            return wrap(out.view(*shape), dt)
        dims = _dims(dim, self.ndim)
        out = self._t if self.ndim else self._t.view(1)
        for d in dims:
            out = fn(out, d)
        if not keepdim:
            out = out.view(*[n for i, n in enumerate(self.shape) if i not in dims])
        return wrap(out, dt)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False) -> Tensor:
        dt = self._dtype if self._dtype.is_floating_point else dtypes.int64
        out = self._reduce(dim, keepdim, lambda t, d: t.sum(d), dt)
        return label(out, "SumBackward0" if dim is None else "SumBackward1")

    def mean(
        self, dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False
    ) -> Tensor:
        if not self._dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_TYPE_NAMES[self._dtype.name]}"
            )
        out = self._reduce(dim, keepdim, lambda t, d: t.mean(d), self._dtype)
        return label(out, "MeanBackward0" if dim is None else "MeanBackward1")

    def _merged(
        self,
        dim: int | Sequence[int] | None,
        keepdim: builtins.bool,
        fn: Callable[[mt.Tensor, int], mt.Tensor],
        dt: DType,
    ) -> Tensor:
        """``fn`` (a reduction keeping its dim) over ``dim`` (all when None) merged into one
        last dim: PyTorch's reductions over several dims that are not repeated ones."""
        dims = list(range(self.ndim)) if dim is None else _dims(dim, self.ndim)
        rest = [d for d in range(self.ndim) if d not in dims]
        merged = self.permute(*rest, *dims).reshape(*[self.shape[d] for d in rest], -1)
        out = wrap(fn(merged._t, merged.ndim - 1), dt).squeeze(-1)
        if keepdim:
            out = out.reshape(*[1 if d in dims else n for d, n in enumerate(self.shape)])
        return out

    def _spread(
        self,
        fn: Callable[[mt.Tensor, int, int], mt.Tensor],
        dim: int | Sequence[int] | None,
        unbiased: builtins.bool,
        keepdim: builtins.bool,
        correction: int | None,
    ) -> Tensor:
        """mt-nn's `var` or `std` with Bessel's ``correction`` (1 unless ``unbiased=False``)."""
        _floating(self, fn.__name__)
        c = (1 if unbiased else 0) if correction is None else correction
        return self._merged(dim, keepdim, lambda t, d: fn(t, d, c), self._dtype)

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        return self._spread(mt_nn.var, dim, unbiased, keepdim, correction)

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: builtins.bool = True,
        keepdim: builtins.bool = False,
        *,
        correction: int | None = None,
    ) -> Tensor:
        return self._spread(mt_nn.std, dim, unbiased, keepdim, correction)

    def logsumexp(self, dim: int | Sequence[int], keepdim: builtins.bool = False) -> Tensor:
        """Log-sum-exp over ``dim``, by mt-nn's stable `logsumexp`."""
        dt = self._dtype if self._dtype.is_floating_point else dtypes.get_default_dtype()
        return self._merged(dim, keepdim, mt_nn.logsumexp, dt)

    def _extreme(self, which: str, dim: Any, keepdim: builtins.bool) -> Any:
        fn = mt_nn.max if which == "max" else mt_nn.min
        arg = mt_nn.argmax_indices if which == "max" else mt_nn.argmin_indices
        if isinstance(dim, Tensor):
            from .ops import maximum, minimum

            return maximum(self, dim) if which == "max" else minimum(self, dim)
        if dim is None:
            return self._reduce(None, False, fn, self._dtype)
        values = self._reduce(dim, keepdim, fn, self._dtype)
        indices = self._reduce(dim, keepdim, arg, dtypes.int64)
        return MaxMin(values, indices)

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        """The largest element, or ``(values, indices)`` along ``dim``, or the element-wise
        maximum with another tensor."""
        return self._extreme("max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return self._extreme("min", dim, keepdim)

    def amax(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.max, self._dtype)

    def argmax(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.argmax_indices, dtypes.int64)

    def argmin(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, mt_nn.argmin_indices, dtypes.int64)

    def all(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._reduce(dim, keepdim, lambda t, d: t.all(d), dtypes.bool_).detach()

    def any(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        some = self._reduce(dim, keepdim, lambda t, d: (t == 0.0).all(d), dtypes.bool_)
        return (~some).detach()

    # Shapes.

    def view(self, *shape: Any) -> Tensor:
        return label(wrap(self._t.view(*_shape_args(shape)), self._dtype), "ViewBackward0")

    def reshape(self, *shape: Any) -> Tensor:
        name = "ViewBackward0" if self.is_contiguous() else "UnsafeViewBackward0"
        return label(wrap(self._t.contiguous().view(*_shape_args(shape)), self._dtype), name)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(*other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(*other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        shape = self.shape
        return self.reshape(*shape[:s], int(np.prod(shape[s : e + 1])), *shape[e + 1 :])

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _dim(dim, self.ndim)
        return self.reshape(*self.shape[:d], *sizes, *self.shape[d + 1 :])

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.ndim + 1)
        shape = list(self.shape)
        shape.insert(d, 1)
        return label(self.reshape(*shape), "UnsqueezeBackward0")

    def squeeze(self, dim: int | None = None) -> Tensor:
        if dim is None:
            return label(self.reshape(*[n for n in self.shape if n != 1]), "SqueezeBackward0")
        d = _dim(dim, self.ndim)
        if self.ndim == 0 or self.shape[d] != 1:
            return self
        return label(self.reshape(*self.shape[:d], *self.shape[d + 1 :]), "SqueezeBackward1")

    def permute(self, *dims: Any) -> Tensor:
        order = [_dim(d, self.ndim) for d in _shape_args(dims)]
        return label(wrap(self._t.permute(*order), self._dtype), "PermuteBackward0")

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        order = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        order[a], order[b] = order[b], order[a]
        return label(self.permute(*order), "TransposeBackward0")

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D"
            )
        return label(self.transpose(0, 1), "TBackward0") if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Tensor:
        asked = _shape_args(sizes)
        pad = len(asked) - self.ndim
        shape = tuple((self.shape[i - pad] if n == -1 else n) for i, n in enumerate(asked))
        return label(wrap(self._t.broadcast_to(*shape), self._dtype), "ExpandBackward0")

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        reps = _shape_args(sizes)
        if len(reps) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of "
                "dimensions of tensor"
            )
        shape = (1,) * (len(reps) - self.ndim) + tuple(self.shape)
        spread = self.reshape(*[d for n in shape for d in (1, n)])
        tiled = spread.expand(*[d for r, n in zip(reps, shape, strict=True) for d in (r, n)])
        return tiled.reshape(*[r * n for r, n in zip(reps, shape, strict=True)])

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        step = -(-self.shape[d] // chunks)
        return self.split(step, d)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        d = _dim(dim, self.ndim)
        n = self.shape[d]
        sizes = (
            [split_size] * (-(-n // split_size))
            if isinstance(split_size, int)
            else list(split_size)
        )
        out, start = [], 0
        for size in sizes:
            stop = builtins.min(start + size, n)
            out.append(self[(slice(None),) * d + (slice(start, stop),)])
            start = stop
        return tuple(out)

    # Indexing.

    def __getitem__(self, key: Any) -> Tensor:
        out = wrap(mt.index(self._t, _key(key)), self._dtype)
        parts = key if isinstance(key, tuple) else (key,)
        if all(isinstance(p, builtins.int) for p in parts):
            return label(out, "SelectBackward0")
        if all(isinstance(p, slice | builtins.int) or p is Ellipsis for p in parts):
            return label(out, "SliceBackward0")
        return label(out, "IndexBackward0")

    def __setitem__(self, key: Any, value: Any) -> None:
        values = value._t if isinstance(value, Tensor) else unwrap(value, self)
        self._assign(mt.index_put(self._t, _key(key), values), value)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} values is ambiguous")
        return builtins.bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.numel() == 1 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    # In place.

    def _assign(self, new: mt.Tensor, *sources: Any) -> Tensor:
        """Make ``new`` (this tensor's shape) this tensor's value: written into the storage
        when no gradient is recorded, else a new node of the graph."""
        recording = is_grad_enabled() and (
            self._t.requires_grad()
            or any(isinstance(s, Tensor) and s.requires_grad for s in sources)
        )
        if recording:
            if self._t.is_leaf():
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            self._t = new
            return self
        with no_grad():
            if new.shape != self._t.shape:
                new = new.broadcast_to(*self._t.shape)
            self._t.backend.id_map(new.detach(), self._t)
        return self

    def _inplace(self, result: Tensor, *sources: Any) -> Tensor:
        if result.dtype.category > self._dtype.category:
            raise RuntimeError(f"result type {result.dtype} can't be cast to {self._dtype}")
        return self._assign(result._to_dtype(self._dtype)._t, *sources)

    def add_(self, o: Any, alpha: Number = 1) -> Tensor:
        return self._inplace(self.add(o, alpha), o)

    def sub_(self, o: Any, alpha: Number = 1) -> Tensor:
        return self._inplace(self.sub(o, alpha), o)

    def mul_(self, o: Any) -> Tensor:
        return self._inplace(self * o, o)

    def div_(self, o: Any) -> Tensor:
        return self._inplace(self / o, o)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        return self._inplace(self.clamp(min, max))

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        return self._assign(self._t.zeros(self._t.shape) + float(value))

    def copy_(self, src: Tensor) -> Tensor:
        return self._assign(
            src._t.to(self._t.backend) if src.device != self.device else src._t, src
        )

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().uniform(a, b, self.shape))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().normal(mean, std, self.shape))

    def bernoulli_(self, p: float = 0.5, *, generator: Any = None) -> Tensor:
        _no_generator(generator)
        return self._random_(mt.generator().random(self.shape) < p)

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        from .creation import bernoulli

        return bernoulli(self, p, generator=generator)

    def multinomial(
        self, num_samples: int, replacement: builtins.bool = False, *, generator: Any = None
    ) -> Tensor:
        from .creation import multinomial

        return multinomial(self, num_samples, replacement, generator=generator)

    def _random_(self, values: npt.NDArray[Any]) -> Tensor:
        with no_grad():
            return self._assign(mt.tensor(values.astype(np.float64), backend=self._t.backend))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    # Printing and pickling.

    def __repr__(self) -> str:
        body = _format(self._t.to_numpy(), self._dtype, "tensor(")
        extras = []
        if self._dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_) or (
            self.numel() == 0 and self._dtype != dtypes.get_default_dtype()
        ):
            extras.append(f"dtype={self._dtype}")
        if self.is_cuda:
            extras.append("device='cuda:0'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        text = "tensor(" + body
        line = len(text) - text.rfind("\n") + 1
        for extra in extras:  # PyTorch's rule: a suffix past 80 columns starts a new line
            if line + len(extra) + 2 > 80:
                text += ",\n" + " " * len("tensor(") + extra
                line = len("tensor(") + len(extra)
            else:
                text += ", " + extra
                line += len(extra) + 2
        return text + ")"

    def __str__(self) -> str:
        return repr(self)  # a `Parameter` prints as PyTorch's ("Parameter containing: ...")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain values (a list of floats, the shape, the dtype's name), so loading
        needs no numpy internals and `torch.load` can refuse anything else."""
        values = self._t.to_numpy()
        return (
            _unpickle,
            (values.ravel().tolist(), tuple(self.shape), self._dtype.name, self.requires_grad),
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_t", "_dtype"):
            raise AttributeError(name)
        raise UnsupportedError(f"minitorch.torch does not implement Tensor.{name}")

    # Last in the class body: from here on ``float``, ``int`` and ``bool`` name these methods.

    def float(self) -> Tensor:
        return self._to_dtype(dtypes.float32)

    def double(self) -> Tensor:
        return self._to_dtype(dtypes.float64)

    def long(self) -> Tensor:
        return self._to_dtype(dtypes.int64)

    def half(self) -> Tensor:
        raise UnsupportedError("Tensor.half(): float16 is not a dtype of minitorch.torch")

    def int(self) -> Tensor:
        return self._to_dtype(dtypes.int32)

    def bool(self) -> Tensor:
        return self._to_dtype(dtypes.bool_)


_TYPE_NAMES = {
    "int64": "Long",
    "int32": "Int",
    "bool": "Bool",
    "float32": "Float",
    "float64": "Double",
}
"""PyTorch's names of the dtypes in messages and ``type()``."""


class FloatTensor(Tensor):
    """``torch.FloatTensor(data)`` or ``torch.FloatTensor(*sizes)``: a ``float32`` tensor."""

    _legacy_dtype = dtypes.float32


class DoubleTensor(Tensor):
    _legacy_dtype = dtypes.float64


class LongTensor(Tensor):
    _legacy_dtype = dtypes.int64


class IntTensor(Tensor):
    _legacy_dtype = dtypes.int32


class BoolTensor(Tensor):
    _legacy_dtype = dtypes.bool_


def _scaled(o: Any, alpha: Number) -> Any:
    """``alpha * o``, a step inside ``add``/``sub`` (not a node of its own in ``grad_fn``)."""
    if alpha == 1:
        return o
    out = o * alpha
    if isinstance(out, Tensor):
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
        if isinstance(part, Tensor):
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
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else condition
    ta, tb = unwrap(a, like), unwrap(b, like)
    dt_a = a.dtype if isinstance(a, Tensor) else dtypes.of_number(a)
    dt_b = b.dtype if isinstance(b, Tensor) else dtypes.of_number(b)
    return wrap(mt.where(condition._t, ta, tb), dtypes.promote(dt_a, dt_b))


def guard_keywords(fn: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``fn``, raising `UnsupportedError` naming any keyword argument of PyTorch's it lacks
    (rather than Python's `TypeError`, which reads like the caller's mistake)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError:
            unknown = _unknown_keywords(fn, kwargs) if kwargs else []
            if unknown:
                raise UnsupportedError(
                    f"minitorch.torch does not implement the keyword argument(s) "
                    f"{', '.join(unknown)} of {where}"
                ) from None
            raise

    return call


def _unknown_keywords(fn: Callable[..., Any], kwargs: dict[str, Any]) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return []
    known = {p.name for p in params if p.kind != p.POSITIONAL_ONLY}
    return [k for k in kwargs if k not in known]


def guard_module(namespace: dict[str, Any], prefix: str) -> None:
    """Guard the keywords of every public function defined in a module of the face."""
    module = namespace["__name__"]
    for name, value in list(namespace.items()):
        if inspect.isfunction(value) and value.__module__ == module and not name.startswith("_"):
            namespace[name] = guard_keywords(value, f"{prefix}.{name}")


def guard_class(cls: type, prefix: str) -> None:
    """Guard the keywords of a class's public methods and its constructor (its own or the one
    it inherits)."""
    for name, value in list(vars(cls).items()):
        if inspect.isfunction(value) and not name.startswith("_"):
            setattr(cls, name, guard_keywords(value, f"{prefix}.{name}"))
    init = inspect.getattr_static(cls, "__init__")
    if inspect.isfunction(init):
        setattr(cls, "__init__", guard_keywords(init, f"{prefix}()"))  # noqa: B010


guard_class(Tensor, "Tensor")
