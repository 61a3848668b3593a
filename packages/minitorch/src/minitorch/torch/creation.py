"""Making tensors the PyTorch way: from data, filled, random, ranges; joining them; the seed.

Random values come from mt-tensor's one numpy generator (the one behind layer initialisation,
dropout and shuffling), so ``torch.manual_seed`` makes a whole script reproducible.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

import mt_tensor as mt

from . import dtypes
from .calls import guard_module, with_out
from .dtypes import dtype
from .tensor_base import _no_generator, backend_of, device, is_face_tensor, label, wrap

if TYPE_CHECKING:
    from .tensors import Tensor

Device = str | device | None


def _make(
    values: npt.ArrayLike, dt: dtype, where: Device = None, requires_grad: bool = False
) -> Tensor:
    array = np.array(dtypes.convert(np.asarray(values), dt), order="C")
    inner = mt.Tensor.make(array.ravel(), array.shape, backend=backend_of(where))
    out = wrap(inner, dt)
    return out.requires_grad_(True) if requires_grad else out


def _infer(data: Any) -> tuple[npt.NDArray[Any], dtype]:
    """Values and dtype of Python data or a numpy array, as ``torch.tensor`` infers them."""
    if is_face_tensor(data):
        return data._t.to_numpy(), data.dtype
    if isinstance(data, np.ndarray | np.generic):
        array = np.asarray(data)
        return array, dtypes.of_numpy(array.dtype)
    if isinstance(data, Sequence) and any(is_face_tensor(x) for x in _leaves(data)):
        data = [x.tolist() if is_face_tensor(x) else x for x in data]
    try:
        array = np.asarray(data)
    except ValueError as e:
        raise ValueError(f"cannot make a tensor from ragged data: {e}") from None
    if array.dtype == np.bool_:
        return array, dtypes.bool_
    if np.issubdtype(array.dtype, np.integer):
        return array, dtypes.int64
    if np.issubdtype(array.dtype, np.floating):
        return array, dtypes.get_default_dtype()
    kind = "str" if array.dtype.kind in "US" else str(array.dtype)
    raise TypeError(f"cannot make a tensor from values of type {kind}: {data!r}")


def _leaves(data: Sequence[Any]) -> list[Any]:
    return [x for x in data if not isinstance(x, str)]


def tensor(
    data: Any, dtype: dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors)."""
    values, inferred = _infer(data)
    return _make(values, dtype or inferred, device, requires_grad)


def as_tensor(data: Any, dtype: dtype | None = None, device: Device = None) -> Tensor:
    """``data`` itself when it is a tensor of that dtype and device, else `tensor`."""
    if is_face_tensor(data) and (dtype is None or data.dtype == dtype):
        return data if device is None else data.to(device)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: npt.NDArray[Any]) -> Tensor:
    """A tensor of ``array``'s values and dtype (sharing its memory when it is contiguous and
    of a storage dtype: float32, float64, int64 or bool)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dt = dtypes.of_numpy(array.dtype)
    values = np.asarray(array, dtype=dtypes.storage(dt), order="C")
    return wrap(mt.Tensor.make(values.reshape(-1), array.shape, backend=backend_of(None)), dt)


def _size(args: tuple[Any, ...]) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], Sequence):
        args = tuple(args[0])
    for a in args:
        if isinstance(a, builtins.bool) or not isinstance(a, numbers.Integral) or a < 0:
            raise ValueError(f"sizes must be non-negative ints, got {args!r}")
    return tuple(int(a) for a in args)


def full(
    size: Sequence[int],
    fill_value: float,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (whose type gives the dtype)."""
    shape = _size((size,))
    dt = dtype or dtypes.of_number(fill_value)
    return _make(np.full(shape, float(fill_value)), dt, device, requires_grad)


