"""``torch.optim.lr_scheduler``: mt-nn's `StepLR`."""

from typing import Any

from mt_nn import StepLR

from ..tensors import UnsupportedError

__all__ = ["StepLR"]


def __getattr__(name: str) -> Any:
    raise UnsupportedError(f"minitorch.torch does not implement torch.optim.lr_scheduler.{name}")
