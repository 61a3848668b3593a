"""Batched matrix multiply: packed panels and an outer-product micro-kernel (the GotoBLAS scheme).

``a`` is packed into panels of `MR` rows and ``b`` into panels of ``NR`` columns, both contiguous
along ``k``; each ``MR x NR`` block of ``out`` is a sum over ``k`` of outer products, in registers.

The micro-kernel (`outer_tile`) is written in LLVM vector instructions: per step of ``k`` it loads
the panel of ``b`` as `VECTORS` vectors of one `VECTOR_BYTES` register each, broadcasts each of
the ``MR`` values of ``a`` and does ``MR x VECTORS`` fused multiply-adds into accumulators that
stay in registers (``2 x 12 = 24`` of the 32 AVX-512 registers). ``NR = VECTORS x lanes`` (16
float64, 32 float32). Numba's own loops cannot express this: LLVM vectorises a scalar loop
at most 256 bits wide on this CPU (it prefers 256-bit vectors on AVX-512 machines) and does not
turn ``MR x NR`` scalar accumulators into vector registers; the former dot-product kernel ran at
half numpy's rate. On a machine without AVX-512, LLVM splits each vector into narrower ones.

Blocking: each call first packs both operands whole (split over threads by panels of ``a``
and blocks of rows of ``b``), into scratch memory kept for the next call. Packing reads any
strides, so transposed and broadcast operands need no copy beforehand; it costs
``O(n m + m p)`` against ``O(n m p)``. Then a task owns up to ``MC x NC`` outputs of one batch
entry (tasks run on threads in the parallel kernel): per block of `KC` values of ``k`` it walks
the ``NR``-column panels of ``b`` (one stays in L1) against its ``MR``-row panels of ``a`` (the
``MC x KC`` block stays in L2).
Panels are padded with zeros to whole tiles; a tile's result lands in a small buffer and is added
to the valid part of ``out``. Sums run in the storage's dtype, in order of ``k`` (no reassociation).
Outputs with fewer than half a tile's rows or columns (matrix-vector products, a batch of one row)
skip packing: `thin_block` computes them directly from the strided operands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from mt_tensor.tensor_data import Shape, Storage, Strides

from .kernels import F, broadcast_index, index_to_position, parallel, serial, to_index

VECTOR_BYTES = 64
"""Bytes of one vector register (AVX-512)."""
VECTORS = 2
"""Vector registers across a tile's row: ``NR = VECTORS * VECTOR_BYTES / itemsize``."""
MR = 12
"""Rows of a micro-tile (``MR x VECTORS`` accumulators must fit the 32 vector registers)."""
KC = 256
"""Values of ``k`` per packed block."""
MC = 96
"""Rows of ``a`` per task and packed block (a multiple of `MR`)."""
NC = 512
"""Columns of ``b`` per task and packed block (a multiple of every ``NR``)."""


def _vector_fma(builder: ir.IRBuilder, x: ir.Value, y: ir.Value, acc: ir.Value) -> ir.Value:
    """``acc + x * y`` on vectors: one rounding for floats (``llvm.fma``), wrapping for ints."""
    if isinstance(acc.type.element, ir.IntType):
        return builder.add(acc, builder.mul(x, y))
    bits = 64 if isinstance(acc.type.element, ir.DoubleType) else 32
    signature = ir.FunctionType(acc.type, [acc.type] * 3)
    fma = builder.module.declare_intrinsic(f"llvm.fma.v{acc.type.count}f{bits}", fnty=signature)
    return builder.call(fma, [x, y, acc])


