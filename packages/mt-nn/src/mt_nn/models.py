"""Ready-made models that output log-probabilities (train them with `nll_loss`).

`MLP` fits the 2-D point sets and the digits (it flattens its input); `LeNet` is the small
convolutional network for the 8×8 digits: conv → relu → pool → conv → relu → pool → linear →
logsoftmax.
"""

from __future__ import annotations

from .layers import (
    BackendLike,
    Conv2d,
    Flatten,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
)


class MLP(Sequential):
    """``layers`` hidden layers of width ``hidden`` with ReLU, then log-softmax over classes.

    >>> MLP(2, 10, 2)(__import__("mt_tensor").zeros((5, 2))).shape
    (5, 2)
    """

    def __init__(
        self,
        in_features: int,
        hidden: int = 100,
        out_features: int = 2,
        layers: int = 2,
        *,
        backend: BackendLike = None,
    ) -> None:
        if layers < 1:
            raise ValueError(f"an MLP needs at least one hidden layer, got layers={layers}")
        stack = []
        width = in_features
        for _ in range(layers):
            stack += [Linear(width, hidden, backend=backend), ReLU()]
            width = hidden
        super().__init__(
            Flatten(), *stack, Linear(width, out_features, backend=backend), LogSoftmax(1)
        )


class LeNet(Sequential):
    """Two 3×3 convolutions (``channels`` each, sizes kept), each followed by ReLU and 2×2
    max-pooling, then a linear layer to ``classes`` log-probabilities."""

    def __init__(
        self,
        in_channels: int = 1,
        classes: int = 10,
        size: int = 8,
        channels: tuple[int, int] = (8, 16),
        *,
        backend: BackendLike = None,
    ) -> None:
        if size % 4:
            raise ValueError(f"LeNet pools twice by 2: the image size must divide by 4, got {size}")
        c1, c2 = channels
        super().__init__(
            Conv2d(in_channels, c1, 3, backend=backend),
            ReLU(),
            MaxPool2d(2),
            Conv2d(c1, c2, 3, backend=backend),
            ReLU(),
            MaxPool2d(2),
            Flatten(),
            Linear(c2 * (size // 4) ** 2, classes, backend=backend),
            LogSoftmax(1),
        )
