"""One ``minitorch train`` run: pick defaults, train through the stages, save what it learned.

The training itself is the stages' (`mt_nn.train.fit`, `mt_autodiff.train.train_scalar`); this
module chooses settings, checks them, and writes plots, ``metrics.json`` and ``model.npz``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint, plots
from .cli import DIGITS, RUN_FILES, CommandError, check_out, defaults_for, make_out
from .plots import FloatArray


@dataclass(frozen=True)
class TrainConfig:
    """Everything one run needs; `from_args` fills what the command line left out."""

    dataset: str = DIGITS
    model: str = "cnn"
    backend: str = "fast"
    hidden: int = 8
    epochs: int = 6
    lr: float = 0.01
    batch: int = 32
    seed: int = 0
    samples: int | None = None
    out: Path | None = None
    schedule: str = "constant"

    @property
    def is_digits(self) -> bool:
        return self.dataset == DIGITS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """Check the combination and fill in the defaults for it (`CommandError`, status 2)."""
        model = args.model or ("cnn" if args.dataset == DIGITS else "mlp")
        check_settings({"dataset": args.dataset, "model": model, "backend": args.backend})
        d = defaults_for(args.dataset, model, args.backend)
        out = args.out or default_out(args.dataset, args.backend)
        config = cls(
            dataset=args.dataset,
            model=model,
            backend=args.backend,
            hidden=args.hidden or d.hidden,
            epochs=args.epochs or d.epochs,
            lr=args.lr or d.lr,
            batch=args.batch or d.batch,
            seed=args.seed,
            samples=args.samples or d.samples,
            out=out,
            schedule=args.schedule or d.schedule,
        )
        if config.backend == "scalar" and config.schedule != "constant":
            raise CommandError(
                "--backend scalar trains at a constant rate (--schedule constant)", 2
            )
        check_settings(asdict_config(config))
        return replace(config, out=check_out(out, args.force))


MAX_MEMORY = 4 * 2**30
"""Runs (and saved models) whose settings need more memory than this are refused up front."""
DIGIT_IMAGES = 1797
"""Images in scikit-learn's digits dataset (train and test together)."""
SCALAR_BYTES = 2000
"""Rough bytes per `Scalar` parameter while training (the parameter and its graph nodes)."""
POINT_BYTES = 400
"""Rough bytes per point of a 2-D dataset held as Python tuples (train and test)."""


def memory_needed(config: dict[str, Any]) -> int:
    """A rough upper estimate of the bytes a run with these settings holds at once: parameters
    with gradients and optimizer state, the data, and activations of a batch and of the test
    set."""
    params, given = checkpoint.parameter_count(config), config.get("samples")
    if config["backend"] == "scalar":
        return SCALAR_BYTES * params + POINT_BYTES * int(given or 0)
    digits = config["dataset"] == DIGITS
    samples = min(given or DIGIT_IMAGES, DIGIT_IMAGES) if digits else int(given or 1)
    features = 64 if digits else 2
    h = int(config["hidden"])
    widest = 64 * h if config["model"] == "cnn" else h
    batch = int(config.get("batch") or 1)
    return 8 * (4 * params + 4 * samples * (features + 1) + 4 * (batch + samples) * widest)


def gib(n: int) -> str:
    """``n`` bytes, in the unit that reads best."""
    if n >= 2**60:
        return "more than an exbibyte"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


