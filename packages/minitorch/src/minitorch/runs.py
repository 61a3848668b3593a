"""One ``minitorch train`` run: pick defaults, train through the stages, save what it learned.

The training itself is the stages' (`mt_nn.train.fit`, `mt_autodiff.train.train_scalar`); this
module chooses settings, checks them, and writes plots, ``metrics.json`` and ``model.npz``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mt_autodiff.train import ScalarTrain
from mt_autodiff.train import predict as scalar_predict
from mt_nn import Adam, Dataset, History, fit
from mt_operators import Module
from mt_operators import datasets as point_sets
from mt_operators.datasets import Graph
from mt_tensor import TensorBackend, get_backend

from . import checkpoint, plots, warmup
from .plots import FloatArray
from .settings import (
    RUN_FILES,
    CommandError,
    TrainConfig,
    check_out,
    default_out,
    make_out,
    parameter_count,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["RunResult", "TrainConfig", "learning_rate", "predict_command", "print_summary", "run"]

Summary = dict[str, str | int | float | bool | None]
"""The numbers a run reports (``metrics.json``'s ``summary``)."""
History_ = dict[str, list[float | None]]
"""Per-epoch loss, accuracies and seconds, by name."""


@dataclass
class RunResult:
    """What a run produced: its settings, history, summary and the files written."""

    config: TrainConfig
    history: History_
    summary: Summary
    files: list[Path] = field(default_factory=list)
    interrupted: bool = False
    """True when Ctrl-C stopped training early (what was trained so far is saved)."""


def resolve_backend(name: str) -> TensorBackend:
    """The registry's backend ``name``, looked up once per run; one line when it cannot be used
    here (e.g. no GPU)."""
    try:
        return get_backend(name)
    except Exception as e:
        raise CommandError(f"backend {name!r} is not available: {e}") from None


PIPED_SECONDS = 5.0
"""When stderr is not a terminal, the least time between two progress lines."""


class Progress:
    """The epochs of a run: tqdm's bar on a terminal; on a pipe or in a log, one plain line for
    the first and the last epoch and at most one every `PIPED_SECONDS` between (a bar's
    carriage returns would pile up on one line there)."""

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        from tqdm.auto import tqdm

        self.total, self.desc, self.done = total, desc, 0
        self.lines = enabled and not sys.stderr.isatty()
        self.bar = tqdm(total=total, desc=desc, unit="epoch", disable=not enabled or self.lines)
        self.last_line = -math.inf

    def epoch(self, shown: dict[str, float | None]) -> None:
        """Show one finished epoch's numbers (None: not measured)."""
        self.done += 1
        formats = {"loss": ".4f", "s": ".2f"}  # accuracies: .3f
        numbers = {k: format(v, formats.get(k, ".3f")) for k, v in shown.items() if v is not None}
        self.bar.set_postfix(numbers)
        self.bar.update(1)
        now = time.monotonic()
        if self.lines and (self.done in (1, self.total) or now - self.last_line >= PIPED_SECONDS):
            text = "  ".join(f"{k} {v}" for k, v in numbers.items())
            print(f"{self.desc}: epoch {self.done}/{self.total}  {text}", file=sys.stderr)
            sys.stderr.flush()
            self.last_line = now

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def run(config: TrainConfig, progress: bool = True, force: bool = False) -> RunResult:
    """Train as ``config`` says and write every output into ``config.out`` (`default_out` if
    None), a new or empty folder unless ``force``. Ctrl-C during training stops it; what was
    trained so far is saved and the result says ``interrupted``."""
    config = replace(
        config, out=check_out(config.out or default_out(config.dataset, config.backend), force)
    )
    if config.kind == "scalar":
        return _run_scalar(config, progress)
    return _run_tensor(config, resolve_backend(config.backend), progress)


def _summary(
    config: TrainConfig, parameters: int, history: History_, warm_up_seconds: float = 0.0
) -> Summary:
    seconds = [s for s in history["seconds"] if s is not None]
    return {
        "dataset": config.dataset,
        "model": config.model,
        "backend": config.backend,
        "parameters": parameters,
        "epochs": len(history["loss"]),
        "train_acc": history["train_acc"][-1],
        "test_acc": history["test_acc"][-1],
        "seconds_per_epoch": float(np.median(seconds)) if seconds else 0.0,
        "first_epoch_seconds": seconds[0] if seconds else 0.0,
        "seconds": sum(seconds),
        "warm_up_seconds": warm_up_seconds,
    }


def _finish(
    config: TrainConfig,
    model: checkpoint.Model,
    history: History_,
    figures: dict[str, Figure],
    warm_up_seconds: float = 0.0,
    interrupted: bool = False,
    compiled: bool = False,
    fallback_epochs: int = 0,
) -> RunResult:
    assert config.out is not None, "run() always sets out"
    summary = _summary(config, parameter_count(config), history, warm_up_seconds)
    summary["compiled_kernels"] = compiled
    summary["fallback_epochs"] = fallback_epochs
    result = RunResult(config, history, summary, interrupted=interrupted)
    out = make_out(config.out)
    title = f"{config.dataset} · {config.model} · {config.backend}"
    figures = {"loss.png": plots.curves(history, title), **figures}
    for name, fig in figures.items():
        result.files.append(checkpoint.write_atomically(out / name, plots.png(fig)))
    metrics = {
        "config": config.saved(),
        "history": history,
        "summary": {**result.summary, "interrupted": interrupted},
    }
    text = json.dumps(metrics, indent=2) + "\n"
    result.files.append(checkpoint.write_atomically(out / "metrics.json", text.encode()))
    result.files.append(checkpoint.save(out / "model.npz", model, config))
    for stale in set(RUN_FILES) - {p.name for p in result.files}:  # from a run --force replaced
        (out / stale).unlink(missing_ok=True)
    return result


def _grid_points(X: FloatArray) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in X]


