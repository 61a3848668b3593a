"""``torch.save`` and ``torch.load``: pickles in which tensors are plain values.

With ``weights_only=True`` (the default, as in PyTorch) loading accepts only tensors,
parameters, containers and numbers, so a file cannot run code when it is loaded.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .nn.modules import _parameter
from .tensors import _unpickle

_ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    (_unpickle.__module__, _unpickle.__name__): _unpickle,
    (_parameter.__module__, _parameter.__name__): _parameter,
}
_BUILTINS = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset")}


class _WeightsOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[module, name]
        if (module, name) in _BUILTINS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"weights_only load refuses {module}.{name}; pass weights_only=False for a file "
            "you trust"
        )


def save(obj: Any, f: str | Path | IO[bytes]) -> None:
    """Write ``obj`` (a state dict, a tensor, containers of them) to a path or binary file."""
    if isinstance(f, str | Path):
        with open(f, "wb") as handle:
            pickle.dump(obj, handle)
    else:
        pickle.dump(obj, f)


def load(
    f: str | Path | IO[bytes], map_location: Any = None, weights_only: bool = True, **_: Any
) -> Any:
    """Read what `save` wrote (tensors come back on the CPU backend)."""
    data = Path(f).read_bytes() if isinstance(f, str | Path) else f.read()
    stream = io.BytesIO(data)
    return _WeightsOnly(stream).load() if weights_only else pickle.load(stream)