def check_settings(config: dict[str, Any]) -> None:
    """Refuse settings that cannot train (`CommandError`, status 2): combinations the models do
    not support, and sizes needing more than `MAX_MEMORY`. Only the keys present are checked."""
    from .cli import BACKENDS, DATASETS, MODELS

    dataset, model, backend = config["dataset"], config["model"], config["backend"]
    for key, value, choices in (
        ("dataset", dataset, DATASETS),
        ("model", model, MODELS),
        ("backend", backend, BACKENDS),
    ):
        if value not in choices:
            raise CommandError(f"unknown {key} {value!r:.40} (one of {', '.join(choices)})", 2)
    if backend == "scalar" and dataset == DIGITS:
        raise CommandError(
            "--backend scalar trains the Scalar MLP on the small 2-D datasets only "
            "(simple, diag, split, xor, circle, spiral); use --backend fast for digits",
            2,
        )
    if backend == "scalar" and model != "mlp":
        raise CommandError(f"--backend scalar has only the mlp model, not {model!r}", 2)
    if model == "cnn" and dataset != DIGITS:
        raise CommandError(f"--model cnn needs images (--dataset digits), not {dataset!r}", 2)
    if "hidden" not in config:
        return
    for key in ("hidden", "samples", "seed"):
        value, lowest = config.get(key), 0 if key == "seed" else 1
        if value is not None and not (type(value) is int and value >= lowest):
            raise CommandError(f"--{key} must be a whole number, got {value!r:.40}", 2)
    needed = memory_needed(config)
    if needed > MAX_MEMORY:
        sizes = [(k, config.get(k)) for k in ("hidden", "samples")]
        shown = ", ".join(f"--{k} {v if v < 10**12 else f'{v:.3g}'}" for k, v in sizes if v)
        raise CommandError(
            f"{shown} would need about {gib(needed)} of memory (the limit is "
            f"{gib(MAX_MEMORY)}); use smaller values",
            2,
        )