def zeros(
    *size: Any, dtype: dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    return _make(np.zeros(_size(size)), dtype or dtypes.get_default_dtype(), device, requires_grad)


def ones(
    *size: Any, dtype: dtype | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    return _make(np.ones(_size(size)), dtype or dtypes.get_default_dtype(), device, requires_grad)


empty = zeros


def eye(
    n: int,
    m: int | None = None,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    return _make(np.eye(n, m), dtype or dtypes.get_default_dtype(), device, requires_grad)


def _rng() -> np.random.Generator:
    return mt.generator()


def rand(
    *size: Any,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Uniform values in [0, 1)."""
    _no_generator(generator)
    values = _rng().random(_size(size))
    return _make(values, dtype or dtypes.get_default_dtype(), device, requires_grad)


def randn(
    *size: Any,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
    generator: Any = None,
) -> Tensor:
    """Standard normal values."""
    _no_generator(generator)
    values = _rng().standard_normal(_size(size))
    return _make(values, dtype or dtypes.get_default_dtype(), device, requires_grad)


def randint(*args: Any, **kwargs: Any) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in ``[low, high)``."""
    _no_generator(kwargs.pop("generator", None))
    size = kwargs.pop("size", None)
    if size is None:
        *args, size = args  # type: ignore[assignment]  # the last positional is the size
    low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
    if kwargs.get("high") is not None:
        low, high = kwargs.pop("low", 0), kwargs.pop("high")
    if high <= low:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    values = _rng().integers(low, high, _size((size,)))
    return _make(values, kwargs.get("dtype") or dtypes.int64, kwargs.get("device"))


def randperm(n: int, dtype: dtype | None = None, device: Device = None) -> Tensor:
    """A random ordering of ``0 .. n-1``."""
    return _make(_rng().permutation(n), dtype or dtypes.int64, device)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` below ``end`` (integers when all three are)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    whole = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = dtype or (dtypes.int64 if whole else dtypes.get_default_dtype())
    return _make(np.arange(start, end, step), dt, device, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    values = np.linspace(start, end, steps)
    return _make(values, dtype or dtypes.get_default_dtype(), device, requires_grad)


def _like(x: Tensor, values: npt.ArrayLike, dt: dtype | None, requires_grad: bool) -> Tensor:
    return _make(values, dt or x.dtype, x.device, requires_grad)


def zeros_like(x: Tensor, dtype: dtype | None = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.zeros(x.shape), dtype, requires_grad)


def ones_like(x: Tensor, dtype: dtype | None = None, requires_grad: bool = False) -> Tensor:
    return _like(x, np.ones(x.shape), dtype, requires_grad)


def full_like(x: Tensor, fill_value: float, dtype: dtype | None = None) -> Tensor:
    return _like(x, np.full(x.shape, float(fill_value)), dtype, False)


empty_like = zeros_like


def rand_like(x: Tensor, dtype: dtype | None = None) -> Tensor:
    return _like(x, _rng().random(x.shape), dtype, False)


def randn_like(x: Tensor, dtype: dtype | None = None) -> Tensor:
    return _like(x, _rng().standard_normal(x.shape), dtype, False)


@with_out
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (dtypes promoted)."""
    ts = list(tensors)
    if not ts:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    return label(wrap(mt.cat([t._t for t in ts], dim), dt), "CatBackward0")


concat = concatenate = cat


@with_out
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    ts = list(tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    return label(wrap(mt.stack([t._t for t in ts], dim), dt), "StackBackward0")


def manual_seed(seed: int) -> None:
    """Seed every random draw: tensors, layer initialisation, dropout, shuffling (and the
    stages' ``rand``)."""
    mt.manual_seed(int(seed))


def _values(x: Any) -> npt.NDArray[np.float64]:
    return x._t.to_numpy() if is_face_tensor(x) else np.asarray(x, dtype=np.float64)


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Sequence[int] | None = None,
    *,
    generator: Any = None,
    dtype: dtype | None = None,
    device: Device = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal values: of ``size`` for number ``mean`` and ``std``, else one per element of the
    tensor(s) given (broadcast together)."""
    _no_generator(generator)
    m, s = _values(mean), _values(std)
    if np.any(s < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {s.min()}")
    tensors = [t for t in (mean, std) if is_face_tensor(t)]
    if size is None and not tensors:
        raise TypeError("normal() with number mean and std needs a size")
    shape = _size((size,)) if size is not None else np.broadcast_shapes(m.shape, s.shape)
    like = tensors[0] if tensors else None
    dt = dtype or (like.dtype if like is not None else dtypes.get_default_dtype())
    where = device or (like.device if like is not None else None)
    return _make(_rng().normal(m, s, shape), dt, where, requires_grad)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:  # noqa: A002
    """1 with probability ``p`` (each element's value of ``input`` unless given), else 0."""
    _no_generator(generator)
    probs = input._t.to_numpy() if p is None else np.full(input.shape, float(p))
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise RuntimeError(f"Expected p_in >= 0 && p_in <= 1 to be true, got {probs.min()}")
    return _like(input, _rng().random(input.shape) < probs, None, False)


def multinomial(
    input: Tensor,  # noqa: A002 (PyTorch's name)
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Any = None,
) -> Tensor:
    """Indices drawn in proportion to the weights in each row of ``input`` (1-d or 2-d)."""
    _no_generator(generator)
    weights = input._t.to_numpy()
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {weights.ndim}")
    rows = weights.reshape(-1, weights.shape[-1])
    if rows.size and (rows.min() < 0 or not np.all(np.isfinite(rows))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(-1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if not replacement and np.any((rows > 0).sum(-1) < num_samples):
        raise RuntimeError(
            "invalid multinomial distribution (with replacement=False, not enough "
            "non-negative category to sample)"
        )
    picks = np.stack(
        [
            _rng().choice(rows.shape[-1], num_samples, replace=replacement, p=r / r.sum())
            for r in rows
        ]
    )
    return _make(picks.reshape(*weights.shape[:-1], num_samples), dtypes.int64, input.device)


def randint_like(
    x: Tensor, low: int, high: int | None = None, dtype: dtype | None = None
) -> Tensor:
    """Integers in ``[low, high)`` (``[0, low)`` with one bound) of ``x``'s shape."""
    low, high = (0, low) if high is None else (low, high)
    return _like(x, _rng().integers(low, high, x.shape), dtype, False)


guard_module(globals(), "torch")
