"""``torch.nn.functional``: PyTorch's signatures over mt-nn's functions.

Convolution takes PyTorch's ``stride``/``padding`` (mt-nn's PyTorch rule); pooling supports the
non-overlapping windows of the course (``stride`` equal to the kernel), cropping the edge rows
and columns that do not fill a window as PyTorch does. Class labels are ``int64`` tensors.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import mt_nn
import mt_tensor as mt

from .. import dtypes
from ..tensors import (
    Tensor,
    UnsupportedError,
    _floating,
    guard_module,
    label,
    unlabel,
    where,
    wrap,
)

Reduction = Literal["mean", "sum", "none"]


def _loss(out: mt.Tensor, like: Tensor, reduction: Reduction, name: str) -> Tensor:
    """A loss as PyTorch returns it: 0-d when reduced, its ``grad_fn`` named ``name``."""
    loss = wrap(out, like.dtype)
    return label(loss if reduction == "none" else loss.reshape(()), f"{name}Backward0")


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """$x$ where $x > 0$, else $s x$ (the gradient at 0 is $s$, as PyTorch)."""
    return where(x > 0, x, x * negative_slope)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    r"""$x \sigma(x)$."""
    _floating(x, "silu")
    return wrap(mt_nn.silu(x._t), x.dtype)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _floating(x, "elu")
    return wrap(mt_nn.elu(x._t, alpha), x.dtype)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    r"""$x \Phi(x)$ with $\Phi$ from ``erf`` (PyTorch's default); the ``"tanh"`` approximation
    is refused (`NotImplementedError` naming it)."""
    _floating(x, "gelu")
    if approximate != "none":
        raise NotImplementedError(f"gelu(approximate={approximate!r}): only 'none' is supported")
    return label(wrap(mt_nn.gelu(x._t), x.dtype), "GeluBackward0")


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """$\frac1\beta \\log(1 + e^{\beta x})$ (stable everywhere, so ``threshold`` is not
    needed: above it the result equals PyTorch's linear branch to float64 precision)."""
    _floating(x, "softplus")
    return wrap(mt_nn.softplus(x._t, beta), x.dtype)


def _implicit_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    """PyTorch's old rule for a softmax called without ``dim`` (dim 0 for 0-, 1- and 3-d
    input, else 1), with its deprecation warning."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _soft(x: Tensor, dim: int | None, dtype: Any, name: str, stacklevel: int) -> tuple[Tensor, int]:
    if dtype is not None:
        x = x.to(dtype)
    return x, dim if dim is not None else _implicit_dim(name, x.ndim, stacklevel + 2)


def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """Softmax over ``dim`` (PyTorch's implicit dim, with its warning, when not given)."""
    x, d = _soft(x, dim, dtype, "softmax", _stacklevel)
    return x.softmax(d)


def log_softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    x, d = _soft(x, dim, dtype, "log_softmax", _stacklevel)
    return x.log_softmax(d)


def softmin(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    x, d = _soft(x, dim, dtype, "softmin", _stacklevel)
    return (-x).softmax(d)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """$x W^T + b$ (one ``AddmmBackward0`` node for a batch of rows, as PyTorch)."""
    out = x.matmul(weight.t())
    if bias is None or x.ndim != 2:
        return out if bias is None else out + bias
    unlabel(out)
    return label(bias + out, "AddmmBackward0")


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    return wrap(mt_nn.dropout(x._t, p, ignore=not training), x.dtype)


def _labels(target: Tensor, classes: int) -> mt.Tensor:
    """Class labels (``int64``, shape ``(N,)``) or class probabilities (``(N, C)`` floats)."""
    if target.dtype.is_floating_point:
        return target._t
    labels = target._t.to_numpy()
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise IndexError(
            f"Target {int(labels.min() if labels.min() < 0 else labels.max())} is out of "
            f"bounds for {classes} classes"
        )
    return target._t


def _class_last(x: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, C, d1, ...)`` scores as ``(N * d1 * ..., C)`` rows, with their targets alike."""
    probabilities = target.dtype.is_floating_point
    if x.ndim == 2:
        return x, target
    if x.ndim == 1:
        return x.unsqueeze(0), target.reshape(1, -1) if probabilities else target.reshape(1)
    order = [0, *range(2, x.ndim), 1]
    rows = x.permute(*order).reshape(-1, x.shape[1])
    if probabilities:
        return rows, target.permute(*order).reshape(-1, x.shape[1])
    return rows, target.reshape(-1)


def _unsupported_options(name: str, weight: Any, ignored: bool, label_smoothing: float) -> None:
    if weight is not None:
        raise UnsupportedError(f"{name}(weight=...): class weights")
    if label_smoothing:
        raise UnsupportedError(f"{name}(label_smoothing=...)")
    if ignored:
        raise UnsupportedError(f"{name}(ignore_index=...): targets equal to ignore_index")


def nll_loss(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
) -> Tensor:
    """$-\\log p_y$ from log-probabilities ``(N, C)`` and labels ``(N,)``."""
    _floating(x, "nll_loss")
    rows, labels = _class_last(x, target)
    ignored = not target.dtype.is_floating_point and bool((target == ignore_index).any())
    _unsupported_options("nll_loss", weight, ignored, 0.0)
    out = mt_nn.nll_loss(rows._t, _labels(labels, rows.shape[1]), reduction)
    return _loss(out, x, reduction, "NllLoss")


def cross_entropy(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """`nll_loss` of `log_softmax` of the logits: stable for any magnitude."""
    _floating(x, "cross_entropy")
    rows, labels = _class_last(x, target)
    ignored = not target.dtype.is_floating_point and bool((target == ignore_index).any())
    _unsupported_options("cross_entropy", weight, ignored, label_smoothing)
    out = mt_nn.cross_entropy(rows._t, _labels(labels, rows.shape[1]), reduction)
    return _loss(out, x, reduction, "NllLoss")


def mse_loss(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    return _loss(mt_nn.mse_loss(x._t, target._t, reduction), x, reduction, "MseLoss")


def l1_loss(x: Tensor, target: Tensor, reduction: Reduction = "mean") -> Tensor:
    return _loss(mt_nn.l1_loss(x._t, target._t, reduction), x, reduction, "L1Loss")


def smooth_l1_loss(
    x: Tensor, target: Tensor, reduction: Reduction = "mean", beta: float = 1.0
) -> Tensor:
    out = mt_nn.smooth_l1_loss(x._t, target._t, reduction, beta)
    return _loss(out, x, reduction, "SmoothL1Loss")


def huber_loss(
    x: Tensor, target: Tensor, reduction: Reduction = "mean", delta: float = 1.0
) -> Tensor:
    return _loss(mt_nn.huber_loss(x._t, target._t, reduction, delta), x, reduction, "HuberLoss")


def binary_cross_entropy(
    x: Tensor, target: Tensor, weight: Tensor | None = None, reduction: Reduction = "mean"
) -> Tensor:
    if weight is not None:
        raise UnsupportedError("binary_cross_entropy(weight=...)")
    out = mt_nn.binary_cross_entropy(x._t, target._t, reduction)
    return _loss(out, x, reduction, "BinaryCrossEntropy")


def binary_cross_entropy_with_logits(
    x: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    reduction: Reduction = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    if weight is not None or pos_weight is not None:
        raise UnsupportedError("binary_cross_entropy_with_logits(weight=..., pos_weight=...)")
    out = mt_nn.binary_cross_entropy_with_logits(x._t, target._t, reduction)
    return _loss(out, x, reduction, "BinaryCrossEntropyWithLogits")


def one_hot(target: Tensor, num_classes: int = -1) -> Tensor:
    """``int64`` labels of any shape as one-hot rows along a new last dim."""
    if target.dtype.is_floating_point:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    classes = int(target.max().item()) + 1 if num_classes < 0 else num_classes
    rows = mt_nn.one_hot(_labels(target, classes).contiguous().view(target.numel()), classes)
    return wrap(rows.view(*target.shape, classes), dtypes.int64)


def _pairs(value: int | Sequence[int], n: int, name: str) -> tuple[int, ...]:
    out = (value,) * n if isinstance(value, int) else tuple(value)
    if len(out) != n:
        raise ValueError(f"{name} must be an int or {n} ints, got {value!r}")
    return out


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dims: ``pad = (left, right, top, bottom, ...)``, last dim first."""
    if mode != "constant":
        raise UnsupportedError(f"pad(mode={mode!r}); only 'constant'")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"padding length {len(pad)} must be even and at most 2 * {x.ndim}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return wrap(mt.pad(x._t, widths, value), x.dtype)


def _conv(
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> Tensor:
    name = f"conv{dims}d"
    if groups != 1 or any(d != 1 for d in _pairs(dilation, dims, "dilation")):
        raise UnsupportedError(f"{name} with groups or dilation")
    unbatched = x.ndim == dims + 1
    if unbatched:
        x = x.unsqueeze(0)
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            kernel = weight.shape[2:]
            widths = []
            for k in reversed(kernel):
                widths += [(k - 1) // 2, k - 1 - (k - 1) // 2]
            x, padding = pad(x, widths), 0
        else:
            raise ValueError(f"{name}: padding must be an int, 'valid' or 'same', got {padding!r}")
    s, p = _pairs(stride, dims, "stride"), _pairs(padding, dims, "padding")
    b = None if bias is None else bias._t
    if dims == 1:
        out = mt_nn.conv1d(x._t, weight._t, b, s[0], p[0])
    else:
        out = mt_nn.conv2d(x._t, weight._t, b, (s[0], s[1]), (p[0], p[1]))
    result = wrap(out, dtypes.promote(x.dtype, weight.dtype))
    return result.squeeze(0) if unbatched else result


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    return _conv(1, x, weight, bias, stride, padding, dilation, groups)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    return _conv(2, x, weight, bias, stride, padding, dilation, groups)


def _pool(
    name: str,
    x: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None,
    padding: int | Sequence[int],
    ceil_mode: bool,
) -> Tensor:
    kernel = _pairs(kernel_size, 2, "kernel_size")
    if stride is not None and _pairs(stride, 2, "stride") != kernel:
        raise UnsupportedError(f"{name} with stride != kernel_size (overlapping windows)")
    if any(_pairs(padding, 2, "padding")) or ceil_mode:
        raise UnsupportedError(f"{name} with padding or ceil_mode")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    h, w = x.shape[2] // kernel[0] * kernel[0], x.shape[3] // kernel[1] * kernel[1]
    if (h, w) != tuple(x.shape[2:]):
        x = x[:, :, :h, :w]
    fn = mt_nn.maxpool2d if name == "max_pool2d" else mt_nn.avgpool2d
    out = wrap(fn(x._t, (kernel[0], kernel[1])), x.dtype)
    return out.squeeze(0) if unbatched else out


def max_pool2d(
    x: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    if dilation != 1 or return_indices:
        raise UnsupportedError("max_pool2d with dilation or return_indices")
    return _pool("max_pool2d", x, kernel_size, stride, padding, ceil_mode)


def avg_pool2d(
    x: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
) -> Tensor:
    return _pool("avg_pool2d", x, kernel_size, stride, padding, ceil_mode)


def layer_norm(
    x: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """mt-nn's `layer_norm` over the trailing dims ``normalized_shape``."""
    _floating(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    w, b = (None if p is None else p._t for p in (weight, bias))
    return wrap(mt_nn.layer_norm(x._t, shape, w, b, eps), x.dtype)


def batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """mt-nn's `batch_norm` over channel dim 1; in training the running statistics (if given)
    are updated in place."""
    _floating(x, "batch_norm")
    mean, var, w, b = (
        None if t is None else t._t for t in (running_mean, running_var, weight, bias)
    )
    return wrap(mt_nn.batch_norm(x._t, mean, var, w, b, training, momentum, eps), x.dtype)


def adaptive_avg_pool2d(x: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """Average pooling to ``output_size`` (``None`` keeps a side), for input sides that are
    multiples of it; other sizes (overlapping windows) raise `UnsupportedError`."""
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = x.shape[-2:]
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    if oh < 1 or ow < 1 or h % oh or w % ow:
        raise UnsupportedError(
            f"adaptive_avg_pool2d from {(h, w)} to {(oh, ow)}: only sides that divide evenly"
        )
    return wrap(mt_nn.adaptive_avgpool2d(x._t, (oh, ow)), x.dtype)


def embedding(
    x: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the ``int64`` indices ``x`` (shape ``x.shape + (dim,)``);
    rows picked by ``padding_idx`` pass no gradient. An index outside the table is PyTorch's
    error (a negative one too: it does not count from the end here)."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise UnsupportedError("embedding(max_norm=/scale_grad_by_freq=/sparse=)")
    if x.dtype.is_floating_point:
        raise RuntimeError("embedding: indices must be an int64 tensor")
    values = x.value.to_numpy()
    if values.size and (values.min() < 0 or values.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    rows = weight[x]
    if padding_idx is not None:
        pad = padding_idx % weight.shape[0]
        rows = where((x == pad).unsqueeze(-1), weight.detach()[x], rows)
    return label(rows, "EmbeddingBackward0")


guard_module(globals(), "torch.nn.functional")


def __getattr__(name: str) -> Any:
    raise UnsupportedError(f"minitorch.torch does not implement torch.nn.functional.{name}")
