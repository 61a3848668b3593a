"""``torch.utils.data``: `Dataset`, `TensorDataset` and a `DataLoader` that batches and shuffles.

Shuffling and the random samplers draw from the generator ``torch.manual_seed`` seeds.
``num_workers`` is accepted and batches are made in this process: the same batches, in the
same order, as without workers. A `TensorDataset` is batched by
indexing each tensor with the batch's indices (one gather per tensor); other datasets are
collated sample by sample with ``torch.stack``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from typing import Any, cast

import numpy as np

import mt_tensor as mt

from ..creation import stack, tensor
from ..tensors import Tensor, _no_generator


class Dataset:
    """Anything with ``__getitem__(i)`` and ``__len__()``."""

    def __class_getitem__(cls, item: Any) -> type:
        """``X[T]`` is ``X`` (PyTorch's class is generic: annotations with it must run)."""
        return cls

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class IterableDataset(Dataset):
    """A dataset read by iterating it (``__iter__``), batched in the order it yields."""

    def __iter__(self) -> Iterator[Any]:
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


class Sampler:
    """An iterable of dataset indices."""

    def __class_getitem__(cls, item: Any) -> type:
        """``X[T]`` is ``X`` (PyTorch's class is generic: annotations with it must run)."""
        return cls

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh permutation each pass (or ``num_samples`` draws with ``replacement``), from the
    generator ``torch.manual_seed`` seeds."""

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        _no_generator(generator)
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = num_samples
        if num_samples is not None and num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), mt.generator()
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        rounds = -(-self.num_samples // n) if n else 0
        order = [i for _ in range(rounds) for i in rng.permutation(n).tolist()]
        return iter(order[: self.num_samples])

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each pass."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        _no_generator(generator)
        self.indices = indices

    def __iter__(self) -> Iterator[int]:
        return (self.indices[i] for i in mt.generator().permutation(len(self.indices)).tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn in proportion to ``weights``."""

    def __init__(
        self,
        weights: Sequence[float] | Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: Any = None,
    ) -> None:
        _no_generator(generator)
        self.weights = np.asarray(
            weights.tolist() if isinstance(weights, Tensor) else weights, dtype=np.float64
        )
        self.num_samples, self.replacement = num_samples, replacement

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        draws = mt.generator().choice(len(p), self.num_samples, replace=self.replacement, p=p)
        return iter(draws.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(cast(Sized, self.sampler))
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: Any = None
) -> list[Subset]:
    """``dataset`` shuffled and cut into pieces of ``lengths`` (counts, or fractions summing
    to 1 whose remainders go one each to the first pieces, as PyTorch)."""
    _no_generator(generator)
    n = len(dataset)
    sizes = [int(x) for x in lengths]
    if lengths and all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-9:
        sizes = [int(np.floor(n * float(f))) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = mt.generator().permutation(n).tolist()
    pieces, start = [], 0
    for size in sizes:
        pieces.append(Subset(dataset, order[start : start + size]))
        start += size
    return pieces


class DataLoader:
    """Batches of a dataset, in order or reshuffled each pass.

    ``num_workers`` is accepted and the batches are made in this process (the same batches, in
    the same order, as PyTorch gives with or without workers for one seed); ``pin_memory``,
    ``persistent_workers``, ``prefetch_factor`` and ``timeout`` are accepted and change nothing.
    """

    def __class_getitem__(cls, item: Any) -> type:
        """``X[T]`` is ``X`` (PyTorch's class is generic: annotations with it must run)."""
        return cls

    def __init__(
        self,
        dataset: Dataset | Sequence[Any],
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable[Any] | None = None,
        batch_sampler: Sampler | Iterable[list[Any]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        _no_generator(generator)
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (
            batch_size != 1 or shuffle or sampler is not None or drop_last
        ):
            raise ValueError(
                "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                "and drop_last"
            )
        if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        if isinstance(dataset, IterableDataset) and (shuffle or sampler or batch_sampler):
            raise ValueError(
                "DataLoader with IterableDataset: expected unspecified shuffle, "
                "sampler and batch_sampler options"
            )
        self.dataset, self.num_workers, self.pin_memory = dataset, num_workers, pin_memory
        self.drop_last, self.worker_init_fn = drop_last, worker_init_fn
        self.batch_size = None if batch_sampler is not None else batch_size
        self.collate_fn = collate_fn
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable and sampler is None:
            sized = cast(Sized, dataset)
            sampler = RandomSampler(sized) if shuffle else SequentialSampler(sized)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(cast(Iterable[int], sampler), batch_size, drop_last)
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(cast(Sized, self.dataset))
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(
            cast(Sized, self.batch_sampler if self.batch_sampler is not None else self.sampler)
        )

    def __iter__(self) -> Iterator[Any]:
        if self.worker_init_fn is not None:
            for worker in range(self.num_workers):
                self.worker_init_fn(worker)
        if self._iterable:
            yield from self._iterate_stream()
            return
        if self.batch_sampler is None:
            for i in cast(Iterable[Any], self.sampler):
                sample = self.dataset[i]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            return
        for rows in self.batch_sampler:
            yield self._batch(list(rows))

    def _batch(self, rows: list[Any]) -> Any:
        if isinstance(self.dataset, TensorDataset) and self.collate_fn is None:
            return list(self.dataset[np.asarray(rows, dtype=np.int64)])
        return (self.collate_fn or default_collate)([self.dataset[i] for i in rows])

    def _iterate_stream(self) -> Iterator[Any]:
        collate = self.collate_fn or default_collate
        if self.batch_size is None:
            yield from iter(cast(Iterable[Any], self.dataset))
            return
        batch: list[Any] = []
        for sample in cast(Iterable[Any], self.dataset):
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)
