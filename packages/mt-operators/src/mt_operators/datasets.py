"""The course's 2-D toy datasets: points in the unit square with a 0/1 label.

Each generator takes ``(N, seed=0)`` and returns the same `Graph` for the same arguments.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Graph",
    "Point",
    "circle",
    "datasets",
    "diag",
    "make_pts",
    "simple",
    "spiral",
    "split",
    "xor",
]

Point = tuple[float, float]


@dataclass(frozen=True)
class Graph:
    """``N`` points ``X`` with labels ``y`` (0 or 1)."""

    N: int
    X: list[Point]
    y: list[int]


def make_pts(N: int, seed: int = 0) -> list[Point]:
    """``N`` uniform points in the unit square."""
    if N < 0:
        raise ValueError(f"number of points must be >= 0, got N={N}")
    rng = random.Random(seed)
    return [(rng.random(), rng.random()) for _ in range(N)]


def _labelled(N: int, seed: int, label: Callable[[float, float], bool]) -> Graph:
    X = make_pts(N, seed)
    return Graph(N, X, [int(label(x1, x2)) for x1, x2 in X])


def simple(N: int, seed: int = 0) -> Graph:
    """Label 1 left of the vertical line $x_1 = 0.5$."""
    return _labelled(N, seed, lambda x1, x2: x1 < 0.5)


def diag(N: int, seed: int = 0) -> Graph:
    """Label 1 below the diagonal $x_1 + x_2 = 0.5$."""
    return _labelled(N, seed, lambda x1, x2: x1 + x2 < 0.5)


def split(N: int, seed: int = 0) -> Graph:
    """Label 1 in the two outer vertical bands."""
    return _labelled(N, seed, lambda x1, x2: x1 < 0.2 or x1 > 0.8)


def xor(N: int, seed: int = 0) -> Graph:
    """Label 1 in the top-left and bottom-right quadrants."""
    return _labelled(N, seed, lambda x1, x2: (x1 < 0.5) != (x2 < 0.5))


def circle(N: int, seed: int = 0) -> Graph:
    """Label 1 outside a circle of radius $\\sqrt{0.1}$ around the centre."""
    return _labelled(N, seed, lambda x1, x2: (x1 - 0.5) ** 2 + (x2 - 0.5) ** 2 > 0.1)


def spiral(N: int, seed: int = 0) -> Graph:
    """Two interleaved spirals of ``N // 2`` points each, $t \\in (0, 10]$ so all lie in the square.

    Deterministic: ``seed`` is accepted for a uniform signature and unused.
    """
    if N < 0:
        raise ValueError(f"number of points must be >= 0, got N={N}")
    half = N // 2

    def arm(t: float) -> Point:
        return (t * math.cos(t) / 20.0, t * math.sin(t) / 20.0)

    ts = [10.0 * (i + 5) / (half + 5) for i in range(half)]
    X: list[Point] = []
    for t in ts:
        px, py = arm(t)
        X.append((px + 0.5, py + 0.5))
    for t in ts:
        px, py = arm(-t)
        X.append((py + 0.5, px + 0.5))
    return Graph(2 * half, X, [0] * half + [1] * half)


datasets: dict[str, Callable[..., Graph]] = {
    "Simple": simple,
    "Diag": diag,
    "Split": split,
    "Xor": xor,
    "Circle": circle,
    "Spiral": spiral,
}
