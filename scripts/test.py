"""The workspace's test command (`hatch run test`): the stages' tests and the workspace's tests as
two pytest processes side by side, one per core, sharing numba's disk cache.

Each process compiles the kernels it meets first and loads from the cache what the other already
compiled, so on two cores the suite takes about the longer half's time instead of the sum. With
a path among the arguments (``hatch run test tests/test_x.py -x``) it runs one pytest on them.
The packages' output streams as it runs; the workspace's follows when the stages' ends.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HALVES = (["packages"], ["tests"])
"""The stages' tests and the workspace's."""
NOTHING = 5
"""pytest's exit status when it collected no test (a ``-k`` that matches in one half only)."""


def names_a_path(args: list[str]) -> bool:
    """Whether an argument names a test file or folder (then the caller chose what to run)."""
    return any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args)


def main(args: list[str]) -> int:
    """Run pytest with ``args`` over both halves at once; the worse exit status of the two (a
    half that collected nothing counts only when both did)."""
    pytest = [sys.executable, "-m", "pytest"]
    if names_a_path(args):
        return subprocess.call([*pytest, *args], cwd=ROOT)
    with tempfile.TemporaryFile("w+") as later:
        second = subprocess.Popen(
            [*pytest, *HALVES[1], *args], cwd=ROOT, stdout=later, stderr=subprocess.STDOUT
        )
        try:
            first = subprocess.call([*pytest, *HALVES[0], *args], cwd=ROOT)
            second.wait()
        finally:
            if second.poll() is None:  # interrupted: stop the other half too
                second.terminate()
        later.seek(0)
        print(f"\n===== {' '.join(HALVES[1])} (ran alongside) =====", flush=True)
        sys.stdout.write(later.read())
    codes = (first, second.returncode)
    print(f"\npytest exit status: {HALVES[0][0]} {codes[0]}, {HALVES[1][0]} {codes[1]}")
    if codes == (NOTHING, NOTHING):
        return NOTHING
    return max((0 if c == NOTHING else c for c in codes), key=abs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
