"""How the face's functions are called: PyTorch's ``out=`` keyword, and guards that name the
keyword arguments of PyTorch's this face does not implement."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mt_autodiff import is_grad_enabled

from .tensor_base import UnsupportedError

if TYPE_CHECKING:
    from .tensors import Tensor


def write_out(out: Tensor, result: Tensor, name: str) -> Tensor:
    """``result`` written into ``out`` (resized when its shape differs), as PyTorch's ``out=``."""
    if is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    if out.shape != result.shape:
        out.value = result._to_dtype(out.dtype).value.detach().contiguous()
        return out
    return out._inplace(result)


def with_out(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """``fn`` taking PyTorch's ``out=`` keyword too."""

    @functools.wraps(fn)
    def call(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Tensor:
        result = fn(*args, **kwargs)
        return result if out is None else write_out(out, result, f"torch.{fn.__name__}")

    return call


def guard_keywords(fn: Callable[..., Any], where: str) -> Callable[..., Any]:
    """``fn``, raising `UnsupportedError` naming any keyword argument of PyTorch's it lacks
    (rather than Python's `TypeError`, which reads like the caller's mistake)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TypeError:
            unknown = _unknown_keywords(fn, kwargs) if kwargs else []
            if unknown:
                raise UnsupportedError(
                    f"minitorch.torch does not implement the keyword argument(s) "
                    f"{', '.join(unknown)} of {where}"
                ) from None
            raise

    return call


def _unknown_keywords(fn: Callable[..., Any], kwargs: dict[str, Any]) -> list[str]:
    params = inspect.signature(fn).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return []
    known = {p.name for p in params if p.kind != p.POSITIONAL_ONLY}
    return [k for k in kwargs if k not in known]


def guard_module(namespace: dict[str, Any], prefix: str) -> None:
    """Guard the keywords of every public function defined in a module of the face."""
    module = namespace["__name__"]
    for name, value in list(namespace.items()):
        if inspect.isfunction(value) and value.__module__ == module and not name.startswith("_"):
            namespace[name] = guard_keywords(value, f"{prefix}.{name}")


def guard_class(cls: type, prefix: str) -> None:
    """Guard the keywords of a class's public methods and its constructor (its own or the one
    it inherits)."""
    for name, value in list(vars(cls).items()):
        if inspect.isfunction(value) and not name.startswith("_"):
            setattr(cls, name, guard_keywords(value, f"{prefix}.{name}"))
    init = inspect.getattr_static(cls, "__init__")
    if inspect.isfunction(init):
        setattr(cls, "__init__", guard_keywords(init, f"{prefix}()"))  # noqa: B010
