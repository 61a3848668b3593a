"""The CUDA backend: map, zip, reduce and matrix multiply as numba-cuda kernels, plus fused
convolution and pooling (`mt_cuda.cuda_conv`).

Threads, blocks and grids: map and zip run one thread per output element; reduce runs one block
per output position and folds the reduced dim through shared memory; matrix multiply loads
square tiles of both operands into shared memory. The kernels live in `mt_cuda.cuda_kernels`,
imported on first use, so ``import mt_cuda`` never touches CUDA.

Memory: a tensor made by a kernel keeps its storage on the device (a numba device array inside
its `TensorData`); the host sees it only through ``to_numpy``, ``item``, printing and indexing.
A tensor built on the host (``tensor(...)``, ``zeros``) keeps host storage, copied to the device
each time a kernel reads it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from mt_operators import operators
from mt_tensor import NumpyOps, TensorBackend, TensorData
from mt_tensor.tensor_data import on_device
from mt_tensor.tensor_ops import (
    BinaryFn,
    FusedOps,
    MapProto,
    ReduceFn,
    UnaryFn,
    ZipFn,
    matmul_shape,
    reduce_shape,
    zip_shape,
)

from .cuda_conv import Conv2d, Pool2d

__all__ = [
    "MAX_GRID_Z",
    "PRACTICE_BLOCK",
    "SIMULATOR_THREADS",
    "SIMULATOR_TILE",
    "THREADS_PER_BLOCK",
    "TILE",
    "CudaBackend",
    "CudaOps",
    "load_backend",
    "mm_practice",
    "sum_practice",
]

if TYPE_CHECKING:
    from mt_tensor import Tensor

THREADS_PER_BLOCK = 256
"""Default threads per block of map, zip and reduce on a GPU (a power of two, at most 1024)."""
TILE = 32
"""Default side of matrix multiply's square shared-memory tiles on a GPU (``TILE**2`` threads)."""
SIMULATOR_THREADS = 8
"""Default threads per block in the simulator, which runs every thread in Python."""
SIMULATOR_TILE = 4
"""Default tile side in the simulator (the same kernels, smaller blocks)."""
MAX_GRID_Z = 65535
"""CUDA's limit on the third grid dimension (matrix multiply loops over batches past it)."""
PRACTICE_BLOCK = 32
"""Block size (and largest matrix side) of the practice kernels."""

UNARY_CODES = operators.codes(operators.MAP_FNS)
"""The functions map runs on the device (the table's unary primitives), with their codes."""
BINARY_CODES = operators.codes(operators.ZIP_FNS)
"""The functions zip runs on the device (binary primitives, then derivatives), with codes."""
REDUCERS = {p.fn: p.start for p in operators.BINARY if p.start is not None}
"""The functions reduce runs on the device, with their identity (so partial folds combine)."""


def _args(t: Tensor) -> tuple[Any, Any, Any]:
    """``(storage, shape, strides)`` of a tensor, all on the device."""
    from . import cuda_kernels as k

    data = t._tensor
    return k.to_device(data._storage), k.device_ints(data.shape), k.device_ints(data.strides)


