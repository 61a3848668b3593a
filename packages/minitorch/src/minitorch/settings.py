"""The settings of a ``minitorch train`` run: datasets, models, backends, defaults, output folders,
errors, and `TrainConfig`, the one typed record that goes from the command line to the saved files.

This is the bottom of the run layers (settings -> kinds -> checkpoint -> runs -> cli): the command
line, the runs, the model files and the app import it; it imports none of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from mt_tensor import installed_backends

DATASETS = ("simple", "diag", "split", "xor", "circle", "spiral", "digits")
MODELS = ("mlp", "cnn")
SCHEDULES = ("constant", "cosine")
DIGITS = "digits"
SCALAR = "scalar"
"""``--backend scalar``: stage 1's Scalar MLP. It is a run kind, not a tensor backend; every other
``--backend`` name is a tensor backend from the registry (`mt_tensor.installed_backends`)."""
DIGIT_CLASSES = 10

RunKind = Literal["scalar", "tensor"]
"""The two kinds of run: the stage-1 Scalar MLP, and tensor models on any backend."""


def best_backend() -> str:
    """The first installed tensor backend in the registry's order of preference."""
    return installed_backends()[0]


def backend_choices() -> tuple[str, ...]:
    """What ``--backend`` accepts: ``scalar``, then every installed tensor backend."""
    return (SCALAR, *installed_backends())


def describe_backends() -> str:
    """``--backend``'s help: each choice and where its numbers are computed, read from the
    backends' own declarations (``device``, ``compiled``); one that cannot load here says so."""
    from mt_tensor import get_backend

    described = [f"{SCALAR} (stage 1's Scalar objects)"]
    for name in installed_backends():
        try:
            backend = get_backend(name)
        except Exception:
            described.append(f"{name} (not usable here)")
            continue
        how = ", compiled on first use" if backend.compiled else ""
        described.append(f"{name} ({backend.device}{how})")
    return "where the numbers are computed: " + ", ".join(described)


@dataclass(frozen=True)
class Defaults:
    """Settings a bare command uses for one kind of run."""

    hidden: int
    epochs: int
    lr: float
    batch: int
    samples: int | None
    schedule: str = "constant"


DEFAULTS: dict[tuple[str, str], Defaults] = {
    ("digits", "cnn"): Defaults(hidden=8, epochs=15, lr=0.005, batch=32, samples=None),
    ("digits", "mlp"): Defaults(hidden=64, epochs=15, lr=0.01, batch=32, samples=None),
    ("points", "mlp"): Defaults(
        hidden=32, epochs=60, lr=0.05, batch=16, samples=200, schedule="cosine"
    ),
    ("spiral", "mlp"): Defaults(hidden=100, epochs=300, lr=0.005, batch=16, samples=200),
    ("points", "scalar"): Defaults(hidden=6, epochs=200, lr=0.5, batch=1, samples=50),
}
"""Keyed by (dataset, model or ``scalar``); ``points`` stands for any 2-D dataset without its own
row. Each row trains to a useful accuracy in seconds on two cores (spiral needs a wider, slower
network); every 2-D row reaches 0.95 test accuracy on seeds 0-4 (``packages/minitorch/bench``).
At a constant 0.05 the 2-D MLP's loss still jumped late in training (xor: 0.93 at seed 0), so its
rate decays to zero along a cosine over the epochs."""


def run_kind(backend: str) -> RunKind:
    """``scalar`` for the Scalar MLP, else ``tensor``."""
    return "scalar" if backend == SCALAR else "tensor"


def defaults_for(dataset: str, model: str, backend: str) -> Defaults:
    """The `DEFAULTS` row for this run."""
    kind = SCALAR if run_kind(backend) == "scalar" else model
    return DEFAULTS.get((dataset, kind)) or DEFAULTS[("points", kind)]