def _outer_tile_codegen(
    context: Any, builder: ir.IRBuilder, signature: Any, args: list[ir.Value]
) -> ir.Value:
    """LLVM for `outer_tile`: a loop over ``k`` carrying ``MR x VECTORS`` vector accumulators."""
    ap_type, _, bp_type, _, _, ct_type = signature.args
    ap, a_start, bp, b_start, depth, ct = args
    element = context.get_data_type(ap_type.dtype)
    lanes = VECTOR_BYTES // context.get_abi_sizeof(element)
    nr = VECTORS * lanes
    vector = ir.VectorType(element, lanes)
    index = ir.IntType(64)
    align = context.get_abi_sizeof(element)
    a_data = builder.gep(context.make_array(ap_type)(context, builder, ap).data, [a_start])
    b_data = builder.gep(context.make_array(bp_type)(context, builder, bp).data, [b_start])
    c_data = context.make_array(ct_type)(context, builder, ct).data

    def vector_at(data: ir.Value, offset: ir.Value) -> ir.Value:
        return builder.bitcast(builder.gep(data, [offset]), vector.as_pointer())

    zero = ir.Constant(vector, None)
    entry = builder.block
    loop = builder.append_basic_block("tile.loop")
    done = builder.append_basic_block("tile.done")
    builder.cbranch(builder.icmp_signed(">", depth, ir.Constant(index, 0)), loop, done)

    builder.position_at_end(loop)
    k = builder.phi(index)
    accs = [builder.phi(vector) for _ in range(MR * VECTORS)]
    b_row = builder.mul(k, ir.Constant(index, nr))
    b_vectors = [
        builder.load(
            vector_at(b_data, builder.add(b_row, ir.Constant(index, v * lanes))), align=align
        )
        for v in range(VECTORS)
    ]
    a_row = builder.mul(k, ir.Constant(index, MR))
    stepped = []
    for i in range(MR):
        x = builder.load(builder.gep(a_data, [builder.add(a_row, ir.Constant(index, i))]))
        one = builder.insert_element(
            ir.Constant(vector, ir.Undefined), x, ir.Constant(ir.IntType(32), 0)
        )
        xs = builder.shuffle_vector(
            one, one, ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
        )
        for v in range(VECTORS):
            stepped.append(_vector_fma(builder, xs, b_vectors[v], accs[i * VECTORS + v]))
    k_next = builder.add(k, ir.Constant(index, 1))
    k.add_incoming(ir.Constant(index, 0), entry)
    k.add_incoming(k_next, loop)
    for acc, value in zip(accs, stepped, strict=True):
        acc.add_incoming(zero, entry)
        acc.add_incoming(value, loop)
    builder.cbranch(builder.icmp_signed("<", k_next, depth), loop, done)

    builder.position_at_end(done)
    totals = [builder.phi(vector) for _ in stepped]
    for t, (total, value) in enumerate(zip(totals, stepped, strict=True)):
        total.add_incoming(zero, entry)
        total.add_incoming(value, loop)
        builder.store(total, vector_at(c_data, ir.Constant(index, t * lanes)), align=align)
    return context.get_dummy_value()


@cast(Callable[[Any], Any], intrinsic)
def outer_tile(
    typingctx: Any, ap: Any, a_start: Any, bp: Any, b_start: Any, depth: Any, ct: Any
) -> Any:
    """``ct[i * NR + j] = sum_k ap[a_start + k * MR + i] * bp[b_start + k * NR + j]``: one
    ``MR x NR`` tile from a packed panel of ``a`` and one of ``b`` (all three of one dtype)."""
    if not (ap.dtype == bp.dtype == ct.dtype and isinstance(ap.dtype, types.Float | types.Integer)):
        return None
    return types.void(ap, types.int64, bp, types.int64, types.int64, ct), _outer_tile_codegen


def _inlined(fn: F) -> F:
    """A helper compiled into each kernel that calls it."""
    return cast(F, numba.njit(inline="always")(fn))


