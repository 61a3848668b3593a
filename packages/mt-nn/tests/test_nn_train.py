"""Layers, datasets, the batch iterator, models and the training loop."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_nn
from mt_nn import (
    MLP,
    AvgPool2d,
    Conv1d,
    Conv2d,
    DataLoader,
    Dataset,
    Dropout,
    Flatten,
    History,
    LeNet,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    accuracy,
    digits_dataset,
    fit,
    points_dataset,
    predict_proba,
)
from mt_operators import datasets
from mt_tensor import tensor
from mt_tensor.testing import assert_tensors_close, backend_names

BACKENDS = backend_names()


# Layers.


@pytest.mark.parametrize("backend", BACKENDS)
def test_linear_matches_its_formula_and_init_bound(backend: str) -> None:
    layer = Linear(7, 3, backend=backend)
    w, b = layer.weight.value.to_numpy(), layer.bias.value.to_numpy()
    assert w.shape == (3, 7) and b.shape == (3,)
    assert np.abs(np.concatenate([w.ravel(), b])).max() <= 1 / math.sqrt(7)
    x = np.linspace(-1, 1, 14).reshape(2, 7)
    assert_tensors_close(layer(tensor(x, backend=backend)), x @ w.T + b)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_layers_shapes_and_init_bound(backend: str) -> None:
    c2 = Conv2d(2, 4, (3, 2), backend=backend)
    assert c2(tensor(np.ones((1, 2, 5, 6)), backend=backend)).shape == (1, 4, 5, 6)
    assert np.abs(c2.weight.value.to_numpy()).max() <= 1 / math.sqrt(2 * 3 * 2)
    strided = Conv2d(1, 2, 3, stride=2, padding=1, backend=backend)
    assert strided(tensor(np.ones((1, 1, 5, 5)), backend=backend)).shape == (1, 2, 3, 3)
    c1 = Conv1d(3, 2, 4, bias=False, backend=backend)
    assert c1(tensor(np.ones((2, 3, 9)), backend=backend)).shape == (2, 2, 9)
    assert [n for n, _ in c1.named_parameters()] == ["weight"]


def test_sequential_names_modes_and_simple_layers() -> None:
    model = Sequential(Flatten(), Linear(4, 3), ReLU(), Dropout(0.5), Linear(3, 2), Sigmoid())
    assert [n for n, _ in model.named_parameters()] == [
        "1.weight",
        "1.bias",
        "4.weight",
        "4.bias",
    ]
    x = tensor(np.ones((5, 2, 2)))
    model.eval()
    assert not model[3].training
    out = model(x).to_numpy()
    assert np.array_equal(out, model(x).to_numpy()), "dropout must be off in eval()"
    assert np.all((out > 0) & (out < 1))
    pooled = tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    assert_tensors_close(MaxPool2d(2)(pooled), [[[[5.0, 7.0], [13.0, 15.0]]]])
    assert_tensors_close(AvgPool2d((4, 4))(pooled), [[[[7.5]]]])


def test_layer_errors_name_the_value() -> None:
    with pytest.raises(ValueError, match="0"):
        Linear(0, 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        Linear(4, 2)(tensor(np.ones((2, 3))))
    with pytest.raises(ValueError, match=r"1\.5"):
        Dropout(1.5)


# Data.


@pytest.mark.parametrize("name", list(datasets))
def test_points_dataset_shapes_seed_and_labels(name: str) -> None:
    train, test = points_dataset(name, 40, seed=1, backend="numpy")
    again, _ = points_dataset(name.upper(), 40, seed=1, backend="numpy")
    assert train.X.shape == (40, 2) and len(test) == 40 and train.classes <= 2
    assert np.array_equal(train.X.to_numpy(), again.X.to_numpy())
    labels = np.concatenate([train.y.to_numpy(), test.y.to_numpy()])
    assert set(labels.tolist()) <= {0.0, 1.0}


def test_points_dataset_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match="Spiral"):
        points_dataset("moons")


@given(n=st.integers(1, 30), batch=st.integers(1, 8), seed=st.integers(0, 100))
def test_loader_covers_every_row_once_per_pass(n: int, batch: int, seed: int) -> None:
    data = Dataset(tensor(np.arange(2.0 * n).reshape(n, 2)), tensor(np.arange(float(n))))
    loader = DataLoader(data, batch, seed=seed)
    for _ in range(2):
        seen = [(X.to_numpy(), y.to_numpy()) for X, y in loader]
        assert len(seen) == len(loader)
        assert all(len(y) <= batch for _, y in seen)
        rows = np.concatenate([X for X, _ in seen])
        ys = np.concatenate([y for _, y in seen])
        assert sorted(ys.tolist()) == list(range(n))
        assert np.array_equal(rows[:, 0], 2 * ys)
    first = [y.to_numpy().tolist() for _, y in DataLoader(data, batch, seed=seed)]
    assert first == [y.to_numpy().tolist() for _, y in DataLoader(data, batch, seed=seed)]


def test_digits_dataset_split() -> None:
    pytest.importorskip("sklearn")
    train, test = digits_dataset(backend="numpy")
    assert train.X.shape == (1437, 1, 8, 8) and test.X.shape == (360, 1, 8, 8)
    values = train.X.to_numpy()
    assert values.min() == 0.0 and values.max() == 1.0
    assert train.classes == test.classes == 10
    _, labels = mt_nn.load_digits()
    assert np.array_equal(test.y.to_numpy(), labels[::5])


def test_digits_are_sklearns_read_without_importing_it() -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    images, labels = mt_nn.load_digits()
    bunch = load_digits()
    assert np.array_equal(images.reshape(-1, 64), bunch.data / 16.0)
    assert np.array_equal(labels, bunch.target)


def test_digits_without_sklearn_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install mt-nn\[datasets\]"):
        digits_dataset()


# Models and training.


@pytest.mark.parametrize("backend", BACKENDS)
def test_fit_converges_on_a_tiny_dataset(backend: str) -> None:
    mt_nn.manual_seed(0)
    train, test = points_dataset("simple", 40, seed=0, backend=backend)
    model = MLP(2, 8, 2, layers=1, backend=backend)
    seen: list[int] = []

    def record(epoch: int, history: History) -> None:
        seen.append(epoch)

    history = fit(
        model, train, test, epochs=15, lr=0.05, batch_size=10, progress=False, callback=record
    )
    assert seen == list(range(15))
    assert len(history.loss) == len(history.test_acc) == len(history.seconds) == 15
    assert history.loss[-1] < history.loss[0] / 2
    assert history.summary()["test_acc"] >= 0.9
    assert accuracy(model, train) >= 0.9
    probs = predict_proba(model, test.X).to_numpy()
    assert probs.shape == (40, 2)
    assert_tensors_close(probs.sum(axis=1), np.ones(40))


def test_callback_can_stop_training_and_summary_without_test() -> None:
    train, _ = points_dataset("diag", 20, backend="numpy")
    history = fit(
        MLP(2, 4, 2, backend="numpy"),
        train,
        epochs=10,
        lr=0.01,
        batch_size=5,
        optimizer="sgd",
        progress=False,
        callback=lambda epoch, h: epoch == 2,
    )
    assert len(history.loss) == 3 and history.test_acc == []
    summary = history.summary()
    assert summary["epochs"] == 3 and summary["test_acc"] is None
    assert History().summary()["loss"] is None


def test_fit_is_reproducible_from_its_seed() -> None:
    train, _ = points_dataset("xor", 30, backend="numpy")
    losses = []
    for _ in range(2):
        mt_nn.manual_seed(5)
        model = Sequential(
            Linear(2, 6, backend="numpy"),
            Dropout(0.3),
            Linear(6, 2, backend="numpy"),
            mt_nn.LogSoftmax(1),
        )
        h = fit(model, train, epochs=2, lr=0.01, batch_size=8, seed=3, progress=False)
        losses.append(h.loss)
    assert losses[0] == losses[1]


def test_lenet_shapes_and_one_step() -> None:
    model = LeNet(backend="numpy")
    x = tensor(np.random.default_rng(0).random((3, 1, 8, 8)), backend="numpy")
    assert model(x).shape == (3, 10)
    data = Dataset(x, tensor([1.0, 2.0, 3.0], backend="numpy"))
    history = fit(model, data, epochs=1, lr=0.01, batch_size=3, progress=False)
    assert np.isfinite(history.loss[0])
    with pytest.raises(ValueError, match="divide by 4"):
        LeNet(size=10)


def test_fit_rejects_unknown_optimizer() -> None:
    train, _ = points_dataset("simple", 4, backend="numpy")
    with pytest.raises(ValueError, match="rmsprop"):
        fit(MLP(2, 2, 2), train, epochs=1, lr=0.1, batch_size=2, optimizer="rmsprop")
