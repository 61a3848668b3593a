"""Datasets as tensors and a seeded, shuffling batch iterator.

- `points_dataset`: stage 0's 2-D toy sets (Simple, Diag, Split, Xor, Circle, Spiral).
- `digits_dataset`: the 8×8 handwritten digits shipped inside scikit-learn (``mt-nn[datasets]``),
  1 797 images scaled to [0, 1]. The split is fixed: every fifth image (index 0, 5, 10, ...) is
  the test set (360 images), the other 1 437 train.

Labels are float tensors of class indices, shape ``(N,)``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mt_operators import datasets as point_sets
from mt_tensor import Tensor, TensorBackend, get_backend

BackendLike = TensorBackend | str | None
TEST_EVERY = 5
"""`digits_dataset` puts images whose index is a multiple of this in the test set."""


def _tensor(values: npt.NDArray[np.float64], backend: BackendLike) -> Tensor:
    return Tensor.from_numpy(values, get_backend(backend), copy=False)


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X`` (N, ...) and class labels ``y`` (N,) as tensors on one backend."""

    X: Tensor
    y: Tensor

    def __post_init__(self) -> None:
        if self.y.dims != 1 or self.X.shape[0] != self.y.shape[0]:
            raise ValueError(f"X {self.X.shape} and y {self.y.shape} need the same first size N")

    def __len__(self) -> int:
        return self.y.shape[0]

    @property
    def classes(self) -> int:
        """The number of classes (largest label + 1)."""
        return int(self.y.to_numpy().max()) + 1 if len(self) else 0


class DataLoader:
    """Batches of ``(X, y)``, reshuffled each pass from a generator seeded once.

    Two loaders with the same seed give the same batches in the same order.
    """

    def __init__(
        self, dataset: Dataset, batch_size: int, shuffle: bool = True, seed: int = 0
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.backend = dataset.X.backend
        self._X = dataset.X.to_numpy()
        self._y = dataset.y.to_numpy()
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self._y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = len(self._y)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            yield _tensor(self._X[rows], self.backend), _tensor(self._y[rows], self.backend)


def points_dataset(
    name: str, n: int = 100, seed: int = 0, backend: BackendLike = None, test_n: int | None = None
) -> tuple[Dataset, Dataset]:
    """Train (``n`` points) and test (``test_n``, default ``n``) sets of a stage 0 2-D dataset.

    Both come from one draw of ``n + test_n`` points, split by a permutation seeded by ``seed``.
    """
    by_name = {k.lower(): gen for k, gen in point_sets.items()}
    if name.lower() not in by_name:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(point_sets)}")
    test_n = n if test_n is None else test_n
    if n < 1 or test_n < 0:
        raise ValueError(f"need n >= 1 and test_n >= 0, got n={n}, test_n={test_n}")
    graph = by_name[name.lower()](n + test_n, seed)
    X = np.array(graph.X, dtype=np.float64)
    y = np.array(graph.y, dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n], order[n:]
    return (
        Dataset(_tensor(X[train], backend), _tensor(y[train], backend)),
        Dataset(_tensor(X[test], backend), _tensor(y[test], backend)),
    )


def load_digits() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """All 1 797 digit images ``(N, 1, 8, 8)`` in [0, 1] and their labels, in sklearn's order.

    Read from the file scikit-learn ships (64 pixels and the label per row) without importing
    scikit-learn, whose import is 2 s of CPU here, longer than a digits epoch; through its
    ``load_digits`` where that file is not found."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits dataset ships with scikit-learn: pip install mt-nn[datasets]")
    shipped = [
        Path(p) / "datasets" / "data" / "digits.csv.gz"
        for p in spec.submodule_search_locations or ()
    ]
    if shipped and shipped[0].is_file():
        rows = np.loadtxt(shipped[0], delimiter=",", dtype=np.float64)
        pixels, target = rows[:, :-1], rows[:, -1]
    else:
        from sklearn.datasets import load_digits as sklearn_digits

        bunch = sklearn_digits()
        pixels, target = bunch.data, bunch.target
    images = np.asarray(pixels, dtype=np.float64) / 16.0
    return images.reshape(-1, 1, 8, 8), np.asarray(target, dtype=np.float64)


def digits_dataset(backend: BackendLike = None) -> tuple[Dataset, Dataset]:
    """Train (1 437) and test (360) digits; test = every image whose index is a multiple of 5."""
    images, labels = load_digits()
    test = np.arange(len(labels)) % TEST_EVERY == 0
    return (
        Dataset(_tensor(images[~test], backend), _tensor(labels[~test], backend)),
        Dataset(_tensor(images[test], backend), _tensor(labels[test], backend)),
    )
