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

from . import dtypes
from .calls import guard_class, guard_keywords, guard_module
from .tensor_base import (
    AccumulateGrad,
    GradFn,
    MaxMin,
    Number,
    Size,
    TensorBase,
    UnsupportedError,
    _dim,
    _dims,
    _example,
    _floating,
    _format,
    _key,
    _no_generator,
    _scaled,
    _shape_args,
    _unpickle,
    backend_of,
    device,
    device_of,
    get_default_device,
    label,
    set_default_device,
    unlabel,
    unwrap,
    where,
    wrap,
)
from .tensor_inplace import InPlace

__all__ = [  # the helpers' old home: modules import them from here, old pickles name _unpickle
    "AccumulateGrad",
    "BoolTensor",
    "DoubleTensor",
    "FloatTensor",
    "GradFn",
    "IntTensor",
    "LongTensor",
    "MaxMin",
    "Number",
    "Size",
    "Tensor",
    "UnsupportedError",
    "_dim",
    "_dims",
    "_example",
    "_floating",
    "_format",
    "_key",
    "_no_generator",
    "_scaled",
    "_shape_args",
    "_unpickle",
    "backend_of",
    "device",
    "device_of",
    "get_default_device",
    "guard_class",
    "guard_keywords",
    "guard_module",
    "label",
    "set_default_device",
    "unlabel",
    "unwrap",
    "where",
    "wrap",
]


class Tensor(InPlace):
    """A tensor with PyTorch's methods; its values and gradients live in a stage tensor.

    Assembled from layers, each a module: tensor_core (construction, identity, autograd,
    conversion, printing), tensor_arith, tensor_reduce, tensor_shape, tensor_index and
    tensor_inplace.
    """


TensorBase.face = Tensor


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


for _layer in Tensor.__mro__[:-2]:  # every layer of the class but TensorBase and object
    guard_class(_layer, "Tensor")
