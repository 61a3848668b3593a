"""The ``minitorch`` command: ``train``, ``predict`` and ``app``.

The outermost layer: it parses arguments into a `TrainConfig` (settings.py) and hands it to
runs.py; no module of the package imports it.

Bad arguments end in one line on stderr and exit status 2; a run that cannot start (no GPU for
``cuda``, a missing optional dependency) ends in one line and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from .settings import (
    DATASETS,
    DEFAULTS,
    DIGITS,
    MODELS,
    SCHEDULES,
    CommandError,
    TrainConfig,
    backend_choices,
    best_backend,
    describe_backends,
)

STAGES = ("mt-operators", "mt-autodiff", "mt-tensor", "mt-fast", "mt-cuda", "mt-nn", "minitorch")
APP_MODULES = (0, 1, 2, 3, 4)


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


class _TrainHelp(argparse.RawDescriptionHelpFormatter):
    """``train --help``: describes the backends, which loads each one (the cuda backend loads
    numba's CUDA target), only when the help is shown, not for every command."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.dest == "backend":
            return f"{describe_backends()} (default: {best_backend()})"
        return super()._get_help_string(action)


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
        description="Train an MLP or CNN; defaults train the digits CNN on the best installed "
        "backend.",
        epilog=_defaults_epilog(),
        formatter_class=_TrainHelp,
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
        choices=backend_choices(),
        default=best_backend(),
        help="where the numbers are computed (each backend is described in --help)",
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


def out_folder(text: str) -> Path:
    """``--out``: a folder path (an empty string would silently mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, got an empty string")
    return Path(text)


def _train(args: argparse.Namespace) -> int:
    from .runs import print_summary, run  # plots and matplotlib: loaded for a run, not for --help

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
