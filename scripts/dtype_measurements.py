"""Issue 17's closing measurements, float32 against float64 (run: ``hatch run python
scripts/dtype_measurements.py [memory|compile|digits|torch]``, all four by default).

- memory: a 1000x1000 tensor's storage bytes, and what creating it adds to tracemalloc's count
  and to the process's resident memory.
- compile: the first MLP training step (face, fast backend) in a fresh process with an empty
  numba cache, per dtype, then the same step again in a process that finds the cache.
- digits: ``minitorch train``'s digits CNN run (same seed, default settings) with mt-tensor's
  default dtype float32, then float64: test accuracy.
- torch: the face's MLP step (examples/torch/mlp_classifier.py's model) from torch's initial
  weights, in float32 and float64, against torch float32: the largest difference in the loss and
  the gradients over `STEPS` SGD steps; then one float32 expression's value.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

STEP = """
import sys, time
start = time.perf_counter()
import minitorch.torch as torch
torch.set_default_dtype(getattr(torch, sys.argv[1]))
imported = time.perf_counter()
model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
loss = torch.nn.functional.cross_entropy(model(x), y)
loss.backward()
optimizer.step()
assert model[0].weight.dtype == getattr(torch, sys.argv[1])
print(f"{time.perf_counter() - imported:.1f} {imported - start:.1f}")
"""


STEPS = 200


def rss_kib() -> int:
    """This process's resident memory (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def memory() -> None:
    from mt_tensor import tensor

    tensor(np.zeros(4), dtype="float32")  # imports the backends before anything is counted
    for dtype in ("float32", "float64"):
        values = np.random.default_rng(0).random((1000, 1000))
        before_rss = rss_kib()
        tracemalloc.start()
        t = tensor(values, dtype=dtype)
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        nbytes, rss = t._tensor._storage.nbytes, (rss_kib() - before_rss) / 1e3
        print(
            f"memory {dtype}: storage {nbytes / 1e6:.1f} MB, tracemalloc held {held / 1e6:.1f} MB "
            f"(peak {peak / 1e6:.1f} MB while converting), RSS +{rss:.1f} MB"
        )
        del t


def compile_times() -> None:
    for dtype in ("float32", "float64"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            runs = [
                subprocess.run(
                    [sys.executable, "-c", STEP, dtype],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                for _ in range(2)
            ]
        (cold, imp), (warm, _) = runs
        print(
            f"compile {dtype}: first MLP step {cold} s with an empty numba cache, "
            f"{warm} s with it filled (import {imp} s)"
        )


def digits() -> None:
    from minitorch.runs import run
    from minitorch.settings import TrainConfig
    from mt_tensor import dtypes

    for dtype in ("float32", "float64"):
        dtypes.set_default_dtype(dtype)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            result = run(TrainConfig(backend="fast", seed=0, out=Path(out)), progress=False)
        accuracy = result.history["test_acc"][-1]
        print(
            f"digits {dtype}: test accuracy {accuracy:.4f} "
            f"after {len(result.history['test_acc'])} epochs ({time.perf_counter() - start:.0f} s)"
        )
    dtypes.set_default_dtype("float64")


def against_torch() -> None:
    import torch

    import minitorch.torch as mtorch

    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    )
    state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 64)), rng.integers(0, 10, 64)

    def train(T: Any, dtype: Any) -> tuple[list[float], np.ndarray]:
        model = T.nn.Sequential(T.nn.Linear(64, 32), T.nn.ReLU(), T.nn.Linear(32, 10))
        model.load_state_dict({k: T.tensor(v, dtype=dtype) for k, v in state.items()})
        optimizer = T.optim.SGD(model.parameters(), lr=0.5)
        inputs, targets = T.tensor(x, dtype=dtype), T.tensor(y)
        losses = []
        for _ in range(STEPS):
            optimizer.zero_grad()
            loss = T.nn.functional.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses, np.asarray(model[0].weight.grad.numpy(), dtype=np.float64)

    theirs, their_grad = train(torch, torch.float32)
    for name in ("float32", "float64"):
        losses, grad = train(mtorch, getattr(mtorch, name))
        loss_gap = max(abs(a - b) for a, b in zip(losses, theirs, strict=True))
        grad_gap = np.abs(grad - their_grad).max()
        print(
            f"torch float32 vs face {name}: {STEPS} SGD steps, largest loss difference "
            f"{loss_gap:.2e}, last gradient's largest difference {grad_gap:.2e}"
        )
    values = [0.1, 1.7, -2.3]
    expected = ((torch.tensor(values) * 3.1 + 0.2).exp() / 7.0).sum().item()
    for name in ("float32", "float64"):
        t = mtorch.tensor(values, dtype=getattr(mtorch, name))
        got = ((t * 3.1 + 0.2).exp() / 7.0).sum().item()
        print(f"sum(exp(x * 3.1 + 0.2) / 7): torch float32 {expected!r}, face {name} {got!r}")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["memory", "compile", "digits", "torch"]
    steps = {"memory": memory, "compile": compile_times, "digits": digits, "torch": against_torch}
    for name in chosen:
        steps[name]()
