"""Module 3 page: the backends side by side, timing map, zip and matmul at a chosen size."""

from __future__ import annotations

import os
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
    """True for a backend that declares a GPU device while numba runs its kernels in the CUDA
    simulator (``NUMBA_ENABLE_CUDASIM=1``), not on a GPU."""
    try:
        on_gpu = get_backend(name).device == "cuda"
    except Exception:
        return False
    return on_gpu and os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


@st.cache_data(show_spinner="timing the backends…")
def timings(
    backends: tuple[str, ...], ops: tuple[str, ...], n: int, budget: float = 0.1
) -> dict[str, dict[str, float]]:
    """Best milliseconds per (op, backend) over at least 3 runs and ``budget`` seconds.

    Runs continue for ``budget`` seconds because a backend's first calls can be slow for a
    while, not only once (numba's threads start when a new thread first runs a kernel)."""
    result: dict[str, dict[str, float]] = {}
    for backend in backends:
        a, b = rand((n, n), backend=backend), rand((n, n), backend=backend)
        result[backend] = {}
        for op in ops:
            OPS[op](a, b).to_numpy()
            best, runs, until = float("inf"), 0, time.perf_counter() + budget
            while runs < 3 or (time.perf_counter() < until and runs < 1000):
                start = time.perf_counter()
                OPS[op](a, b).to_numpy()
                best = min(best, time.perf_counter() - start)
                runs += 1
            result[backend][op] = best * 1000.0
    return result


def chart_data(
    ms: dict[str, dict[str, float]], ops: list[str], backends: list[str]
) -> dict[str, list[object]]:
    """One row per (operation, backend) with its milliseconds, as columns."""
    rows = [(op, b, ms[b][op]) for op in ops for b in backends]
    return {
        "operation": [op for op, _, _ in rows],
        "backend": [b for _, b, _ in rows],
        "ms": [t for _, _, t in rows],
    }


def chart_spec(ops: list[str], backends: list[str]) -> dict[str, object]:
    """Grouped bars, one group per operation, on a log scale: the backends differ by 1000x."""
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "operation", "type": "nominal", "sort": ops, "axis": {"labelAngle": 0}},
            "xOffset": {"field": "backend", "sort": backends},
            "y": {
                "field": "ms",
                "type": "quantitative",
                "scale": {"type": "log"},
                "stack": None,  # stacked bars would start at 0, which a log scale cannot show
                "title": "milliseconds (log scale)",
            },
            "color": {"field": "backend", "type": "nominal", "sort": backends},
        },
        "height": 320,
    }


def backends_page() -> None:
    """Time each op on each usable backend and chart the milliseconds."""
    st.header("Backends compared")
    st.write(
        "The same tensor code on each backend: `simple` (readable index loops), `numpy` "
        "(vectorised), `fast` (numba, parallel) and `cuda` (GPU) where available. "
        "Times are the best of many runs (at least 3, for 0.1 s) after a warm-up."
    )
    found = usable_backends()
    for name, why in found.items():
        if why:
            st.caption(f"`{name}` is not usable here: {why}")
    usable = [name for name, why in found.items() if not why]
    if any(simulated(name) for name in usable):
        st.caption(SIMULATED)
    c1, c2 = st.columns([2, 3])
    default = [name for name in usable if not simulated(name)]
    chosen = c1.multiselect("backends", usable, default=default)
    ops = c2.multiselect("operations", list(OPS), default=list(OPS))
    n = st.select_slider("n (inputs are n×n)", [8, 16, 32, 64, 128, 256], value=32)
    if "simple" in chosen and n > 64:
        st.warning("`simple` loops in Python: at n > 64 its matmul takes a while.")
    if not chosen or not ops:
        st.info("Pick at least one backend and one operation.")
        return
    ms = timings(tuple(chosen), tuple(ops), int(n))
    st.vega_lite_chart(chart_data(ms, ops, chosen), chart_spec(ops, chosen))
    st.table({"operation": ops, **{b: [f"{ms[b][op]:.3f} ms" for op in ops] for b in chosen}})
