"""Benchmark: a backend's declared fused convolution and pooling against mt-nn's composed default.

``hatch run python packages/mt-nn/bench/fused.py [backend ...]`` (default: numpy). One training
step of `LeNet` (8x8 digits, channels 8 and 16) at batch 32, forward and backward, with the
backend as declared and with its declaration emptied (``backend.fused = FusedOps()``: what a
backend without kernels runs). Both run in one process, in alternating blocks of 20 steps, so a
busy machine slows both alike; the table gives the median over 15 blocks of the wall and CPU
milliseconds per step. The cuda backend's numbers mean nothing in numba's simulator.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import mt_nn
from mt_tensor import get_backend, tensor
from mt_tensor.tensor_ops import FusedOps

BATCH, BLOCK, BLOCKS = 32, 20, 15


def measure(name: str) -> dict[str, tuple[float, float]]:
    """``{"declared" | "composed": (wall ms, CPU ms)}`` per LeNet step on backend ``name``."""
    backend = get_backend(name)
    modes = {"declared": backend.fused, "composed": FusedOps()}
    mt_nn.manual_seed(0)
    model = mt_nn.LeNet(backend=name)
    x = tensor(np.random.default_rng(0).normal(size=(BATCH, 1, 8, 8)), backend=name)

    def step() -> None:
        model(x).sum().backward()
        for p in model.parameters():
            p.value.grad = None

    times: dict[str, tuple[list[float], list[float]]] = {mode: ([], []) for mode in modes}
    try:
        for fused in modes.values():  # warm up (and compile) both paths
            backend.fused = fused
            step()
        for _ in range(BLOCKS):
            for mode, fused in modes.items():
                backend.fused = fused
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(BLOCK):
                    step()
                times[mode][0].append((time.perf_counter() - wall) / BLOCK * 1e3)
                times[mode][1].append((time.process_time() - cpu) / BLOCK * 1e3)
    finally:
        backend.fused = modes["declared"]
    return {m: (statistics.median(w), statistics.median(c)) for m, (w, c) in times.items()}


def main(names: list[str]) -> None:
    print("| backend | kernels | wall ms / step | CPU ms / step | CPU ratio |")
    print("|---|---|---:|---:|---:|")
    for name in names:
        found = measure(name)
        base = found["composed"][1]
        for mode, (wall, cpu) in found.items():
            print(f"| {name} | {mode} | {wall:.2f} | {cpu:.2f} | {cpu / base:.2f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["numpy"])
