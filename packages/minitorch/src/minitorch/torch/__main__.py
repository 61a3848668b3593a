"""``python -m minitorch.torch SCRIPT [ARGS...]``: run a PyTorch script, unchanged, on MiniTorch.

``--names`` lists what the face provides.
"""

from __future__ import annotations

import runpy
import sys

from . import install_as_torch


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m minitorch.torch SCRIPT [ARGS...]  |  --names")
        raise SystemExit(0 if args else 2)
    if args[0] == "--names":
        from .names import report

        print(report())
        return
    install_as_torch()
    sys.argv = args
    runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    main()
