"""Batched matrix multiply: a register-tiled, cache-blocked numba kernel.

Every output is a dot product ``out[i, j] = sum_k a[i, k] * b[k, j]``. The kernel reads ``a`` by
rows and ``b`` by columns, both with unit stride along ``k``, so each dot product is one
vectorised loop. It computes a tile of ``4 x 4`` outputs at once: per step of ``k`` it loads four
values of ``a`` and four of ``b`` and does 16 multiply-adds into 16 accumulators that stay in
registers (a plain ``i, k, j`` loop loads and stores ``out`` for every multiply-add; the former
``4 x 2`` tile, 6 loads per 8 multiply-adds, ran 1.3-1.5x slower).

Layout: ``a`` is used as it is when its rows are contiguous along ``k``, else packed into a
contiguous copy; ``b`` is read as its transpose (``b`` with the last two dims swapped), a view
when that has unit stride along ``k`` (``b`` is itself a transposed matrix, as in backward
passes), else packed. Packing costs ``O(size)`` against ``O(n m p)`` of arithmetic.

Blocking: a task owns ``ROWS x COLS`` outputs of one batch entry (tasks run on threads in the
parallel kernel); it walks ``k`` in blocks of ``DEPTH`` so the ``ROWS`` rows of ``a`` and
``COLS`` columns of ``b`` it rereads stay in the L2 cache (4 rows of ``a`` in L1). Batch dims
broadcast through mt-tensor's index helpers, converted once per task.
"""

from __future__ import annotations

from typing import cast

import numba
import numpy as np

from mt_tensor.tensor_data import Shape, Storage, Strides

from .kernels import F, broadcast_index, index_to_position, parallel, serial, to_index

ROWS = 64
"""Output rows per task (a multiple of the tile's 4)."""
COLS = 128
"""Output columns per task (a multiple of the tile's 4)."""
DEPTH = 256
"""Values of ``k`` per pass over a task's block."""

_FASTMATH = {"reassoc", "contract"}
"""Let LLVM reorder each dot product's sum (to vectorise it) and fuse multiply-adds."""


def tiled(fn: F) -> F:
    """`serial` with `_FASTMATH`. The flags belong to the function compiled, so the kernels call
    this one rather than inlining its loops into code compiled without them."""
    return cast(F, numba.njit(fastmath=_FASTMATH, cache=True)(fn))


def _inlined(fn: F) -> F:
    """A helper of `matmul_block`, inlined into it (so compiled with its flags)."""
    return cast(F, numba.njit(fastmath=_FASTMATH, inline="always")(fn))


@_inlined
def _dot(x: Storage, y: Storage, depth: int, zero: float) -> float:
    """``sum(x[:depth] * y[:depth])`` for one output outside the 4 x 4 tiles, summed from
    ``zero`` (a zero of the storage's dtype, so float32 stays float32)."""
    acc = zero
    for k in range(depth):
        acc += x[k] * y[k]
    return acc


@serial
def packed(storage: Storage, shape: Shape, strides: Strides) -> tuple[Storage, Strides]:
    """A contiguous copy of a strided tensor and its strides, copied one row at a time."""
    dims = len(shape)
    size = 1
    contiguous = np.empty(dims, np.int64)
    for d in range(dims - 1, -1, -1):
        contiguous[d] = size
        size *= shape[d]
    out = np.empty(size, storage.dtype)
    index = np.empty(dims, np.int64)
    length, step = shape[dims - 1], strides[dims - 1]
    for start in range(0, size, length):
        to_index(start, shape, index)
        position = index_to_position(index, strides)
        for j in range(length):
            out[start + j] = storage[position + j * step]
    return out, contiguous


@serial
def transposed(shape: Shape, strides: Strides) -> tuple[Shape, Strides]:
    """The shape and strides of the last two dims swapped (a view, nothing copied)."""
    dims = len(shape)
    t_shape, t_strides = shape.copy(), strides.copy()
    t_shape[dims - 2], t_shape[dims - 1] = shape[dims - 1], shape[dims - 2]
    t_strides[dims - 2], t_strides[dims - 1] = strides[dims - 1], strides[dims - 2]
    return t_shape, t_strides


@serial
def along_k(
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
) -> tuple[Storage, Strides, Storage, Shape, Strides]:
    """``a`` and the transpose of ``b``, each with unit stride along ``k`` (packed if needed).

    Returns ``(a, a_strides, bt, bt_shape, bt_strides)``; ``a_shape`` is unchanged.
    """
    m = a_shape[len(a_shape) - 1]
    if m > 1 and a_strides[len(a_shape) - 1] != 1:
        a, a_strides = packed(a, a_shape, a_strides)
    bt_shape, bt_strides = transposed(b_shape, b_strides)
    if m > 1 and bt_strides[len(b_shape) - 1] != 1:
        b, bt_strides = packed(b, bt_shape, bt_strides)
    return a, a_strides, b, bt_shape, bt_strides