def _run_scalar(config: TrainConfig, progress: bool) -> RunResult:
    """The stage-1 run kind: the Scalar MLP on a 2-D dataset."""
    n = config.samples or 50
    make = point_sets[config.dataset.capitalize()]
    train, test = make(n, seed=config.seed), make(n, seed=config.seed + 1)
    history: History_ = {"loss": [], "train_acc": [], "test_acc": [], "seconds": []}
    bar = Progress(config.epochs, progress, f"{config.dataset} scalar")
    last = [time.perf_counter()]

    def log(epoch: int, total: float, correct: int, losses: list[float]) -> None:
        now = time.perf_counter()
        history["seconds"].append(now - last[0])
        history["loss"].append(total / train.N)
        history["train_acc"].append(correct / train.N)
        history["test_acc"].append(None)
        last[0] = now
        bar.epoch({"loss": total / train.N, "acc": correct / train.N})

    say_estimate(config, *estimate_scalar(config, train))
    trainer = ScalarTrain(config.hidden, config.seed)
    model, interrupted = trainer.model, False
    try:
        with bar:
            trainer.train(train, config.lr, config.epochs, log)
    except KeyboardInterrupt:
        if not history["loss"]:
            raise
        interrupted = True
    test_pred = np.asarray(scalar_predict(model, test.X)) > 0.5
    history["test_acc"][-1] = float(np.mean(test_pred == np.asarray(test.y, dtype=bool)))
    X = np.asarray(train.X, dtype=np.float64)
    y = np.asarray(train.y, dtype=np.int64)

    def proba(points: FloatArray) -> FloatArray:
        return np.asarray(scalar_predict(model, _grid_points(points)), dtype=np.float64)

    figures = {"boundary.png": plots.decision_boundary(proba, X, y, f"{config.dataset} (scalar)")}
    return _finish(config, model, history, figures, interrupted=interrupted)


def warm_up(
    config: TrainConfig, backend: TensorBackend, train: Dataset, test: Dataset, progress: bool
) -> tuple[float, bool]:
    """Compile the backend's kernels in this process before the timed epochs (`warmup.plan`
    says ``here``); the seconds it took and whether anything was compiled (rather than loaded
    from numba's cache)."""
    start = time.perf_counter()
    with warmup.compile_notice(backend.name, progress) as compiled:
        warmup.compile_workload(config, backend, train, test)
    return time.perf_counter() - start, bool(compiled)


ESTIMATE_SHOWN_FROM = 60.0
"""Runs estimated to take at least this many seconds say so before they start."""


