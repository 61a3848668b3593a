"""The undeclared-op guard: every differentiable primitive in the library is declared for testing.

The suite is driven by the tables `mt_operators.testing.OPS` (element-wise ops) and
`mt_tensor.testing.TENSOR_OPS` (reductions, movement, matmul). A `Function` or `ScalarFunction`
subclass that no table entry names is an op no property test covers: these tests list them.
mt-nn's own functions are guarded beside their table, `NN_OPS` in ``test_workspace_nn.py``.
"""

from __future__ import annotations

import gc
import importlib.util

from mt_autodiff import ScalarFunction
from mt_operators.testing import OPS
from mt_tensor import Function
from mt_tensor.testing import TENSOR_OPS

LIBRARY_PACKAGES = ("mt_autodiff", "mt_tensor", "mt_fast", "mt_cuda")


def _key(name: str) -> str:
    return name.replace("_", "").lower()


def _declared() -> set[str]:
    return {_key(op.name) for op in OPS} | {_key(op.function) for op in TENSOR_OPS}


def _library_subclasses(base: type) -> list[type]:
    """Every subclass of ``base`` defined in the library (not in tests), sorted by name; a base
    class of others (`mt_tensor.tensor_functions.Map`, of every unary primitive) is not an op."""
    for package in LIBRARY_PACKAGES:
        if importlib.util.find_spec(package) is not None:
            importlib.import_module(package)
    found: list[type] = []
    todo: list[type] = list(base.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in LIBRARY_PACKAGES and not cls.__subclasses__():
            found.append(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


def _undeclared(base: type) -> list[str]:
    declared = _declared()
    return [
        f"{c.__module__}.{c.__name__}"
        for c in _library_subclasses(base)
        if _key(c.__name__) not in declared
    ]


def test_every_tensor_function_is_declared() -> None:
    missing = _undeclared(Function)
    assert not missing, (
        f"tensor Functions with no entry in mt_operators.testing.OPS or "
        f"mt_tensor.testing.TENSOR_OPS: {', '.join(missing)}"
    )


def test_every_scalar_function_is_declared() -> None:
    missing = _undeclared(ScalarFunction)
    assert not missing, (
        f"ScalarFunctions with no entry in mt_operators.testing.OPS: {', '.join(missing)}"
    )


def test_the_guard_sees_the_library() -> None:
    """The enumeration finds the known primitives, so an empty 'missing' list means something."""
    tensor_names = {c.__name__ for c in _library_subclasses(Function)}
    scalar_names = {c.__name__ for c in _library_subclasses(ScalarFunction)}
    assert {"Add", "Mul", "MatMul", "Sum", "Permute"} <= tensor_names
    assert {"Add", "Mul", "Log", "Exp", "Sigmoid"} <= scalar_names


def test_the_guard_catches_a_new_op() -> None:
    """A subclass added without a table entry is reported by name."""

    class Cube(Function):
        pass

    Cube.__module__ = "mt_tensor.tensor_functions"
    try:
        assert "mt_tensor.tensor_functions.Cube" in _undeclared(Function)
    finally:
        del Cube
        gc.collect()


def test_declarations_name_real_functions() -> None:
    """Each `TENSOR_OPS` entry names a `Function` that exists (no stale declarations)."""
    names = {_key(c.__name__) for c in _library_subclasses(Function)}
    stale = [op.name for op in TENSOR_OPS if _key(op.function) not in names]
    assert not stale, f"TENSOR_OPS entries naming no Function class: {stale}"
