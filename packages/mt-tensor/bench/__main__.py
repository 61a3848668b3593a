"""Benchmark: the simple and numpy backends against numpy itself, for map/zip/sum/matmul.

Run with ``hatch run bench`` in ``packages/mt-tensor``. Prints one row per op, size and
contender: the best time per call in ms and the ratio to plain numpy. The simple backend runs
only at small sizes: it is the course's Python index loops, one element at a time.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

import numpy as np

from mt_tensor import Tensor, tensor

SIMPLE_MAX_ELEMENTS = 10_000
"""Above this many elements touched, the simple backend is skipped (seconds per call)."""


def _best_ms(fn: Callable[[], object], budget_s: float = 0.3) -> float:
    """Best time of one call in ms, repeating for about ``budget_s`` seconds."""
    once = timeit.timeit(fn, number=1)
    number = max(1, int(budget_s / 5 / max(once, 1e-7)))
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e3


def _cases() -> dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[..., object]]]:
    """Each op as ours (on tensors) and numpy's (on arrays)."""
    return {
        "map (exp)": (lambda a, b: a.exp(), lambda x, y: np.exp(x)),
        "zip (mul)": (lambda a, b: a * b, lambda x, y: x * y),
        "sum (dim 0)": (lambda a, b: a.sum(0), lambda x, y: x.sum(0, keepdims=True)),
        "matmul": (lambda a, b: a @ b, lambda x, y: x @ y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per measurement")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows = []
    for n in args.sizes:
        x, y = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        for op, (ours, theirs) in _cases().items():
            work = n**3 if op == "matmul" else n * n
            base = _best_ms(lambda f=theirs, x=x, y=y: f(x, y), args.budget)
            rows.append((op, f"{n}x{n}", "numpy (direct)", base, 1.0))
            for backend in ("numpy", "simple"):
                if backend == "simple" and work > SIMPLE_MAX_ELEMENTS:
                    continue
                a, b = tensor(x, backend=backend), tensor(y, backend=backend)
                ms = _best_ms(lambda f=ours, a=a, b=b: f(a, b), args.budget)
                rows.append((op, f"{n}x{n}", f"{backend} backend", ms, ms / base))

    header = ("op", "size", "contender", "ms", "ratio to numpy")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 3 + ["---:"] * 2) + "|")
    for op, size, who, ms, ratio in rows:
        print(f"| {op} | {size} | {who} | {ms:.4f} | {ratio:,.1f} |")


if __name__ == "__main__":
    main()
