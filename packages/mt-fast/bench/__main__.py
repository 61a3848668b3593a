"""Benchmark: the fast backend against numpy and torch (when installed), float64, 2 threads.

Run with ``hatch run bench`` in ``packages/mt-fast`` (or ``hatch run python packages/mt-fast/bench``
at the root, whose environment has torch and the facade). Three tables:

1. One row per case: ms per call of the fast backend (through the `Tensor` API), of numpy doing
   the same work on arrays and of torch eager on the CPU, then our speed relative to each (their
   time over ours: ``0.50x`` is half their speed) and the target. Each peer runs in a process of
   its own (``bench worker PEER``), so one library's idle threads never slow another (numba's
   OpenMP threads beside torch made its MLP step 4x slower); the processes are interleaved
   (fast, numpy, torch, then again in a rotated order) so a change in the machine's load falls on
   all of them, and each cell is the median over ``--procs`` processes of the median of
   ``--blocks`` timed blocks within each. Every peer gets ``THREADS`` threads: numba's
   ``set_num_threads``, torch's ``set_num_threads``, numpy's BLAS through
   ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` (numpy's element-wise ufuncs use one thread).
2. Serial against parallel kernels (called directly, no `Tensor` overhead) over sizes, and the
   size from which the parallel one wins: where `mt_fast.fast_ops`' thresholds come from.
3. Start-up: ``import minitorch`` (``mt_tensor`` + ``mt_fast`` where the facade is not installed)
   plus one forward+backward in a fresh process, with numba's disk cache empty, then filled.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

THREADS = 2
PEERS = ("fast", "numpy", "torch")

Array = np.ndarray[Any, np.dtype[np.float64]]
Fn = Callable[..., Any]


class Case:
    """One row: the same work done by the fast backend, numpy and torch.

    ``target`` is ``(peer, speed)`` (met when our speed is at least ``speed`` times the peer's,
    that is our time at most ``1 / speed`` times theirs) or ``("us", limit)`` (met when ours
    takes at most ``limit`` µs), or None.
    """

    def __init__(
        self,
        op: str,
        size: str,
        target: tuple[str, float] | None,
        arrays: list[Array],
        ours: Fn,
        numpy: Fn | None,
        torch: Fn | None = None,
        grad: bool = False,
    ) -> None:
        self.op, self.size, self.target, self.arrays = op, size, target, arrays
        self.fns = {"fast": ours, "numpy": numpy, "torch": torch if torch is not None else numpy}
        self.grad = grad

    @property
    def key(self) -> str:
        return f"{self.op} {self.size}"


def _mul(a: Any, b: Any) -> Any:
    return a * b


def _matmul(a: Any, b: Any) -> Any:
    return a @ b


def _sum(dim: int) -> Fn:
    """``a.sum(dim)`` (mt-tensor keeps the dim with size 1, numpy and torch drop it: same work)."""
    return lambda a: a.sum(dim)


def _exp(a: Any, *_: Any) -> Any:
    """``a.exp()`` (a second operand, as the per-op rows pass, is ignored)."""
    return a.exp()


def _libm_exp(a: Any) -> Any:
    """``FastOps.map(math.exp)``: a user function, so the C library's exp, one call per element."""
    from mt_fast import FastOps

    return FastOps.map(math.exp)(a)


