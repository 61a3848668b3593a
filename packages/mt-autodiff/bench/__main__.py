"""Deep-chain backpropagation timing: ``hatch run bench`` (``python -m bench [sizes...]``).

Builds ``x -> y1 -> ... -> yn`` alternating ``* 1.0001`` and ``+ 0.5``, then times the forward
build and ``backward()``; best of three runs per size.
"""

from __future__ import annotations

import platform
import sys
import time

from mt_autodiff import Scalar


def chain(n: int) -> tuple[float, float]:
    """Seconds to build a chain of ``n`` operations and to backpropagate through it."""
    x = Scalar(0.3)
    start = time.perf_counter()
    y = x
    for i in range(n):
        y = y * 1.0001 if i % 2 else y + 0.5
    built = time.perf_counter()
    y.backward()
    done = time.perf_counter()
    assert x.derivative is not None
    return built - start, done - built


def main(sizes: list[int]) -> None:
    print(f"Python {platform.python_version()} on {platform.machine()}, best of 3")
    print(f"{'nodes':>8} | {'forward s':>9} | {'backward s':>10} | {'backward us/node':>16}")
    print(f"{'-' * 8}-+-{'-' * 9}-+-{'-' * 10}-+-{'-' * 16}")
    for n in sizes:
        runs = [chain(n) for _ in range(3)]
        forward = min(f for f, _ in runs)
        backward = min(b for _, b in runs)
        nodes = n + 1
        per_node = backward / nodes * 1e6
        print(f"{nodes:>8} | {forward:>9.3f} | {backward:>10.3f} | {per_node:>16.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
