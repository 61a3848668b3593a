"""Benchmark: the fast backend against numpy and torch (when installed), float64, 2 threads.

Run with ``hatch run bench`` in ``packages/mt-fast`` (or ``hatch run python packages/mt-fast/bench``
at the root, whose environment has torch and the facade). Three tables:

1. One row per case: the fastest call in ms of the fast backend (through the `Tensor`
   API), of numpy doing the same work on arrays and of torch eager on the CPU, then our speed
   relative to each (their time over ours: ``0.50x`` is half their speed) and the stage's target.
2. Serial against parallel kernels (called directly, no `Tensor` overhead) over sizes, and the
   size from which the parallel one wins: where `mt_fast.fast_ops`' thresholds come from.
3. Start-up: ``import minitorch`` (``mt_tensor`` + ``mt_fast`` where the facade is not installed)
   plus one forward+backward in a fresh process, with numba's disk cache empty, then filled.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from mt_fast import FastOps, kernels, matmul
from mt_operators import operators
from mt_tensor import tensor

THREADS = 2

Array = np.ndarray[Any, np.dtype[np.float64]]
Fn = Callable[..., Any]


class Case:
    """One row: the same work done by the fast backend, numpy and torch."""

    def __init__(
        self,
        op: str,
        size: str,
        target: str,
        arrays: list[Array],
        ours: Fn,
        numpy: Fn | None,
        torch: Fn | None = None,
        grad: bool = False,
    ) -> None:
        self.op, self.size, self.target, self.arrays = op, size, target, arrays
        self.ours, self.numpy = ours, numpy
        self.torch = torch if torch is not None else numpy
        self.grad = grad


def _mul(a: Any, b: Any) -> Any:
    return a * b


def _matmul(a: Any, b: Any) -> Any:
    return a @ b


def _sum(dim: int) -> Fn:
    """``a.sum(dim)`` (mt-tensor keeps the dim with size 1, numpy and torch drop it: same work)."""
    return lambda a: a.sum(dim)


def _mlp_step(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> None:
    """Forward and backward of ``sigmoid(relu(x @ w1 + b1) @ w2 + b2)``, squared-error loss."""
    out = ((x @ w1 + b1).relu() @ w2 + b2).sigmoid()
    ((out - 1.0) * (out - 1.0)).sum().backward()


_libm_exp = FastOps.map(math.exp)


def _cases(rng: np.random.Generator, sizes: list[int]) -> list[Case]:
    """The cases the stage's issue sets targets for."""
    x, y = rng.normal(size=(1000, 1000)), rng.normal(size=(1000, 1000))
    row, tiny = rng.normal(size=(1, 1000)), [rng.normal(size=10), rng.normal(size=10)]
    targets = {512: ">= 0.5x numpy", 1024: ">= 0.4x numpy"}
    square = [[rng.normal(size=(n, n)), rng.normal(size=(n, n))] for n in sizes]
    cases = [
        Case(
            f"matmul {dtype}",
            f"{n}x{n}",
            targets.get(n, "") if dtype == "float64" else target32,
            [m.astype(dtype) for m in ab],
            _matmul,
            _matmul,
        )
        for n, ab in zip(sizes, square, strict=True)
        for dtype, target32 in (("float64", ""), ("float32", ">= 0.6x numpy"))
    ]
    mlp = [rng.normal(size=s) for s in [(32, 2), (2, 64), (64,), (64, 1), (1,)]]
    cases += [
        Case("zip a*b", "1000x1000", ">= 1.0x numpy", [x, y], _mul, _mul),
        Case(
            "zip a*b, row broadcast", "(1000,1000)*(1,1000)", ">= 0.5x numpy", [x, row], _mul, _mul
        ),
        Case(
            "zip a*b, a permuted",
            "1000x1000",
            ">= 0.3x numpy",
            [x, y],
            lambda a, b: a.permute(1, 0) * b,
            lambda a, b: a.T * b,
        ),
        Case("map exp", "1000x1000", ">= 0.5x numpy", [x], lambda a: a.exp(), np.exp, _t_exp),
        Case("map math.exp (libm)", "1000x1000", "", [x], _libm_exp, np.exp, _t_exp),
        Case("sum over dim 1 (last)", "1000x1000", ">= 1.0x numpy", [x], _sum(1), _sum(1)),
        Case("sum over dim 0", "1000x1000", ">= 0.5x numpy", [x], _sum(0), _sum(0)),
        Case("a*b, Tensor API", "10", ">= 0.2x torch", tiny, _mul, _mul),
        Case(
            "MLP step, fwd+bwd",
            "batch 32, 2-64-1",
            ">= 0.2x torch",
            mlp,
            _mlp_step,
            None,
            _mlp_step,
            True,
        ),
    ]
    return cases