def _mlp_step(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> None:
    """Forward and backward of ``sigmoid(relu(x @ w1 + b1) @ w2 + b2)``, squared-error loss."""
    for w in (w1, b1, w2, b2):
        w.grad = None
    out = ((x @ w1 + b1).relu() @ w2 + b2).sigmoid()
    ((out - 1.0) * (out - 1.0)).sum().backward()


def _add(a: Any, b: Any) -> Any:
    return a + b


def _sgd_fast(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> None:
    """`_mlp_step`, then $w \\leftarrow w - 0.01\\, \\nabla w$ without a graph, written into
    each parameter's storage (mt-tensor has no in-place operators)."""
    from mt_autodiff import no_grad

    _mlp_step(x, w1, b1, w2, b2)
    with no_grad():
        for w in (w1, b1, w2, b2):
            np.copyto(w._tensor.to_numpy(), (w - 0.01 * w.grad).to_numpy())


def _sgd_torch(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> None:
    """`_mlp_step`, then torch's in-place $w \\leftarrow w - 0.01\\, \\nabla w$."""
    import torch

    _mlp_step(x, w1, b1, w2, b2)
    with torch.no_grad():
        for w in (w1, b1, w2, b2):
            w -= 0.01 * w.grad


def _cases(sizes: list[int]) -> list[Case]:
    """The cases the issues set targets for, with the same arrays in every process (seed 0)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(1000, 1000)), rng.normal(size=(1000, 1000))
    row, tiny = rng.normal(size=(1, 1000)), [rng.normal(size=10), rng.normal(size=10)]
    matmul_target = ("numpy", 0.8)
    cases = [
        Case(
            f"matmul {dtype}",
            f"{n}x{n}",
            matmul_target if n >= 512 else None,
            [m.astype(dtype) for m in ab],
            _matmul,
            _matmul,
        )
        for n, ab in ((n, (rng.normal(size=(n, n)), rng.normal(size=(n, n)))) for n in sizes)
        for dtype in ("float64", "float32")
    ]
    mlp = [rng.normal(size=s) for s in [(32, 2), (2, 64), (64,), (64, 1), (1,)]]
    cases += [
        Case("zip a*b", "1000x1000", ("numpy", 1.0), [x, y], _mul, _mul),
        Case(
            "zip a*b, row broadcast", "(1000,1000)*(1,1000)", ("numpy", 0.5), [x, row], _mul, _mul
        ),
        Case(
            "zip a*b, a permuted",
            "1000x1000",
            ("numpy", 0.3),
            [x, y],
            lambda a, b: a.permute(1, 0) * b,
            lambda a, b: a.T * b,
        ),
        Case("map exp", "1000x1000", ("numpy", 0.5), [x], _exp, np.exp, _exp),
        Case("map math.exp (libm)", "1000x1000", None, [x], _libm_exp, np.exp, _exp),
        Case("sum over dim 1 (last)", "1000x1000", ("numpy", 1.0), [x], _sum(1), _sum(1)),
        Case("sum over dim 0", "1000x1000", ("numpy", 0.5), [x], _sum(0), _sum(0)),
    ]
    # Per-op cost through the Tensor API (issue 20: within 2x torch's, <= 2.5 µs here), without
    # and with a graph, and a small model's step (within 1.5x torch's).
    per_op: list[tuple[str, Fn, Fn]] = [("a+b", _add, _add), ("a*b", _mul, _mul)]
    per_op.append(("a.exp()", _exp, lambda a, b: np.exp(a)))
    cases += [
        Case(f"{op}, Tensor API", "10", ("us", 2.5), tiny, fn, ref, fn) for op, fn, ref in per_op
    ]
    cases += [
        Case(f"{op}, requires_grad", "10", ("us", 2.5), tiny, fn, None, fn, grad=True)
        for op, fn, _ in per_op
    ]
    cases += [
        Case(
            "MLP step, fwd+bwd",
            "batch 32, 2-64-1",
            ("torch", 1 / 1.5),
            mlp,
            _mlp_step,
            None,
            _mlp_step,
            grad=True,
        ),
        Case(
            "MLP step, fwd+bwd+SGD",
            "batch 32, 2-64-1",
            ("torch", 1 / 1.5),
            mlp,
            _sgd_fast,
            None,
            _sgd_torch,
            grad=True,
        ),
    ]
    return cases


def _median_s(
    fn: Callable[[], object], blocks: int, budget_s: float, clock: Callable[[], float]
) -> float:
    """Median over ``blocks`` timed blocks of the seconds per call (after two warm-up calls);
    each block runs enough calls to last about ``budget_s / blocks``."""
    fn()
    fn()
    start = clock()
    fn()
    once = clock() - start
    number = max(1, int(budget_s / blocks / max(once, 1e-7)))
    times = []
    for _ in range(blocks):
        start = clock()
        for _ in range(number):
            fn()
        times.append((clock() - start) / number)
    return statistics.median(times)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
"""``cpu`` (the process's CPU seconds) with ``--threads 1`` measures the work alone, unmoved by
other processes taking turns on the cores; ``wall`` is what a user waits."""


# One peer in a process of its own.


def _prepare(peer: str, threads: int) -> Callable[[Array, bool], Any]:
    """Set the peer's threads and return how it turns an array into its own operand."""
    if peer == "torch":
        import torch

        torch.set_num_threads(threads)
        return lambda a, grad: torch.from_numpy(a).requires_grad_(grad)
    if peer == "fast":
        import numba

        from mt_tensor import tensor

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
        return lambda a, grad: tensor(a, backend="fast", requires_grad=grad, dtype=a.dtype)
    return lambda a, grad: a


def worker(peer: str, args: Any) -> dict[str, float]:
    """Seconds per call of every case ``peer`` does, in this process."""
    make = _prepare(peer, args.threads)
    clock = CLOCKS[args.clock]
    seconds = {}
    for case in _cases(args.sizes):
        fn = case.fns[peer]
        if fn is None:
            continue
        operands = [make(a, case.grad) for a in case.arrays]
        seconds[case.key] = _median_s(
            lambda fn=fn, xs=operands: fn(*xs), args.blocks, args.budget, clock
        )
    return seconds


def _run_worker(peer: str, args: Any) -> dict[str, float]:
    threads = str(args.threads)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    options = ["--sizes", *map(str, args.sizes), "--blocks", str(args.blocks)]
    options += ["--budget", str(args.budget), "--threads", threads, "--clock", args.clock]
    run = subprocess.run(
        [sys.executable, __file__, "worker", peer, *options],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds: dict[str, float] = json.loads(run.stdout.splitlines()[-1])
    return seconds


def _load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _ratio(theirs: float, ours: float) -> str:
    return "" if math.isnan(theirs) else f"{theirs / ours:.2f}x"


def _ms(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.4f}"


def _target(case: Case, ms: dict[str, float]) -> str:
    if case.target is None:
        return ""
    peer, limit = case.target
    if peer == "us":
        return f"<= {limit} µs " + ("met" if ms["fast"] * 1e3 <= limit else "MISSED")
    goal = f">= {limit:.2g}x {peer}"
    if math.isnan(ms[peer]):
        return f"{goal} (no {peer} here)"
    return f"{goal} " + ("met" if ms[peer] / ms["fast"] >= limit else "MISSED")


def _print_cases(args: Any) -> None:
    peers = [p for p in PEERS if p != "torch" or importlib.util.find_spec("torch") is not None]
    runs: dict[str, list[dict[str, float]]] = {p: [] for p in peers}
    for r in range(args.procs):
        for peer in peers[r % len(peers) :] + peers[: r % len(peers)]:
            runs[peer].append(_run_worker(peer, args))
    print(f"cases measured ({args.clock} clock, {args.threads} threads), {_load()}")
    header = ("op", "size", "fast ms", "numpy ms", "torch ms", "vs numpy", "vs torch", "target")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * 5 + ["---"]) + "|")
    nan = float("nan")
    for case in _cases(args.sizes):
        ms = {
            p: statistics.median(r[case.key] for r in runs[p]) * 1e3
            if p in runs and case.key in runs[p][0]
            else nan
            for p in PEERS
        }
        cells = [
            _ms(ms["fast"]),
            _ms(ms["numpy"]),
            _ms(ms["torch"]),
            _ratio(ms["numpy"], ms["fast"]),
            _ratio(ms["torch"], ms["fast"]),
        ]
        print(f"| {case.op} | {case.size} | {' | '.join(cells)} | {_target(case, ms)} |")
    if "torch" not in runs:
        print("(torch is not installed here: no torch column)")


# Serial against parallel, on the kernels themselves.

_UNIT = np.ones(1, dtype=np.int64)


def _elementwise(op: str, n: int, rng: np.random.Generator) -> tuple[Fn, Fn]:
    """The serial and parallel kernel calls for ``op`` over ``n`` contiguous elements."""
    from mt_fast import kernels
    from mt_operators import operators

    x, y, out, shape = rng.random(n) + 0.5, rng.random(n), np.empty(n), np.array([n])
    a, b, o = (x, shape, _UNIT), (y, shape, _UNIT), (out, shape, _UNIT)
    mul, add = kernels.BINARY_CODES[operators.mul], kernels.REDUCE_CODES[operators.add]
    if op == "zip mul":
        return (
            lambda: kernels.zip_span(mul, o, a, b, 0, n),
            lambda: kernels.zip_parallel(mul, o, a, b, n, THREADS),
        )
    if op == "sum, rows of 1024":
        rows = max(1, n // 1024)
        a = (x, np.array([rows, n // rows]), np.array([n // rows, 1]))
        o = (out[:rows], np.array([rows, 1]), np.array([1, 1]))
        return (
            lambda: kernels.reduce_span(add, o, a, 1, 0, rows),
            lambda: kernels.reduce_parallel(add, o, a, 1, rows, min(rows, THREADS)),
        )
    code = kernels.UNARY_CODES[{"map exp": operators.exp, "map log": operators.log}[op]]
    return (
        lambda: kernels.map_span(code, o, a, 0, n),
        lambda: kernels.map_parallel(code, o, a, n, THREADS),
    )


def _matmuls(n: int, rng: np.random.Generator) -> tuple[Fn, Fn]:
    """Serial and parallel ``n x n @ n x n`` kernel calls."""
    from mt_fast import matmul

    a, out = rng.random(n * n), np.zeros(n * n)
    shape, strides = np.array([n, n]), np.array([n, 1])
    args = (out, shape, a, shape, strides, a, shape, strides)
    return lambda: matmul.matmul_serial(*args), lambda: matmul.matmul_parallel(*args)


def _cells(serial: float, parallel: float) -> str:
    return f"{serial:.2f} | {parallel:.2f} | {parallel / serial:.2f}"


def _print_crossover(rng: np.random.Generator, budget_s: float) -> None:
    """Serial against parallel per size; "parallel wins from": the size after the last loss."""
    print("\n| kernel | size | serial µs | parallel µs | parallel / serial |")
    print("|---|---|---:|---:|---:|")
    elementwise = ["zip mul", "map exp", "map log", "sum, rows of 1024"]
    sweeps: list[tuple[str, list[tuple[str, Callable[[], tuple[Fn, Fn]]]]]] = [
        (
            op,
            [
                (f"2^{e} elements", lambda op=op, e=e: _elementwise(op, 1 << e, rng))
                for e in range(10, 19)
            ],
        )
        for op in elementwise
    ]
    sizes = (16, 32, 48, 64, 96, 128, 192)
    sweeps.append(
        (
            "matmul",
            [(f"{n}^3 = {n**3:,} multiply-adds", lambda n=n: _matmuls(n, rng)) for n in sizes],
        )
    )
    for op, points in sweeps:
        wins_from = "never"
        for label, make in points:
            serial, parallel = (
                _median_s(f, 5, budget_s / 5, time.perf_counter) * 1e6 for f in make()
            )
            print(f"| {op} | {label} | {_cells(serial, parallel)} |")
            if parallel >= serial:
                wins_from = "never"
            elif wins_from == "never":
                wins_from = label.split(" ")[0]
        print(f"| {op} | **parallel wins from** | | | {wins_from} |")


# Start-up in a fresh process.

STARTUP = """
import time
start = time.perf_counter()
try:
    import minitorch as mt
except ImportError:
    import mt_tensor as mt, mt_fast
x = mt.tensor([[0.5, -1.0]] * 32, backend="fast")
w1 = mt.rand((2, 64), backend="fast", requires_grad=True)
w2 = mt.rand((64, 1), backend="fast", requires_grad=True)
out = ((x @ w1).relu() @ w2).sigmoid()
((out - 1.0) * (out - 1.0)).sum().backward()
assert w1.grad is not None
print(mt.__name__, time.perf_counter() - start)
"""


def _startup(cache_dir: str) -> tuple[str, float, float]:
    """Module imported, wall seconds of the whole process, seconds of import + first step."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", STARTUP], env=env, capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    module, inside = run.stdout.split()[-2:]
    return module, wall, float(inside)


def _print_startup() -> None:
    print("\n| start-up | imports | process s | import + first step s |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as cache:
        for kind in ("cold: empty numba cache", "warm: cache filled"):
            module, wall, inside = _startup(cache)
            print(f"| {kind} | {module} | {wall:.2f} | {inside:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per measurement")
    parser.add_argument("--blocks", type=int, default=5, help="timed blocks per measurement")
    parser.add_argument("--procs", type=int, default=3, help="processes per peer (median)")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads of every peer")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cases", "crossover", "startup"])
    parser.add_argument("worker", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        seconds = worker(args.worker[1], args)
        print(json.dumps(seconds))
        return

    print(f"mt-fast bench: {os.cpu_count()} cores, {args.threads} threads, {_load()}")
    if "cases" not in args.skip:
        _print_cases(args)
    if "crossover" not in args.skip or "startup" not in args.skip:
        import numba

        numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    if "crossover" not in args.skip:
        _print_crossover(np.random.default_rng(0), args.budget)
    if "startup" not in args.skip:
        _print_startup()
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
