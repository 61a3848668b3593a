"""Models by name, their data, and ``model.npz``: parameters by dotted name plus the run's settings.

A saved model is rebuilt from its settings (dataset, model, backend, hidden, seed, samples) and
its parameters are put back, so ``minitorch predict`` and the API see the trained model again.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cli import CommandError
from .plots import FloatArray, IntArray

CONFIG_KEY = "__config__"
DIGIT_CLASSES = 10


def nn_module(name: str) -> Any:
    """The mt_nn submodule ``name``, imported when first needed."""
    return importlib.import_module(f"mt_nn.{name}")


def save(path: Path, model: Any, config: dict[str, Any]) -> None:
    """Write every parameter of ``model`` (by dotted name) and ``config`` into ``path``."""
    arrays: dict[str, Any] = {}
    for name, p in model.named_parameters():
        value = p.value
        arrays[name] = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value.data)
    arrays[CONFIG_KEY] = np.asarray(json.dumps(config))
    with path.open("wb") as f:
        np.savez(f, **arrays)


def build_model(config: dict[str, Any]) -> Any:
    """A fresh, untrained model for these settings."""
    if config["backend"] == "scalar":
        from mt_autodiff.train import ScalarNetwork

        return ScalarNetwork(config["hidden"], seed=config["seed"])
    models = nn_module("models")
    if config["model"] == "cnn":
        hidden = config["hidden"]
        return models.LeNet(channels=(hidden, 2 * hidden), backend=config["backend"])
    in_features = 64 if config["dataset"] == "digits" else 2
    out_features = DIGIT_CLASSES if config["dataset"] == "digits" else 2
    return models.MLP(in_features, config["hidden"], out_features, backend=config["backend"])


def load_data(config: dict[str, Any]) -> tuple[Any, Any]:
    """The train and test `Dataset` for these settings, on their backend."""
    data = nn_module("data")
    if config["dataset"] == "digits":
        train, test = data.digits_dataset(backend=config["backend"])
        if config["samples"] is not None and config["samples"] < len(train):
            train = first(train, config["samples"], config["backend"])
    else:
        train, test = data.points_dataset(
            config["dataset"], config["samples"], config["seed"], config["backend"]
        )
    return train, test


def first(dataset: Any, n: int, backend: str) -> Any:
    """The first ``n`` examples of ``dataset`` (a smaller run for quick looks and tests)."""
    from mt_tensor import tensor

    X, y = dataset.X.to_numpy()[:n], dataset.y.to_numpy()[:n]
    return nn_module("data").Dataset(tensor(X, backend=backend), tensor(y, backend=backend))


def _probabilities(model: Any, X: Any) -> FloatArray:
    return np.asarray(nn_module("train").predict_proba(model, X).to_numpy(), dtype=np.float64)


def point_proba(model: Any, backend: str) -> Any:
    """A function from an ``(n, 2)`` array to P(class 1), for decision-boundary plots."""
    from mt_tensor import tensor

    def proba(points: FloatArray) -> FloatArray:
        p = _probabilities(model, tensor(points, backend=backend))
        return p[:, 1] if p.ndim == 2 else p.ravel()

    return proba


def predict_classes(model: Any, X: Any) -> IntArray:
    """The most probable class of each row of ``X``."""
    return np.asarray(np.argmax(_probabilities(model, X), axis=1), dtype=np.int64)


@dataclass
class Loaded:
    """A model rebuilt from ``model.npz`` with the settings it was trained with."""

    model: Any
    config: dict[str, Any]

    def proba(self, points: FloatArray) -> FloatArray:
        """P(class 1) at each 2-D point."""
        if self.config["backend"] == "scalar":
            from mt_autodiff.train import predict

            return np.asarray(predict(self.model, points.tolist()), dtype=np.float64)
        return np.asarray(point_proba(self.model, self.config["backend"])(points))

    def test_accuracy(self) -> float:
        """Accuracy on the test split of the dataset it was trained on."""
        if self.config["backend"] == "scalar":
            from mt_operators import datasets

            n = self.config["samples"]
            test = datasets[self.config["dataset"].capitalize()](n, seed=self.config["seed"] + 1)
            pred = self.proba(np.asarray(test.X, dtype=np.float64)) > 0.5
            return float(np.mean(pred == np.asarray(test.y, dtype=bool)))
        _, test = load_data(self.config)
        y = test.y.to_numpy().astype(np.int64).ravel()
        return float(np.mean(predict_classes(self.model, test.X) == y))


def load(path: Path) -> Loaded:
    """Rebuild the model saved at ``path`` (`CommandError` if it is not a minitorch model)."""
    try:
        with np.load(path) as saved:
            arrays = {k: saved[k] for k in saved.files}
    except (OSError, ValueError) as e:
        raise CommandError(f"cannot read a model from {str(path)!r}: {e}", 2) from None
    if CONFIG_KEY not in arrays:
        raise CommandError(f"{str(path)!r} is not a model saved by minitorch train", 2)
    config = json.loads(str(arrays.pop(CONFIG_KEY)))
    model = build_model(config)
    names = {name for name, _ in model.named_parameters()}
    if names != set(arrays):
        raise CommandError(f"{str(path)!r} does not match the model its settings describe", 2)
    for name, p in model.named_parameters():
        if config["backend"] == "scalar":
            from mt_autodiff import Scalar

            p.update(Scalar(float(arrays[name])))
        else:
            from mt_tensor import tensor

            p.update(tensor(arrays[name], backend=config["backend"]))
    return Loaded(model, config)
