"""Module 3 page: the backends side by side, timing map, zip and matmul at a chosen size."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from mt_tensor import Tensor, get_backend, installed_backends, rand

OPS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "map (relu)": lambda a, b: a.relu(),
    "zip (a + b)": lambda a, b: a + b,
    "reduce (sum)": lambda a, b: a.sum(1),
    "matmul (a @ b)": lambda a, b: a @ b,
}


SIMULATED = (
    "`cuda` runs in numba's CUDA simulator here (NUMBA_ENABLE_CUDASIM=1), one Python call per "
    "GPU thread: it can be chosen, but it is very slow and its times say nothing about a GPU."
)


def usable_backends() -> dict[str, str]:
    """Each installed backend: ``""`` if it can run here, else why not."""
    found = {}
    for name in installed_backends():
        try:
            get_backend(name)
            found[name] = ""
        except Exception as e:
            found[name] = str(e)
    return found


def simulated(name: str) -> bool:
    """True for ``cuda`` when numba runs its kernels in the CUDA simulator, not on a GPU."""
    if name != "cuda":
        return False
    from mt_cuda import cuda_kernels

    return cuda_kernels.SIMULATOR


@st.cache_data(show_spinner="timing the backends…")
def timings(
    backends: tuple[str, ...], ops: tuple[str, ...], n: int, repeats: int
) -> dict[str, dict[str, float]]:
    """Best of ``repeats`` milliseconds per (op, backend), after one warm-up call each."""
    result: dict[str, dict[str, float]] = {}
    for backend in backends:
        a, b = rand((n, n), backend=backend), rand((n, n), backend=backend)
        result[backend] = {}
        for op in ops:
            OPS[op](a, b)
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                OPS[op](a, b).to_numpy()
                best = min(best, time.perf_counter() - start)
            result[backend][op] = best * 1000.0
    return result


def backends_page() -> None:
    """Time each op on each usable backend and chart the milliseconds."""
    st.header("Backends compared")
    st.write(
        "The same tensor code on each backend: `simple` (readable index loops), `numpy` "
        "(vectorised), `fast` (numba, parallel) and `cuda` (GPU) where available. "
        "Times are the best of a few runs after a warm-up, on n×n inputs."
    )
    found = usable_backends()
    for name, why in found.items():
        if why:
            st.caption(f"`{name}` is not usable here: {why}")
    usable = [name for name, why in found.items() if not why]
    if any(simulated(name) for name in usable):
        st.caption(SIMULATED)
    c1, c2, c3 = st.columns([2, 2, 1])
    default = [name for name in usable if not simulated(name)]
    chosen = c1.multiselect("backends", usable, default=default)
    ops = c2.multiselect("operations", list(OPS), default=list(OPS))
    n = c3.select_slider("n", [8, 16, 32, 64, 128, 256], value=32)
    if "simple" in chosen and n > 64:
        st.warning("`simple` loops in Python: at n > 64 its matmul takes a while.")
    if not chosen or not ops:
        st.info("Pick at least one backend and one operation.")
        return
    ms = timings(tuple(chosen), tuple(ops), int(n), 3)
    st.bar_chart(
        {"operation": ops, **{backend: [ms[backend][op] for op in ops] for backend in chosen}},
        x="operation",
        y_label="milliseconds",
        stack=False,
    )
    st.table({"operation": ops, **{b: [f"{ms[b][op]:.3f} ms" for op in ops] for b in chosen}})
