"""The ``minitorch`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

STAGES = ("mt-operators", "mt-autodiff", "mt-tensor", "mt-fast", "mt-cuda", "mt-nn", "minitorch")


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="minitorch", description="MiniTorch: a teaching re-implementation of Torch."
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show each stage's version")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
