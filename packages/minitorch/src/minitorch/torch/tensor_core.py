"""The face's `Tensor`, first layer: construction, identity, dtype and device, autograd,
conversion, printing and pickling.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

import mt_tensor as mt

from . import dtypes
from .dtypes import BOOL, FLOATING, INTEGRAL
from .dtypes import dtype as DType  # noqa: N812 (the class; `dtype` is a property here)
from .tensor_base import (
    _TYPE_NAMES,
    GradFn,
    Number,
    Size,
    TensorBase,
    UnsupportedError,
    _dim,
    _format,
    _shape_args,
    _unpickle,
    backend_of,
    device,
    device_of,
    is_face_tensor,
    label,
    wrap,
)

if TYPE_CHECKING:
    from .tensors import Tensor


class TensorCore(TensorBase):
    """Construction, identity (shape, dtype, device), autograd, conversion, printing."""

    _legacy_dtype: DType | None = None
    """The dtype ``torch.FloatTensor(...)`` and friends make (``torch.Tensor``: the default)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        """PyTorch's legacy constructors: ``torch.Tensor([1, 2])`` copies data,
        ``torch.FloatTensor(2, 3)`` makes a tensor of that shape (zeros here)."""
        if cls is not TensorBase.face and cls._legacy_dtype is None:  # a subclass (`Parameter`)
            return cast("Tensor", object.__new__(cls))
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
        return cast("Tensor", self)

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
            if is_face_tensor(a):
                target_device, target_dtype = a.device, a.dtype
            elif isinstance(a, DType):
                target_dtype = a
            elif isinstance(a, str | device):
                target_device = device(a)
        out = cast("Tensor", self)
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
        elif isinstance(dt, type) and issubclass(dt, TensorCore):
            dt = dt._legacy_dtype or dtypes.get_default_dtype()
        return self._to_dtype(dt)

    def _to_dtype(self, dt: DType) -> Tensor:
        """Floating to floating relabels (the gradient flows); other conversions round
        towards zero (integers) or test for non-zero (bool) and are constants."""
        if dt == self._dtype:
            return cast("Tensor", self)
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
