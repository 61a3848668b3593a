"""The course's scalar training: an MLP whose every weight is a `Scalar`, fit by plain SGD.

Slow by design (one graph node per multiply), it shows a whole training loop on nothing but
the chain rule. ``minitorch train --backend scalar`` runs `train_scalar`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mt_operators import Graph, Module

from .autodiff import no_grad
from .scalar import Scalar, ScalarLike

__all__ = [
    "LogFn",
    "ScalarLinear",
    "ScalarNetwork",
    "ScalarTrain",
    "TrainHistory",
    "predict",
    "train_scalar",
]

LogFn = Callable[[int, float, int, list[float]], None]
"""The course's logger: ``log_fn(epoch, total_loss, correct, losses)``, called every epoch."""


class ScalarLinear(Module):
    """A dense layer of `Scalar` parameters: $y_j = b_j + \\sum_i x_i w_{ij}$.

    Weights and biases start uniform in $[-1, 1)$ as in the course, drawn from ``rng``.
    """

    def __init__(self, in_size: int, out_size: int, rng: random.Random | None = None) -> None:
        super().__init__()
        rng = rng if rng is not None else random.Random(0)
        self.in_size = in_size
        self.out_size = out_size
        self.weights = [
            [
                self.add_parameter(f"weight_{i}_{j}", Scalar(2.0 * (rng.random() - 0.5)))
                for j in range(out_size)
            ]
            for i in range(in_size)
        ]
        self.bias = [
            self.add_parameter(f"bias_{j}", Scalar(2.0 * (rng.random() - 0.5)))
            for j in range(out_size)
        ]

    def forward(self, inputs: Sequence[ScalarLike]) -> list[Scalar]:
        if len(inputs) != self.in_size:
            raise ValueError(f"expected {self.in_size} inputs, got {len(inputs)}")
        ys: list[Scalar] = [b.value for b in self.bias]
        for x, row in zip(inputs, self.weights, strict=True):
            ys = [y + x * w.value for y, w in zip(ys, row, strict=True)]
        return ys

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, out_size={self.out_size}"


class ScalarNetwork(Module):
    """2 inputs → ``hidden`` → ``hidden`` → 1, ReLU between layers and a sigmoid probability out."""

    def __init__(self, hidden: int, seed: int = 0) -> None:
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden must be at least 1, got {hidden}")
        rng = random.Random(seed)
        self.layer1 = ScalarLinear(2, hidden, rng)
        self.layer2 = ScalarLinear(hidden, hidden, rng)
        self.layer3 = ScalarLinear(hidden, 1, rng)

    def forward(self, x: Sequence[ScalarLike]) -> Scalar:
        h = [y.relu() for y in self.layer1(x)]
        h = [y.relu() for y in self.layer2(h)]
        out: Scalar = self.layer3(h)[0].sigmoid()
        return out


@dataclass
class TrainHistory:
    """Per epoch: the summed log loss over the data and the fraction classified correctly."""

    losses: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def predict(model: ScalarNetwork, points: Sequence[Sequence[float]]) -> list[float]:
    """The probability of class 1 at each point, recording no graph (for decision boundaries)."""
    with no_grad():
        return [model.forward(p).data for p in points]


class ScalarTrain:
    """The course's ``ScalarTrain``: a `ScalarNetwork` and full-batch gradient descent on it."""

    def __init__(self, hidden_layers: int, seed: int = 0) -> None:
        self.hidden_layers = hidden_layers
        self.model = ScalarNetwork(hidden_layers, seed)

    def run_one(self, x: Sequence[float]) -> Scalar:
        """The model's probability of class 1 at the point ``x``."""
        return self.model.forward(x)

    def train(
        self,
        data: Graph,
        learning_rate: float,
        max_epochs: int = 500,
        log_fn: LogFn | None = None,
    ) -> TrainHistory:
        """Minimise the mean log loss $-\\frac1N\\sum \\log p(y_i \\mid x_i)$, one step per epoch.

        Each point's loss is backpropagated on its own (small graphs, freed at once) and the
        leaf derivatives add up; then every parameter moves against its derivative.
        """
        if data.N == 0:
            raise ValueError("cannot train on an empty dataset (N=0)")
        history = TrainHistory()
        for epoch in range(1, max_epochs + 1):
            total, correct = 0.0, 0
            for x, y in zip(data.X, data.y, strict=True):
                out = self.model.forward(x)
                prob = out if y == 1 else 1.0 - out
                correct += int((out.data > 0.5) == (y == 1))
                loss = -prob.log()
                loss.backward(1.0 / data.N)
                total += loss.data
            for p in self.model.parameters():
                d = p.value.derivative
                p.update(Scalar(p.value.data - learning_rate * (d or 0.0)))
            history.losses.append(total)
            history.accuracy.append(correct / data.N)
            if log_fn is not None:
                log_fn(epoch, total, correct, history.losses)
        return history


def train_scalar(
    dataset: Graph,
    hidden: int = 2,
    lr: float = 0.5,
    epochs: int = 500,
    seed: int = 0,
    log_fn: LogFn | None = None,
) -> tuple[ScalarNetwork, TrainHistory]:
    """Train a fresh `ScalarNetwork` on ``dataset``; return it with its per-epoch history.

    Defaults are the course's (2 hidden units, rate 0.5, 500 epochs).
    """
    trainer = ScalarTrain(hidden, seed)
    history = trainer.train(dataset, lr, epochs, log_fn)
    return trainer.model, history
