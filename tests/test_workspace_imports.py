"""Packaging matches imports: each stage declares every third-party package its source imports
(in ``dependencies`` or an extra) and none it does not import; a stage before it providing the
package does not count."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["mt-operators", "mt-autodiff", "mt-tensor", "mt-fast", "mt-cuda", "mt-nn", "minitorch"]
DISTRIBUTIONS = {
    "numpy": "numpy",
    "numba": "numba",
    "llvmlite": "llvmlite",
    "numba.cuda": "numba-cuda",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "sklearn": "scikit-learn",
    "streamlit": "streamlit",
    "hypothesis": "hypothesis",
    "pytest": "pytest",
}
"""Import name -> the distribution that provides it (``numba.cuda`` is numba's CUDA target, a
package of its own)."""


def _imported_name(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level or node.module is None:
        return []
    if node.module == "numba":  # `from numba import cuda` is the CUDA target
        return [f"numba.{a.name}" if a.name == "cuda" else "numba" for a in node.names]
    return [node.module]


def imported(stage: str) -> set[str]:
    """The third-party distributions a stage's source imports (anywhere in a module)."""
    found = set()
    for path in (ROOT / "packages" / stage / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported_name(node):
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top.startswith("mt_") or top == "minitorch":
                    continue
                key = "numba.cuda" if name.startswith("numba.cuda") else top
                assert key in DISTRIBUTIONS, f"{stage} imports {name}: add it to DISTRIBUTIONS"
                found.add(DISTRIBUTIONS[key])
    return found


def declared(stage: str) -> set[str]:
    """The third-party distributions a stage declares, required or in an extra."""
    with open(ROOT / "packages" / stage / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    names = {Requirement(r).name for r in requirements}
    return {n for n in names if n not in STAGES}


def test_the_source_scan_sees_the_stages_imports() -> None:
    assert "numpy" in imported("mt-tensor") and "numba" in imported("mt-fast")
    assert "streamlit" in imported("minitorch")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_declares_exactly_what_it_imports(stage: str) -> None:
    uses, says = imported(stage), declared(stage)
    gaps = (uses - says, says - uses)
    assert gaps == (set(), set()), (
        f"{stage}: imported but not declared {sorted(gaps[0])}, "
        f"declared but not imported {sorted(gaps[1])}"
    )
