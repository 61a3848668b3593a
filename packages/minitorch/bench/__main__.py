"""Benchmark: the test accuracy ``minitorch train``'s defaults reach on every 2-D dataset.

Each row is ``minitorch train --dataset NAME --seed S`` with nothing else given (the default
backend, fast, and the dataset's default settings), for seeds 0-4; the target is at least 0.95
on every one. Run with ``hatch run python packages/minitorch/bench`` from the root (about four
minutes on two cores once numba's kernels are cached); ``--backend``, ``--seeds`` and
``--datasets`` change the sweep (``--datasets digits`` for the digits CNN), and any further
options after ``--`` (``-- --lr 0.02``) are passed to every run. First it prints what a first run
costs (`first_run.py`: the xor run from an empty numba cache and from a full one, each in its own
process; ``--skip-first-run`` leaves it out).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import first_run  # this folder's first-run benchmark (the script's folder is on sys.path)

from minitorch.cli import build_parser
from minitorch.runs import TrainConfig, run
from minitorch.settings import DATASETS, DIGITS

TARGET = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="fast")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="*", default=[d for d in DATASETS if d != DIGITS])
    parser.add_argument("--skip-first-run", action="store_true", help="no first-run table")
    parser.add_argument("extra", nargs="*", help="options passed to every run (after --)")
    args = parser.parse_args()
    if not args.skip_first_run:
        first_run.table(repeats=3, digits=False)
        print()
    print(
        f"{'dataset':<8} " + " ".join(f"seed {s:<2}" for s in range(args.seeds)) + "   min   s/run"
    )
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in args.datasets:
            accs, start = [], time.perf_counter()
            for seed in range(args.seeds):
                argv = ["train", "--dataset", dataset, "--seed", str(seed)]
                argv += ["--backend", args.backend, *args.extra]
                argv += ["--out", str(Path(tmp) / f"{dataset}-{seed}")]
                config = TrainConfig.from_args(build_parser().parse_args(argv))
                accs.append(run(config, progress=False).summary["test_acc"])
            failures += sum(a < TARGET for a in accs)
            per_run = (time.perf_counter() - start) / args.seeds
            cells = " ".join(f"{a:<7.3f}" for a in accs)
            print(f"{dataset:<8} {cells}  {min(accs):.3f}  {per_run:5.1f}", flush=True)
    print(f"runs below {TARGET}: {failures}")


if __name__ == "__main__":
    main()
