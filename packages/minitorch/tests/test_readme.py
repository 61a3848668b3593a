"""The root README's recipe for installing one stage alone works as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def recipe() -> str:
    """The bash block under "Install one stage alone" in the root README."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("Install one stage alone") :]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found, "the README lost its one-stage recipe"
    return "\n".join(line.strip() for line in found.group(1).splitlines())


def test_the_recipe_uses_one_wheel_folder_and_find_links() -> None:
    commands = recipe()
    assert "hatch build -t wheel ../../dist" in commands
    assert "pip install --find-links dist mt-tensor" in commands


def test_the_one_stage_recipe_installs_mt_tensor_alone(tmp_path: Path) -> None:
    hatch = shutil.which("hatch") or next(
        (str(p) for p in (ROOT / ".venv/bin/hatch",) if p.exists()), None
    )
    if hatch is None:
        pytest.skip("hatch is not on PATH or in the root .venv (CI has it there)")
    venv = tmp_path / "venv"
    script = (
        recipe()
        .replace("../../dist", str(tmp_path / "dist"))
        .replace("--find-links dist", f"--find-links {tmp_path / 'dist'}")
        .replace("/tmp/tensor-alone", str(venv))
    )
    env = {**os.environ, "PATH": f"{Path(hatch).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    check = "import mt_tensor, importlib.util as u; print(u.find_spec('numba') is None)"
    alone = subprocess.run(
        [str(venv / "bin/python"), "-c", check], capture_output=True, text=True, timeout=120
    )
    assert alone.stdout.strip() == "True", alone.stderr
