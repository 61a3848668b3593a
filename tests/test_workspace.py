"""The workspace's shape: each stage depends on exactly the one before it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["mt-operators", "mt-autodiff", "mt-tensor", "mt-fast", "mt-cuda", "mt-nn", "minitorch"]


def dependencies(stage: str) -> list[Requirement]:
    with open(ROOT / "packages" / stage / "pyproject.toml", "rb") as f:
        deps: list[str] = tomllib.load(f)["project"].get("dependencies", [])
    return [Requirement(d) for d in deps]


@pytest.mark.parametrize("index", range(len(STAGES)))
def test_depends_on_exactly_the_previous_stage(index: int) -> None:
    local = [d for d in dependencies(STAGES[index]) if d.name in STAGES]
    expected = STAGES[index - 1 : index] if index else []
    assert [d.name for d in local] == expected
    for d in local:
        assert d.specifier.contains("0.1.0") and not d.specifier.contains("1.0.0")


@pytest.mark.parametrize("stage", STAGES)
def test_layout(stage: str) -> None:
    module = stage.replace("-", "_")
    base = ROOT / "packages" / stage
    for path in ["README.md", f"src/{module}/py.typed", f"src/{module}/__about__.py", "tests"]:
        assert (base / path).exists(), f"{stage} lacks {path}"