def _empty(like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A contiguous tensor of ``shape`` and ``like``'s dtype on its backend, with uninitialised
    device storage (every kernel writes every output element)."""
    from . import cuda_kernels as k

    size = int(np.prod(shape)) if shape else 1
    return like.make(k.empty(size, like.dtype), shape, backend=like.backend)


def _blocks(size: int, threads: int) -> int:
    return (size + threads - 1) // threads


class CudaOps:
    """The four primitives as CUDA kernels.

    ``threads`` is the block size of map, zip and reduce (a power of two up to 1024); ``tile``
    the side of matrix multiply's shared-memory tiles (``tile**2`` up to 1024). Left out, they
    are chosen at the first launch: `THREADS_PER_BLOCK` and `TILE` on a GPU, smaller in the
    simulator. Operators without a kernel (any other Python function) run on the host through
    `NumpyOps`. ``fused`` declares the convolution and pooling kernels of `mt_cuda.cuda_conv`.
    """

    name = "cuda"
    device = "cuda"
    compiled = True

    def __init__(self, threads: int | None = None, tile: int | None = None) -> None:
        if threads is not None and (not 1 <= threads <= 1024 or threads & (threads - 1)):
            raise ValueError(f"threads must be a power of two from 1 to 1024, got {threads}")
        if tile is not None and not 1 <= tile <= 32:
            raise ValueError(f"tile must be from 1 to 32 (tile**2 threads a block), got {tile}")
        self._threads = threads
        self._tile = tile
        self.fused = FusedOps(conv2d=Conv2d(self), pool2d=Pool2d(self))

    @property
    def threads(self) -> int:
        """Threads per block of map, zip and reduce."""
        from . import cuda_kernels as k

        if self._threads is None:
            self._threads = SIMULATOR_THREADS if k.SIMULATOR else THREADS_PER_BLOCK
        return self._threads

    @property
    def tile(self) -> int:
        """Side of matrix multiply's shared-memory tiles."""
        from . import cuda_kernels as k

        if self._tile is None:
            self._tile = SIMULATOR_TILE if k.SIMULATOR else TILE
        return self._tile

    def map(self, fn: UnaryFn) -> MapProto:
        """Element-wise ``fn``, one thread per output element; with ``out``, written into it."""
        op = UNARY_CODES.get(fn)
        host = NumpyOps.map(fn) if op is None else None

        def ret(a: Tensor, out: Tensor | None = None) -> Tensor:
            from . import cuda_kernels as k

            if host is not None:
                values = host(a)
                return values if out is None else self.map(operators.id)(values, out)
            if out is None:
                out = _empty(a, a.shape)
            if out.size == 0:
                return out
            storage = out._tensor._storage
            target: Any = storage if on_device(storage) else k.to_device(storage)
            k.map_kernel[_blocks(out.size, self.threads), self.threads](
                op, target, *_args(out)[1:], out.size, *_args(a)
            )
            if target is not storage:
                target.copy_to_host(storage)
            return out

        return ret

    def zip(self, fn: BinaryFn) -> ZipFn:
        """Element-wise ``fn`` of two broadcast tensors, one thread per output element."""
        op = BINARY_CODES.get(fn)
        host = NumpyOps.zip(fn) if op is None else None

        def ret(a: Tensor, b: Tensor) -> Tensor:
            from . import cuda_kernels as k

            shape = zip_shape(a, b)
            if host is not None:
                return host(a, b)
            out = _empty(a, shape)
            if out.size > 0:
                k.zip_kernel[_blocks(out.size, self.threads), self.threads](
                    op, *_args(out), out.size, *_args(a), *_args(b)
                )
            return out

        return ret

    def reduce(self, fn: BinaryFn, start: float = 0.0) -> ReduceFn:
        """Fold ``fn`` along a dim from ``start``, one block per output position."""
        op = BINARY_CODES[fn] if fn in REDUCERS else None
        identity = REDUCERS.get(fn, 0.0)
        host = NumpyOps.reduce(fn, start) if op is None else None

        def ret(a: Tensor, dim: int) -> Tensor:
            from . import cuda_kernels as k

            shape = reduce_shape(a, dim)
            if host is not None:
                return host(a, dim)
            out = _empty(a, shape)
            if out.size > 0:
                k.reduce_kernel(self.threads)[out.size, self.threads](
                    op, identity, float(start), *_args(out), *_args(a), dim
                )
            return out

        return ret

    def matrix_multiply(self, a: Tensor, b: Tensor) -> Tensor:
        """Batched ``(..., n, m) @ (..., m, p)`` with broadcast batch dims, in shared tiles."""
        from . import cuda_kernels as k

        shape = matmul_shape(a, b)
        out = _empty(a, shape)
        n, p = shape[-2], shape[-1]
        if out.size > 0:
            batches = out.size // (n * p)
            grid = (_blocks(p, self.tile), _blocks(n, self.tile), min(batches, MAX_GRID_Z))
            k.matmul_kernel(self.tile)[grid, (self.tile, self.tile)](
                *_args(out), batches, *_args(a), *_args(b)
            )
        return out


CudaBackend = TensorBackend(CudaOps())
"""The backend registered as ``"cuda"`` (building it launches nothing)."""


def load_backend() -> TensorBackend:
    """`CudaBackend`, or one `RuntimeError` saying how to get it (the ``"cuda"`` entry point)."""
    try:
        from . import cuda_kernels as k

        reason = "" if k.available() else "no usable NVIDIA GPU or CUDA driver"
    except ImportError as e:  # numba-cuda without its CUDA bindings
        reason = str(e)
    if reason:
        raise RuntimeError(
            f"the 'cuda' backend cannot run here ({reason}; NUMBA_ENABLE_CUDASIM="
            f"{os.environ.get('NUMBA_ENABLE_CUDASIM', 'unset')}). Either run on a machine with "
            "an NVIDIA GPU and its CUDA driver, or set NUMBA_ENABLE_CUDASIM=1 before starting "
            "Python to run the kernels in numba's CUDA simulator (slow; for tests and learning)."
        )
    return CudaBackend


# The course's practice kernels (Tasks 3.3 and 3.4), as teaching pieces beside the real ones.


def sum_practice(a: Tensor) -> TensorData:
    """Partial sums of a 1-d tensor, one per block of ``PRACTICE_BLOCK`` elements (the course's
    first shared-memory exercise: a block cooperates, and the blocks' sums are left to add).

    Returns `TensorData` of shape ``(blocks,)`` whose storage stays on the device.
    """
    from . import cuda_kernels as k

    if a.dims != 1:
        raise ValueError(f"sum_practice needs a 1-d tensor, got shape {a.shape}")
    size = a.shape[0]
    blocks = max(_blocks(size, PRACTICE_BLOCK), 1)
    out = k.empty(blocks)
    k.sum_practice_kernel[blocks, PRACTICE_BLOCK](
        out, k.to_device(a.contiguous()._tensor._storage), size
    )
    return TensorData(out, (blocks,))


def mm_practice(a: Tensor, b: Tensor) -> TensorData:
    """The product of two square matrices of side at most ``PRACTICE_BLOCK``, in one block (the
    course's step towards the tiled `CudaOps.matrix_multiply`)."""
    from . import cuda_kernels as k

    size = a.shape[0] if a.dims == 2 else 0
    if a.shape != (size, size) or b.shape != (size, size) or not 0 < size <= PRACTICE_BLOCK:
        raise ValueError(
            f"mm_practice needs two square matrices of one side from 1 to {PRACTICE_BLOCK}, "
            f"got {a.shape} and {b.shape}"
        )
    out = k.empty(size * size)
    k.mm_practice_kernel[1, (size, size)](
        out,
        k.to_device(a.contiguous()._tensor._storage),
        k.to_device(b.contiguous()._tensor._storage),
        size,
    )
    return TensorData(out, (size, size))
