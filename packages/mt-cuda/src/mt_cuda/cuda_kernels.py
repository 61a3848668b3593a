"""The CUDA kernels and device functions behind `mt_cuda.cuda_ops`.

Importing this module imports ``numba.cuda``, which reads ``NUMBA_ENABLE_CUDASIM`` once, at
that moment; `mt_cuda.cuda_ops` therefore imports it only when a kernel is first needed.
The index helpers of `mt_tensor.tensor_data` are compiled here as device functions, not
rewritten. Operators reach the kernels as small integer codes, so each kernel is compiled once
(per tile or block size), never per operator or per call.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Any

import numba
import numpy as np
from numba import cuda as numba_cuda

from mt_operators.operators import EXP_MAX
from mt_tensor.tensor_data import MAX_DIMS, broadcast_index, index_to_position, to_index

from .cuda_ops import PRACTICE_BLOCK

cuda: Any = numba_cuda
"""numba's CUDA module, typed loosely: its kernel language (``threadIdx``, ``shared``...) has
no type information."""

DeviceArray = Any
"""A numba device array (``DeviceNDArray``, or the simulator's ``FakeCUDAArray``)."""

SIMULATOR = bool(cuda.config.ENABLE_CUDASIM)
"""True when numba runs the kernels in its CUDA simulator (each thread in Python)."""

to_index_device = cuda.jit(device=True)(to_index)
index_to_position_device = cuda.jit(device=True)(index_to_position)
broadcast_index_device = cuda.jit(device=True)(broadcast_index)


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def _inv(x: float) -> float:
    if x == 0.0:
        return math.copysign(math.inf, x)
    return 1.0 / x


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def unary(op: int, x: float) -> float:
    """Unary operator ``op`` (a code of `cuda_ops.UNARY_CODES`) with stage 0's domain rule."""
    if op == 1:
        return -x
    if op == 2:
        return float(_inv(x))
    if op == 3:
        if x > 0.0:
            return math.log(x)
        if x == 0.0:
            return -math.inf
        return math.nan
    if op == 4:
        return math.inf if x > EXP_MAX else math.exp(x)
    if op == 5:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        z = math.exp(x)
        return z / (1.0 + z)
    if op == 6:
        return 0.0 if x <= 0.0 else x
    return x


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def binary(op: int, x: float, y: float) -> float:
    """Binary operator ``op`` (a code of `cuda_ops.BINARY_CODES`)."""
    if op == 0:
        return x + y
    if op == 1:
        return x * y
    if op == 2:
        return x if x > y or x != x else y
    if op == 3:
        return 1.0 if x < y else 0.0
    if op == 4:
        return 1.0 if x == y else 0.0
    if op == 5:
        return 1.0 if abs(x - y) < 1e-2 else 0.0
    if op == 6:
        return y if x > 0.0 else 0.0
    if op == 7:
        return float(y * _inv(x))
    return float(-y * _inv(x * x))


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def identity(op: int) -> float:
    """The identity element of reducer ``op``: 0 for add, 1 for mul, -inf for max."""
    if op == 0:
        return 0.0
    if op == 1:
        return 1.0
    return -math.inf


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def map_kernel(
    op: int,
    out: DeviceArray,
    out_shape: DeviceArray,
    out_strides: DeviceArray,
    out_size: int,
    a: DeviceArray,
    a_shape: DeviceArray,
    a_strides: DeviceArray,
) -> None:
    """One thread per output element: ``out[i] = op(a[broadcast(i)])``."""
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < out_size:
        out_index = cuda.local.array(MAX_DIMS, numba.int64)
        a_index = cuda.local.array(MAX_DIMS, numba.int64)
        to_index_device(i, out_shape, out_index)
        broadcast_index_device(out_index, out_shape, a_shape, a_index)
        x = a[index_to_position_device(a_index[: len(a_shape)], a_strides)]
        out[index_to_position_device(out_index[: len(out_shape)], out_strides)] = unary(op, x)


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def zip_kernel(
    op: int,
    out: DeviceArray,
    out_shape: DeviceArray,
    out_strides: DeviceArray,
    out_size: int,
    a: DeviceArray,
    a_shape: DeviceArray,
    a_strides: DeviceArray,
    b: DeviceArray,
    b_shape: DeviceArray,
    b_strides: DeviceArray,
) -> None:
    """One thread per output element: ``out[i] = op(a[broadcast(i)], b[broadcast(i)])``."""
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < out_size:
        out_index = cuda.local.array(MAX_DIMS, numba.int64)
        a_index = cuda.local.array(MAX_DIMS, numba.int64)
        b_index = cuda.local.array(MAX_DIMS, numba.int64)
        to_index_device(i, out_shape, out_index)
        broadcast_index_device(out_index, out_shape, a_shape, a_index)
        broadcast_index_device(out_index, out_shape, b_shape, b_index)
        x = a[index_to_position_device(a_index[: len(a_shape)], a_strides)]
        y = b[index_to_position_device(b_index[: len(b_shape)], b_strides)]
        out[index_to_position_device(out_index[: len(out_shape)], out_strides)] = binary(op, x, y)


@cache
def reduce_kernel(threads: int) -> Any:
    """The reduce kernel for blocks of ``threads``, a power of two (its shared array's size is
    a compile-time constant, hence one kernel per block size)."""

    @cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
    def kernel(
        op: int,
        start: float,
        out: DeviceArray,
        out_shape: DeviceArray,
        out_strides: DeviceArray,
        a: DeviceArray,
        a_shape: DeviceArray,
        a_strides: DeviceArray,
        dim: int,
    ) -> None:
        """Block ``k`` computes output position ``k``: each thread folds every ``threads``-th
        element of the reduced dim (so any length is complete), then the block halves its
        partial results in shared memory, and thread 0 folds the total into ``start``."""
        partial = cuda.shared.array(threads, numba.float64)
        t = cuda.threadIdx.x
        index = cuda.local.array(MAX_DIMS, numba.int64)
        dims = len(out_shape)
        to_index_device(cuda.blockIdx.x, out_shape, index)
        acc = identity(op)
        j = t
        while j < a_shape[dim]:
            index[dim] = j
            acc = binary(op, acc, a[index_to_position_device(index[:dims], a_strides)])
            j += threads
        partial[t] = acc
        cuda.syncthreads()
        step = threads // 2
        while step > 0:
            if t < step:
                partial[t] = binary(op, partial[t], partial[t + step])
            cuda.syncthreads()
            step //= 2
        if t == 0:
            index[dim] = 0
            out[index_to_position_device(index[:dims], out_strides)] = binary(op, start, partial[0])

    return kernel


@cache
def matmul_kernel(tile: int) -> Any:
    """The tiled matrix-multiply kernel for ``tile x tile`` blocks (one kernel per tile size)."""

    @cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
    def kernel(
        out: DeviceArray,
        out_shape: DeviceArray,
        out_strides: DeviceArray,
        batches: int,
        a: DeviceArray,
        a_shape: DeviceArray,
        a_strides: DeviceArray,
        b: DeviceArray,
        b_shape: DeviceArray,
        b_strides: DeviceArray,
    ) -> None:
        """Block ``(x, y, z)`` computes the output square at column block ``x`` and row block
        ``y`` of batches ``z, z + gridDim.z, ...``. At each step along the inner dim every
        thread loads one element of each operand into shared memory (zero past the edges), so a
        global element is read once per tile and the products read shared memory only."""
        a_tile = cuda.shared.array((tile, tile), numba.float64)
        b_tile = cuda.shared.array((tile, tile), numba.float64)
        out_index = cuda.local.array(MAX_DIMS, numba.int64)
        a_index = cuda.local.array(MAX_DIMS, numba.int64)
        b_index = cuda.local.array(MAX_DIMS, numba.int64)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        col = cuda.blockIdx.x * tile + tx
        row = cuda.blockIdx.y * tile + ty
        dims = len(out_shape)
        n = out_shape[dims - 2]
        p = out_shape[dims - 1]
        inner = a_shape[len(a_shape) - 1]
        a_row = a_strides[len(a_strides) - 2]
        a_col = a_strides[len(a_strides) - 1]
        b_row = b_strides[len(b_strides) - 2]
        b_col = b_strides[len(b_strides) - 1]
        batch = cuda.blockIdx.z
        while batch < batches:
            to_index_device(batch * n * p, out_shape, out_index)
            broadcast_index_device(out_index, out_shape, a_shape, a_index)
            broadcast_index_device(out_index, out_shape, b_shape, b_index)
            a_base = index_to_position_device(a_index[: len(a_shape)], a_strides)
            b_base = index_to_position_device(b_index[: len(b_shape)], b_strides)
            acc = 0.0
            for k0 in range(0, inner, tile):
                k = k0 + tx
                a_tile[ty, tx] = (
                    a[a_base + row * a_row + k * a_col] if row < n and k < inner else 0.0
                )
                k = k0 + ty
                b_tile[ty, tx] = (
                    b[b_base + k * b_row + col * b_col] if k < inner and col < p else 0.0
                )
                cuda.syncthreads()
                for kk in range(tile):
                    acc += a_tile[ty, kk] * b_tile[kk, tx]
                cuda.syncthreads()
            if row < n and col < p:
                out_index[dims - 2] = row
                out_index[dims - 1] = col
                out[index_to_position_device(out_index[:dims], out_strides)] = acc
            batch += cuda.gridDim.z

    return kernel


# The course's practice kernels (Tasks 3.3 and 3.4): small on purpose, one idea each.


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def sum_practice_kernel(out: DeviceArray, a: DeviceArray, size: int) -> None:
    """Each block sums its ``PRACTICE_BLOCK`` elements of ``a`` into ``out[blockIdx.x]``: one
    element per thread into shared memory, then half the threads add pairs at each step."""
    cache_ = cuda.shared.array(PRACTICE_BLOCK, numba.float64)
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    pos = cuda.threadIdx.x
    cache_[pos] = a[i] if i < size else 0.0
    cuda.syncthreads()
    step = PRACTICE_BLOCK // 2
    while step > 0:
        if pos < step:
            cache_[pos] += cache_[pos + step]
        cuda.syncthreads()
        step //= 2
    if pos == 0:
        out[cuda.blockIdx.x] = cache_[0]


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def mm_practice_kernel(out: DeviceArray, a: DeviceArray, b: DeviceArray, size: int) -> None:
    """One block multiplies two ``size x size`` row-major matrices: both are copied into shared
    memory once, then each thread computes one output from shared reads only."""
    a_shared = cuda.shared.array((PRACTICE_BLOCK, PRACTICE_BLOCK), numba.float64)
    b_shared = cuda.shared.array((PRACTICE_BLOCK, PRACTICE_BLOCK), numba.float64)
    i = cuda.threadIdx.x
    j = cuda.threadIdx.y
    if i < size and j < size:
        a_shared[i, j] = a[i * size + j]
        b_shared[i, j] = b[i * size + j]
    cuda.syncthreads()
    if i < size and j < size:
        acc = 0.0
        for k in range(size):
            acc += a_shared[i, k] * b_shared[k, j]
        out[i * size + j] = acc


# Memory.


@lru_cache(maxsize=4096)
def device_ints(values: tuple[int, ...]) -> DeviceArray:
    """A shape or strides tuple as a device array, uploaded once per distinct tuple."""
    return cuda.to_device(np.array(values, dtype=np.int64))


def to_device(storage: Any) -> DeviceArray:
    """``storage`` as a device array: itself when already there, else a copy uploaded now."""
    if hasattr(storage, "copy_to_host"):
        return storage
    return cuda.to_device(np.ascontiguousarray(storage, dtype=np.float64))


def empty(size: int) -> DeviceArray:
    """An uninitialised float64 device array (at least one element, as CUDA allocates)."""
    return cuda.device_array(max(size, 1), dtype=np.float64)


def available() -> bool:
    """True with an NVIDIA GPU and driver here, or under the simulator."""
    try:
        return bool(cuda.is_available())
    except Exception:  # numba-cuda reports a missing driver in several ways
        return False
