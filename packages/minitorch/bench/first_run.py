"""Benchmark: what a first ``minitorch train`` costs, from an empty numba cache and from a full one.

Each row is the command in its own process, with ``NUMBA_CACHE_DIR`` a fresh folder (empty cache)
or the folder a previous row filled (warm): wall and CPU seconds of the command (medians of
``--repeats``), the CPU seconds of the process compiling in the background where there is one
(`minitorch.warmup`), and the load average when the row was measured (the machine is shared).
Run with ``hatch run python packages/minitorch/bench/first_run.py`` (about three minutes on two
cores; ``--digits`` adds the default digits run's first epoch, a minute more).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

XOR = ["--dataset", "xor", "--epochs", "1"]
DIGITS = ["--epochs", "1"]


def timed(argv: list[str], cache: Path, background: bool, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``minitorch train ARGV`` in a fresh process."""
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "NUMBA_CACHE_DIR": str(cache),
        "MINITORCH_BACKGROUND_COMPILE": "1" if background else "0",
    }
    cmd = [sys.executable, "-m", "minitorch", "train", *argv, "--quiet", "--force", "--out"]
    start = time.perf_counter()
    process = subprocess.Popen([*cmd, str(out)], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime


def background_seconds(cache: Path) -> float:
    """Wait for the compile a cold run left running; the CPU seconds it used (0 if none)."""
    for lock in cache.rglob("warm-*.pid"):
        pid = int(lock.read_text())
        cpu = 0.0
        while True:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                if fields[0] == "Z":
                    break
            except (OSError, IndexError):
                break
            time.sleep(0.2)
        return cpu
    return 0.0


def row(name: str, argv: list[str], cold: bool, background: bool, repeats: int) -> None:
    walls, cpus, compiles = [], [], []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        warm_cache = Path(tmp) / "warm"
        if not cold:  # fill it once, compiling in this process
            timed(argv, warm_cache, False, Path(tmp) / "fill")
        for i in range(repeats):
            cache = Path(tmp) / f"cold-{i}" if cold else warm_cache
            wall, cpu = timed(argv, cache, background, Path(tmp) / f"run-{i}")
            walls.append(wall)
            cpus.append(cpu)
            compiles.append(background_seconds(cache) if cold and background else 0.0)
    spread = f"{min(walls):.1f}-{max(walls):.1f}"
    background_cpu = f"{statistics.median(compiles):9.1f}" if cold and background else "        -"
    print(
        f"{name:<44} {statistics.median(walls):6.1f} {spread:>10} {statistics.median(cpus):6.1f}"
        f" {background_cpu} {load:5.1f}",
        flush=True,
    )


def table(repeats: int, digits: bool) -> None:
    """Print the first-run table (``digits``: with the digits rows)."""
    print(f"first run of `minitorch train` (median of {repeats}, each in its own process)")
    print(f"{'run':<44} {'wall s':>6} {'range':>10} {'CPU s':>6} {'bg CPU s':>9} {'load':>5}")
    n = repeats
    row("xor 1 epoch, empty cache (numpy, bg compile)", XOR, cold=True, background=True, repeats=n)
    row("xor 1 epoch, empty cache (compile, then run)", XOR, cold=True, background=False, repeats=1)
    row("xor 1 epoch, full cache", XOR, cold=False, background=True, repeats=n)
    if digits:
        row("digits 1 epoch, empty cache (numpy, bg)", DIGITS, True, True, repeats=1)
        row("digits 1 epoch, empty cache (compile first)", DIGITS, True, False, repeats=1)
        row("digits 1 epoch, full cache", DIGITS, cold=False, background=True, repeats=n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--digits", action="store_true", help="add the digits rows")
    args = parser.parse_args()
    table(args.repeats, args.digits)


if __name__ == "__main__":
    main()