def estimate_scalar(config: TrainConfig, train: Graph) -> tuple[float, str]:
    """Seconds the Scalar run will take, from timing one epoch on five points, and how that was
    measured."""
    k = min(5, train.N)
    probe = Graph(k, train.X[:k], train.y[:k])
    start = time.perf_counter()
    ScalarTrain(config.hidden, config.seed).train(probe, config.lr, 1)
    per_point = (time.perf_counter() - start) / probe.N
    return per_point * train.N * config.epochs, f"{per_point * 1000:.1f} ms per point"


def estimate_tensor(
    config: TrainConfig, backend: TensorBackend, train: Dataset
) -> tuple[float, str]:
    """Seconds the tensor run will take, from timing one batch of a throwaway model, and how
    that was measured. On a compiled backend the batch runs twice and the second is timed: the
    first loads the kernels from numba's cache."""
    n = min(config.batch, len(train))
    for _ in range(2 if backend.compiled else 1):
        start = time.perf_counter()
        fit(
            checkpoint.build_tensor(config, backend),
            checkpoint.first(train, n, backend),
            None,
            epochs=1,
            lr=config.lr,
            batch_size=config.batch,
            progress=False,
        )
        per_batch = time.perf_counter() - start
    batches = math.ceil(len(train) / config.batch)
    # Evaluating on both splits after each epoch costs about as much as a fifth more batches.
    return 1.2 * per_batch * batches * config.epochs, f"one batch took {per_batch:.2f} s"


def say_estimate(config: TrainConfig, seconds: float, how: str) -> None:
    """One line on stderr before a run that will take minutes."""
    if seconds < ESTIMATE_SHOWN_FROM:
        return
    took = f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
    print(
        f"this run will take about {took} ({config.epochs} epochs on the {config.backend} "
        f"backend; {how}); Ctrl-C stops it and keeps what was trained so far",
        file=sys.stderr,
        flush=True,
    )


def _run_tensor(config: TrainConfig, target: TensorBackend, progress: bool) -> RunResult:
    """The tensor run kind: an MLP or the LeNet CNN on ``target`` (started on numpy while
    another process compiles its kernels, when numba's cache lacks them: `minitorch.warmup`)."""
    start = warmup.plan(config, target)
    background = warmup.Background(config, target) if start == "background" else None
    backend = target if background is None else background.backend
    if background is not None and progress:
        print(
            f"numba is compiling the {target.name} backend's kernels in another process (pid "
            f"{background.pid}; about half a minute after an install); training starts on the "
            f"{warmup.FALLBACK} backend and moves onto the kernels once they are ready",
            file=sys.stderr,
            flush=True,
        )
    train, test = checkpoint.load_data(config, backend)
    model = checkpoint.build_tensor(config, backend)
    warm_seconds, compiled = 0.0, False
    if start == "here":
        warm_seconds, compiled = warm_up(config, backend, train, test, progress)
    say_estimate(config, *estimate_tensor(config, backend, train))
    optimizer = Adam(model.parameters(), lr=config.lr)
    seen: list[tuple[History, int]] = []  # fit's history, kept in case Ctrl-C stops fit

    def on_epoch(epoch: int, hist: History) -> None:
        seen[:] = [(hist, epoch + 1)]
        if background is not None:
            background.poll(epoch + 1)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, epoch + 1)
        test = hist.test_acc[-1] if hist.test_acc else None
        bar.epoch(
            {"loss": hist.loss[-1], "acc": hist.train_acc[-1], "test": test, "s": hist.seconds[-1]}
        )

    bar = Progress(config.epochs, progress, f"{config.dataset} {config.backend}")
    interrupted = False
    try:
        with bar:
            fit(
                model,
                train,
                test,
                epochs=config.epochs,
                lr=config.lr,
                batch_size=config.batch,
                seed=config.seed,
                optimizer=optimizer,
                progress=False,
                callback=on_epoch,
            )
    except KeyboardInterrupt:
        if not seen:
            raise
        interrupted = True
    hist, done = seen[0]
    history: History_ = {
        "loss": list(hist.loss[:done]),
        "train_acc": list(hist.train_acc[:done]),
        "test_acc": list(hist.test_acc[:done]),
        "seconds": list(hist.seconds[:done]),
    }
    figures = tensor_figures(config, backend, model, train, test)
    fallback = 0 if background is None else background.switched_after or done
    result = _finish(config, model, history, figures, warm_seconds, interrupted, compiled, fallback)
    if background is not None and background.still_compiling() and progress:
        print(
            f"numba is still compiling the {target.name} backend's kernels (pid "
            f"{background.pid}); the next runs of these settings start on them",
            file=sys.stderr,
            flush=True,
        )
    elif background is not None and (log := background.failed()) is not None:
        print(
            f"compiling the {target.name} backend's kernels in another process failed, so this "
            f"run stayed on the {warmup.FALLBACK} backend (that process's output: {log})",
            file=sys.stderr,
            flush=True,
        )
    return result


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The rate for epoch ``epoch`` (0 is the first): ``--lr`` throughout, or for ``cosine``
    half a cosine from ``--lr`` down to 0 after the last epoch (PyTorch's CosineAnnealingLR)."""
    if config.schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))


