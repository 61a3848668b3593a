"""``torch.utils.data``: `Dataset`, `TensorDataset` and a `DataLoader` that batches and shuffles.

Shuffling draws from the generator ``torch.manual_seed`` seeds. A `TensorDataset` is batched by
indexing each tensor with the batch's indices (one gather per tensor); other datasets are
collated sample by sample with ``torch.stack``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

import mt_nn

from ..creation import stack, tensor
from ..tensors import Tensor, UnsupportedError


class Dataset:
    """Anything with ``__getitem__(i)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Samples ``(t[i] for t in tensors)`` of tensors with one first size."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors or any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError(f"Size mismatch between tensors: {[tuple(t.shape) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(samples: Sequence[Any]) -> Any:
    """A batch from a list of samples: tensors stacked, numbers made tensors, tuples by field."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(list(samples))
    if isinstance(first, numbers.Number | np.ndarray):
        return tensor(np.asarray(samples))
    if isinstance(first, tuple | list):
        return type(first)(default_collate(list(field)) for field in zip(*samples, strict=True))
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Batches of a dataset, in order or reshuffled each pass."""

    def __init__(
        self,
        dataset: Dataset | Sequence[Any],
        batch_size: int | None = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        num_workers: int = 0,
        **kwargs: Any,
    ) -> None:
        unknown = {k: v for k, v in kwargs.items() if k not in ("pin_memory", "persistent_workers")}
        if unknown or num_workers:
            raise UnsupportedError(f"DataLoader options {sorted(unknown) or ['num_workers']}")
        if batch_size is None or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last, self.collate_fn = shuffle, drop_last, collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = mt_nn.nn.generator().permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = order[start : start + self.batch_size]
            if isinstance(self.dataset, TensorDataset) and self.collate_fn is None:
                yield list(self.dataset[rows])
            else:
                batch = [self.dataset[int(i)] for i in rows]
                yield (self.collate_fn or default_collate)(batch)
