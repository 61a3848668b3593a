"""Layers on stage 0's `Module`, with PyTorch's names, parameter layout and initialisation.

Weights and biases start uniform in $\\pm 1/\\sqrt{\\text{fan\\_in}}$ (PyTorch's default
kaiming-uniform bound), drawn from the shared generator (`mt_nn.nn.manual_seed`). Each layer
takes a ``backend`` keyword (a name or a `TensorBackend`; default: the default backend).
"""

from __future__ import annotations

import math
from typing import Any

from mt_operators import Module, Parameter
from mt_tensor import Tensor, TensorBackend, get_backend

from . import nn
from .conv import conv1d, conv2d
from .norm import batch_norm, layer_norm

BackendLike = TensorBackend | str | None


def _uniform(
    shape: tuple[int, ...], fan_in: int, backend: BackendLike, dtype: Any = None
) -> Parameter:
    """Values uniform in $\\pm 1/\\sqrt{fan_{in}}$, drawn in float64 and stored as ``dtype``
    (default: mt-tensor's default float), so a float32 layer starts from the same values."""
    bound = 1.0 / math.sqrt(fan_in)
    values = nn.generator().uniform(-bound, bound, size=shape)
    return Parameter(Tensor.from_numpy(values, get_backend(backend), dtype=dtype))


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


class Linear(Module):
    """$y = x W^T + b$ with ``weight`` of shape ``(out_features, in_features)``."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        backend: BackendLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = _positive("in_features", in_features)
        self.out_features = _positive("out_features", out_features)
        self.weight = _uniform((out_features, in_features), in_features, backend, dtype)
        if bias:
            self.bias = _uniform((out_features,), in_features, backend, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear expects (..., {self.in_features}) input, got {x.shape}")
        out: Tensor = x @ self.weight.value.permute(1, 0)
        return out + self.bias.value if "bias" in self._parameters else out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class Conv1d(Module):
    """`conv1d` with a learned ``(out_channels, in_channels, kernel_size)`` weight and bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int | None = None,
        padding: int | None = None,
        bias: bool = True,
        *,
        backend: BackendLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding
        fan_in = _positive("in_channels", in_channels) * _positive("kernel_size", kernel_size)
        shape = (_positive("out_channels", out_channels), in_channels, kernel_size)
        self.weight = _uniform(shape, fan_in, backend, dtype)
        if bias:
            self.bias = _uniform((out_channels,), fan_in, backend, dtype)

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias.value if "bias" in self._parameters else None
        return conv1d(x, self.weight.value, bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        o, c, k = self.weight.value.shape
        return f"{c}, {o}, kernel_size={k}"


class Conv2d(Module):
    """`conv2d` with a learned ``(out_channels, in_channels, kh, kw)`` weight and bias."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] | None = None,
        bias: bool = True,
        *,
        backend: BackendLike = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        fan_in = _positive("in_channels", in_channels) * _positive("kernel_size", kh)
        fan_in *= _positive("kernel_size", kw)
        shape = (_positive("out_channels", out_channels), in_channels, kh, kw)
        self.weight = _uniform(shape, fan_in, backend, dtype)
        if bias:
            self.bias = _uniform((out_channels,), fan_in, backend, dtype)

    def forward(self, x: Tensor) -> Tensor:
        bias = self.bias.value if "bias" in self._parameters else None
        return conv2d(x, self.weight.value, bias, self.stride, self.padding)

    def extra_repr(self) -> str:
        o, c, kh, kw = self.weight.value.shape
        return f"{c}, {o}, kernel_size=({kh}, {kw})"


class ReLU(Module):
    """Element-wise $\\max(x, 0)$."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu()


class Sigmoid(Module):
    """Element-wise logistic function."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Dropout(Module):
    """`dropout` while training; the identity after ``eval()``."""

    def __init__(self, rate: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"dropout rate must be in [0, 1], got {rate}")
        self.rate = rate

    def forward(self, x: Tensor) -> Tensor:
        return nn.dropout(x, self.rate, ignore=not self.training)

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class MaxPool2d(Module):
    """`maxpool2d` over non-overlapping tiles."""

    def __init__(self, kernel_size: int | tuple[int, int]) -> None:
        super().__init__()
        k = kernel_size
        self.kernel = (k, k) if isinstance(k, int) else (k[0], k[1])

    def forward(self, x: Tensor) -> Tensor:
        return nn.maxpool2d(x, self.kernel)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel}"


class AvgPool2d(MaxPool2d):
    """`avgpool2d` over non-overlapping tiles."""

    def forward(self, x: Tensor) -> Tensor:
        return nn.avgpool2d(x, self.kernel)


class Flatten(Module):
    """``(N, ...)`` to ``(N, features)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.contiguous().view(x.shape[0], x.size // x.shape[0] if x.shape[0] else 0)


class LogSoftmax(Module):
    """`logsoftmax` along ``dim``."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return nn.logsoftmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Sequential(Module):
    """Layers applied in order; they are its children ``"0"``, ``"1"``, ..."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), layer)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x


class LayerNorm(Module):
    """`layer_norm` over the trailing dims ``normalized_shape``, with a learned ``weight`` (ones)
    and ``bias`` (zeros) of that shape when ``elementwise_affine``, as PyTorch's."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(_positive("normalized_shape", n) for n in shape)
        self.eps = eps
        if elementwise_affine:
            size = math.prod(self.normalized_shape)
            b = get_backend(backend)
            self.weight = Parameter(Tensor.make([1.0] * size, self.normalized_shape, backend=b))
            self.bias = Parameter(Tensor.make([0.0] * size, self.normalized_shape, backend=b))

    def forward(self, x: Tensor) -> Tensor:
        if "weight" not in self._parameters:
            return layer_norm(x, self.normalized_shape, eps=self.eps)
        w, b = self.weight.value, self.bias.value
        return layer_norm(x, self.normalized_shape, w, b, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class BatchNorm(Module):
    """`batch_norm` over channel dim 1, with a learned ``weight`` (ones) and ``bias`` (zeros) and
    running statistics (``running_mean`` zeros, ``running_var`` ones, not parameters) used in
    `eval()` mode; `BatchNorm1d` and `BatchNorm2d` check the input's dims."""

    dims: tuple[int, ...] = (2, 3, 4)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        backend: BackendLike = None,
    ) -> None:
        super().__init__()
        self.num_features = _positive("num_features", num_features)
        self.eps, self.momentum = eps, momentum
        b = get_backend(backend)
        ones = [1.0] * num_features
        if affine:
            self.weight = Parameter(Tensor.make(ones, (num_features,), backend=b))
            self.bias = Parameter(Tensor.make([0.0] * num_features, (num_features,), backend=b))
        self.running_mean: Tensor | None = None
        self.running_var: Tensor | None = None
        if track_running_stats:
            self.running_mean = Tensor.make([0.0] * num_features, (num_features,), backend=b)
            self.running_var = Tensor.make(ones, (num_features,), backend=b)

    def forward(self, x: Tensor) -> Tensor:
        if x.dims not in self.dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) expects {self.dims}-d input with "
                f"{self.num_features} channels in dim 1, got {x.shape}"
            )
        affine = "weight" in self._parameters
        w = self.weight.value if affine else None
        b = self.bias.value if affine else None
        return batch_norm(
            x, self.running_mean, self.running_var, w, b, self.training, self.momentum, self.eps
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(BatchNorm):
    dims = (2, 3)


class BatchNorm2d(BatchNorm):
    dims = (4,)