def tensor_figures(
    config: TrainConfig, backend: TensorBackend, model: Module, train: Dataset, test: Dataset
) -> dict[str, Figure]:
    """boundary.png for 2-D data; confusion.png and misclassified.png for digits."""
    if not config.is_digits:
        X = train.X.to_numpy()
        y = train.y.to_numpy().astype(np.int64).ravel()
        proba = checkpoint.point_proba(model, backend)
        return {"boundary.png": plots.decision_boundary(proba, X, y, config.dataset)}
    images = test.X.to_numpy()
    y_true = test.y.to_numpy().astype(np.int64).ravel()
    y_pred = checkpoint.predict_classes(model, test.X)
    counts = plots.confusion_counts(y_true, y_pred, 10)
    acc = float(np.mean(y_true == y_pred))
    return {
        "confusion.png": plots.confusion(counts, f"digits test set: accuracy {acc:.3f}"),
        "misclassified.png": plots.misclassified(images.reshape(-1, 8, 8), y_true, y_pred),
    }


def summary_table(result: RunResult) -> str:
    """The run's summary as an aligned two-column table."""
    s = result.summary

    def pct(v: object) -> str:
        return "-" if v is None else f"{v:.3f}"

    rows = [
        ("dataset", s["dataset"]),
        ("model", s["model"]),
        ("backend", s["backend"]),
        ("parameters", f"{s['parameters']:,}"),
        ("epochs", str(s["epochs"])),
        ("train accuracy", pct(s["train_acc"])),
        ("test accuracy", pct(s["test_acc"])),
        ("seconds / epoch", f"{s['seconds_per_epoch']:.2f} (median)"),
        ("first epoch", f"{s['first_epoch_seconds']:.2f} s"),
        ("total", f"{s['seconds']:.1f} s"),
    ]
    if s["warm_up_seconds"]:
        what = "compiling kernels" if s["compiled_kernels"] else "kernels from numba's cache"
        rows.append(("warm-up", f"{s['warm_up_seconds']:.1f} s ({what}, not counted)"))
    if s.get("fallback_epochs"):
        rows.append(("while compiling", f"{s['fallback_epochs']} epoch(s) on the numpy backend"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


def print_summary(result: RunResult) -> None:
    """Print the summary table and where the outputs went."""
    print(summary_table(result))
    assert result.config.out is not None, "a finished run has an output folder"
    print(f"saved {', '.join(p.name for p in result.files)} to {result.config.out}/")
    if result.interrupted:
        print(
            f"minitorch train: interrupted after {result.summary['epochs']} of "
            f"{result.config.epochs} epochs; saved what was trained so far to {result.config.out}/",
            file=sys.stderr,
        )


def predict_command(path: Path, points: Sequence[Sequence[float]] | None) -> int:
    """``minitorch predict``: classify ``points``, or report accuracy on the test split."""
    config, _ = checkpoint.read(path)
    if config.kind == "tensor":
        resolve_backend(config.backend)  # e.g. a model trained on a GPU, read without one
    loaded = checkpoint.load(path)
    if points:
        if loaded.config.is_digits:
            raise CommandError("--point needs a model trained on a 2-D dataset, not digits", 2)
        probs = loaded.proba(np.asarray(points, dtype=np.float64))
        for (x1, x2), p in zip(points, probs, strict=True):
            print(f"({x1:g}, {x2:g}) -> class {int(p > 0.5)}  P(class 1) = {p:.3f}")
        return 0
    acc = loaded.test_accuracy()
    cfg = loaded.config
    print(f"{cfg.dataset} {cfg.model} ({cfg.backend}): test accuracy {acc:.3f}")
    return 0