class CommandError(Exception):
    """A failure reported as one line with an exit status (2: usage, 1: environment)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# Output folders.

RUN_FILES = ("loss.png", "boundary.png", "confusion.png", "misclassified.png", "metrics.json")
"""What a run writes besides ``model.npz``; ``--force`` replaces these and nothing else."""


def _cannot_write(path: Path, why: str) -> CommandError:
    return CommandError(f"argument --out: cannot write to {str(path)!r}: {why}", 2)


def check_out(path: Path, force: bool = False) -> Path:
    """Refuse an output folder that cannot be written, or that already holds files unless
    ``force`` (a run is never mixed with another). Creates nothing: `make_out` does, when the
    run has something to write, so a run that fails first leaves no empty folder."""
    if path.is_dir() and any(path.iterdir()) and not force:
        raise CommandError(
            f"argument --out: {str(path)!r} already holds files; a run never mixes with "
            "another: choose a new folder, or pass --force to replace the run files in it",
            2,
        )
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _cannot_write(path, f"{str(existing)!r} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _cannot_write(path, "permission denied")
    return path


def make_out(path: Path) -> Path:
    """Create the output folder (and its parents) now that the run writes into it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise _cannot_write(path, str(e.strerror or e)) from None
    return path


def default_out(dataset: str, backend: str) -> Path:
    """``runs/<dataset>-<backend>-<time>``, the folder a run without ``--out`` writes into."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{dataset}-{backend}-{stamp}"


# The config.

SavedValue = str | int | float | None
"""A setting as JSON holds it (``metrics.json`` and ``model.npz``)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything one run needs; `from_args` fills what the command line left out, `saved` and
    `from_saved` are its form in ``metrics.json`` and ``model.npz``."""

    dataset: str = DIGITS
    model: str = "cnn"
    backend: str = field(default_factory=best_backend)
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

    @property
    def kind(self) -> RunKind:
        return run_kind(self.backend)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        """Check the combination and fill in the defaults for it (`CommandError`, status 2)."""
        model = args.model or ("cnn" if args.dataset == DIGITS else "mlp")
        check_combination(args.dataset, model, args.backend)
        d = defaults_for(args.dataset, model, args.backend)
        out: Path = args.out or default_out(args.dataset, args.backend)
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
        if config.kind == "scalar" and config.schedule != "constant":
            raise CommandError(
                "--backend scalar trains at a constant rate (--schedule constant)", 2
            )
        check_settings(config)
        return cls(**{**asdict(config), "out": check_out(out, args.force)})

    def saved(self) -> dict[str, SavedValue]:
        """Every field as a JSON value (the run folder as a string)."""
        values = asdict(self)
        values["out"] = None if self.out is None else str(self.out)
        return values

    @classmethod
    def from_saved(cls, values: Mapping[str, object]) -> TrainConfig:
        """The config `saved` wrote; a field that is missing or of another type takes its
        default (the model reader checks the fields a model is built from first)."""

        def text(key: str, default: str) -> str:
            value = values.get(key)
            return value if isinstance(value, str) else default

        def whole(key: str, default: int) -> int:
            value = values.get(key)
            return value if type(value) is int else default

        d, samples, lr, out = cls(), values.get("samples"), values.get("lr"), values.get("out")
        return cls(
            dataset=text("dataset", d.dataset),
            model=text("model", d.model),
            backend=text("backend", d.backend),
            hidden=whole("hidden", d.hidden),
            epochs=whole("epochs", d.epochs),
            lr=float(lr) if isinstance(lr, int | float) and not isinstance(lr, bool) else d.lr,
            batch=whole("batch", d.batch),
            seed=whole("seed", d.seed),
            samples=samples if type(samples) is int else None,
            out=Path(out) if isinstance(out, str) else None,
            schedule=text("schedule", d.schedule),
        )


# Checks.

MAX_MEMORY = 4 * 2**30
"""Runs (and saved models) whose settings need more memory than this are refused up front."""
DIGIT_IMAGES = 1797
"""Images in scikit-learn's digits dataset (train and test together)."""
SCALAR_BYTES = 2000
"""Rough bytes per `Scalar` parameter while training (the parameter and its graph nodes)."""
POINT_BYTES = 400
"""Rough bytes per point of a 2-D dataset held as Python tuples (train and test)."""


