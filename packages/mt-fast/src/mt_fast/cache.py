"""Keep numba's disk cache in step with all the code compiled into the kernels.

numba finds a cached kernel again by the file that defines it (its modification time and size),
not by the functions it calls from other files. The kernels compile stage 0's operators and
mt-tensor's index helpers, so after an edit or an upgrade of mt-operators or mt-tensor the cached
kernels would still run the old code. `refresh` hashes every source file compiled into the
kernels and, when the hash differs from the one recorded beside the cache, empties the cache of
each kernel, so numba compiles them again (once) from the current code.

Beside that hash, `mark_warm` leaves a stamp per workload (a run's settings) once a process has
compiled every kernel the workload calls; `is_warm` tells a later process, for the same sources,
that it can call the kernels at once without waiting for numba. A stamp only ever saves time:
numba itself still checks each cached kernel, and compiles one that is missing.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

STAMP = "mt_fast-sources.sha256"
"""The file, in numba's cache folder for this package, holding the hash of the last sources."""


def fingerprint(modules: Iterable[ModuleType]) -> str:
    """A hash of the source files of ``modules``."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(inspect.getfile(module)).read_bytes())
    return digest.hexdigest()


def folder(kernels: Iterable[Any] | None = None) -> Path | None:
    """numba's cache folder of ``kernels`` (by default mt-fast's, which share one folder); None
    without a disk cache, as under ``NUMBA_DISABLE_JIT=1``. It honours ``NUMBA_CACHE_DIR``."""
    if kernels is None:
        from .kernels import CACHED

        kernels = CACHED
    # `_cache` is numba's FunctionCache of a dispatcher; `cache_path` is its API.
    for kernel in kernels:
        cache = getattr(kernel, "_cache", None)
        if cache is not None and getattr(cache, "cache_path", None) is not None:
            return Path(cache.cache_path)
    return None


def stamp_name(workload: str) -> str:
    """The file name of ``workload``'s stamp (its lock and log add a suffix)."""
    return f"warm-{hashlib.sha256(workload.encode()).hexdigest()[:16]}"


def is_warm(where: Path | None, workload: str) -> bool:
    """Whether a process compiled every kernel of ``workload`` into ``where`` from the current
    sources (the hash `refresh` recorded)."""
    if where is None:
        return False
    try:
        return (where / stamp_name(workload)).read_text() == (where / STAMP).read_text()
    except OSError:
        return False


def mark_warm(where: Path | None, workload: str) -> None:
    """Record that ``workload``'s kernels are now in the cache at ``where``."""
    if where is None:
        return
    try:
        digest = (where / STAMP).read_text()
        part = where / f"{stamp_name(workload)}.{os.getpid()}.part"
        part.write_text(digest)
        part.replace(where / stamp_name(workload))  # atomic: a reader sees all of it or none
    except OSError:
        pass  # a read-only cache: numba cannot write there either


def refresh(kernels: Iterable[Any], sources: Iterable[ModuleType]) -> bool:
    """Empty the disk caches of ``kernels`` if ``sources`` changed since they were compiled.

    ``kernels`` are numba dispatchers compiled with ``cache=True`` (anything else is skipped, as
    under ``NUMBA_DISABLE_JIT=1``). Returns True when the caches were emptied.
    """
    # `_cache` is numba's FunctionCache of a dispatcher; `cache_path` and `flush` are its API.
    caches = [k._cache for k in kernels if getattr(k, "_cache", None) is not None]
    caches = [c for c in caches if c.cache_path is not None]
    if not caches:
        return False
    stamp = Path(caches[0].cache_path) / STAMP
    digest = fingerprint(sources)
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    for cache in caches:
        cache.flush()
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # a read-only install: numba cannot write its cache there either
    return True
