"""The disk cache is emptied when code compiled into the kernels changes, and only then."""

from __future__ import annotations

import json
import math
from pathlib import Path

from mt_fast import cache


class FakeCache:
    """What `cache.refresh` uses of numba's FunctionCache: a folder and ``flush``."""

    def __init__(self, folder: Path) -> None:
        self.cache_path = str(folder)
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


class FakeKernel:
    def __init__(self, folder: Path) -> None:
        self._cache = FakeCache(folder)


def test_refresh_flushes_only_when_sources_change(tmp_path: Path) -> None:
    kernels = [FakeKernel(tmp_path), FakeKernel(tmp_path)]
    assert cache.refresh(kernels, [json, math]) is True  # no stamp yet
    assert [k._cache.flushes for k in kernels] == [1, 1]
    assert cache.refresh(kernels, [json, math]) is False  # same sources
    assert [k._cache.flushes for k in kernels] == [1, 1]
    assert cache.refresh(kernels, [json]) is True  # the compiled code changed
    assert [k._cache.flushes for k in kernels] == [2, 2]


def test_refresh_skips_functions_without_a_disk_cache(tmp_path: Path) -> None:
    assert cache.refresh([math.exp, object()], [json]) is False
    assert not (tmp_path / cache.STAMP).exists()
