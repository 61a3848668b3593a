"""The CUDA backend's fused convolution and pooling (`FusedOps` of `CudaOps`).

Each kernel runs one thread per element it writes (`mt_cuda.cuda_kernels`, section "Convolution
and pooling"): an output for the forward passes, an input, weight or bias element for the
backward ones, each summing what its element depends on. No thread writes another's element, so
there are no atomics and no shared memory: the simplest correct form, not the fastest (a tiled
kernel would share the input's windows between the threads of a block). Everything stays on the
device; a tensor with host storage is copied there once per call. The kernels compute in the
dtype the composed default would (`mt_tensor.tensor_ops.conv_dtype`, `pool_dtype`: float32 stays
float32), numba compiling each for the dtypes it meets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mt_tensor.tensor_ops import conv_dtype, pool_dtype

if TYPE_CHECKING:
    from mt_tensor import Tensor

    from .cuda_ops import CudaOps

__all__ = ["Conv2d", "Pool2d"]

Pair = tuple[int, int]
DeviceArray = Any
ConvSaved = tuple[DeviceArray, DeviceArray, bool, Pair, Pair]
"""Input and weight (4-d, on the device), bias or not, stride, padding."""
PoolSaved = tuple[DeviceArray, DeviceArray, Pair, bool]
"""Input and output (4-d, on the device), kernel, average or max."""


def _device(t: Tensor, dtype: Any = None) -> DeviceArray:
    """``t``'s values (in ``dtype`` where given) as a contiguous device array of its shape: a
    view of its storage when that is contiguous, of that dtype and on the device already."""
    from . import cuda_kernels as k

    data = (t if dtype is None else t.astype(dtype)).contiguous()._tensor
    return k.to_device(data._storage)[: t.size].reshape(t.shape)


def _empty(like: Tensor, shape: tuple[int, ...], dtype: Any = None) -> tuple[Tensor, DeviceArray]:
    """A new tensor of ``shape`` on ``like``'s backend, in ``dtype`` (default: ``like``'s), and
    its storage as a device array of that shape for a kernel to fill."""
    from . import cuda_kernels as k

    size = int(np.prod(shape))
    storage = k.empty(size, like.dtype if dtype is None else dtype)
    return like.make(storage, shape, backend=like.backend), storage[:size].reshape(shape)


def _one(t: Tensor) -> Any:
    """1 in ``t``'s dtype (the kernels' sums start and count in it)."""
    return np.dtype(t.dtype).type(1)


class _Launcher:
    """Launches a kernel with one thread per element, in blocks of the ops' ``threads``."""

    def __init__(self, ops: CudaOps) -> None:
        self._ops = ops

    def launch(self, kernel: Any, elements: int, *args: Any) -> None:
        """``kernel`` over ``elements`` threads (nothing to do for none)."""
        threads = self._ops.threads
        if elements > 0:
            kernel[(elements + threads - 1) // threads, threads](*args)


class Conv2d(_Launcher):
    """The convolution as four gather kernels: output, input gradient, weight gradient, bias
    gradient. Each output (and each gradient element) reads up to ``C KH KW`` (or ``OC KH KW``,
    ``B OH OW``) products from global memory."""

    def forward(
        self,
        inp: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        stride: Pair,
        padding: Pair,
        out_hw: Pair,
    ) -> tuple[Tensor, ConvSaved]:
        """The output ``(B, OC, *out_hw)`` and what the backward needs."""
        from . import cuda_kernels as k

        dtype = conv_dtype(inp, weight)
        x, w = _device(inp, dtype), _device(weight, dtype)
        shift = k.to_device(np.zeros(w.shape[0], dtype)) if bias is None else _device(bias, dtype)
        out, target = _empty(inp, (inp.shape[0], weight.shape[0], *out_hw), dtype)
        self.launch(k.conv_forward_kernel, out.size, target, x, w, shift, *stride, *padding)
        return out, (x, w, bias is not None, stride, padding)

    def backward(
        self, saved: ConvSaved, grad_output: Tensor, input_grad: bool
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Gradients of the input (zeros when not ``input_grad``), the weight and the bias."""
        from . import cuda_kernels as k

        x, w, has_bias, stride, padding = saved
        g, one = _device(grad_output), _one(grad_output)
        grad_w, target = _empty(grad_output, w.shape)
        self.launch(k.conv_grad_weight_kernel, grad_w.size, target, g, x, *stride, *padding, one)
        grad_b = None
        if has_bias:
            grad_b, target = _empty(grad_output, (w.shape[0],))
            self.launch(k.conv_grad_bias_kernel, grad_b.size, target, g, one)
        if not input_grad:
            return grad_output.zeros(x.shape), grad_w, grad_b
        grad_in, target = _empty(grad_output, x.shape)
        self.launch(k.conv_grad_input_kernel, grad_in.size, target, g, w, *stride, *padding, one)
        return grad_in, grad_w, grad_b


class Pool2d(_Launcher):
    """Max or mean over each non-overlapping ``(kh, kw)`` tile: one thread per output forward,
    one per input element backward (each recounts its tile's maxima)."""

    def forward(self, inp: Tensor, kernel: Pair, average: bool) -> tuple[Tensor, PoolSaved]:
        """The pooled output and what the backward needs."""
        from . import cuda_kernels as k

        b, c, h, w = inp.shape
        kh, kw = kernel
        dtype = pool_dtype(inp, average)
        x = _device(inp, dtype)
        out, target = _empty(inp, (b, c, h // kh, w // kw), dtype)
        self.launch(k.pool_forward_kernel, out.size, target, x, kh, kw, average, _one(out))
        return (out if average else out.astype(inp.dtype)), (x, target, kernel, average)

    def backward(self, saved: PoolSaved, grad_output: Tensor) -> Tensor:
        """The gradient of the input."""
        from . import cuda_kernels as k

        x, out, (kh, kw), average = saved
        grad, target = _empty(grad_output, x.shape)
        args = (target, x, out, _device(grad_output), kh, kw, average, _one(grad_output))
        self.launch(k.pool_backward_kernel, grad.size, *args)
        return grad
