"""Batched matrix multiply: a cache-blocked numba kernel, parallel over batch × row blocks.

Each task owns ``ROWS`` output rows of one batch entry and adds ``a[i, k] * b[k, j:j+COLS]``
into them, four ``k`` at a time so each output row segment (kept in L1) is loaded and stored
once per four products, for ``DEPTH`` values of ``k`` per pass (so the ``b`` block stays in L2).
``b`` must have unit stride along its last dim (the caller packs it otherwise); ``a`` and the
batch dims may have any strides, and batch dims broadcast through mt-tensor's index helpers.
"""

from __future__ import annotations

from typing import cast

import numba
import numpy as np

from mt_tensor.tensor_data import Shape, Storage, Strides

from .kernels import F, broadcast_index, index_to_position, parallel, serial, to_index

ROWS = 32
DEPTH = 128
COLS = 256


def serial_fma(fn: F) -> F:
    """`serial`, letting LLVM fuse each multiply-add into one FMA instruction."""
    return cast(F, numba.njit(cache=True, fastmath={"contract"})(fn))


@serial_fma
def matmul_block(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    task: int,
) -> None:
    """Output rows ``[ROWS * r, ROWS * (r + 1))`` of batch entry ``e`` for ``task = (e, r)``."""
    dims = len(out_shape)
    n, p = out_shape[dims - 2], out_shape[dims - 1]
    m = a_shape[len(a_shape) - 1]
    row_blocks = (n + ROWS - 1) // ROWS
    entry, first = task // row_blocks, (task % row_blocks) * ROWS
    rows_end = min(first + ROWS, n)

    out_index = np.empty(dims, np.int64)
    a_index = np.empty(len(a_shape), np.int64)
    b_index = np.empty(len(b_shape), np.int64)
    to_index(entry * n * p, out_shape, out_index)
    broadcast_index(out_index, out_shape, a_shape, a_index)
    broadcast_index(out_index, out_shape, b_shape, b_index)
    a_base = index_to_position(a_index, a_strides)
    b_base = index_to_position(b_index, b_strides)
    out_base = entry * n * p
    a_row_step, a_k_step = a_strides[len(a_shape) - 2], a_strides[len(a_shape) - 1]
    b_k_step = b_strides[len(b_shape) - 2]

    for j0 in range(0, p, COLS):
        width = min(COLS, p - j0)
        for k0 in range(0, m, DEPTH):
            depth = min(DEPTH, m - k0)
            for i in range(first, rows_end):
                c = out[out_base + i * p + j0 : out_base + i * p + j0 + width]
                ak = a_base + i * a_row_step + k0 * a_k_step
                bk = b_base + k0 * b_k_step + j0
                k = 0
                while k + 4 <= depth:
                    x0 = a[ak]
                    x1 = a[ak + a_k_step]
                    x2 = a[ak + 2 * a_k_step]
                    x3 = a[ak + 3 * a_k_step]
                    b0 = b[bk : bk + width]
                    b1 = b[bk + b_k_step : bk + b_k_step + width]
                    b2 = b[bk + 2 * b_k_step : bk + 2 * b_k_step + width]
                    b3 = b[bk + 3 * b_k_step : bk + 3 * b_k_step + width]
                    for j in range(width):
                        c[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j]
                    ak += 4 * a_k_step
                    bk += 4 * b_k_step
                    k += 4
                while k < depth:
                    x0 = a[ak]
                    b0 = b[bk : bk + width]
                    for j in range(width):
                        c[j] += x0 * b0[j]
                    ak += a_k_step
                    bk += b_k_step
                    k += 1


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
    tasks: int,
) -> None:
    """Every block of the product on this thread."""
    for task in range(tasks):
        matmul_block(out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides, task)


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
    tasks: int,
) -> None:
    """Every block of the product, the blocks spread over threads."""
    for task in numba.prange(tasks):
        matmul_block(out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides, task)