@_inlined
def _panel_width(out: Storage) -> int:
    """``NR`` for the storage's dtype: `VECTORS` registers of its values."""
    return VECTORS * (VECTOR_BYTES // out.itemsize)


@_inlined
def _entry_start(x_shape: Shape, x_strides: Strides, entry: int) -> int:
    """The storage position of matrix ``entry`` (row-major over the batch dims) of ``x``."""
    dims = len(x_shape)
    index = np.empty(dims, np.int64)
    to_index(entry * x_shape[dims - 2] * x_shape[dims - 1], x_shape, index)
    return index_to_position(index, x_strides)


@_inlined
def _entry_of(out_index: Shape, out_shape: Shape, x_shape: Shape) -> int:
    """The batch entry of ``x`` that output index ``out_index`` reads (broadcast)."""
    index = np.empty(len(x_shape), np.int64)
    broadcast_index(out_index, out_shape, x_shape, index)
    entry = 0
    for d in range(len(x_shape) - 2):
        entry = entry * x_shape[d] + index[d]
    return entry


@serial
def entries(x_shape: Shape) -> int:
    """The number of matrices in ``x`` (the product of its batch dims)."""
    count = 1
    for d in range(len(x_shape) - 2):
        count *= x_shape[d]
    return count


@serial
def pack_a(ap: Storage, a: Storage, a_shape: Shape, a_strides: Strides, unit: int) -> None:
    """Copy one ``MR``-row panel of ``a`` (``unit`` counts panels over entries) into ``ap``.

    Per block of `KC` values of ``k`` starting at ``k0``, the panels of an entry lie side by side:
    row ``r0 + i`` (``r0`` a multiple of ``MR``) at ``k0 + k`` is
    ``ap[entry * n_pad * m + k0 * n_pad + r0 * depth + k * MR + i]``; rows past ``n`` are zeros.
    """
    dims = len(a_shape)
    n, m = a_shape[dims - 2], a_shape[dims - 1]
    panels = (n + MR - 1) // MR
    entry, r0 = unit // panels, (unit % panels) * MR
    height = min(MR, n - r0)
    row_step, k_step = a_strides[dims - 2], a_strides[dims - 1]
    start = _entry_start(a_shape, a_strides, entry) + r0 * row_step
    for k0 in range(0, m, KC):
        depth = min(KC, m - k0)
        at = entry * panels * MR * m + k0 * panels * MR + r0 * depth
        panel = ap[at : at + MR * depth]
        if height < MR:
            for i in range(panel.size):
                panel[i] = 0
        for i in range(height):
            row = start + i * row_step + k0 * k_step
            for k in range(depth):
                panel[k * MR + i] = a[row + k * k_step]


@serial
def pack_b(bp: Storage, b: Storage, b_shape: Shape, b_strides: Strides, unit: int) -> None:
    """Copy one block of `KC` rows of ``b`` (``unit`` counts blocks over entries) into ``bp``,
    row by row (a row of ``b`` is read in order, so a row-major ``b`` streams).

    As `pack_a` with rows and columns swapped: column ``c0 + j`` at ``k0 + k`` is
    ``bp[entry * p_pad * m + k0 * p_pad + c0 * depth + k * NR + j]``; columns past ``p`` are zeros.
    """
    dims = len(b_shape)
    m, p = b_shape[dims - 2], b_shape[dims - 1]
    nr = _panel_width(bp)
    p_pad = (p + nr - 1) // nr * nr
    k_blocks = (m + KC - 1) // KC
    entry, k0 = unit // k_blocks, (unit % k_blocks) * KC
    depth = min(KC, m - k0)
    k_step, col_step = b_strides[dims - 2], b_strides[dims - 1]
    start = _entry_start(b_shape, b_strides, entry)
    block = bp[entry * p_pad * m + k0 * p_pad : entry * p_pad * m + (k0 + depth) * p_pad]
    if p < p_pad:
        last = block[(p_pad - nr) * depth :]
        for t in range(last.size):
            last[t] = 0
    for k in range(depth):
        row = start + (k0 + k) * k_step
        for c0 in range(0, p, nr):
            width = min(nr, p - c0)
            at = c0 * depth + k * nr
            for j in range(width):
                block[at + j] = b[row + (c0 + j) * col_step]


@serial
def packed_sizes(out: Storage, a_shape: Shape, b_shape: Shape) -> tuple[int, int, int, int]:
    """``(a panels, b blocks, ap size, bp size)``: the units of `pack_a` and `pack_b` and the
    sizes of the packed copies of every entry of ``a`` and ``b``."""
    dims = len(a_shape)
    n, m, p = a_shape[dims - 2], a_shape[dims - 1], b_shape[len(b_shape) - 1]
    nr = _panel_width(out)
    a_panels = entries(a_shape) * ((n + MR - 1) // MR)
    b_panels = entries(b_shape) * ((p + nr - 1) // nr)
    b_blocks = entries(b_shape) * ((m + KC - 1) // KC)
    return a_panels, b_blocks, a_panels * MR * m, b_panels * nr * m


@serial
def matmul_block(
    out: Storage,
    out_shape: Shape,
    ap: Storage,
    a_shape: Shape,
    bp: Storage,
    b_shape: Shape,
    task: int,
) -> None:
    """Add ``a @ b`` into the ``MC x NC`` outputs of ``task`` from the packed ``ap`` and ``bp``
    (``out`` is contiguous)."""
    dims = len(out_shape)
    n, p = out_shape[dims - 2], out_shape[dims - 1]
    m = a_shape[len(a_shape) - 1]
    nr = _panel_width(out)
    row_blocks, col_blocks = (n + MC - 1) // MC, (p + NC - 1) // NC
    entry, block = task // (row_blocks * col_blocks), task % (row_blocks * col_blocks)
    row0, col0 = (block // col_blocks) * MC, (block % col_blocks) * NC
    rows, cols = min(MC, n - row0), min(NC, p - col0)
    n_pad, p_pad = (n + MR - 1) // MR * MR, (p + nr - 1) // nr * nr

    out_index = np.empty(dims, np.int64)
    to_index(entry * n * p, out_shape, out_index)
    a_start = _entry_of(out_index, out_shape, a_shape) * n_pad * m
    b_start = _entry_of(out_index, out_shape, b_shape) * p_pad * m
    o_start = entry * n * p + row0 * p + col0
    ct = np.empty(MR * nr, out.dtype)
    for k0 in range(0, m, KC):
        depth = min(KC, m - k0)
        a_block = a_start + k0 * n_pad + row0 * depth
        b_block = b_start + k0 * p_pad + col0 * depth
        for c0 in range(0, cols, nr):
            width = min(nr, cols - c0)
            for r0 in range(0, rows, MR):
                outer_tile(ap, a_block + r0 * depth, bp, b_block + c0 * depth, depth, ct)
                for i in range(min(MR, rows - r0)):
                    o = o_start + (r0 + i) * p + c0
                    for j in range(width):
                        out[o + j] += ct[i * nr + j]


@serial
def tasks(out_shape: Shape) -> int:
    """The number of ``MC x NC`` output blocks over every batch entry."""
    dims = len(out_shape)
    n, p = int(out_shape[dims - 2]), int(out_shape[dims - 1])
    count = ((n + MC - 1) // MC) * ((p + NC - 1) // NC)
    for d in range(dims - 2):
        count *= int(out_shape[d])
    return count


@_inlined
def _signed(i: int) -> int:
    """prange's index (unsigned) as int64, so the parallel kernel calls the kernels compiled for
    the serial one instead of compiling them a second time for uint64 (3-7 s on a first run)."""
    return np.int64(i)  # type: ignore[return-value]  # numba's int() keeps uint64


def _reordered(fn: F) -> F:
    """`serial`, letting LLVM reorder sums (so a dot product vectorises) and fuse multiply-adds."""
    return cast(F, numba.njit(fastmath={"reassoc", "contract"}, cache=True)(fn))


@_reordered
def thin_block(
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
    """Add ``a @ b`` into the ``MC`` rows of ``task``, unpacked, for outputs too narrow or too
    short to fill a tile: dot products along ``k`` (narrow) or rows of ``b`` scaled and added
    (short). The dot products may be reordered (fastmath) so they vectorise."""
    dims = len(out_shape)
    n, p = out_shape[dims - 2], out_shape[dims - 1]
    m = a_shape[len(a_shape) - 1]
    row_blocks = (n + MC - 1) // MC
    entry, row0 = task // row_blocks, (task % row_blocks) * MC
    out_index = np.empty(dims, np.int64)
    a_index = np.empty(len(a_shape), np.int64)
    b_index = np.empty(len(b_shape), np.int64)
    to_index(entry * n * p, out_shape, out_index)
    broadcast_index(out_index, out_shape, a_shape, a_index)
    broadcast_index(out_index, out_shape, b_shape, b_index)
    a_row, a_k = a_strides[len(a_shape) - 2], a_strides[len(a_shape) - 1]
    b_k, b_col = b_strides[len(b_shape) - 2], b_strides[len(b_shape) - 1]
    a_base = index_to_position(a_index, a_strides)
    b_base = index_to_position(b_index, b_strides)
    zero = np.zeros(1, out.dtype)[0]
    for i in range(row0, min(row0 + MC, n)):
        x, o = a_base + i * a_row, entry * n * p + i * p
        if p < n:
            for j in range(p):
                y, acc = b_base + j * b_col, zero
                if a_k == 1 and b_k == 1:
                    xs, ys = a[x : x + m], b[y : y + m]
                    for k in range(m):
                        acc += xs[k] * ys[k]
                else:
                    for k in range(m):
                        acc += a[x + k * a_k] * b[y + k * b_k]
                out[o + j] += acc
        else:
            row = out[o : o + p]
            for k in range(m):
                scale, y = a[x + k * a_k], b_base + k * b_k
                if b_col == 1:
                    ys = b[y : y + p]
                    for j in range(p):
                        row[j] += scale * ys[j]
                else:
                    for j in range(p):
                        row[j] += scale * b[y + j * b_col]


@serial
def thin(out: Storage, out_shape: Shape) -> bool:
    """True when the output has fewer than half a tile's rows or columns (`thin_block`'s)."""
    dims = len(out_shape)
    n, p = int(out_shape[dims - 2]), int(out_shape[dims - 1])
    return 2 * n < MR or 2 * p < _panel_width(out)


@serial
def thin_tasks(out_shape: Shape) -> int:
    """The number of ``MC``-row blocks over every batch entry."""
    return tasks(out_shape) // ((int(out_shape[len(out_shape) - 1]) + NC - 1) // NC)


@serial
def packed_buffers(
    out: Storage, a_shape: Shape, b_shape: Shape, scratch: Storage
) -> tuple[Storage, Storage]:
    """Room for the packed ``a`` and ``b``: the front of ``scratch`` when it is large enough,
    else a new array (`matmul_serial` then keeps a larger scratch for the next call)."""
    _, _, a_size, b_size = packed_sizes(out, a_shape, b_shape)
    room = scratch if scratch.size >= a_size + b_size else np.empty(a_size + b_size, out.dtype)
    return room[:a_size], room[a_size : a_size + b_size]


@serial
def serial_kernel(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    scratch: Storage,
) -> int:
    """``out += a @ b`` on this thread; returns the scratch size packing needed (0 if none)."""
    if thin(out, out_shape):
        for task in range(thin_tasks(out_shape)):
            thin_block(out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides, task)
        return 0
    a_panels, b_blocks, _, _ = packed_sizes(out, a_shape, b_shape)
    ap, bp = packed_buffers(out, a_shape, b_shape, scratch)
    for unit in range(a_panels):
        pack_a(ap, a, a_shape, a_strides, unit)
    for unit in range(b_blocks):
        pack_b(bp, b, b_shape, b_strides, unit)
    for task in range(tasks(out_shape)):
        matmul_block(out, out_shape, ap, a_shape, bp, b_shape, task)
    return ap.size + bp.size


@parallel
def parallel_kernel(
    out: Storage,
    out_shape: Shape,
    a: Storage,
    a_shape: Shape,
    a_strides: Strides,
    b: Storage,
    b_shape: Shape,
    b_strides: Strides,
    scratch: Storage,
) -> int:
    """`serial_kernel` with the panels to pack, then the output blocks, spread over threads."""
    if thin(out, out_shape):
        for task in numba.prange(thin_tasks(out_shape)):
            thin_block(out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides, _signed(task))
        return 0
    a_panels, b_blocks, _, _ = packed_sizes(out, a_shape, b_shape)
    ap, bp = packed_buffers(out, a_shape, b_shape, scratch)
    for unit in numba.prange(a_panels):
        pack_a(ap, a, a_shape, a_strides, _signed(unit))
    for unit in numba.prange(b_blocks):
        pack_b(bp, b, b_shape, b_strides, _signed(unit))
    for task in numba.prange(tasks(out_shape)):
        matmul_block(out, out_shape, ap, a_shape, bp, b_shape, _signed(task))
    return ap.size + bp.size


class _Scratch(threading.local):
    """Per thread and dtype, the packing room of the largest product so far: reused, because
    fresh memory costs a page fault per 4 KiB (1,000 per 512 x 512 float64 product, 10-15% of its
    time); per thread, because two threads multiplying at once must not pack into one room."""

    def __init__(self) -> None:
        self.rooms: dict[np.dtype[Any], Storage] = {}


_scratch = _Scratch()


def _run(kernel: Callable[..., int], out: Storage, *operands: Storage) -> None:
    """Call ``kernel`` with this thread's scratch for the dtype; keep a larger one if it needed
    more."""
    rooms = _scratch.rooms
    scratch = rooms.get(out.dtype)
    if scratch is None:
        scratch = rooms[out.dtype] = np.empty(0, out.dtype)
    needed = kernel(out, *operands, scratch)
    if needed > scratch.size:
        rooms[out.dtype] = np.empty(needed, out.dtype)


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
    _run(serial_kernel, out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides)


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
    """``out += a @ b`` with the packing and the output blocks spread over threads."""
    _run(parallel_kernel, out, out_shape, a, a_shape, a_strides, b, b_shape, b_strides)
