"""Benchmark: the cuda backend against torch's CUDA (when installed) and the fast CPU backend.

Run with ``hatch run bench`` in ``packages/mt-cuda`` on a machine with an NVIDIA GPU (without
one, or in the simulator, it says so and exits). Prints matrix multiply in GFLOP/s at 256 to
4096, map and zip in GB/s, and one training epoch of a small MLP, each with the ratio to the
cuda backend. Everything is float64, as our tensors are; GPU times include a synchronize.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mt_tensor import Tensor, TensorBackend, get_backend, installed_backends


def _gpu_or_exit() -> TensorBackend:
    """The cuda backend on a real GPU, or a clear message and exit status 0 (nothing to do)."""
    try:
        backend = get_backend("cuda")
    except RuntimeError as e:
        print(f"mt-cuda bench skipped: no GPU here.\n{e}")
        raise SystemExit(0) from None
    from mt_cuda import cuda_kernels

    if cuda_kernels.SIMULATOR:
        print(
            "mt-cuda bench skipped: NUMBA_ENABLE_CUDASIM=1 runs numba's simulator, whose "
            "timings mean nothing; unset it on a machine with an NVIDIA GPU."
        )
        raise SystemExit(0)
    return backend


def _sync() -> None:
    from mt_cuda import cuda_kernels

    cuda_kernels.cuda.synchronize()


def _best_s(fn: Callable[[], object], sync: Callable[[], None], repeat: int = 5) -> float:
    """Best wall time of one call (after a warm-up call that also compiles)."""
    fn()
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _on(backend: TensorBackend, x: np.ndarray[Any, Any]) -> Tensor:
    return Tensor.make(np.ascontiguousarray(x).ravel(), x.shape, backend=backend)


def _torch() -> Any:
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch if torch.cuda.is_available() else None


def _contenders(cuda: TensorBackend) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("cuda backend", cuda)]
    if "fast" in installed_backends():
        rows.append(("fast backend (CPU)", get_backend("fast")))
    torch = _torch()
    if torch is not None:
        rows.append(("torch cuda", torch))
    return rows


def _time(name: str, who: Any, op: Callable[..., Any], arrays: list[np.ndarray[Any, Any]]) -> float:
    """Seconds per call of ``op`` on ``arrays`` moved to contender ``who`` beforehand."""
    if name == "torch cuda":
        ts = [who.from_numpy(a).cuda() for a in arrays]
        return _best_s(lambda: op(*ts), who.cuda.synchronize)
    ts = [_on(who, a) for a in arrays]
    return _best_s(lambda: op(*ts), _sync if who.cuda else lambda: None)


def _mlp_epoch(backend: Any, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], batch: int) -> None:
    """One epoch of SGD on a 2-layer MLP (relu, sigmoid, squared error), written with tensors."""
    rng = np.random.default_rng(0)
    hidden = 256
    w1 = _on(backend, rng.normal(0, 0.1, (x.shape[1], hidden))).requires_grad_()
    w2 = _on(backend, rng.normal(0, 0.1, (hidden, 1))).requires_grad_()
    for i in range(0, len(x), batch):
        xb, yb = _on(backend, x[i : i + batch]), _on(backend, y[i : i + batch])
        diff = ((xb @ w1).relu() @ w2).sigmoid() - yb
        (diff * diff).sum().backward()
        w1 = (w1 - 0.01 * w1.grad).detach().requires_grad_()
        w2 = (w2 - 0.01 * w2.grad).detach().requires_grad_()
    w2.to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096])
    parser.add_argument("--fast-max", type=int, default=1024, help="largest matmul on the CPU")
    parser.add_argument("--elements", type=int, nargs="+", default=[1 << 20, 1 << 24])
    args = parser.parse_args()

    cuda = _gpu_or_exit()
    contenders = _contenders(cuda)
    rng = np.random.default_rng(0)
    rows: list[tuple[str, str, str, str, float]] = []

    for n in args.sizes:
        a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n))
        for name, who in contenders:
            if name.startswith("fast") and n > args.fast_max:
                continue
            s = _time(name, who, lambda p, q: p @ q, [a, b])
            rows.append(("matmul", f"{n}x{n}", name, "GFLOP/s", 2 * n**3 / s / 1e9))

    for size in args.elements:
        a, b = rng.normal(size=size), rng.normal(size=size)
        for op, fn, arrays, moved in (
            ("map (exp)", lambda p: p.exp(), [a], 2),
            ("zip (mul)", lambda p, q: p * q, [a, b], 3),
        ):
            for name, who in contenders:
                s = _time(name, who, fn, arrays)
                rows.append((op, f"{size:,}", name, "GB/s", moved * 8 * size / s / 1e9))

    x = rng.normal(size=(8192, 64))
    y = (x[:, :1] > 0).astype(np.float64)
    for name, who in contenders:
        if name == "torch cuda":
            continue
        s = _best_s(lambda w=who: _mlp_epoch(w, x, y, 256), lambda: None, repeat=2)
        rows.append(("MLP epoch", "8192x64, batch 256", name, "epochs/s", 1 / s))

    cuda_value = {(r[0], r[1]): r[4] for r in rows if r[2] == "cuda backend"}
    header = ("op", "size", "contender", "unit", "value", "ratio to cuda")
    table = [
        (op, size, name, unit, f"{v:.4g}", f"{v / cuda_value[(op, size)]:.2f}")
        for op, size, name, unit, v in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *table, strict=True)]
    for line in (header, *table):
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
