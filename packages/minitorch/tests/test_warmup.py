"""A run that starts on numpy and moves onto the compiled kernels computes what it would have
computed on the kernels alone (the process that compiles them: test_cli.py)."""

from __future__ import annotations

import pytest

from minitorch import checkpoint, warmup
from minitorch.settings import TrainConfig
from mt_nn import History, fit
from mt_tensor import TensorBackend, get_backend

CONFIG = TrainConfig(
    dataset="xor", model="mlp", backend="fast", hidden=5, epochs=3, lr=0.05, batch=8, samples=40
)


def train(switch_after: int | None) -> History:
    """Train ``CONFIG``; on numpy ops until ``switch_after`` epochs, then fast's (None: fast
    throughout)."""
    fast = get_backend("fast")
    backend = fast if switch_after is None else TensorBackend(get_backend("numpy").ops, "fast")
    train_set, test_set = checkpoint.load_data(CONFIG, backend)
    model = checkpoint.build_tensor(CONFIG, backend)

    def on_epoch(epoch: int, history: History) -> None:
        if epoch + 1 == switch_after:
            warmup.switch(backend, fast)
            assert backend.ops is fast.ops and backend.name == "fast"

    return fit(
        model, train_set, test_set, epochs=CONFIG.epochs, lr=CONFIG.lr,
        batch_size=CONFIG.batch, seed=1, progress=False, callback=on_epoch,
    )  # fmt: skip


@pytest.mark.parametrize("switch_after", [0, 1, 2])
def test_switching_onto_the_kernels_mid_run_keeps_the_numbers(switch_after: int) -> None:
    moved, fast = train(switch_after or CONFIG.epochs + 1), train(None)
    assert moved.loss == pytest.approx(fast.loss, rel=1e-9)
    assert moved.test_acc == fast.test_acc


def test_workload_names_what_decides_the_kernels() -> None:
    key = warmup.workload(CONFIG)
    assert warmup.workload(TrainConfig(**{**vars(CONFIG), "epochs": 9, "seed": 4})) == key
    assert warmup.workload(TrainConfig(**{**vars(CONFIG), "hidden": 500})) != key
