"""`Tensor`: strided data on a backend, with the history autograd needs.

Every operator is one `Function` application; derived operators (``-``, ``/``, ``>``, ``mean``)
are composed from the primitives and carry no derivative code of their own.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mt_autodiff import Context, backpropagate

from . import dtypes
from . import tensor_functions as tf
from .tensor_data import (
    Shape,
    Storage,
    Strides,
    TensorData,
    UserIndex,
    UserShape,
    shape_broadcast,
)

__all__ = [
    "History",
    "Tensor",
]

if TYPE_CHECKING:
    from .tensor_ops import TensorBackend

_ids = itertools.count()


@dataclass
class History:
    """How a tensor was made: the function, its context and its inputs (empty for leaves)."""

    last_fn: type[tf.Function] | None = None
    ctx: Context | None = None
    inputs: Sequence[Tensor] = ()


class Tensor:
    """A multi-dimensional array of one dtype (float64 by default; see `mt_tensor.dtypes`)
    with autograd for the float dtypes.

    >>> from mt_tensor import tensor
    >>> x = tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.to_numpy().tolist()
    [[2.0, 4.0], [6.0, 8.0]]
    """

    __array_priority__ = 1000
    __array_ufunc__ = None  # numpy defers ``ndarray * Tensor`` to Tensor, which refuses it

    _tensor: TensorData
    history: History | None
    grad: Tensor | None

    def __init__(
        self,
        v: TensorData,
        back: History | None = None,
        name: str | None = None,
        backend: TensorBackend | None = None,
    ) -> None:
        if backend is None:
            from .backends import default_backend

            backend = default_backend()
        self._tensor = v
        self.history = back
        self.backend = backend
        self.grad = None
        self._id = next(_ids)
        self._name = name

    @property
    def name(self) -> str:
        """A label for graphs and messages; the unique id unless one was given."""
        return self._name if self._name is not None else str(self._id)

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    # Shape and storage.

    @property
    def f(self) -> TensorBackend:
        """The backend (the course's name)."""
        return self.backend

    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension."""
        return self._tensor.shape

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._tensor.size

    @property
    def dims(self) -> int:
        """The number of dimensions."""
        return self._tensor.dims

    @property
    def dtype(self) -> dtypes.DType:
        """The dtype of the elements (a numpy dtype)."""
        return self._tensor._storage.dtype

    def _new(self, tensor_data: TensorData) -> Tensor:
        return Tensor(tensor_data, backend=self.backend)

    @staticmethod
    def make(
        storage: Storage | Sequence[float],
        shape: UserShape,
        strides: Sequence[int] | None = None,
        backend: TensorBackend | None = None,
        dtype: Any = None,
    ) -> Tensor:
        """A tensor over ``storage`` with the given shape (and strides); the storage's dtype
        when it is an array of a supported dtype, else ``dtype`` (default float64)."""
        return Tensor(TensorData(storage, shape, strides, dtype), backend=backend)

    @staticmethod
    def from_numpy(
        values: npt.ArrayLike,
        backend: TensorBackend | None = None,
        *,
        dtype: Any = None,
        copy: bool = True,
    ) -> Tensor:
        """A tensor of ``values`` (any array-like) in ``dtype`` (default: the default float
        dtype) on ``backend``; ``copy=False`` lets the tensor share a C-contiguous array of that
        dtype (for kernels' fresh results)."""
        d = dtypes.get_default_dtype() if dtype is None else dtypes.resolve(dtype)
        array = (np.array if copy else np.asarray)(values, dtype=d, order="C")
        return Tensor.make(array.ravel(), array.shape, backend=backend)

    def zeros(self, shape: UserShape | None = None) -> Tensor:
        """Zeros of this tensor's dtype and backend, of ``shape`` (default: this tensor's)."""
        shape = tuple(self.shape if shape is None else shape)
        size = math.prod(shape)
        return Tensor.make(np.zeros(size, self.dtype), shape, backend=self.backend)

    def to_numpy(self) -> npt.NDArray[Any]:
        """A contiguous numpy copy, of this tensor's dtype."""
        return np.array(self._tensor.to_numpy(), order="C", copy=True)

    def item(self) -> float:
        """The value of a one-element tensor, as a Python float (ints and bools too, as the
        course's code expects; the face gives PyTorch's types)."""
        if self.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return float(self._tensor._storage[self._tensor.index((0,) * self.dims)])

    def _cast(self, dtype: dtypes.DType) -> Tensor:
        """The values as ``dtype`` in new storage (no graph: see `astype`)."""
        values = np.ascontiguousarray(self._tensor.to_numpy(), dtype=dtype)
        return Tensor.make(values.ravel(), self.shape, backend=self.backend)

    def astype(self, dtype: Any) -> Tensor:
        """The values as ``dtype`` (numpy's conversion: floats to ints truncate towards 0);
        differentiable between float dtypes, the gradient cast back."""
        target = dtypes.resolve(dtype)
        if target == self.dtype:
            return self
        return tf.Cast.apply(self, target)

    def to(self, target: str | TensorBackend | Any) -> Tensor:
        """This tensor on another backend (a leaf; gradients do not flow back), or as another
        dtype (``t.to("float32")``, ``t.to(numpy.float32)``; see `astype`)."""
        from .backends import get_backend

        if not hasattr(target, "ops") and (
            not isinstance(target, str) or target in ("float32", "float64", "int64", "bool")
        ):
            return self.astype(target)
        backend = target
        target = get_backend(backend) if isinstance(backend, str) else backend
        if target is self.backend:
            return self
        out = Tensor.make(self.to_numpy().ravel(), self.shape, backend=target)
        if self.requires_grad():
            out.requires_grad_(True)
        return out

    # Autograd.

    def requires_grad_(self, x: bool = True) -> Tensor:
        """Make this tensor a leaf that receives gradients (or stop it receiving them).

        As in the course, a tensor made by a function becomes a fresh leaf: its gradient stops
        here (``grad_check(f, t.sum(0))`` checks ``f`` alone). A leaf stays the same leaf.
        """
        if not x:
            self.history = None
        elif not dtypes.is_floating(self.dtype):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, not {self.dtype}"
            )
        elif not self.is_leaf():
            self.history = History()
        return self

    def requires_grad(self) -> bool:
        """True when gradients flow into this tensor."""
        return self.history is not None

    def detach(self) -> Tensor:
        """The same data with no history."""
        return Tensor(self._tensor, backend=self.backend)

    @property
    def unique_id(self) -> int:
        """An id no other tensor shares."""
        return self._id

    def is_leaf(self) -> bool:
        """True for tensors created by the user with ``requires_grad``."""
        return self.history is not None and self.history.last_fn is None

    def is_constant(self) -> bool:
        """True when no gradient flows into this tensor."""
        return self.history is None

    @property
    def parents(self) -> Iterable[Tensor]:
        """The inputs of the function that made this tensor."""
        return self.history.inputs if self.history is not None else ()

    def chain_rule(self, d_output: Any) -> Iterable[tuple[Tensor, Any]]:
        """Every input with its gradient, as in the course; constants' pairs are left
        unsummed (`backpropagate` skips them), the others summed back to the input's shape."""
        h = self.history
        if h is None or h.last_fn is None:
            return []
        if h.ctx is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time."
            )
        grads = h.last_fn._backward(h.ctx, d_output)
        return [
            (inp, g if inp.is_constant() else inp._grad_of(g))
            for inp, g in zip(h.inputs, grads, strict=True)
        ]

    def _grad_of(self, g: Tensor) -> Tensor:
        """A gradient summed to this tensor's shape, in its dtype."""
        g = self.expand(g)
        dtype = self.dtype
        return g if g.dtype is dtype or g.dtype == dtype else g._cast(dtype)

    def release_graph(self) -> None:
        """Drop saved values and inputs after backward (the function is kept for errors)."""
        h = self.history
        if h is not None and h.last_fn is not None:
            h.ctx, h.inputs = None, ()

    def accumulate_derivative(self, x: Any) -> None:
        """Add ``x`` to ``grad``; a first gradient is copied on the backend (so it stays on a
        device), giving ``grad`` storage of its own."""
        if self.grad is None:
            copy = self.backend.id_map(x)
            if copy.shape != self.shape:
                copy = Tensor.make(copy._tensor._storage, self.shape, backend=self.backend)
            self.grad = copy
        else:
            self.grad = self.grad + x

    def backward(self, grad_output: Tensor | None = None, retain_graph: bool = False) -> None:
        """Backpropagate from this tensor; ``grad_output`` is needed unless it has one element.
        The graph is freed on the way unless ``retain_graph`` (for a second backward)."""
        if self.is_constant():
            raise RuntimeError(
                "backward() on a tensor that does not require grad: nothing depends on a "
                "variable (call requires_grad_() on the inputs)"
            )
        if grad_output is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward() without grad_output needs a one-element tensor, got shape "
                    f"{self.shape}; pass grad_output of that shape"
                )
            grad_output = Tensor.make(
                [1.0], (1,) * self.dims, backend=self.backend, dtype=self.dtype
            )
        elif not isinstance(grad_output, Tensor):
            raise TypeError(f"grad_output must be a Tensor, got {type(grad_output).__name__}")
        elif grad_output.shape != self.shape:
            raise ValueError(
                f"grad_output of shape {grad_output.shape} does not match the output's shape "
                f"{self.shape}"
            )
        elif grad_output.backend.name != self.backend.name:
            raise ValueError(
                f"grad_output is on backend {grad_output.backend.name!r} but the output is on "
                f"{self.backend.name!r}; move it with .to({self.backend.name!r})"
            )
        backpropagate(self, grad_output, retain_graph)

    def zero_grad_(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def expand(self, other: Tensor) -> Tensor:
        """``other`` (a gradient) brought to this tensor's shape: broadcast up, then summed
        down over the dims this tensor was broadcast along."""
        if self.shape == other.shape:
            return other
        true_shape = TensorData.shape_broadcast(self.shape, other.shape)
        out = other
        if other.shape != true_shape:
            out = self.zeros(true_shape)
            self.backend.id_map(other, out)
        if self.shape == true_shape:
            return out
        padded = (1,) * (len(true_shape) - self.dims) + self.shape
        for dim, size in enumerate(true_shape):
            if padded[dim] == 1 and size != 1:
                out = self.backend.add_reduce(out, dim)
        out = out.contiguous()
        return Tensor.make(out._tensor._storage, self.shape, backend=self.backend)

    # Operators.

    def _ensure_tensor(self, b: Any, op: str) -> Tensor:
        if isinstance(b, Tensor):
            return b
        if isinstance(b, numbers.Real):
            value = np.array([b], dtypes.scalar_dtype(self.dtype, b))
            return Tensor(TensorData.row_major(value, (), 1), backend=self.backend)
        raise TypeError(f"unsupported operand type(s) for {op}: 'Tensor' and {type(b).__name__!r}")

    def __add__(self, b: Any) -> Tensor:
        return tf.Add.apply(self, self._ensure_tensor(b, "+"))

    def __radd__(self, b: Any) -> Tensor:
        return tf.Add.apply(self._ensure_tensor(b, "+"), self)

    def __sub__(self, b: Any) -> Tensor:
        if type(b) is float or type(b) is int:  # a number is negated here, not by a kernel
            return tf.Add.apply(self, self._ensure_tensor(-b, "-"))
        return tf.Add.apply(self, tf.Neg.apply(self._ensure_tensor(b, "-")))

    def __rsub__(self, b: Any) -> Tensor:
        return tf.Add.apply(self._ensure_tensor(b, "-"), tf.Neg.apply(self))

    def __mul__(self, b: Any) -> Tensor:
        return tf.Mul.apply(self, self._ensure_tensor(b, "*"))

    def __rmul__(self, b: Any) -> Tensor:
        return tf.Mul.apply(self._ensure_tensor(b, "*"), self)

    def __truediv__(self, b: Any) -> Tensor:
        return _divide(self, self._ensure_tensor(b, "/"))

    def __rtruediv__(self, b: Any) -> Tensor:
        return _divide(self._ensure_tensor(b, "/"), self)

    def __floordiv__(self, b: Any) -> Tensor:
        return tf.FloorDiv.apply(self, self._ensure_tensor(b, "//"))

    def __rfloordiv__(self, b: Any) -> Tensor:
        return tf.FloorDiv.apply(self._ensure_tensor(b, "//"), self)

    def __mod__(self, b: Any) -> Tensor:
        return tf.Mod.apply(self, self._ensure_tensor(b, "%"))

    def __rmod__(self, b: Any) -> Tensor:
        return tf.Mod.apply(self._ensure_tensor(b, "%"), self)

    def __matmul__(self, b: Any) -> Tensor:
        """Matrix product like ``numpy.matmul``: a 1-d operand is a row (left) or column (right)."""
        other = self._ensure_tensor(b, "@")
        if self.dims == 0 or other.dims == 0:
            raise ValueError(
                f"cannot multiply {self.shape} by {other.shape}: both need 1 dim or more"
            )
        inner_b = other.shape[0] if other.dims == 1 else other.shape[-2]
        if self.shape[-1] != inner_b:
            raise ValueError(
                f"cannot multiply {self.shape} by {other.shape}: inner dimensions "
                f"{self.shape[-1]} and {inner_b} differ"
            )
        if self.dims > 1 and other.dims > 1:
            return tf.MatMul.apply(self, other)
        a2 = self.contiguous().view(1, self.size) if self.dims == 1 else self
        b2 = other.contiguous().view(other.size, 1) if other.dims == 1 else other
        out = tf.MatMul.apply(a2, b2)
        shape = list(out.shape)
        if other.dims == 1:
            shape.pop(-1)
        if self.dims == 1:
            shape.pop(-1 if other.dims == 1 else -2)
        return out.contiguous().view(*(shape or [1]))

    def __lt__(self, b: Any) -> Tensor:
        return tf.LT.apply(self, self._ensure_tensor(b, "<"))

    def __gt__(self, b: Any) -> Tensor:
        return tf.LT.apply(self._ensure_tensor(b, ">"), self)

    def __eq__(self, b: Any) -> Tensor:  # type: ignore[override]  # elementwise, like numpy
        return tf.EQ.apply(self, self._ensure_tensor(b, "=="))

    def __neg__(self) -> Tensor:
        return tf.Neg.apply(self)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .all()"
            )
        return self.item() != 0.0

    def is_close(self, b: Any) -> Tensor:
        """1.0 where the elements differ by less than 1e-2."""
        return tf.IsClose.apply(self, self._ensure_tensor(b, "is_close"))

    def maximum(self, b: Any) -> Tensor:
        """The larger element of each pair; a tie shares the gradient equally (as PyTorch)."""
        return tf.ZIPS["max"].apply(self, self._ensure_tensor(b, "maximum"))

    def sigmoid(self) -> Tensor:
        """Element-wise logistic function."""
        return tf.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        """Element-wise $\\max(x, 0)$."""
        return tf.ReLU.apply(self)

    def log(self) -> Tensor:
        """Element-wise natural log (stage 0's domain rule outside $x > 0$)."""
        return tf.Log.apply(self)

    def exp(self) -> Tensor:
        """Element-wise $e^x$."""
        return tf.Exp.apply(self)

    # The table's other unary primitives (`operators.PRIMITIVES`), by PyTorch's names.

    def neg(self) -> Tensor:
        """Element-wise $-x$."""
        return tf.Neg.apply(self)

    def sin(self) -> Tensor:
        """Element-wise sine."""
        return tf.MAPS["sin"].apply(self)

    def cos(self) -> Tensor:
        """Element-wise cosine."""
        return tf.MAPS["cos"].apply(self)

    def tan(self) -> Tensor:
        """Element-wise tangent."""
        return tf.MAPS["tan"].apply(self)

    def tanh(self) -> Tensor:
        """Element-wise hyperbolic tangent."""
        return tf.MAPS["tanh"].apply(self)

    def abs(self) -> Tensor:
        """Element-wise $|x|$ (gradient 0 at 0, as PyTorch)."""
        return tf.MAPS["abs"].apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 by each element's sign (gradient 0)."""
        return tf.MAPS["sign"].apply(self)

    def floor(self) -> Tensor:
        """The largest integer not above each element (gradient 0)."""
        return tf.MAPS["floor"].apply(self)

    def ceil(self) -> Tensor:
        """The smallest integer not below each element (gradient 0)."""
        return tf.MAPS["ceil"].apply(self)

    def trunc(self) -> Tensor:
        """Each element rounded towards zero (gradient 0)."""
        return tf.MAPS["trunc"].apply(self)

    def round(self) -> Tensor:
        """Each element rounded to the nearest integer, ties to even (gradient 0)."""
        return tf.MAPS["round"].apply(self)

    def sqrt(self) -> Tensor:
        """Element-wise square root (NaN below 0)."""
        return tf.MAPS["sqrt"].apply(self)

    def rsqrt(self) -> Tensor:
        """Element-wise $1 / \\sqrt x$."""
        return tf.MAPS["rsqrt"].apply(self)

    def square(self) -> Tensor:
        """Element-wise $x^2$."""
        return tf.MAPS["square"].apply(self)

    def reciprocal(self) -> Tensor:
        """Element-wise $1 / x$ (stage 0's ``inv``)."""
        return tf.Inv.apply(self)

    def log1p(self) -> Tensor:
        """Element-wise $\\log(1 + x)$, accurate near 0."""
        return tf.MAPS["log1p"].apply(self)

    def expm1(self) -> Tensor:
        """Element-wise $e^x - 1$, accurate near 0."""
        return tf.MAPS["expm1"].apply(self)

    def erf(self) -> Tensor:
        """Element-wise error function."""
        return tf.MAPS["erf"].apply(self)

    def pow(self, exponent: Any) -> Tensor:
        """``self ** exponent`` for a tensor or a number, IEEE's rule: a negative base with an
        integral exponent works, ``0 ** 0 = 1``, NaN for a negative base and a fractional one."""
        return tf.Pow.apply(self, self._ensure_tensor(exponent, "**"))

    def __pow__(self, exponent: Any) -> Tensor:
        return self.pow(exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return tf.Pow.apply(self._ensure_tensor(base, "**"), self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Each element limited to ``[min, max]`` (either bound may be left out)."""
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and not isinstance(bound, numbers.Real):
                raise TypeError(f"clamp {name} must be a number, got {bound!r}")
        if min is not None and max is not None and min > max:
            raise ValueError(f"clamp needs min <= max, got min={min}, max={max}")
        return tf.Clamp.apply(self, min, max)

    # Reductions keep the reduced dim with size 1; with no dim they reduce everything to (1,).

    def _flat(self) -> Tensor:
        return self.contiguous().view(self.size)

    def sum(self, dim: int | None = None) -> Tensor:
        """Sum over ``dim`` (kept, size 1), or over everything."""
        if dim is None:
            return tf.Sum.apply(self._flat(), 0)
        return tf.Sum.apply(self, tf.check_dim(dim, self.dims, self.shape))

    def mean(self, dim: int | None = None) -> Tensor:
        """Mean over ``dim`` (kept, size 1), or over everything."""
        if dim is None:
            return self.sum() / self.size
        d = tf.check_dim(dim, self.dims, self.shape)
        return self.sum(d) / self.shape[d]

    def all(self, dim: int | None = None) -> Tensor:
        """1.0 where every element (along ``dim``) is non-zero."""
        if dim is None:
            return tf.All.apply(self._flat(), 0)
        return tf.All.apply(self, tf.check_dim(dim, self.dims, self.shape))

    # Movement.

    def permute(self, *order: int) -> Tensor:
        """Reorder the dims without copying: new dim ``i`` is old dim ``order[i]``."""
        order = _unpack(order)
        dims = [tf.check_dim(o, self.dims, self.shape) for o in order]
        if sorted(dims) != list(range(self.dims)):
            raise ValueError(
                f"permute{tuple(order)} is not an ordering of the {self.dims} dims of {self.shape}"
            )
        return tf.Permute.apply(self, tuple(dims))

    def view(self, *shape: int) -> Tensor:
        """The same contiguous data with another shape of the same size (one size may be -1)."""
        asked = _unpack(shape)
        new_shape = _infer_size(asked, self.size)
        if new_shape is None or math.prod(new_shape) != self.size:
            raise ValueError(
                f"cannot view a tensor of shape {self.shape} (size {self.size}) as {asked}"
            )
        if not self._tensor.is_contiguous():
            raise ValueError(
                f"view{asked} needs contiguous data, but the tensor of shape {self.shape} has "
                f"strides {self._tensor.strides}; call .contiguous() first"
            )
        return tf.View.apply(self, new_shape)

    def broadcast_to(self, *shape: int) -> Tensor:
        """A view of this tensor broadcast to ``shape`` (numpy's rule), without copying."""
        target = _unpack(shape)
        if len(target) < self.dims or shape_broadcast(self.shape, target) != target:
            raise ValueError(f"cannot broadcast a tensor of shape {self.shape} to {target}")
        if target == self.shape:
            return self
        return tf.BroadcastTo.apply(self, target)

    def clone(self) -> Tensor:
        """A copy with its own storage (gradients flow back through it)."""
        return tf.Copy.apply(self)

    def contiguous(self) -> Tensor:
        """This tensor when its data is row-major already, else a row-major copy."""
        if self._tensor.is_contiguous():
            return self
        return tf.Copy.apply(self)

    # Element access (full indices only) and printing.

    def __getitem__(self, key: int | UserIndex) -> float:
        return self._tensor.get((key,) if isinstance(key, int) else key)

    def __setitem__(self, key: int | UserIndex, val: float) -> None:
        self._tensor.set((key,) if isinstance(key, int) else key, val)

    def __repr__(self) -> str:
        body = self._tensor.to_string(prefix="tensor(")
        grad = ", requires_grad=True" if self.requires_grad() else ""
        if self.dtype != np.float64:
            grad = f", dtype={self.dtype}{grad}"
        backend = (
            "" if self.backend.name in ("fast", "numpy") else f", backend={self.backend.name!r}"
        )
        return f"tensor({body}{grad}{backend})"

    def __iter__(self) -> Iterator[float]:
        """The elements of a 1-d tensor (other tensors: use `to_numpy`)."""
        if self.dims != 1:
            raise TypeError(
                f"only 1-d tensors can be iterated, got shape {self.shape}; use .to_numpy()"
            )
        return iter(self.to_numpy().tolist())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        """``numpy.asarray(t)``: the values as a new array."""
        values = self.to_numpy()
        return values if dtype is None else values.astype(dtype)

    def __len__(self) -> int:
        if self.dims == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # Last in the class body: from here on, ``tuple`` names this method, not the builtin.
    def tuple(self) -> tuple[Storage, Shape, Strides]:
        """``(storage, shape, strides)`` for kernels."""
        return self._tensor.tuple()


def _unpack(args: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike; anything but integers is a `TypeError`."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = tuple(args[0])
    for a in args:
        if not isinstance(a, int | np.integer) or isinstance(a, bool):
            raise TypeError(f"expected integers, got {args!r}")
    return tuple(int(a) for a in args)


def _infer_size(shape: tuple[int, ...], size: int) -> tuple[int, ...] | None:
    """``shape`` with its one ``-1`` replaced so the sizes match; ``None`` when impossible."""
    if any(n < -1 for n in shape) or shape.count(-1) > 1:
        return None
    if -1 not in shape:
        return shape
    known = math.prod(n for n in shape if n != -1)
    if known == 0 or size % known:
        return None
    return tuple(size // known if n == -1 else n for n in shape)


def _divide(a: Tensor, b: Tensor) -> Tensor:
    """$a \\cdot (1 / b)$ in the float dtype of the pair (``float32 / int64`` stays float32, as
    PyTorch's): the divisor is cast to it first, so its reciprocal is not the default float."""
    common = dtypes.float_of(dtypes.promote(a.dtype, b.dtype))
    return tf.Mul.apply(a, tf.Inv.apply(b.astype(common)))
