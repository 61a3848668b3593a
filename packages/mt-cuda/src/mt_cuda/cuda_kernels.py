"""The CUDA kernels and device functions behind `mt_cuda.cuda_ops`.

Importing this module imports ``numba.cuda``, which reads ``NUMBA_ENABLE_CUDASIM`` once, at
that moment; `mt_cuda.cuda_ops` therefore imports it only when a kernel is first needed.
The index helpers of `mt_tensor.tensor_data` are compiled here as device functions, not
rewritten, and so are stage 0's primitives (`mt_operators.operators.PRIMITIVES`), as mt-fast
compiles them. Primitives reach the kernels as their codes (their index in the table's
``MAP_FNS``/``ZIP_FNS``), so each kernel is compiled once (per tile or block size), never per
operator or per call.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Any

import numba
import numpy as np
from numba import cuda as numba_cuda

from mt_fast.kernels import compile_operator
from mt_operators import operators
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


def _device(fn: Any) -> Any:
    return cuda.jit(device=True)(fn)


_done: dict[Any, Any] = {}
MAP_FNS = tuple(compile_operator(fn, _device, _done) for fn in operators.MAP_FNS)
ZIP_FNS = tuple(compile_operator(fn, _device, _done) for fn in operators.ZIP_FNS)
"""Stage 0's primitives compiled as device functions, by op code (as in `mt_fast.kernels`)."""


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def _no_unary(op: int, x: float) -> float:
    return math.nan


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def _no_binary(op: int, x: float, y: float) -> float:
    return math.nan


def _unary_step(code: int, fn: Any, rest: Any) -> Any:
    def step(op: int, x: float) -> float:
        return fn(x) if op == code else rest(op, x)  # type: ignore[no-any-return]

    return _device(step)


def _binary_step(code: int, fn: Any, rest: Any) -> Any:
    def step(op: int, x: float, y: float) -> float:
        return fn(x, y) if op == code else rest(op, x, y)  # type: ignore[no-any-return]

    return _device(step)


unary: Any = _no_unary
"""``unary(op, x)``: map primitive ``op`` (a code of `cuda_ops.UNARY_CODES`) of ``x``."""
for _code in reversed(range(len(MAP_FNS))):
    unary = _unary_step(_code, MAP_FNS[_code], unary)
binary: Any = _no_binary
"""``binary(op, x, y)``: zip primitive ``op`` (a code of `cuda_ops.BINARY_CODES`)."""
for _code in reversed(range(len(ZIP_FNS))):
    binary = _binary_step(_code, ZIP_FNS[_code], binary)


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
        identity: float,
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
        acc = identity
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


# Convolution and pooling (`mt_cuda.cuda_conv`). One thread per element written, each a gather:
# it reads everything its element depends on and writes only that element, so no two threads
# write the same place (no atomics). Arrays come contiguous and 4-d; ``one`` is 1 in their dtype,
# so sums start (``one - one``) and count in that dtype: a literal 0.0 or 1 would make numba
# compute in float64. numba compiles each kernel for the dtypes it meets, on first use.