def _t_exp(a: Any) -> Any:
    return a.exp()


def _best_s(fn: Callable[[], object], budget_s: float) -> float:
    """Fastest single call in seconds, out of as many as fit in ``budget_s`` (at least 7).

    Calls are timed one by one, so one slow call (another process holding a core, which makes
    a parallel launch wait a scheduler slice) spoils only itself, not a batch.
    """
    fn()
    times: list[float] = []
    end = time.perf_counter() + budget_s
    while len(times) < 7 or (len(times) < 20_000 and time.perf_counter() < end):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _torch() -> Any:
    """torch on ``THREADS`` threads, or None when it is not installed."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.set_num_threads(THREADS)
    return torch


def _measure(case: Case, torch: Any, budget_s: float) -> tuple[float, float, float]:
    """ms per call for ours, numpy's and torch's (nan where one does not apply)."""
    nan = float("nan")
    theirs = torch_ms = nan
    if case.numpy is not None:
        numpy_fn = case.numpy
        theirs = _best_s(lambda: numpy_fn(*case.arrays), budget_s) * 1e3
    ts = [tensor(a, backend="fast", requires_grad=case.grad, dtype=a.dtype) for a in case.arrays]
    ours = _best_s(lambda: case.ours(*ts), budget_s) * 1e3
    if torch is not None and case.torch is not None:
        torch_fn = case.torch
        tt = [torch.from_numpy(a).requires_grad_(case.grad) for a in case.arrays]
        torch_ms = _best_s(lambda: torch_fn(*tt), budget_s) * 1e3
    return ours, theirs, torch_ms


def _ratio(theirs: float, ours: float) -> str:
    return "" if math.isnan(theirs) else f"{theirs / ours:.2f}x"


def _ms(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.4f}"


def _print_cases(rng: np.random.Generator, sizes: list[int], budget_s: float) -> None:
    torch = _torch()
    header = ("op", "size", "fast ms", "numpy ms", "torch ms", "vs numpy", "vs torch", "target")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * 5 + ["---"]) + "|")
    for case in _cases(rng, sizes):
        ours, theirs, torch_ms = _measure(case, torch, budget_s)
        cells = [
            _ms(ours),
            _ms(theirs),
            _ms(torch_ms),
            _ratio(theirs, ours),
            _ratio(torch_ms, ours),
        ]
        print(f"| {case.op} | {case.size} | {' | '.join(cells)} | {case.target} |")
    if torch is None:
        print("(torch is not installed here: no torch column)")


# Serial against parallel, on the kernels themselves.

_UNIT = np.ones(1, dtype=np.int64)


def _elementwise(op: str, n: int, rng: np.random.Generator) -> tuple[Fn, Fn]:
    """The serial and parallel kernel calls for ``op`` over ``n`` contiguous elements."""
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
            serial, parallel = (_best_s(f, budget_s / 5) * 1e6 for f in make())
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
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    parser.add_argument("--skip", nargs="*", default=[], choices=["cases", "crossover", "startup"])
    args = parser.parse_args()

    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads, load {os.getloadavg()}")
    if "cases" not in args.skip:
        _print_cases(rng, args.sizes, args.budget)
    if "crossover" not in args.skip:
        _print_crossover(rng, args.budget)
    if "startup" not in args.skip:
        _print_startup()


if __name__ == "__main__":
    main()
