"""Choosing a backend: by name, from the environment, or the best one installed.

``simple`` and ``numpy`` live here; later stages add theirs through the entry point group
``minitorch.backends`` (name → a zero-argument callable returning a `TensorBackend`), so this
package never imports numba.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from importlib import metadata

from .numpy_ops import NumpyOps
from .tensor_ops import SimpleBackend, TensorBackend

ENTRY_POINT_GROUP = "minitorch.backends"
PREFERENCE = ("fast", "numpy", "simple")
"""Default order: the first installed wins. ``cuda`` is used only when asked for."""

NumpyBackend = TensorBackend(NumpyOps())

_builtin: dict[str, Callable[[], TensorBackend]] = {
    "simple": lambda: SimpleBackend,
    "numpy": lambda: NumpyBackend,
}
_loaded: dict[str, TensorBackend] = {}
_lock = threading.RLock()  # a backend's factory may itself ask for a backend
_default: str | None = None


@functools.cache
def _entry_points() -> dict[str, metadata.EntryPoint]:
    """Registered backends, scanned once per process (the scan costs milliseconds)."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def installed_backends() -> list[str]:
    """Names of every backend that can be asked for (not necessarily usable here)."""
    names = list(_builtin) + [n for n in _entry_points() if n not in _builtin]
    return sorted(names, key=lambda n: (*PREFERENCE, n).index(n))


def get_backend(name: str | TensorBackend | None) -> TensorBackend:
    """The backend called ``name`` (a backend is returned as it is, ``None`` is the default
    backend); `ValueError` listing the installed ones if unknown."""
    if isinstance(name, TensorBackend):
        return name
    if name is None:
        return default_backend()
    if not isinstance(name, str):
        raise TypeError(
            f"backend must be a name or a TensorBackend, got {type(name).__name__}: {name!r}"
        )
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name in _builtin:
            backend = _builtin[name]()
        else:
            eps = _entry_points()
            if name not in eps:
                raise ValueError(
                    f"unknown backend {name!r}; installed: {', '.join(installed_backends())}"
                )
            backend = eps[name].load()()
        _loaded[name] = backend
        return backend


def set_default_backend(name: str | None) -> None:
    """Make ``name`` the backend new tensors use (``None``: back to the automatic choice)."""
    global _default
    if name is not None:
        get_backend(name)
    _default = name


def default_backend() -> TensorBackend:
    """The chosen default, else ``$MINITORCH_BACKEND``, else the best installed backend."""
    if _default is not None:
        return get_backend(_default)
    env = os.environ.get("MINITORCH_BACKEND")
    if env:
        return get_backend(env)
    available = installed_backends()
    return get_backend(next(n for n in PREFERENCE if n in available))