@cuda.jit(device=True)  # type: ignore[untyped-decorator]  # numba is untyped
def unravel4(n: int, shape: Any) -> tuple[int, int, int, int]:
    """The index ``(a, b, c, d)`` of flat position ``n`` in a row-major 4-d ``shape``."""
    d = n % shape[3]
    n //= shape[3]
    c = n % shape[2]
    n //= shape[2]
    return n // shape[1], n % shape[1], c, d


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def conv_forward_kernel(
    out: DeviceArray,
    inp: DeviceArray,
    weight: DeviceArray,
    bias: DeviceArray,
    sh: int,
    sw: int,
    ph: int,
    pw: int,
) -> None:
    """Thread ``n`` computes output ``(b, o, y, x)``: $bias[o] + \\sum_{c, i, j}
    in[b, c, y s_h - p_h + i, x s_w - p_w + j]\\, w[o, c, i, j]$ over the positions inside the
    input (zeros outside add nothing)."""
    n = cuda.grid(1)
    if n < out.size:
        b, o, y, x = unravel4(n, out.shape)
        channels, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
        acc = bias[o]
        for c in range(channels):
            for i in range(kh):
                row = y * sh - ph + i
                if 0 <= row < inp.shape[2]:
                    for j in range(kw):
                        col = x * sw - pw + j
                        if 0 <= col < inp.shape[3]:
                            acc += inp[b, c, row, col] * weight[o, c, i, j]
        out[b, o, y, x] = acc


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def conv_grad_input_kernel(
    grad_in: DeviceArray,
    grad_out: DeviceArray,
    weight: DeviceArray,
    sh: int,
    sw: int,
    ph: int,
    pw: int,
    one: float,
) -> None:
    """Thread ``n`` computes input element ``(b, c, row, col)``'s gradient: $\\sum_{o, i, j}
    g[b, o, y, x]\\, w[o, c, i, j]$ over the outputs that read it, $y s_h - p_h + i = row$ and
    $x s_w - p_w + j = col$."""
    n = cuda.grid(1)
    if n < grad_in.size:
        b, c, row, col = unravel4(n, grad_in.shape)
        outs, kh, kw = weight.shape[0], weight.shape[2], weight.shape[3]
        acc = one - one
        for o in range(outs):
            for i in range(kh):
                dy = row + ph - i
                y = dy // sh
                if dy >= 0 and dy % sh == 0 and y < grad_out.shape[2]:
                    for j in range(kw):
                        dx = col + pw - j
                        x = dx // sw
                        if dx >= 0 and dx % sw == 0 and x < grad_out.shape[3]:
                            acc += grad_out[b, o, y, x] * weight[o, c, i, j]
        grad_in[b, c, row, col] = acc


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def conv_grad_weight_kernel(
    grad_w: DeviceArray,
    grad_out: DeviceArray,
    inp: DeviceArray,
    sh: int,
    sw: int,
    ph: int,
    pw: int,
    one: float,
) -> None:
    """Thread ``n`` computes weight element ``(o, c, i, j)``'s gradient: $\\sum_{b, y, x}
    g[b, o, y, x]\\, in[b, c, y s_h - p_h + i, x s_w - p_w + j]$ over positions inside the
    input."""
    n = cuda.grid(1)
    if n < grad_w.size:
        o, c, i, j = unravel4(n, grad_w.shape)
        acc = one - one
        for b in range(grad_out.shape[0]):
            for y in range(grad_out.shape[2]):
                row = y * sh - ph + i
                if 0 <= row < inp.shape[2]:
                    for x in range(grad_out.shape[3]):
                        col = x * sw - pw + j
                        if 0 <= col < inp.shape[3]:
                            acc += grad_out[b, o, y, x] * inp[b, c, row, col]
        grad_w[o, c, i, j] = acc


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def conv_grad_bias_kernel(grad_b: DeviceArray, grad_out: DeviceArray, one: float) -> None:
    """Thread ``o`` sums the output gradient of channel ``o``."""
    o = cuda.grid(1)
    if o < grad_b.size:
        acc = one - one
        for b in range(grad_out.shape[0]):
            for y in range(grad_out.shape[2]):
                for x in range(grad_out.shape[3]):
                    acc += grad_out[b, o, y, x]
        grad_b[o] = acc


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def pool_forward_kernel(
    out: DeviceArray, inp: DeviceArray, kh: int, kw: int, average: bool, one: float
) -> None:
    """Thread ``n`` computes output ``(b, c, y, x)``: the mean or the max of its tile, the max
    NaN where the tile holds a NaN (a NaN, once taken, is never replaced)."""
    n = cuda.grid(1)
    if n < out.size:
        b, c, y, x = unravel4(n, out.shape)
        acc = one - one
        count = one - one
        for i in range(kh):
            for j in range(kw):
                v = inp[b, c, y * kh + i, x * kw + j]
                if average:
                    acc += v
                elif (i == 0 and j == 0) or v > acc or v != v:
                    acc = v
                count += one
        if average:
            out[b, c, y, x] = acc / count
        else:
            out[b, c, y, x] = acc


@cuda.jit  # type: ignore[untyped-decorator]  # numba is untyped
def pool_backward_kernel(
    grad_in: DeviceArray,
    inp: DeviceArray,
    out: DeviceArray,
    grad_out: DeviceArray,
    kh: int,
    kw: int,
    average: bool,
    one: float,
) -> None:
    """Thread ``n`` computes input element ``(b, c, row, col)``'s gradient: its tile's ``g``
    over the tile's size (mean) or over the number of the tile's elements equal to its max, if
    it is one of them (max: 0 otherwise, and in a NaN tile, where nothing equals the max)."""
    n = cuda.grid(1)
    if n < grad_in.size:
        b, c, row, col = unravel4(n, grad_in.shape)
        y, x = row // kh, col // kw
        m = out[b, c, y, x]
        hits = one - one
        for i in range(kh):
            for j in range(kw):
                if average or inp[b, c, y * kh + i, x * kw + j] == m:
                    hits += one
        picked = average or inp[b, c, row, col] == m
        grad_in[b, c, row, col] = grad_out[b, c, y, x] / hits if picked else one - one


# Memory.


@lru_cache(maxsize=4096)
def device_ints(values: tuple[int, ...]) -> DeviceArray:
    """A shape or strides tuple as a device array, uploaded once per distinct tuple."""
    return cuda.to_device(np.array(values, dtype=np.int64))


def to_device(storage: Any) -> DeviceArray:
    """``storage`` as a device array: itself when already there, else a copy uploaded now."""
    if hasattr(storage, "copy_to_host"):
        return storage
    return cuda.to_device(np.ascontiguousarray(storage))


def empty(size: int, dtype: Any = np.float64) -> DeviceArray:
    """An uninitialised device array of ``dtype`` (at least one element, as CUDA allocates);
    kernels are compiled for each dtype they meet, on first use."""
    return cuda.device_array(max(size, 1), dtype=dtype)


def available() -> bool:
    """True with an NVIDIA GPU and driver here, or under the simulator."""
    try:
        return bool(cuda.is_available())
    except Exception:  # numba-cuda reports a missing driver in several ways
        return False
