"""mt-nn imports no numba: compiled kernels belong to the backends (mt-fast, mt-cuda), which mt-nn
reaches only through a tensor's backend and its ``fused`` declaration."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mt_nn

SOURCE = Path(mt_nn.__file__).parent
BACKEND_MODULES = ("numba", "mt_fast", "mt_cuda")


def _imported_roots(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports, anywhere in the file."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_source_file_imports_numba_or_a_compiled_backend() -> None:
    files = sorted(SOURCE.rglob("*.py"))
    assert len(files) > 5, f"found only {files} under {SOURCE}"
    found = {
        str(f.relative_to(SOURCE)): sorted(_imported_roots(f) & set(BACKEND_MODULES)) for f in files
    }
    assert not {f: m for f, m in found.items() if m}, found


SCRIPT = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class Refuse(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ImportError(f"{{name}} was imported")

    sys.meta_path.insert(0, Refuse())
    import numpy as np
    import mt_nn
    from mt_tensor import tensor

    x = tensor(np.arange(32.0).reshape(1, 2, 4, 4), requires_grad=True)
    w = tensor(np.ones((3, 2, 2, 2)), requires_grad=True)
    y = mt_nn.maxpool2d(mt_nn.conv2d(x, w), (2, 2)) + mt_nn.avgpool2d(mt_nn.conv2d(x, w), (2, 2))
    y.sum().backward()
    assert x.grad is not None and w.grad is not None
    print(x.backend.name, sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r}))
    """
)


def test_mt_nn_runs_with_numba_and_the_compiled_backends_unimportable() -> None:
    """In a fresh process where importing numba, mt-fast or mt-cuda fails, mt-nn imports and
    convolves and pools (forward and backward) on the numpy backend."""
    env = {**os.environ, "MINITORCH_BACKEND": "numpy"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(blocked=BACKEND_MODULES)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["numpy", "[]"], done.stdout
