"""The ``minitorch`` command: ``train``, ``predict`` and ``app``.

Bad arguments end in one line on stderr and exit status 2; a run that cannot start (no GPU for
``cuda``, a missing optional dependency) ends in one line and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import NoReturn

STAGES = ("mt-operators", "mt-autodiff", "mt-tensor", "mt-fast", "mt-cuda", "mt-nn", "minitorch")
DATASETS = ("simple", "diag", "split", "xor", "circle", "spiral", "digits")
MODELS = ("mlp", "cnn")
BACKENDS = ("scalar", "simple", "numpy", "fast", "cuda")
APP_MODULES = (0, 1, 2, 3, 4)
SCHEDULES = ("constant", "cosine")
DIGITS = "digits"


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


def defaults_for(dataset: str, model: str, backend: str) -> Defaults:
    """The `DEFAULTS` row for this run."""
    kind = "scalar" if backend == "scalar" else model
    return DEFAULTS.get((dataset, kind)) or DEFAULTS[("points", kind)]


def _defaults_epilog() -> str:
    rows = [
        f"  {dataset:<7} {model:<7} {d.hidden:>6} {d.epochs:>6} {d.lr:>6g} {d.batch:>5} "
        f"{'all' if d.samples is None else d.samples:>7} {d.schedule}"
        for (dataset, model), d in DEFAULTS.items()
    ]
    header = (
        f"  {'data':<7} {'model':<7} {'hidden':>6} {'epochs':>6} {'lr':>6} {'batch':>5} samples"
        " schedule"
    )
    return "defaults (points: any other 2-D dataset; scalar: --backend scalar):\n" + "\n".join(
        [header, *rows]
    )


class CommandError(Exception):
    """A failure reported as one line with an exit status (2: usage, 1: environment)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def stage_versions() -> list[tuple[str, str]]:
    """Each stage's installed version (``not installed`` where absent)."""
    found = []
    for name in STAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            found.append((name, "not installed"))
    return found


class _Version(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print("\n".join(f"{name} {version}" for name, version in stage_versions()))
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``minitorch train: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def count(text: str) -> int:
    """An integer >= 1, also written like ``1e8`` (sizes are often typed that way)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return positive_int(str(int(value)))


def seed_int(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = _Parser(
        prog="minitorch", description="MiniTorch: a teaching re-implementation of Torch."
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show each stage's version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = sub.add_parser(
        "train",
        help="train a model and save its plots, metrics and parameters",
        description="Train an MLP or CNN; defaults train the digits CNN on the fast backend.",
        epilog=_defaults_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--dataset",
        choices=DATASETS,
        default=DIGITS,
        help="what to learn: a 2-D point set (two classes) or 8x8 digit images (default: digits)",
    )
    train.add_argument(
        "--model", choices=MODELS, help="default: cnn for digits, mlp for the 2-D datasets"
    )
    train.add_argument(
        "--backend",
        choices=BACKENDS,
        default="fast",
        help="where the numbers are computed: scalar (stage 1's Scalar objects), simple (plain "
        "Python), numpy, fast (numba, compiled on first use), cuda (a GPU) (default: fast)",
    )
    train.add_argument(
        "--hidden", type=count, help="hidden units (MLP) or first-layer channels (CNN)"
    )
    train.add_argument("--epochs", type=positive_int, help="passes over the training data")
    train.add_argument("--lr", type=positive_float, help="learning rate")
    train.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="the learning rate over the epochs: constant, or cosine (from --lr down to 0); "
        "tensor backends only (default per dataset, below)",
    )
    train.add_argument("--batch", type=positive_int, help="batch size")
    train.add_argument(
        "--seed",
        type=seed_int,
        default=0,
        help="fixes the data, the initial weights and the batch order (default: 0)",
    )
    train.add_argument(
        "--samples",
        type=count,
        help="points in a 2-D dataset, or at most this many digit images to train on",
    )
    train.add_argument(
        "--out",
        type=out_folder,
        help="output folder, new or empty (default: runs/<dataset>-<backend>-<time>/)",
    )
    train.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty --out, replacing the run files there",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    predict = sub.add_parser(
        "predict",
        help="load a saved model.npz and classify points (or its dataset's test split)",
        description="Without --point, evaluates the model on its dataset's test split.",
    )
    predict.add_argument("model", type=Path, help="a model.npz saved by minitorch train")
    predict.add_argument(
        "--point",
        nargs=2,
        type=float,
        action="append",
        metavar=("X1", "X2"),
        help="a 2-D point to classify (repeatable)",
    )

    app = sub.add_parser(
        "app",
        help="open the course sandbox (needs the app extra: pip install 'minitorch[app]')",
        description="Runs `streamlit run` on the packaged app showing modules 0..MODULE.",
    )
    app.add_argument(
        "module",
        nargs="?",
        type=int,
        choices=APP_MODULES,
        default=4,
        help="show the pages of course modules 0 to this one (default: 4, all)",
    )
    app.add_argument("--port", type=positive_int, help="server port (streamlit's default: 8501)")
    app.add_argument("--headless", action="store_true", help="do not open a browser")
    return parser


RUN_FILES = ("loss.png", "boundary.png", "confusion.png", "misclassified.png", "metrics.json")
"""What a run writes besides ``model.npz``; ``--force`` replaces these and nothing else."""


def out_folder(text: str) -> Path:
    """``--out``: a folder path (an empty string would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string")
    return Path(text)


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


def _train(args: argparse.Namespace) -> int:
    from .runs import TrainConfig, print_summary, run

    config = TrainConfig.from_args(args)
    try:
        result = run(config, progress=not args.quiet, force=args.force)
    except ImportError as e:  # an optional dependency missing, e.g. scikit-learn for digits
        raise CommandError(str(e)) from None
    print_summary(result)
    return 130 if result.interrupted else 0


def _predict(args: argparse.Namespace) -> int:
    from .runs import predict_command

    try:
        return predict_command(args.model, args.point)
    except ImportError as e:  # an optional dependency missing, e.g. scikit-learn for digits
        raise CommandError(str(e)) from None


def app_file() -> Path:
    """The packaged Streamlit script."""
    return Path(__file__).parent / "app" / "main.py"


def _app(args: argparse.Namespace) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise CommandError(
            "the app needs streamlit, from the app extra: pip install 'minitorch[app]'"
        ) from None
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_file())]
    if args.port is not None:
        cmd += ["--server.port", str(args.port)]
    if args.headless:
        cmd += ["--server.headless", "true"]
    cmd += ["--", str(args.module)]
    try:
        return subprocess.call(cmd, env={**os.environ, "MPLBACKEND": "Agg"})
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    commands = {"train": _train, "predict": _predict, "app": _app}
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return commands[args.command](args)
    except CommandError as e:
        one_line = " ".join(str(e).split())
        print(f"minitorch {args.command}: error: {one_line}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print(f"minitorch {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
