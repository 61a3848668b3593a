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


def test_a_warm_stamp_holds_only_for_the_sources_it_was_written_for(tmp_path: Path) -> None:
    kernels = [FakeKernel(tmp_path)]
    assert cache.folder(kernels) == tmp_path
    assert not cache.is_warm(tmp_path, "xor")  # no sources hash yet
    cache.refresh(kernels, [json])
    assert not cache.is_warm(tmp_path, "xor")
    cache.mark_warm(tmp_path, "xor")
    assert cache.is_warm(tmp_path, "xor") and not cache.is_warm(tmp_path, "digits")
    cache.refresh(kernels, [json, math])  # the kernels' code changed: every stamp is stale
    assert not cache.is_warm(tmp_path, "xor")
    assert not cache.is_warm(None, "xor") and cache.folder([math.exp]) is None
