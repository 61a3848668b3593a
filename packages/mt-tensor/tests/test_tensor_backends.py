"""The backend registry (names, default, environment, entry points) and backend agreement."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib import metadata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import (
    NumpyOps,
    SimpleBackend,
    SimpleOps,
    Tensor,
    TensorBackend,
    TensorOps,
    backends,
    default_backend,
    get_backend,
    installed_backends,
    set_default_backend,
    tensor,
    zeros,
)
from mt_tensor.testing import assert_tensors_close, backend_names, broadcastable_shapes, tensors

BACKENDS = backend_names()


@pytest.fixture
def clean_default(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No chosen default and no ``MINITORCH_BACKEND`` during the test, and none left after."""
    monkeypatch.delenv("MINITORCH_BACKEND", raising=False)
    set_default_backend(None)
    yield
    set_default_backend(None)


def test_builtin_backends_are_installed_in_preference_order() -> None:
    names = installed_backends()
    assert {"simple", "numpy"} <= set(names)
    ranked = [n for n in backends.PREFERENCE if n in names]
    assert names[: len(ranked)] == ranked
    assert "cuda" not in ranked, "cuda is never chosen by default"
    assert get_backend("simple") is SimpleBackend


@pytest.mark.parametrize("name", BACKENDS)
def test_each_backend_knows_its_name_and_moves_tensors(name: str) -> None:
    backend = get_backend(name)
    assert isinstance(backend, TensorBackend) and backend.name == name
    t = tensor([[1.0, 2.0], [3.0, 4.0]], backend=name)
    assert t.backend is backend
    for other in BACKENDS:
        moved = t.to(other)
        assert moved.backend.name == other
        assert_tensors_close(moved, t.to_numpy(), f"{name} -> {other}")
    assert t.to(name) is t


@pytest.mark.parametrize("name", BACKENDS)
def test_each_backend_declares_its_device_and_whether_it_compiles(name: str) -> None:
    backend = get_backend(name)
    assert backend.device in {"cpu", "cuda"}
    assert backend.cuda == (backend.device == "cuda")
    assert backend.compiled == (name in {"fast", "cuda"}), "only numba backends compile"
    assert get_backend(backend) is backend, "a backend passes through get_backend unchanged"


def test_get_backend_refuses_what_is_neither_a_name_nor_a_backend() -> None:
    with pytest.raises(TypeError, match=r"name or a TensorBackend.*int"):
        get_backend(3)  # type: ignore[arg-type]  # the wrong type is the point


def test_default_is_the_best_installed(clean_default: None) -> None:
    best = next(n for n in backends.PREFERENCE if n in installed_backends())
    assert default_backend().name == best
    assert tensor([1.0]).backend.name == best


@pytest.mark.parametrize("name", BACKENDS)
def test_environment_variable_chooses_the_default(
    clean_default: None, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("MINITORCH_BACKEND", name)
    assert default_backend().name == name
    assert zeros((2,)).backend.name == name


@pytest.mark.parametrize("name", BACKENDS)
def test_set_default_backend_wins_over_the_environment(
    clean_default: None, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("MINITORCH_BACKEND", "simple" if name != "simple" else "numpy")
    set_default_backend(name)
    assert tensor([1.0, 2.0]).backend.name == name
    set_default_backend(None)
    assert tensor([1.0]).backend.name != name


def test_unknown_names_are_refused_before_they_become_the_default(
    clean_default: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"installed: .*numpy"):
        set_default_backend("abacus")
    monkeypatch.setenv("MINITORCH_BACKEND", "abacus")
    with pytest.raises(ValueError, match="'abacus'"):
        tensor([1.0])


def test_later_stages_register_through_the_entry_point_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backend named in ``minitorch.backends`` is loaded by name, once, without an import."""
    plugin = types.ModuleType("mt_plugin_for_test")
    calls: list[int] = []

    def make() -> TensorBackend:
        calls.append(1)
        return TensorBackend(SimpleBackend.ops, name="plugin")

    plugin.make = make  # type: ignore[attr-defined]  # a module built at run time
    monkeypatch.setitem(sys.modules, plugin.__name__, plugin)
    point = metadata.EntryPoint("plugin", f"{plugin.__name__}:make", backends.ENTRY_POINT_GROUP)
    monkeypatch.setattr(backends, "_entry_points", lambda: {"plugin": point})
    monkeypatch.setattr(backends, "_loaded", {})
    assert "plugin" in installed_backends()
    assert get_backend("plugin") is get_backend("plugin")
    assert calls == [1]
    assert tensor([1.0, 2.0], backend="plugin").backend.name == "plugin"


def _composite(a: Tensor, b: Tensor) -> Tensor:
    return ((a * b).sigmoid() + (a - b).relu() * a.exp() / (1.0 + b * b)).log().sum(0)


@pytest.mark.parametrize("name", [n for n in BACKENDS if n != "simple"])
@given(data=st.data())
def test_every_backend_agrees_with_simple(name: str, data: st.DataObject) -> None:
    """Forward values and gradients equal the reference backend's on the same inputs."""
    shape_a, shape_b = data.draw(broadcastable_shapes())
    a = data.draw(tensors(shape_a, backend="simple", lo=-3.0, hi=3.0))
    b = data.draw(tensors(shape_b, backend="simple", lo=-3.0, hi=3.0))
    results = []
    for backend in ("simple", name):
        x, y = a.to(backend).requires_grad_(), b.to(backend).requires_grad_()
        out = _composite(x, y)
        out.sum().backward()
        results.append([out, x.grad, y.grad])
    for label, ours, ref in zip(
        ("forward", "grad a", "grad b"), results[1], results[0], strict=True
    ):
        assert ours is not None and ref is not None, label
        assert_tensors_close(ours, ref, f"{name} vs simple: {label}", rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", BACKENDS)
def test_matmul_of_normal_values_agrees_with_numpy(name: str) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 5, 4)), rng.normal(size=(4, 2))
    assert_tensors_close(tensor(a, backend=name) @ tensor(b, backend=name), a @ b, rtol=1e-12)


@pytest.mark.parametrize("ops", [SimpleOps, NumpyOps])
def test_backend_from_an_ops_class_as_the_course_writes_it(ops: type[TensorOps]) -> None:
    """``TensorBackend(SimpleOps)`` (the class) works like the registered backend of its name,
    and tensors on the two mix (one storage kind)."""
    course = TensorBackend(ops)
    registered = get_backend(ops.name)
    assert course.name == registered.name and isinstance(course.ops, ops)
    x, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([10.0, 20.0])
    a = tensor(x.tolist(), backend=course).requires_grad_()
    b = tensor(y.tolist(), backend=registered).requires_grad_()
    out = (a * b + a @ a).sum()
    out.backward()
    assert_tensors_close(out, [(x * y + x @ x).sum()], "value on a class-made backend")
    assert a.grad is not None and b.grad is not None
    assert_tensors_close(b.grad, x.sum(0), "gradient into the registered backend's tensor")
