"""Benchmark: what numba's parallel layer costs other libraries in the same process.

``python packages/mt-fast/bench/threads.py`` runs one fresh process per setting (numba's
threading layers that load here, OpenMP with its default and its PASSIVE wait policy) and in
each times numpy's matmul (OpenBLAS), a torch matmul and a torch MLP step, first before any
numba parallel kernel ran, then right after one (its threads now started and possibly
spinning), and the fast backend's own 1M-element multiply. Each cell is the median of
``--repeat`` calls, in ms; the load average is printed with each row.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

THREADS = 2
SETTINGS = {
    "omp, OMP_WAIT_POLICY=PASSIVE (mt_fast's default)": {"NUMBA_THREADING_LAYER": "omp"},
    "omp, OMP_WAIT_POLICY=ACTIVE": {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "ACTIVE"},
    "omp, PASSIVE + GOMP_SPINCOUNT=20000": {
        "NUMBA_THREADING_LAYER": "omp",
        "GOMP_SPINCOUNT": "20000",
    },
    "omp, PASSIVE + GOMP_SPINCOUNT=200000": {
        "NUMBA_THREADING_LAYER": "omp",
        "GOMP_SPINCOUNT": "200000",
    },
    "workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
    # pip's ``tbb`` wheel puts libtbb.so in the environment's lib/, off the loader's path.
    "tbb": {
        "NUMBA_THREADING_LAYER": "tbb",
        "LD_LIBRARY_PATH": os.pathsep.join(
            [f"{sys.prefix}/lib", os.environ.get("LD_LIBRARY_PATH", "")]
        ),
    },
}


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def measure(repeat: int) -> dict[str, float]:
    """ms of the peers' work before and after a numba parallel kernel ran in this process."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(512, 512)), rng.normal(size=(512, 512))
    peers: dict[str, Callable[[], object]] = {"numpy matmul 512": lambda: a @ b}
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(THREADS)
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        x = torch.from_numpy(rng.normal(size=(32, 2)))
        w = [torch.from_numpy(rng.normal(size=s)).requires_grad_() for s in [(2, 64), (64, 1)]]

        def step() -> None:
            out = ((x @ w[0]).relu() @ w[1]).sigmoid()
            ((out - 1.0) * (out - 1.0)).sum().backward()

        peers["torch matmul 512"] = lambda: ta @ tb
        peers["torch MLP step"] = step
    out = {f"{k}, before": _median_ms(fn, repeat) for k, fn in peers.items()}

    import numba

    from mt_tensor import tensor

    numba.set_num_threads(THREADS)
    big = tensor(rng.normal(size=(1000, 1000)), backend="fast")
    out["fast a*b 1M (parallel)"] = _median_ms(lambda: big * big, repeat)
    out["layer"] = numba.threading_layer()  # type: ignore[assignment]
    for k, fn in peers.items():
        out[f"{k}, after"] = _median_ms(fn, repeat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.repeat)))
        return
    rows: list[tuple[str, dict[str, Any], str]] = []
    for name, env in SETTINGS.items():
        full = {**os.environ, "OPENBLAS_NUM_THREADS": str(THREADS), **env}
        run = subprocess.run(
            [sys.executable, __file__, "--measure", "--repeat", str(args.repeat)],
            env=full,
            capture_output=True,
            text=True,
        )
        load = f"{os.getloadavg()[0]:.2f}"
        if run.returncode != 0:
            print(f"{name}: not available here ({run.stderr.strip().splitlines()[-1]})")
            continue
        rows.append((name, json.loads(run.stdout.splitlines()[-1]), load))
    if not rows:
        return
    keys = [k for k in rows[0][1] if k != "layer"]
    print("| setting | layer | " + " | ".join(keys) + " | load |")
    print("|---|---|" + "---:|" * len(keys) + "---:|")
    for name, ms, load in rows:
        cells = " | ".join(f"{ms[k]:.3f}" for k in keys)
        print(f"| {name} | {ms['layer']} | {cells} | {load} |")


if __name__ == "__main__":
    main()
