"""Module 2 pages: a tensor's storage, shape and strides; permute and view; broadcasting."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from mt_tensor import Tensor, TensorData, broadcast_index, shape_broadcast, tensor

MAX_ROWS = 64


MAX_DIMS = 8
MAX_ELEMENTS = 100_000
"""The largest shapes the tensor pages build (each element is drawn or tabulated)."""


def parse_shape(text: str) -> tuple[int, ...]:
    """``"2, 3,4"`` → ``(2, 3, 4)``; `ValueError` naming the text otherwise."""
    parts = [p.strip() for p in text.replace("(", "").replace(")", "").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"a shape is integers separated by commas, not {text!r}") from None
    if any(d < 1 for d in shape):
        raise ValueError(f"every size must be at least 1, got {shape}")
    if len(shape) > MAX_DIMS or math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(
            f"the pages draw at most {MAX_DIMS} dimensions and {MAX_ELEMENTS:,} elements, "
            f"got {shape}"
        )
    return shape


def layout(data: TensorData) -> dict[str, list[object]]:
    """Each element's index, its position in storage and its value (as table columns)."""
    rows: dict[str, list[object]] = {"index": [], "position": [], "value": []}
    for i, index in enumerate(data.indices()):
        if i == MAX_ROWS:
            break
        rows["index"].append(str(tuple(index)))
        rows["position"].append(data.index(index))
        rows["value"].append(data.get(index))
    return rows


def show(title: str, t: Tensor) -> None:
    """One tensor's storage, shape, strides and elements, in a column."""
    data = t._tensor
    st.subheader(title)
    storage = t.tuple()[0].tolist()
    shown = ", ".join(f"{v:g}" for v in storage[:MAX_ROWS])
    more = f", … ({len(storage)} in all)" if len(storage) > MAX_ROWS else ""
    st.code(
        f"shape   {t.shape}\nstrides {data.strides}\ncontiguous {data.is_contiguous()}\n"
        f"storage [{shown}{more}]",
        language="text",
        wrap_lines=True,
    )
    st.dataframe(layout(data), hide_index=True, height=260)


def tensor_page() -> None:
    """Show a tensor's layout and what permute and view do to it."""
    st.header("Tensors: storage, shape and strides")
    st.write(
        "A tensor is a flat **storage** plus a **shape** and **strides**: element `index` sits "
        "at position Σ index[i]·strides[i]. `permute` reorders shape and strides and shares "
        "the storage; `view` needs contiguous data and only changes the shape."
    )
    c1, c2, c3 = st.columns(3)
    shape_text = c1.text_input("shape", "2, 3, 4")
    order_text = c2.text_input("permute order", "2, 0, 1")
    view_text = c3.text_input("view as", "6, 4")
    try:
        shape = parse_shape(shape_text)
        size = int(np.prod(shape))
        t = tensor(np.arange(size, dtype=np.float64).reshape(shape).tolist(), backend="numpy")
    except ValueError as e:
        st.error(str(e))
        return
    left, middle, right = st.columns(3)
    with left:
        show(f"x  {shape}", t)
    with middle:
        try:
            order = tuple(int(p) for p in order_text.split(",") if p.strip())
            show(f"x.permute{order}", t.permute(*order))
        except Exception as e:
            st.error(f"permute{order_text}: {e}")
    with right:
        try:
            new_shape = parse_shape(view_text)
            show(f"x.view{new_shape}", t.view(*new_shape))
        except Exception as e:
            st.error(f"view({view_text}): {e}")


def broadcast_page() -> None:
    """Explain how two shapes broadcast, dimension by dimension."""
    st.header("Broadcasting")
    st.write(
        "Shapes are aligned on the right; missing dimensions count as 1. Each pair of sizes "
        "must be equal or contain a 1, which is stretched to the other size."
    )
    c1, c2 = st.columns(2)
    a_text = c1.text_input("shape of a", "4, 1, 3")
    b_text = c2.text_input("shape of b", "5, 1")
    try:
        a, b = parse_shape(a_text), parse_shape(b_text)
    except ValueError as e:
        st.error(str(e))
        return
    n = max(len(a), len(b))
    pa, pb = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    try:
        out = shape_broadcast(a, b)
    except Exception as e:
        out = None
        st.error(f"{a} and {b} cannot broadcast: {e}")
    rule = []
    for da, db in zip(pa, pb, strict=True):
        if da == db:
            rule.append("equal")
        elif da == 1 or db == 1:
            rule.append(f"1 stretched to {max(da, db)}")
        else:
            rule.append("mismatch")
    st.table(
        {
            "dim": [str(i) for i in range(n)],
            "a (padded)": [str(d) for d in pa],
            "b (padded)": [str(d) for d in pb],
            "result": [str(d) for d in out] if out else ["-"] * n,
            "rule": rule,
        }
    )
    if out is None:
        return
    st.success(f"a {a} op b {b} → {out}")
    st.write("Which element of each input every output element reads (`broadcast_index`):")
    rows: dict[str, list[str]] = {"out index": [], "a index": [], "b index": []}
    for i, index in enumerate(np.ndindex(*out)):
        if i == MAX_ROWS:
            break
        big = np.array(index, dtype=np.int64)
        ia, ib = np.zeros(len(a), dtype=np.int64), np.zeros(len(b), dtype=np.int64)
        broadcast_index(big, np.array(out, dtype=np.int64), np.array(a, dtype=np.int64), ia)
        broadcast_index(big, np.array(out, dtype=np.int64), np.array(b, dtype=np.int64), ib)
        rows["out index"].append(str(index))
        rows["a index"].append(str(tuple(int(v) for v in ia)))
        rows["b index"].append(str(tuple(int(v) for v in ib)))
    st.dataframe(rows, hide_index=True, height=260)
