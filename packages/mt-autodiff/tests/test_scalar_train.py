"""The scalar MLP: its structure, its gradients, and that plain SGD on it learns."""

from __future__ import annotations

import pytest

from mt_autodiff import Scalar, derivative_check
from mt_autodiff.train import (
    ScalarLinear,
    ScalarNetwork,
    ScalarTrain,
    TrainHistory,
    predict,
    train_scalar,
)
from mt_operators import datasets


def _values(model: ScalarNetwork) -> list[float]:
    return [p.value.data for p in model.parameters()]


def test_linear_layer_parameters_and_output() -> None:
    layer = ScalarLinear(3, 2)
    names = [name for name, _ in layer.named_parameters()]
    assert len(names) == 3 * 2 + 2
    assert len(set(names)) == len(names)
    assert all(p.value.is_leaf() and -1.0 <= p.value.data < 1.0 for p in layer.parameters())
    out = layer([1.0, 0.0, 0.0])
    assert len(out) == 2
    for j, y in enumerate(out):
        assert y.data == pytest.approx(layer.bias[j].value.data + layer.weights[0][j].value.data)
    with pytest.raises(ValueError, match="expected 3 inputs"):
        layer([1.0, 2.0])


def test_network_is_seeded_and_outputs_a_probability() -> None:
    model = ScalarNetwork(3, seed=7)
    assert _values(model) == _values(ScalarNetwork(3, seed=7))
    assert _values(model) != _values(ScalarNetwork(3, seed=8))
    assert len(model.parameters()) == (2 * 3 + 3) + (3 * 3 + 3) + (3 * 1 + 1)
    assert {name.split(".")[0] for name, _ in model.named_parameters()} == {
        "layer1",
        "layer2",
        "layer3",
    }
    out = model([0.2, 0.9])
    assert 0.0 < out.data < 1.0


def test_network_gradient_matches_central_differences() -> None:
    model = ScalarNetwork(2, seed=3)
    weight = model.layer1.weights[1][0]

    def output_as_function_of(x1: Scalar, x2: Scalar, w: Scalar) -> Scalar:
        weight.update(w)
        out: Scalar = model([x1, x2])
        return out

    derivative_check(output_as_function_of, Scalar(0.3), Scalar(0.8), Scalar(weight.value.data))


def test_predict_records_no_graph() -> None:
    model = ScalarNetwork(2)
    probs = predict(model, [(0.1, 0.1), (0.9, 0.5)])
    assert len(probs) == 2 and all(0.0 < p < 1.0 for p in probs)
    assert probs[0] == model([0.1, 0.1]).data
    assert all(p.value.derivative is None for p in model.parameters())


def test_sgd_learns_simple() -> None:
    data = datasets["Simple"](20)
    logged: list[tuple[int, float, int]] = []
    model, history = train_scalar(
        data,
        hidden=2,
        lr=0.5,
        epochs=150,
        seed=0,
        log_fn=lambda e, t, c, _: logged.append((e, t, c)),
    )
    assert isinstance(history, TrainHistory)
    assert len(history.losses) == len(history.accuracy) == 150
    assert history.losses[-1] < history.losses[0]
    assert history.accuracy[-1] >= 0.9
    assert [e for e, _, _ in logged] == list(range(1, 151))
    assert logged[-1][2] == round(history.accuracy[-1] * data.N)
    fitted = predict(model, data.X)
    assert sum((p > 0.5) == (y == 1) for p, y in zip(fitted, data.y, strict=True)) >= 0.9 * data.N


def test_sgd_lowers_the_loss_on_xor() -> None:
    history = ScalarTrain(4, seed=0).train(datasets["Xor"](20), learning_rate=0.5, max_epochs=30)
    assert history.losses[-1] < history.losses[0]
    assert history.accuracy[-1] > history.accuracy[0]


def test_training_needs_data() -> None:
    with pytest.raises(ValueError, match="N=0"):
        train_scalar(datasets["Simple"](0), epochs=1)
    with pytest.raises(ValueError, match="hidden"):
        ScalarNetwork(0)
