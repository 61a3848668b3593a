"""Stage 2: strided tensors with broadcasting and autograd, on the simple and numpy backends."""

from . import dtypes
from .__about__ import __version__
from .backends import (
    NumpyBackend,
    default_backend,
    get_backend,
    installed_backends,
    set_default_backend,
)
from .constructors import (
    generator,
    grad_central_difference,
    grad_check,
    manual_seed,
    ones,
    rand,
    tensor,
    zeros,
)
from .indexing import cat, index, index_put, pad, stack, where
from .numpy_ops import NumpyOps
from .tensor import History, Tensor
from .tensor_data import (
    Index,
    IndexingError,
    OutIndex,
    Shape,
    Storage,
    Strides,
    TensorData,
    UserIndex,
    UserShape,
    UserStrides,
    broadcast_index,
    index_to_position,
    shape_broadcast,
    strides_from_shape,
    to_index,
)
from .tensor_functions import Function
from .tensor_ops import MapProto, SimpleBackend, SimpleOps, TensorBackend, TensorOps

__all__ = [
    "Function",
    "History",
    "Index",
    "IndexingError",
    "MapProto",
    "NumpyBackend",
    "NumpyOps",
    "OutIndex",
    "Shape",
    "SimpleBackend",
    "SimpleOps",
    "Storage",
    "Strides",
    "Tensor",
    "TensorBackend",
    "TensorData",
    "TensorOps",
    "UserIndex",
    "UserShape",
    "UserStrides",
    "__version__",
    "broadcast_index",
    "cat",
    "default_backend",
    "dtypes",
    "generator",
    "get_backend",
    "grad_central_difference",
    "grad_check",
    "index",
    "index_put",
    "index_to_position",
    "installed_backends",
    "manual_seed",
    "ones",
    "pad",
    "rand",
    "set_default_backend",
    "shape_broadcast",
    "stack",
    "strides_from_shape",
    "tensor",
    "to_index",
    "where",
    "zeros",
]
