"""Held under stress, at full size: the numbers behind ``tests/test_workspace_stress.py``.

Run from the repository root with ``hatch run python bench/stress.py`` (``--quick`` divides
every size by 10). Prints one table:

- deep graphs: 100 000 chained ops (``y = y * 1.0 + x``, each also reusing the leaf) built and
  backpropagated under Python's default recursion limit, on Scalars and on one-element tensors
  of each CPU backend; seconds for forward and backward, and per 10 000 nodes;
- memory: 1 000 Adam steps of an MLP on the fast backend (gradients reset each step): RSS
  growth over the run, then the same run under `tracemalloc` with the cycle collector off
  (traced heap growth after 250 warm-up steps, and the peak above the starting heap);
- threads: two models trained at once, one per thread, against the same two one after the
  other, on the main thread and on one worker thread (sizes that run mt-fast's parallel
  kernels), with their wall times and whether the results agree bit for bit.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import mt_nn as nn
from mt_autodiff import Scalar
from mt_tensor import Tensor, tensor

NODES = 100_000
STEPS = 1_000
WARMUP = 250
"""Steps before the traced heap is compared: CPython's free list of 2-tuples (up to 2 000 kept
for reuse, counted by tracemalloc) fills by about step 200, ~480 bytes a step, then the heap
is flat."""
THREAD_STEPS = 50
THREAD_HIDDEN = 128
THREAD_BATCH = 256

TRACED_BOUND = 32 * 1024
"""Bytes the traced heap may grow after the warm-up (the test's bound, over 5x the steps)."""
RSS_BOUND = 16 * 1024 * 1024
"""Bytes RSS may grow over the whole run, warm-up included (allocator and numba caches)."""


@dataclass
class Row:
    case: str
    size: str
    seconds: float
    detail: str
    ok: bool


def rss() -> int:
    """Resident set size in bytes (Linux; the peak elsewhere, which only grows)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(n: float) -> str:
    return f"{n / 2**20:+.2f} MiB" if abs(n) >= 2**20 else f"{n / 1024:+.1f} KiB"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def deep_chain(label: str, leaf: Any, nodes: int, grad: Callable[[Any], float]) -> list[Row]:
    """Forward and backward through ``nodes`` chained ops starting at ``leaf``."""
    steps = nodes // 2

    def build() -> Any:
        y = leaf
        for _ in range(steps):
            y = y * 1.0 + leaf
        return y

    gc.collect()
    forward, y = timed(build)
    error = ""
    try:
        backward, _ = timed(lambda: (y.sum() if isinstance(y, Tensor) else y).backward())
        got = grad(leaf)
        ok = got == steps + 1.0
        error = f"d/dx = {got:.0f}" + ("" if ok else f", expected {steps + 1}")
    except RecursionError as e:
        backward, ok, error = float("nan"), False, f"RecursionError: {e}"
    per = 10_000 / nodes
    return [
        Row(
            f"deep chain, {label}: forward",
            f"{nodes:,} ops",
            forward,
            f"{forward * per:.3f} s / 10k",
            True,
        ),
        Row(
            f"deep chain, {label}: backward",
            f"{nodes:,} ops",
            backward,
            f"{backward * per:.3f} s / 10k; {error}",
            ok,
        ),
    ]


def deep_chains(nodes: int) -> list[Row]:
    rows = deep_chain("Scalar", Scalar(0.5), nodes, lambda x: float(x.derivative or 0.0))
    for backend in ("simple", "numpy", "fast"):
        leaf = tensor([0.5], backend=backend, requires_grad=True)
        rows += deep_chain(
            f"tensor ({backend})", leaf, nodes, lambda x: x.grad.item() if x.grad else 0.0
        )
    return rows


@dataclass
class Run:
    """A model, its optimizer and its one batch, on the fast backend; the losses so far."""

    model: Any
    optimizer: Any
    x: Tensor
    y: Tensor
    losses: list[float] = field(default_factory=list)


def new_run(hidden: int = 16, batch: int = 64, seed: int = 0) -> Run:
    """The test's run: a seeded 2-hidden-hidden-2 MLP with Adam and one batch. Built in one
    thread, as initialisation draws from mt-nn's shared generator."""
    nn.manual_seed(seed)
    model = nn.MLP(2, hidden, 2, backend="fast")
    rng = np.random.default_rng(seed)
    x = tensor(rng.normal(size=(batch, 2)), backend="fast")
    y = tensor((rng.random(batch) > 0.5).astype(np.float64), backend="fast")
    return Run(model, nn.Adam(model.parameters(), lr=0.01), x, y)


def train(
    run: Run,
    steps: int,
    start: threading.Barrier | None = None,
    each_step: Callable[[int], None] | None = None,
    keep_losses: bool = True,
) -> Run:
    """``steps`` Adam steps (gradients reset each step), after waiting at ``start`` if given;
    without ``keep_losses`` the losses are not kept (a float a step would count as growth)."""
    if start is not None:
        start.wait()
    for i in range(steps):
        run.optimizer.zero_grad()
        loss = nn.nll_loss(run.model(run.x), run.y)
        loss.backward()
        run.optimizer.step()
        if keep_losses:
            run.losses.append(loss.item())
        if each_step is not None:
            each_step(i + 1)
    return run


def memory(steps: int, warmup: int) -> list[Row]:
    train(new_run(), 5)  # compile (or load from numba's cache) the kernels before measuring
    run = new_run()
    gc.collect()
    rss_start = rss()
    seconds, _ = timed(lambda: train(run, steps, keep_losses=False))
    rss_growth = rss() - rss_start
    rows = [
        Row(
            "MLP training on fast: RSS",
            f"{steps:,} steps",
            seconds,
            f"RSS {mib(rss_growth)} (bound {mib(RSS_BOUND)}), {seconds / steps * 1e3:.2f} ms/step",
            rss_growth < RSS_BOUND,
        )
    ]

    traced: dict[int, int] = {}

    def record(i: int) -> None:
        if i in (warmup, steps) or i % (steps // 4) == 0:
            traced[i] = tracemalloc.get_traced_memory()[0]

    run = new_run()
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        seconds, _ = timed(lambda: train(run, steps, each_step=record, keep_losses=False))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()
    growth = traced[steps] - traced[warmup]
    marks = ", ".join(f"{i}: {mib(traced[i] - base)}" for i in sorted(traced))
    rows.append(
        Row(
            "MLP training on fast: tracemalloc, gc off",
            f"{steps:,} steps",
            seconds,
            f"heap after step {marks}; growth after {warmup}: {mib(growth)} "
            f"(bound {mib(TRACED_BOUND)}); peak {mib(peak - base)}",
            growth < TRACED_BOUND,
        )
    )
    return rows


def weights(model: Any) -> dict[str, Any]:
    return {name: p.value.to_numpy() for name, p in model.named_parameters()}


def threads(steps: int) -> list[Row]:
    """Two seeded runs one after the other (on the main thread, then on one worker thread:
    numba's OpenMP teams start differently there), then at once on two worker threads."""
    seeds = (1, 2)
    train(new_run(THREAD_HIDDEN, THREAD_BATCH), 2)  # warm the kernels

    def runs() -> list[Run]:
        return [new_run(THREAD_HIDDEN, THREAD_BATCH, seed) for seed in seeds]

    def one_after_the_other(rs: list[Run]) -> list[Run]:
        return [train(run, steps) for run in rs]

    main_s, serial = timed(lambda: one_after_the_other(runs()))
    with ThreadPoolExecutor(1) as pool:
        rs = runs()
        worker_s, on_worker = timed(lambda: pool.submit(one_after_the_other, rs).result())
    start = threading.Barrier(len(seeds))
    with ThreadPoolExecutor(len(seeds)) as pool:
        rs = runs()
        threaded_s, threaded = timed(
            lambda: [f.result() for f in [pool.submit(train, run, steps, start) for run in rs]]
        )

    def same(got: list[Run]) -> bool:
        return all(
            run.losses == expected.losses
            and all(
                np.array_equal(w, weights(expected.model)[k]) for k, w in weights(run.model).items()
            )
            for run, expected in zip(got, serial, strict=True)
        )

    size = f"2 x {steps} steps"
    model = f"MLP 2-{THREAD_HIDDEN}-{THREAD_HIDDEN}-2, batch {THREAD_BATCH}"

    def verdict(ok: bool) -> str:
        return "results identical bit for bit" if ok else "results DIFFER"

    return [
        Row("two models in turn, main thread", size, main_s, model, True),
        Row(
            "two models in turn, one worker thread",
            size,
            worker_s,
            f"{verdict(same(on_worker))} to the main thread's",
            same(on_worker),
        ),
        Row(
            "two models at once, two worker threads",
            size,
            threaded_s,
            f"{worker_s / threaded_s:.2f}x the one worker's speed; "
            f"{verdict(same(threaded))} to serial",
            same(threaded),
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every size divided by 10")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    import numba

    numba_any: Any = numba  # numba's stubs do not export threading_layer

    print(
        f"python {sys.version.split()[0]}, recursion limit {sys.getrecursionlimit()}, "
        f"numba {numba.__version__}, {os.cpu_count()} cpus, "
        f"numba threads {numba.get_num_threads()}\n"
    )
    rows = deep_chains(NODES // scale)
    rows += memory(STEPS // scale, min(WARMUP, STEPS // scale // 2))
    rows += threads(THREAD_STEPS // scale)
    print(f"threading layer: {numba_any.threading_layer()}\n")
    head = ("case", "size", "seconds", "result", "check")
    table = [
        head,
        *[(r.case, r.size, f"{r.seconds:.2f}", r.detail, "ok" if r.ok else "FAIL") for r in rows],
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(head))]
    for n, line in enumerate(table):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
