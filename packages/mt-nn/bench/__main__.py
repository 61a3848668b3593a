"""Benchmark: mt-nn on the fast backend, against torch eager on the CPU where torch is installed.

Run with ``hatch run bench`` in ``packages/mt-nn`` (its environment has no torch: the torch
column then says so), or with torch from the root: ``hatch run python packages/mt-nn/bench``.
Three sections, chosen by the first argument:

- ``speed`` (the default): conv2d forward+backward at the issue's two sizes and one training epoch
  on the digits (the LeNet-style CNN, and an MLP for scale), as the median time of several
  repeats, and our time over torch's (target: at most 3x). Both run float64 on ``--threads``
  threads. torch runs first, in a process of its own that never imports numba: with numba's
  OpenMP threads in the same process, or started beside it, torch's threaded ops ran up to 100x
  slower here. torch pads
  inside its convolution (``padding=k // 2``: the same output size and work; it centres the
  kernel where the course anchors it at the top left).
- ``accuracy``: test (and training) accuracy of the MLP with 100 hidden units on the six 2-D
  datasets and of the CNN and the MLP on the digits, trained with `mt_nn.fit` on the fast backend.
  Each row is the ``minitorch train`` run whose options it prints.
- ``scalar``: the stage-1 Scalar MLP (`mt_autodiff.train`) on each 2-D dataset, with the
  ``minitorch train --backend scalar`` defaults.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mt_nn import Dataset
    from mt_operators import Module

Array = np.ndarray[Any, np.dtype[np.float64]]
BACKEND = "fast"
POINT_SETS = ("simple", "diag", "split", "xor", "circle", "spiral")
CONVS = [(32, 1, 8, 8, 3), (32, 1, 28, 16, 5)]
"""Batch, in channels, image side, out channels, kernel side: the issue's two conv steps."""
BATCH, LR = 32, 0.01
"""The digits epochs: `fit`'s mini-batches and Adam's learning rate."""


def _median_s(fn: Callable[[], object], repeat: int, budget_s: float) -> float:
    """Median over ``repeat`` timed blocks of the seconds per call (after two warm-up calls);
    each block runs enough calls to last about ``budget_s / repeat``."""
    fn()
    fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, int(budget_s / repeat / max(once, 1e-7)))
    blocks = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        blocks.append((time.perf_counter() - start) / number)
    return statistics.median(blocks)


def _conv_arrays(batch: int, c: int, side: int, o: int, k: int) -> list[Array]:
    """Input, weight, bias and upstream gradient of one conv step, the same on both sides."""
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(batch, c, side, side)),
        rng.normal(size=(o, c, k, k)) / k,
        rng.normal(size=o),
        rng.normal(size=(batch, o, side, side)),
    ]


def _conv_name(batch: int, c: int, side: int, o: int, k: int) -> str:
    return f"{batch}x{c}x{side}x{side}, {o} ch, {k}x{k}"


# Ours (this process).


def _ours_conv(shape: tuple[int, int, int, int, int], args: Any) -> float:
    """Forward and backward of one conv2d with bias, every input requiring a gradient and the
    upstream gradient fixed (no loss in the timing); gradients reset before each call."""
    from mt_nn import conv2d
    from mt_tensor import tensor

    x, w, b, g = _conv_arrays(*shape)
    inputs = [tensor(v, backend=BACKEND, requires_grad=True) for v in (x, w, b)]
    grad = tensor(g, backend=BACKEND)

    def step() -> None:
        for t in inputs:
            t.grad = None
        conv2d(inputs[0], inputs[1], inputs[2]).backward(grad)

    return _median_s(step, args.repeat, args.budget)


def _ours_epoch(model: Module, train: Dataset, repeat: int) -> float:
    """Median seconds of one `fit` epoch, the model carrying on from epoch to epoch."""
    from mt_nn import fit

    seeds = iter(range(1 << 30))
    return _median_s(
        lambda: fit(
            model, train, epochs=1, lr=LR, batch_size=BATCH, seed=next(seeds), progress=False
        ),
        repeat,
        0.0,
    )


def _ours(args: Any) -> dict[str, float]:
    """Our seconds per case."""
    import numba

    import mt_fast  # noqa: F401  (registers the fast backend)
    from mt_nn import MLP, LeNet, digits_dataset, manual_seed

    most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    numba.set_num_threads(min(args.threads, most))
    seconds = {_conv_name(*shape): _ours_conv(shape, args) for shape in CONVS}
    train, _ = digits_dataset(BACKEND)
    manual_seed(0)
    seconds["cnn"] = _ours_epoch(LeNet(backend=BACKEND), train, args.repeat)
    manual_seed(0)
    seconds["mlp"] = _ours_epoch(MLP(64, 64, 10, backend=BACKEND), train, args.repeat)
    return seconds


