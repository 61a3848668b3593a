"""The PyTorch scripts in ``examples/torch`` run unchanged on MiniTorch and learn as well.

Each script prints ``accuracy X`` last. It runs under ``python -m minitorch.torch`` (``import
torch`` meaning ``minitorch.torch``) and, when torch is installed, under PyTorch itself; the two
accuracies must agree within `TOLERANCE` (the libraries draw different random numbers).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "torch"
SCRIPTS = {
    "mlp_classifier.py": 0.9,
    "digits_cnn.py": 0.93,
    "digits_batchnorm.py": 0.93,
    "save_load.py": 0.9,
}
"""Each script and the accuracy it must reach."""
TOLERANCE = 0.05


def accuracy(command: list[str], tmp_path: Path) -> float:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("accuracy "), done.stdout[-2000:]
    return float(last.split()[1])


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_runs_unchanged_and_learns(script: str, tmp_path: Path) -> None:
    path = str(EXAMPLES / script)
    ours = accuracy([sys.executable, "-m", "minitorch.torch", path], tmp_path)
    assert ours >= SCRIPTS[script], f"{script} on minitorch.torch reached only {ours}"
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: only MiniTorch's run was checked")
    theirs = accuracy([sys.executable, path], tmp_path)
    assert abs(ours - theirs) <= TOLERANCE, f"{script}: minitorch {ours}, torch {theirs}"


def test_the_examples_import_torch_itself() -> None:
    """The scripts are plain PyTorch: no mention of MiniTorch in their code."""
    for script in SCRIPTS:
        code = (EXAMPLES / script).read_text()
        assert "import torch" in code
        assert "minitorch" not in code.split('"""', 2)[-1]
