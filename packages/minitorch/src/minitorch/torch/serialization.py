"""``torch.save`` and ``torch.load``: pickles in which tensors are plain values.

Loading never runs code, whatever ``weights_only`` says (PyTorch's default, ``None``, means
``True``; here ``False`` reads the same way, since `save` only writes tensors, parameters,
containers and numbers). Before the pickle is unpickled its opcodes are scanned: only the ones
`save` writes are allowed and nesting is bounded (a deeply nested tuple would crash the
interpreter when hashed). While unpickling, a tensor's shape must match its flat list of values
and fit in the file. Afterwards the containers are walked with a budget, so shared sub-lists
cannot stand for an object far larger than the file. Anything wrong is one
`pickle.UnpicklingError` saying what.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .nn.modules import _parameter
from .tensors import _unpickle

MAX_DEPTH = 32
"""Deepest nesting of containers a file may hold (a state dict needs 4)."""

_DTYPE_NAMES = ("float32", "float64", "int32", "int64", "bool")
_BUILTINS = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset")}
_REFUSED_OPCODES = {
    # Objects built without a checked callable, or data from outside the file.
    "BUILD", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4",
    "NEXT_BUFFER", "READONLY_BUFFER",
}  # fmt: skip
_ADDS_TO_FIRST = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS"}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}


def _refuse(message: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(f"torch.load: {message}")


def _scan(data: bytes) -> int:
    """Check the opcodes before anything is built; the number of opcodes.

    Simulates the unpickler's stack with each object's nesting depth in place of the object.
    """
    mark = -1
    stack: list[int] = []
    memo: dict[Any, int] = {}
    count = 0
    try:
        for op, arg, _ in pickletools.genops(data):
            count += 1
            if op.name in _REFUSED_OPCODES:
                raise _refuse(f"refuses the pickle opcode {op.name} (not written by torch.save)")
            if op.name in _MEMO_PUT:
                memo[len(memo) if op.name == "MEMOIZE" else arg] = stack[-1]
                continue
            if op.name in _MEMO_GET:
                stack.append(memo[arg])
                continue
            if op.name == "DUP":
                stack.append(stack[-1])
                continue
            popped: list[int] = []
            for item in reversed(op.stack_before):
                if item is pickletools.stackslice:
                    while stack[-1] != mark:
                        popped.append(stack.pop())
                else:
                    popped.append(stack.pop())
            popped = [d for d in popped if d != mark]
            for item in op.stack_after:
                if item is pickletools.markobject:
                    stack.append(mark)
                elif op.name in _ADDS_TO_FIRST:
                    container, *items = reversed(popped)
                    stack.append(max([container, *(d + 1 for d in items)]))
                else:
                    stack.append(1 + max(popped, default=-1))
            if stack and stack[-1] > MAX_DEPTH:
                raise _refuse(f"containers nested deeper than {MAX_DEPTH} levels")
    except KeyError as e:
        raise _refuse(f"not a pickle written by torch.save (no memo entry {e})") from None
    except (ValueError, IndexError) as e:
        raise _refuse(f"not a pickle written by torch.save ({e or type(e).__name__})") from None
    return count


def _walk(obj: Any, budget: int) -> None:
    """Visit every container item (shared ones each time they are referenced) within ``budget``."""
    todo = [obj]
    while todo:
        budget -= 1
        if budget < 0:
            raise _refuse("its containers refer to more items than the file holds")
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            todo.extend(item)


def _checked_unpickle(size: int) -> Callable[..., Any]:
    """`_unpickle`, but only for a flat list of numbers whose count is the shape's product and
    fits in a file of ``size`` bytes (so no huge or nested array is ever built)."""

    def build(values: Any, shape: Any, name: Any, requires_grad: Any) -> Any:
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise _refuse(f"a tensor's shape must be a tuple of sizes, got {shape!r:.80}")
        if len(shape) > MAX_DEPTH:
            raise _refuse(f"a tensor of {len(shape)} dimensions (at most {MAX_DEPTH})")
        count = math.prod(shape)
        if count > size:
            raise _refuse(f"a tensor of shape {shape} needs {count} values; the file is {size} B")
        if type(values) is not list or len(values) != count:
            got = f"{len(values)} values" if type(values) is list else type(values).__name__
            raise _refuse(f"a tensor of shape {shape} needs {count} values, got {got}")
        if not all(type(v) in (float, int, bool) for v in values):
            raise _refuse(f"a tensor of shape {shape} holds values that are not numbers")
        if name not in _DTYPE_NAMES or type(requires_grad) is not bool:
            raise _refuse(
                f"unknown tensor dtype {name!r:.40} or requires_grad {requires_grad!r:.40}"
            )
        try:
            return _unpickle(values, shape, name, requires_grad)
        except (OverflowError, ValueError) as e:
            raise _refuse(f"a tensor of shape {shape}: {e}") from None

    return build


def _checked_parameter(tensor: Callable[..., Any]) -> Callable[..., Any]:
    """`_parameter`, but only around what ``tensor`` (the checked `_unpickle`) builds."""

    def build(reduced: Any) -> Any:
        if not (isinstance(reduced, tuple) and len(reduced) == 2 and reduced[0] is tensor):
            raise _refuse("a parameter must wrap a tensor")
        if not (isinstance(reduced[1], tuple) and len(reduced[1]) == 4):
            raise _refuse("a parameter must wrap a tensor")
        return _parameter(reduced)

    return build


class _Restricted(pickle.Unpickler):
    """An unpickler that can build tensors, parameters and containers, nothing else."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        tensor = _checked_unpickle(len(data))
        self._allowed = {
            (_unpickle.__module__, _unpickle.__name__): tensor,
            (_parameter.__module__, _parameter.__name__): _checked_parameter(tensor),
        }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._allowed:
            return self._allowed[module, name]
        if (module, name) in _BUILTINS:
            return super().find_class(module, name)
        raise _refuse(
            f"refuses {module}.{name}: files hold only tensors, parameters, containers and "
            "numbers (any weights_only value; minitorch never unpickles code)"
        )


def save(obj: Any, f: str | Path | IO[bytes]) -> None:
    """Write ``obj`` (a state dict, a tensor, containers of them) to a path or binary file."""
    if isinstance(f, str | Path):
        with open(f, "wb") as handle:
            pickle.dump(obj, handle)
    else:
        pickle.dump(obj, f)


def load(
    f: str | Path | IO[bytes],
    map_location: Any = None,
    weights_only: bool | None = None,
    **_: Any,
) -> Any:
    """Read what `save` wrote (tensors come back on the CPU backend).

    ``weights_only`` is accepted for PyTorch code but changes nothing: loading is always
    restricted to tensors, parameters, containers and numbers.
    """
    data = Path(f).read_bytes() if isinstance(f, str | Path) else f.read()
    if not isinstance(data, bytes):
        raise TypeError(f"torch.load reads bytes, got {type(data).__name__} from {f!r}")
    if not data:
        raise _refuse("the file is empty")
    if data.startswith(b"PK\x03\x04"):
        raise _refuse(
            "not a pickle but a zip archive (PyTorch's own format?); this load reads files "
            "written by minitorch.torch.save"
        )
    opcodes = _scan(data)
    try:
        obj = _Restricted(data).load()
    except pickle.UnpicklingError:
        raise
    except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise _refuse(f"not a file written by torch.save ({type(e).__name__}: {e})") from None
    _walk(obj, 4 * opcodes + 1024)
    return obj
