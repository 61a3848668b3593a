"""The facade re-exports the stages and owns the ``minitorch`` command."""

from __future__ import annotations

import subprocess
import sys

import minitorch
import mt_operators
from minitorch.cli import STAGES, main


def test_reexports_stage_names() -> None:
    assert minitorch.operators.add is mt_operators.operators.add
    assert minitorch.Module is mt_operators.Module
    assert minitorch.Parameter is mt_operators.Parameter
    assert minitorch.datasets is mt_operators.datasets


def test_version_lists_every_stage() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "minitorch", "--version"], capture_output=True, text=True, check=True
    ).stdout
    for stage in STAGES:
        assert stage in out
    assert f"minitorch {minitorch.__version__}" in out


def test_help_exits_cleanly() -> None:
    assert main([]) == 0