def parameter_shapes(config: TrainConfig) -> dict[str, tuple[int, ...]]:
    """Each parameter's shape for these settings, worked out without building the model.

    The checkpoint reader compares these with the file before it builds anything, and the
    command line sizes a run by them; tests check them against the built models.
    """
    h = config.hidden
    if config.kind == "scalar":
        shapes: dict[str, tuple[int, ...]] = {}
        for layer, (n_in, n_out) in enumerate(((2, h), (h, h), (h, 1)), start=1):
            shapes |= {
                f"layer{layer}.weight_{i}_{j}": () for i in range(n_in) for j in range(n_out)
            }
            shapes |= {f"layer{layer}.bias_{j}": () for j in range(n_out)}
        return shapes
    if config.model == "cnn":
        c1, c2 = h, 2 * h
        return {
            "0.weight": (c1, 1, 3, 3), "0.bias": (c1,),
            "3.weight": (c2, c1, 3, 3), "3.bias": (c2,),
            "7.weight": (DIGIT_CLASSES, c2 * 4), "7.bias": (DIGIT_CLASSES,),
        }  # fmt: skip
    n_in, n_out = (64, DIGIT_CLASSES) if config.is_digits else (2, 2)
    return {
        "1.weight": (h, n_in), "1.bias": (h,),
        "3.weight": (h, h), "3.bias": (h,),
        "5.weight": (n_out, h), "5.bias": (n_out,),
    }  # fmt: skip


def parameter_count(config: TrainConfig) -> int:
    """How many numbers the model for these settings learns (closed form, nothing built)."""
    h = int(config.hidden)
    if config.kind == "scalar":
        return 2 * h + h + h * h + h + h + 1
    return sum(math.prod(shape) for shape in parameter_shapes(config).values())


def memory_needed(config: TrainConfig) -> int:
    """A rough upper estimate of the bytes a run with these settings holds at once: parameters
    with gradients and optimizer state, the data, and activations of a batch and of the test
    set."""
    params, given = parameter_count(config), config.samples
    if config.kind == "scalar":
        return SCALAR_BYTES * params + POINT_BYTES * int(given or 0)
    digits = config.is_digits
    samples = min(given or DIGIT_IMAGES, DIGIT_IMAGES) if digits else int(given or 1)
    features = 64 if digits else 2
    h = int(config.hidden)
    widest = 64 * h if config.model == "cnn" else h
    batch = int(config.batch or 1)
    return 8 * (4 * params + 4 * samples * (features + 1) + 4 * (batch + samples) * widest)


def gib(n: int) -> str:
    """``n`` bytes, in the unit that reads best."""
    if n >= 2**60:
        return "more than an exbibyte"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n / 2**10:.1f} KiB"


def check_combination(dataset: str, model: str, backend: str) -> None:
    """Refuse a dataset, model and backend that do not go together (`CommandError`, status 2)."""
    for key, value, choices in (
        ("dataset", dataset, DATASETS),
        ("model", model, MODELS),
        ("backend", backend, backend_choices()),
    ):
        if value not in choices:
            raise CommandError(f"unknown {key} {value!r:.40} (one of {', '.join(choices)})", 2)
    if run_kind(backend) == "scalar" and dataset == DIGITS:
        raise CommandError(
            "--backend scalar trains the Scalar MLP on the small 2-D datasets only "
            "(simple, diag, split, xor, circle, spiral); use --backend fast for digits",
            2,
        )
    if run_kind(backend) == "scalar" and model != "mlp":
        raise CommandError(f"--backend scalar has only the mlp model, not {model!r}", 2)
    if model == "cnn" and dataset != DIGITS:
        raise CommandError(f"--model cnn needs images (--dataset digits), not {dataset!r}", 2)


def check_settings(config: TrainConfig) -> None:
    """Refuse settings that cannot train (`CommandError`, status 2): combinations the models do
    not support, and sizes needing more than `MAX_MEMORY`."""
    check_combination(config.dataset, config.model, config.backend)
    for key, value, lowest in (
        ("hidden", config.hidden, 1),
        ("samples", config.samples, 1),
        ("seed", config.seed, 0),
    ):
        if value is not None and not (type(value) is int and value >= lowest):
            raise CommandError(f"--{key} must be a whole number, got {value!r:.40}", 2)
    needed = memory_needed(config)
    if needed > MAX_MEMORY:
        sizes = [("hidden", config.hidden), ("samples", config.samples)]
        shown = ", ".join(f"--{k} {v if v < 10**12 else f'{v:.3g}'}" for k, v in sizes if v)
        raise CommandError(
            f"{shown} would need about {gib(needed)} of memory (the limit is "
            f"{gib(MAX_MEMORY)}); use smaller values",
            2,
        )