def default_out(dataset: str, backend: str) -> Path:
    """``runs/<dataset>-<backend>-<time>``, the folder a run without ``--out`` writes into."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{dataset}-{backend}-{stamp}"


@dataclass
class RunResult:
    """What a run produced: its settings, history, summary and the files written."""

    config: TrainConfig
    history: dict[str, list[float | None]]
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    interrupted: bool = False
    """True when Ctrl-C stopped training early (what was trained so far is saved)."""


def _check_backend(name: str) -> None:
    """Fail early, as one line, when a tensor backend cannot be used here (e.g. no GPU)."""
    from mt_tensor import get_backend

    try:
        get_backend(name)
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
    if config.backend == "scalar":
        return _run_scalar(config, progress)
    _check_backend(config.backend)
    return _run_tensor(config, progress)


def _summary(
    config: TrainConfig,
    parameters: int,
    history: dict[str, list[float | None]],
    warm_up_seconds: float = 0.0,
) -> dict[str, Any]:
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
    parameters: int,
    history: dict[str, list[float | None]],
    figures: dict[str, Any],
    save_model: Callable[[Path], Path],
    warm_up_seconds: float = 0.0,
    interrupted: bool = False,
    compiled: bool = False,
) -> RunResult:
    assert config.out is not None, "TrainConfig.from_args always sets out"
    summary = _summary(config, parameters, history, warm_up_seconds)
    summary["compiled_kernels"] = compiled
    result = RunResult(config, history, summary, interrupted=interrupted)
    out = make_out(config.out)
    title = f"{config.dataset} · {config.model} · {config.backend}"
    figures = {"loss.png": plots.curves(history, title), **figures}
    for name, fig in figures.items():
        result.files.append(checkpoint.write_atomically(out / name, plots.png(fig)))
    metrics = {
        "config": {**asdict(config), "out": str(out)},
        "history": history,
        "summary": {**result.summary, "interrupted": interrupted},
    }
    text = json.dumps(metrics, indent=2) + "\n"
    result.files.append(checkpoint.write_atomically(out / "metrics.json", text.encode()))
    result.files.append(save_model(out / "model.npz"))
    for stale in set(RUN_FILES) - {p.name for p in result.files}:  # from a run --force replaced
        (out / stale).unlink(missing_ok=True)
    return result


def _grid_points(X: FloatArray) -> list[list[float]]:
    return [[float(a), float(b)] for a, b in X]


def _run_scalar(config: TrainConfig, progress: bool) -> RunResult:
    from mt_autodiff.train import ScalarTrain, predict
    from mt_operators import datasets

    n = config.samples or 50
    make = datasets[config.dataset.capitalize()]
    train, test = make(n, seed=config.seed), make(n, seed=config.seed + 1)
    history: dict[str, list[float | None]] = {
        "loss": [],
        "train_acc": [],
        "test_acc": [],
        "seconds": [],
    }
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

    say_estimate(config, train)
    trainer = ScalarTrain(config.hidden, config.seed)
    model, interrupted = trainer.model, False
    try:
        with bar:
            trainer.train(train, config.lr, config.epochs, log)
    except KeyboardInterrupt:
        if not history["loss"]:
            raise
        interrupted = True
    test_pred = np.asarray(predict(model, test.X)) > 0.5
    history["test_acc"][-1] = float(np.mean(test_pred == np.asarray(test.y, dtype=bool)))
    X = np.asarray(train.X, dtype=np.float64)
    y = np.asarray(train.y, dtype=np.int64)

    def proba(points: FloatArray) -> FloatArray:
        return np.asarray(predict(model, _grid_points(points)), dtype=np.float64)

    figures = {"boundary.png": plots.decision_boundary(proba, X, y, f"{config.dataset} (scalar)")}
    params = len(list(model.parameters()))
    return _finish(
        config,
        params,
        history,
        figures,
        lambda path: checkpoint.save(path, model, asdict_config(config)),
        interrupted=interrupted,
    )


def asdict_config(config: TrainConfig) -> dict[str, Any]:
    """The config as JSON-friendly values (the run folder as a string)."""
    return {**asdict(config), "out": None if config.out is None else str(config.out)}


COMPILED_BACKENDS = ("fast", "cuda")
"""Backends whose kernels numba compiles on their first use (and caches on disk)."""


@contextmanager
def _compile_notice(backend: str, enabled: bool) -> Iterator[list[str]]:
    """Say once, on stderr, that numba is compiling, the moment it starts to; yields the names
    compiled. numba signals only real compiles: kernels in its disk cache load without one."""
    from numba.core import event

    compiled: list[str] = []

    class Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            if enabled and not compiled:
                print(
                    f"compiling the {backend} backend's kernels (numba; about a minute on a first "
                    "run after an install, later runs load them from its cache)",
                    file=sys.stderr,
                    flush=True,
                )
            compiled.append(str(ev.data.get("dispatcher", "?")))

        def on_end(self, ev: Any) -> None:
            pass

    with event.install_listener("numba:compile", Listener()):
        yield compiled


def warm_up(config: TrainConfig, train: Any, test: Any, progress: bool) -> tuple[float, bool]:
    """Compile the backend's kernels before the timed epochs; the seconds it took and whether
    anything was compiled (rather than loaded from numba's cache).

    One epoch of a throwaway model on two batches, evaluated on the whole test set (big enough
    for the parallel kernels), runs every kernel training and evaluation use. numba caches what
    it compiles, so only the first run after an install pays much.
    """
    if config.backend not in COMPILED_BACKENDS:
        return 0.0, False
    start = time.perf_counter()
    n = 2 * config.batch
    with _compile_notice(config.backend, progress) as compiled:
        checkpoint.nn_module("train").fit(
            checkpoint.build_model(asdict_config(config)),
            checkpoint.first(train, n, config.backend),
            test,
            epochs=1,
            lr=config.lr,
            batch_size=config.batch,
            seed=config.seed,
            progress=False,
        )
    return time.perf_counter() - start, bool(compiled)


ESTIMATE_SHOWN_FROM = 60.0
"""Runs estimated to take at least this many seconds say so before they start."""


def estimate(config: TrainConfig, train: Any) -> tuple[float, str]:
    """Seconds the run will take, from timing one batch of a throwaway model (one epoch on five
    points for the scalar backend), and how that was measured."""
    if config.backend == "scalar":
        from mt_autodiff.train import ScalarTrain
        from mt_operators.datasets import Graph

        k = min(5, train.N)
        probe = Graph(k, train.X[:k], train.y[:k])
        start = time.perf_counter()
        ScalarTrain(config.hidden, config.seed).train(probe, config.lr, 1)
        per_point = (time.perf_counter() - start) / probe.N
        return per_point * train.N * config.epochs, f"{per_point * 1000:.1f} ms per point"
    n = min(config.batch, len(train))
    start = time.perf_counter()
    checkpoint.nn_module("train").fit(
        checkpoint.build_model(asdict_config(config)),
        checkpoint.first(train, n, config.backend),
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


def say_estimate(config: TrainConfig, train: Any) -> None:
    """One line on stderr before a run that will take minutes."""
    seconds, how = estimate(config, train)
    if seconds < ESTIMATE_SHOWN_FROM:
        return
    took = f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
    print(
        f"this run will take about {took} ({config.epochs} epochs on the {config.backend} "
        f"backend; {how}); Ctrl-C stops it and keeps what was trained so far",
        file=sys.stderr,
        flush=True,
    )


def _run_tensor(config: TrainConfig, progress: bool) -> RunResult:
    nn_train = checkpoint.nn_module("train")
    train, test = checkpoint.load_data(config_dict := asdict_config(config))
    model = checkpoint.build_model(config_dict)
    warm_seconds, compiled = warm_up(config, train, test, progress)
    say_estimate(config, train)
    optimizer = checkpoint.nn_module("optim").Adam(model.parameters(), lr=config.lr)
    seen: list[Any] = []  # fit's history, kept by the callback in case Ctrl-C stops fit

    def on_epoch(epoch: int, hist: Any) -> None:
        seen[:] = [hist, epoch + 1]
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
            nn_train.fit(
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
    hist, done = seen
    history: dict[str, list[float | None]] = {
        "loss": hist.loss[:done],
        "train_acc": hist.train_acc[:done],
        "test_acc": hist.test_acc[:done],
        "seconds": hist.seconds[:done],
    }
    figures = tensor_figures(config, model, train, test)
    params = sum(int(p.value.size) for p in model.parameters())
    return _finish(
        config,
        params,
        history,
        figures,
        lambda path: checkpoint.save(path, model, config_dict),
        warm_seconds,
        interrupted,
        compiled,
    )


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The rate for epoch ``epoch`` (0 is the first): ``--lr`` throughout, or for ``cosine``
    half a cosine from ``--lr`` down to 0 after the last epoch (PyTorch's CosineAnnealingLR)."""
    if config.schedule == "constant":
        return config.lr
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))


def tensor_figures(config: TrainConfig, model: Any, train: Any, test: Any) -> dict[str, Any]:
    """boundary.png for 2-D data; confusion.png and misclassified.png for digits."""
    if not config.is_digits:
        X = train.X.to_numpy()
        y = train.y.to_numpy().astype(np.int64).ravel()
        proba = checkpoint.point_proba(model, config.backend)
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

    def pct(v: float | None) -> str:
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
    if config["backend"] != "scalar":
        _check_backend(config["backend"])  # e.g. a model trained on a GPU, read without one
    loaded = checkpoint.load(path)
    if points:
        if loaded.config["dataset"] == DIGITS:
            raise CommandError("--point needs a model trained on a 2-D dataset, not digits", 2)
        probs = loaded.proba(np.asarray(points, dtype=np.float64))
        for (x1, x2), p in zip(points, probs, strict=True):
            print(f"({x1:g}, {x2:g}) -> class {int(p > 0.5)}  P(class 1) = {p:.3f}")
        return 0
    acc = loaded.test_accuracy()
    cfg = loaded.config
    print(f"{cfg['dataset']} {cfg['model']} ({cfg['backend']}): test accuracy {acc:.3f}")
    return 0
