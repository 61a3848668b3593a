"""A small training loop for classifiers, shared by the ``minitorch train`` command and the app.

`fit` runs epochs of shuffled mini-batches, shows a progress bar (loss, accuracy, seconds per
epoch), records a `History` and calls ``callback(epoch, history)`` after each epoch for live
views. Models output log-probabilities or logits of shape ``(N, classes)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from mt_autodiff import no_grad
from mt_operators import Module
from mt_tensor import Tensor

from .data import DataLoader, Dataset
from .losses import nll_loss
from .nn import manual_seed, softmax
from .optim import SGD, Adam, Optimizer


@dataclass
class History:
    """Per-epoch records: mean training loss, training and test accuracy, wall seconds.

    Training accuracy is counted on the batches as they are trained; ``test_acc`` stays empty
    without a test set.
    """

    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The last epoch's numbers, the best test accuracy and the total time."""
        return {
            "epochs": len(self.loss),
            "loss": self.loss[-1] if self.loss else None,
            "train_acc": self.train_acc[-1] if self.train_acc else None,
            "test_acc": self.test_acc[-1] if self.test_acc else None,
            "best_test_acc": max(self.test_acc) if self.test_acc else None,
            "seconds": sum(self.seconds),
        }


def _optimizer(model: Module, optimizer: str | Optimizer, lr: float) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer == "adam":
        return Adam(model.parameters(), lr=lr)
    if optimizer == "sgd":
        return SGD(model.parameters(), lr=lr)
    raise ValueError(f"optimizer must be 'adam', 'sgd' or an Optimizer, got {optimizer!r}")


def _correct(out: Tensor, y: Tensor) -> int:
    return int(np.sum(out.to_numpy().argmax(axis=1) == y.to_numpy()))


def fit(
    model: Module,
    train: Dataset,
    test: Dataset | None = None,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    optimizer: str | Optimizer = "adam",
    seed: int = 0,
    callback: Callable[[int, History], bool | None] | None = None,
    progress: bool = True,
    loss: Callable[[Tensor, Tensor], Tensor] = nll_loss,
) -> History:
    """Train ``model`` on ``train`` for ``epochs``; evaluate on ``test`` after each epoch.

    ``seed`` fixes the batch order and dropout masks. A ``callback`` returning True stops early.
    """
    if epochs < 0 or len(train) == 0:
        raise ValueError(
            f"need epochs >= 0 and a non-empty training set, got {epochs}, {len(train)}"
        )
    manual_seed(seed)
    opt = _optimizer(model, optimizer, lr)
    loader = DataLoader(train, batch_size, shuffle=True, seed=seed)
    history = History()
    bar = tqdm(range(epochs), desc="train", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, correct = 0.0, 0
        for X, y in loader:
            out = model(X)
            batch_loss = loss(out, y)
            opt.zero_grad()
            batch_loss.backward()
            opt.step()
            total += batch_loss.item() * len(y)
            correct += _correct(out, y)
        history.loss.append(total / len(train))
        history.train_acc.append(correct / len(train))
        if test is not None and len(test):
            history.test_acc.append(accuracy(model, test))
        history.seconds.append(time.perf_counter() - start)
        bar.set_postfix(_postfix(history))
        if callback is not None and callback(epoch, history):
            break
    bar.close()
    return history


def _postfix(history: History) -> dict[str, str]:
    shown = {"loss": f"{history.loss[-1]:.4f}", "acc": f"{history.train_acc[-1]:.3f}"}
    if history.test_acc:
        shown["test"] = f"{history.test_acc[-1]:.3f}"
    shown["s"] = f"{history.seconds[-1]:.2f}"
    return shown


def _evaluate(model: Module, X: Tensor) -> Tensor:
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            out: Tensor = model(X)
    finally:
        if was_training:
            model.train()
    return out


def accuracy(model: Module, dataset: Dataset, batch_size: int = 512) -> float:
    """The fraction of ``dataset`` the model classifies correctly (evaluation mode, no graph)."""
    if len(dataset) == 0:
        raise ValueError("accuracy of an empty dataset")
    loader = DataLoader(dataset, batch_size, shuffle=False)
    return sum(_correct(_evaluate(model, X), y) for X, y in loader) / len(dataset)


def predict_proba(model: Module, X: Tensor) -> Tensor:
    """Class probabilities ``(N, classes)``: the softmax of the model's output, without a graph."""
    return softmax(_evaluate(model, X), 1)
