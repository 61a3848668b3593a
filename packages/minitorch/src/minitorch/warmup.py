"""A first run that does not wait for numba: train on numpy while the kernels compile elsewhere.

numba compiles each kernel on its first call and keeps it in its disk cache. From an empty
cache that costs the xor MLP 18 kernels (25 s of CPU) and the digits CNN 22 (33 s) before the
first step. When the cache lacks a run's kernels, the run's backend object starts with the numpy
backend's ops and another process (``python -m minitorch.warmup``) runs the same model for two
batches and its evaluations on the compiled backend, which fills the cache. After each epoch the
run looks for that process's stamp; once it is there the backend object takes the compiled ops in
place (`switch`): the same tensors, model, optimizer and training loop go on, now on the kernels
(loaded from the cache in milliseconds). Both backends compute the same float64 numbers up to
rounding, so the switch changes results only at that level.

A run whose settings were stamped before starts on the kernels at once. Set
``MINITORCH_BACKGROUND_COMPILE=0`` to compile in the run's own process before training instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from mt_tensor import TensorBackend, get_backend

from .settings import TrainConfig

if TYPE_CHECKING:
    from numba.core.event import Event

    from mt_nn import Dataset

BACKGROUND = "MINITORCH_BACKGROUND_COMPILE"
"""Environment switch: ``0`` compiles in the run's own process (before its first epoch)."""
FALLBACK = "numpy"
"""The backend a run starts on while its compiled kernels are missing."""
GRID_POINTS = 60 * 60
"""Points of the decision-boundary grid (`minitorch.plots.decision_boundary`'s default)."""

Start = Literal["warm", "background", "here", "interpreted"]
"""How a run starts: on kernels already cached, on numpy while another process compiles, after
compiling in its own process, or on a backend that compiles nothing."""


def workload(config: TrainConfig) -> str:
    """What decides which kernels a run calls (and their sizes: small work runs serially)."""
    saved = config.saved()
    keys = ("dataset", "model", "backend", "hidden", "batch", "samples")
    return json.dumps({k: saved[k] for k in keys}, sort_keys=True)


def cache_folder(backend: TensorBackend) -> Path | None:
    """numba's disk cache of a compiled CPU backend's kernels; None for any other backend."""
    if not backend.compiled or backend.device != "cpu":
        return None
    from mt_fast import cache

    return cache.folder()


def plan(config: TrainConfig, backend: TensorBackend) -> Start:
    """How a run with ``config`` on ``backend`` starts (see `Start`)."""
    if not backend.compiled:
        return "interpreted"
    folder = cache_folder(backend)
    if folder is not None:
        from mt_fast import cache

        if cache.is_warm(folder, workload(config)):
            return "warm"
    if folder is None or os.environ.get(BACKGROUND, "1") == "0":
        return "here"
    return "background"


def compile_workload(
    config: TrainConfig, backend: TensorBackend, train: Dataset, test: Dataset
) -> None:
    """Call every kernel a run with ``config`` calls: one epoch of a throwaway model on two
    batches, evaluated on the whole test set, and the decision-boundary grid for 2-D data.
    Stamps the cache when done, so later runs of these settings start on the kernels."""
    from mt_nn import fit

    from . import checkpoint

    model = checkpoint.build_tensor(config, backend)
    first = checkpoint.first(train, 2 * config.batch, backend)
    fit(model, first, test, epochs=1, lr=config.lr, batch_size=config.batch, progress=False)
    if not config.is_digits:
        checkpoint.point_proba(model, backend)(np.full((GRID_POINTS, 2), 0.5))
    folder = cache_folder(backend)
    if folder is not None:
        from mt_fast import cache

        cache.mark_warm(folder, workload(config))


def switch(backend: TensorBackend, target: TensorBackend) -> None:
    """Make ``backend`` run ``target``'s ops from now on, keeping its name.

    Tensors hold their backend object and look its ops up at each call, so every tensor of the
    run (data, parameters, optimizer state) goes on with the new ops; a backward whose forward ran
    on the old ops uses what that forward saved.
    """
    vars(backend).update({k: v for k, v in vars(target).items() if k != "name"})


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is a compile of ours still at work (on Linux, by its command line,
    so a finished one awaiting its parent, or another program given the same id, is not)."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            return b"minitorch.warmup" in (proc / str(pid) / "cmdline").read_bytes()
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Background:
    """A run's backend while another process compiles its kernels: `backend` holds the numpy
    ops until `poll` finds the compile finished, then `target`'s."""

    def __init__(self, config: TrainConfig, target: TensorBackend) -> None:
        self.key = workload(config)
        self.target = target
        self.folder = cache_folder(target)
        self.backend = TensorBackend(get_backend(FALLBACK).ops, name=target.name)
        self.switched_after: int | None = None
        """Epochs run on numpy before the switch (None: never switched)."""
        self.pid = self._start(config)

    def _start(self, config: TrainConfig) -> int:
        """The compiling process's id: one already compiling these settings, else a new one."""
        assert self.folder is not None, "plan() said the backend has a disk cache"
        from mt_fast import cache

        lock = self.folder / f"{cache.stamp_name(self.key)}.pid"
        try:
            pid = int(lock.read_text())
            if _alive(pid):
                return pid
        except (OSError, ValueError):
            pass
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(lock.with_suffix(".log"), "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "minitorch.warmup", json.dumps(config.saved())],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C stops the run, not the compile it started
            )
        lock.write_text(str(process.pid))
        return process.pid

    def poll(self, epochs_done: int) -> bool:
        """Switch to the compiled ops if the compile has finished; whether the run is on them."""
        if self.switched_after is None:
            from mt_fast import cache

            if cache.is_warm(self.folder, self.key):
                switch(self.backend, self.target)
                self.switched_after = epochs_done
        return self.switched_after is not None

    def still_compiling(self) -> bool:
        """Whether the compiling process is still at work (the run ended before it)."""
        return self.switched_after is None and _alive(self.pid)

    def failed(self) -> Path | None:
        """The compiling process's output when it ended without filling the cache, else None."""
        from mt_fast import cache

        if self.switched_after is not None or _alive(self.pid):
            return None
        if cache.is_warm(self.folder, self.key):
            return None
        assert self.folder is not None, "plan() said the backend has a disk cache"
        return self.folder / f"{cache.stamp_name(self.key)}.log"


@contextmanager
def compile_notice(backend: str, enabled: bool) -> Iterator[list[str]]:
    """Say once, on stderr, that numba is compiling, the moment it starts to; yields the names
    compiled. numba signals only real compiles: kernels in its disk cache load without one."""
    from numba.core import event

    compiled: list[str] = []

    class Listener(event.Listener):
        def on_start(self, ev: Event) -> None:
            if enabled and not compiled:
                print(
                    f"compiling the {backend} backend's kernels (numba; about half a minute on a "
                    "first run after an install, later runs load them from its cache)",
                    file=sys.stderr,
                    flush=True,
                )
            compiled.append(str(ev.data.get("dispatcher", "?")))

        def on_end(self, ev: Event) -> None:
            pass

    with event.install_listener("numba:compile", Listener()):
        yield compiled


def main(argv: list[str]) -> int:
    """``python -m minitorch.warmup CONFIG_JSON``: compile a run's kernels into the cache."""
    from . import checkpoint

    config = TrainConfig.from_saved(json.loads(argv[0]))
    backend = get_backend(config.backend)
    compile_workload(config, backend, *checkpoint.load_data(config, backend))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
