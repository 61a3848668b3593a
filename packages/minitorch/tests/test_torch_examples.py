"""The PyTorch scripts in ``examples/torch`` run unchanged on MiniTorch and agree with PyTorch.

Each script runs under ``python -m minitorch.torch`` (``import torch`` meaning
``minitorch.torch``) and, when torch is installed, under PyTorch itself. The training scripts
print ``accuracy X`` last and must agree within `TOLERANCE` (the libraries draw different random
numbers); the feature scripts (`NUMBERS`) must print the same lines, every number within the
script's tolerance.
"""

from __future__ import annotations

import importlib.util
import os
import re
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
NUMBERS = {
    "autograd_function.py": 1e-3,
    "numpy_bridge.py": 1e-9,
    "sampling.py": 0.1,
    "dataloader_workers.py": 1e-3,
}
"""Each feature script and the tolerance (relative, and absolute below 1) of its numbers: the
sampling script prints statistics of different draws, the others deterministic results."""
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def run(command: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def accuracy(command: list[str], tmp_path: Path) -> float:
    out = run(command, tmp_path)
    last = out.strip().splitlines()[-1]
    assert last.startswith("accuracy "), out[-2000:]
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


@pytest.mark.parametrize("script", sorted(NUMBERS))
def test_feature_example_prints_what_torch_prints(script: str, tmp_path: Path) -> None:
    path = str(EXAMPLES / script)
    ours = run([sys.executable, "-m", "minitorch.torch", path], tmp_path).splitlines()
    assert ours and all("False" not in line for line in ours), ours
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed: only MiniTorch's run was checked")
    theirs = run([sys.executable, path], tmp_path).splitlines()
    assert len(ours) == len(theirs), (ours, theirs)
    tol = NUMBERS[script]
    for mine, their in zip(ours, theirs, strict=True):
        assert NUMBER.sub("#", mine) == NUMBER.sub("#", their), (mine, their)
        got = [float(v) for v in NUMBER.findall(mine)]
        want = [float(v) for v in NUMBER.findall(their)]
        assert got == pytest.approx(want, rel=tol, abs=tol), (mine, their)


def test_the_examples_import_torch_itself() -> None:
    """The scripts are plain PyTorch: no mention of MiniTorch in their code."""
    for script in [*SCRIPTS, *NUMBERS]:
        code = (EXAMPLES / script).read_text()
        assert "import torch" in code
        assert "minitorch" not in code.split('"""', 2)[-1]