@tiled
def matmul_block(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    bt: Storage,
    bt_shape: Shape,
    bt_strides: Strides,
    task: int,
) -> None:
    """Add ``a @ b`` into the ``ROWS x COLS`` outputs of ``task`` (``out`` is contiguous)."""
    dims = len(out_shape)
    n, p = out_shape[dims - 2], out_shape[dims - 1]
    m = a_shape[len(a_shape) - 1]
    row_blocks, col_blocks = (n + ROWS - 1) // ROWS, (p + COLS - 1) // COLS
    entry, block = task // (row_blocks * col_blocks), task % (row_blocks * col_blocks)
    row0, col0 = (block // col_blocks) * ROWS, (block % col_blocks) * COLS
    row1, col1 = min(row0 + ROWS, n), min(col0 + COLS, p)

    out_index = np.empty(dims, np.int64)
    a_index = np.empty(len(a_shape), np.int64)
    b_index = np.empty(len(bt_shape), np.int64)
    to_index(entry * n * p, out_shape, out_index)
    broadcast_index(out_index, out_shape, a_shape, a_index)
    broadcast_index(out_index, out_shape, bt_shape, b_index)
    a_base = index_to_position(a_index, a_strides)
    b_base = index_to_position(b_index, bt_strides)
    o_base = entry * n * p
    a_row, b_col = a_strides[len(a_shape) - 2], bt_strides[len(bt_shape) - 2]
    zero = np.zeros(1, out.dtype)[0]  # accumulators in the storage's dtype

    for k0 in range(0, m, DEPTH):
        depth = min(DEPTH, m - k0)
        i = row0
        while i + 4 <= row1:
            r = a_base + i * a_row + k0
            a0 = a[r : r + depth]
            a1 = a[r + a_row : r + a_row + depth]
            a2 = a[r + 2 * a_row : r + 2 * a_row + depth]
            a3 = a[r + 3 * a_row : r + 3 * a_row + depth]
            j = col0
            while j + 4 <= col1:
                c = b_base + j * b_col + k0
                b0 = bt[c : c + depth]
                b1 = bt[c + b_col : c + b_col + depth]
                b2 = bt[c + 2 * b_col : c + 2 * b_col + depth]
                b3 = bt[c + 3 * b_col : c + 3 * b_col + depth]
                s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
                s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
                for k in range(depth):
                    x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
                    y0, y1, y2, y3 = b0[k], b1[k], b2[k], b3[k]
                    s00 += x0 * y0
                    s01 += x0 * y1
                    s02 += x0 * y2
                    s03 += x0 * y3
                    s10 += x1 * y0
                    s11 += x1 * y1
                    s12 += x1 * y2
                    s13 += x1 * y3
                    s20 += x2 * y0
                    s21 += x2 * y1
                    s22 += x2 * y2
                    s23 += x2 * y3
                    s30 += x3 * y0
                    s31 += x3 * y1
                    s32 += x3 * y2
                    s33 += x3 * y3
                o = o_base + i * p + j
                out[o] += s00
                out[o + 1] += s01
                out[o + 2] += s02
                out[o + 3] += s03
                out[o + p] += s10
                out[o + p + 1] += s11
                out[o + p + 2] += s12
                out[o + p + 3] += s13
                out[o + 2 * p] += s20
                out[o + 2 * p + 1] += s21
                out[o + 2 * p + 2] += s22
                out[o + 2 * p + 3] += s23
                out[o + 3 * p] += s30
                out[o + 3 * p + 1] += s31
                out[o + 3 * p + 2] += s32
                out[o + 3 * p + 3] += s33
                j += 4
            while j < col1:
                c = b_base + j * b_col + k0
                for di in range(4):
                    out[o_base + (i + di) * p + j] += _dot(a[r + di * a_row :], bt[c:], depth, zero)
                j += 1
            i += 4
        for ii in range(i, row1):
            r = a_base + ii * a_row + k0
            for jj in range(col0, col1):
                c = b_base + jj * b_col + k0
                out[o_base + ii * p + jj] += _dot(a[r:], bt[c:], depth, zero)


@serial
def tasks(out_shape: Shape) -> int:
    """The number of ``ROWS x COLS`` output blocks over every batch entry."""
    dims = len(out_shape)
    n, p = int(out_shape[dims - 2]), int(out_shape[dims - 1])
    count = ((n + ROWS - 1) // ROWS) * ((p + COLS - 1) // COLS)
    for d in range(dims - 2):
        count *= int(out_shape[d])
    return count


@serial
def matmul_serial(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
) -> None:
    """``out += a @ b`` on this thread (``out`` contiguous; ``a``, ``b`` any strides)."""
    a, a_strides, bt, bt_shape, bt_strides = along_k(a, a_shape, a_strides, b, b_shape, b_strides)
    for task in range(tasks(out_shape)):
        matmul_block(out, out_shape, a, a_shape, a_strides, bt, bt_shape, bt_strides, task)


@parallel
def matmul_parallel(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
) -> None:
    """``out += a @ b`` with the output blocks spread over threads."""
    a, a_strides, bt, bt_shape, bt_strides = along_k(a, a_shape, a_strides, b, b_shape, b_strides)
    for task in numba.prange(tasks(out_shape)):
        # prange's index is unsigned: as int64 it reuses the serial kernel's compiled block
        # instead of compiling a second one (3-7 s on a first run).
        block: int = np.int64(task)  # type: ignore[assignment]  # numba's int() keeps uint64
        matmul_block(out, out_shape, a, a_shape, a_strides, bt, bt_shape, bt_strides, block)