# torch (a process of its own: `reference`).


def _torch_models(torch: Any) -> dict[str, Any]:
    """The same CNN and MLP in torch, float64."""
    nn = torch.nn
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
        nn.LogSoftmax(1),
    )
    mlp = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
        nn.LogSoftmax(1),
    )
    return {"cnn": cnn.double(), "mlp": mlp.double()}


def _torch_epoch(torch: Any, model: Any, X: Array, y: Array) -> Callable[[], object]:
    """`fit`'s epoch in torch: shuffled batches made from numpy arrays, nll loss of the
    log-probabilities, Adam, and the same bookkeeping (summed loss, correct count)."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    rng = np.random.default_rng(0)
    labels = torch.from_numpy(y).long()

    def epoch() -> None:
        total, correct = 0.0, 0
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            rows = order[start : start + BATCH]
            xb, yb = torch.from_numpy(X[rows]), labels[rows]
            out = model(xb)
            loss = torch.nn.functional.nll_loss(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(rows)
            correct += int((out.argmax(1) == yb).sum())

    return epoch


def reference(args: Any) -> None:
    """torch's seconds per case as JSON (run by `speed` in a fresh process)."""
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    seconds = {}
    for shape in CONVS:
        x, w, b, g = (torch.from_numpy(v) for v in _conv_arrays(*shape))
        inputs = [t.requires_grad_() for t in (x, w, b)]
        k = shape[4]

        def step(inputs: list[Any] = inputs, g: Any = g, k: int = k) -> None:
            for t in inputs:
                t.grad = None
            torch.nn.functional.conv2d(*inputs, padding=k // 2).backward(g)

        seconds[_conv_name(*shape)] = _median_s(step, args.repeat, args.budget)
    data = np.load(args.data)
    for name, model in _torch_models(torch).items():
        epoch = _torch_epoch(torch, model, data["X"], data["y"])
        seconds[name] = _median_s(epoch, args.repeat, 0.0)
    print(json.dumps(seconds))


def _theirs(args: Any, data: Path) -> dict[str, float] | None:
    """torch's seconds per case from a fresh process, or None where torch is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    options = ["--threads", str(args.threads), "--repeat", str(args.repeat)]
    options += ["--budget", str(args.budget), "--data", str(data)]
    run = subprocess.run(
        [sys.executable, __file__, "reference", *options],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds: dict[str, float] = json.loads(run.stdout.splitlines()[-1])
    return seconds


def _ms(seconds: float | None) -> str:
    return "torch not installed" if seconds is None else f"{seconds * 1e3:.3f}"


def speed(args: Any) -> None:
    from mt_nn import digits_dataset

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "digits.npz"
        train, _ = digits_dataset("numpy")
        np.savez(data, X=train.X.to_numpy(), y=train.y.to_numpy())
        # torch first: once numba has started its threads here, they slowed the torch process
        # beside it (its 2-thread CNN epoch from 32 ms to 205 ms).
        theirs = _theirs(args, data)
    ours = _ours(args)
    images = f"1437 images, batch {BATCH}, Adam"
    rows = [("conv2d fwd+bwd", _conv_name(*shape), _conv_name(*shape), True) for shape in CONVS]
    rows += [("digits CNN epoch", images, "cnn", True), ("digits MLP epoch", images, "mlp", False)]
    print("| case | size | fast ms | torch ms | fast / torch | target |")
    print("|---|---|---:|---:|---:|---|")
    for case, size, key, targeted in rows:
        mine = ours[key]
        other = None if theirs is None else theirs[key]
        ratio = "" if other is None else f"{mine / other:.2f}x"
        target = "<= 3x torch" if targeted else ""
        if targeted and other is not None:
            target += " met" if mine <= 3 * other else " MISSED"
        print(f"| {case} | {size} | {_ms(mine)} | {_ms(other)} | {ratio} | {target} |")


# Accuracy.


@dataclass(frozen=True)
class Setting:
    """One ``minitorch train`` configuration and its target test accuracy."""

    dataset: str
    model: str
    hidden: int
    epochs: int
    lr: float
    batch: int
    samples: int | None
    target: float

    def command(self, seed: int) -> str:
        samples = "" if self.samples is None else f" --samples {self.samples}"
        return (
            f"minitorch train --dataset {self.dataset} --model {self.model} --backend {BACKEND} "
            f"--hidden {self.hidden} --epochs {self.epochs} --lr {self.lr} --batch {self.batch}"
            f"{samples} --seed {seed}"
        )


SETTINGS = [
    *(Setting(name, "mlp", 100, 300, 0.002, 16, 200, 0.95) for name in POINT_SETS[:-1]),
    Setting("spiral", "mlp", 100, 300, 0.005, 16, 200, 0.85),
    Setting("digits", "cnn", 8, 15, 0.005, 32, None, 0.95),
    Setting("digits", "mlp", 64, 15, 0.01, 32, None, 0.93),
]
"""Settings that reach the targets on seeds 0-4 (the final epoch's test accuracy). At 0.005 the
simple set's last epoch could land at 0.945 (seed 1); spiral stalls near 0.58 at 0.01. The CNN
at ``minitorch train``'s 6 epochs at 0.01 ends at 0.928-0.967 depending on the seed."""


def _train(s: Setting, seed: int) -> tuple[float, float, float]:
    """Final training and test accuracy, and seconds, of one seeded run, built as
    ``minitorch train`` builds it."""
    from mt_nn import MLP, LeNet, digits_dataset, fit, manual_seed, points_dataset

    if s.dataset == "digits":
        train, test = digits_dataset(BACKEND)
    else:
        train, test = points_dataset(s.dataset, s.samples or 200, seed, BACKEND)
    manual_seed(seed)
    model: Module
    if s.model == "cnn":
        model = LeNet(channels=(s.hidden, 2 * s.hidden), backend=BACKEND)
    else:
        inputs, classes = (64, 10) if s.dataset == "digits" else (2, 2)
        model = MLP(inputs, s.hidden, classes, backend=BACKEND)
    start = time.perf_counter()
    history = fit(
        model, train, test, epochs=s.epochs, lr=s.lr, batch_size=s.batch, seed=seed, progress=False
    )
    return history.train_acc[-1], history.test_acc[-1], time.perf_counter() - start


def accuracy(args: Any) -> None:
    import mt_fast  # noqa: F401  (registers the fast backend)

    print("| dataset | model | seed | train acc | test acc | target (test) | s | command |")
    print("|---|---|---:|---:|---:|---|---:|---|")
    for s in SETTINGS:
        for seed in args.seeds:
            train_acc, test_acc, seconds = _train(s, seed)
            met = "met" if test_acc >= s.target else "MISSED"
            print(
                f"| {s.dataset} | {s.model} {s.hidden} | {seed} | {train_acc:.3f} | {test_acc:.3f} "
                f"| >= {s.target} {met} | {seconds:.1f} | `{s.command(seed)}` |"
            )


def scalar(args: Any) -> None:
    """The Scalar MLP as ``minitorch train --backend scalar`` trains it: 50 points, hidden 6,
    200 epochs of full-batch gradient descent at rate 0.5; the test set drawn with ``seed + 1``."""
    from mt_autodiff.train import predict, train_scalar
    from mt_operators import datasets

    hidden, lr, epochs, n = 6, 0.5, 200, 50
    print("| dataset | seed | train acc | test acc | s | command |")
    print("|---|---:|---:|---:|---:|---|")
    for name in POINT_SETS:
        for seed in args.seeds:
            make = datasets[name.capitalize()]
            train, test = make(n, seed), make(n, seed + 1)
            start = time.perf_counter()
            model, history = train_scalar(train, hidden=hidden, lr=lr, epochs=epochs, seed=seed)
            seconds = time.perf_counter() - start
            p = np.asarray(predict(model, test.X)) > 0.5
            test_acc = float(np.mean(p == np.asarray(test.y, dtype=bool)))
            command = (
                f"minitorch train --dataset {name} --backend scalar --hidden {hidden} "
                f"--epochs {epochs} --lr {lr} --samples {n} --seed {seed}"
            )
            print(
                f"| {name} | {seed} | {history.accuracy[-1]:.3f} | {test_acc:.3f} | {seconds:.1f} "
                f"| `{command}` |"
            )


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    sections = {"speed": speed, "accuracy": accuracy, "scalar": scalar, "reference": reference}
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("section", nargs="?", default="speed", choices=sections)
    parser.add_argument("--threads", type=int, default=2, help="numba and torch threads")
    parser.add_argument("--repeat", type=int, default=7, help="timed blocks per case (median)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per conv case")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="accuracy runs")
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.section == "reference":
        reference(args)
        return
    print(f"mt-nn bench {args.section}: {os.cpu_count()} cores, {args.threads} threads, {_load()}")
    sections[args.section](args)
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
