"""Module 0 pages: the operators and their derivatives, the datasets, a hand-tuned classifier."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from matplotlib.figure import Figure

from minitorch import plots
from mt_autodiff import Scalar
from mt_operators import datasets, operators

UNARY: dict[str, tuple[Callable[[Scalar], Scalar], float, float]] = {
    "sigmoid": (lambda x: x.sigmoid(), -6.0, 6.0),
    "relu": (lambda x: x.relu(), -4.0, 4.0),
    "exp": (lambda x: x.exp(), -3.0, 2.0),
    "log": (lambda x: x.log(), 0.05, 4.0),
    "inv": (lambda x: 1.0 / x, 0.2, 4.0),
    "neg": (lambda x: -x, -4.0, 4.0),
    "square": (lambda x: x * x, -3.0, 3.0),
}
"""Each op as applied to a `Scalar`, with the interval it is drawn over."""


def value(name: str) -> Callable[[float], float]:
    """The op on floats (NaN, so not drawn, outside its interval)."""
    fn, lo, hi = UNARY[name]
    return lambda v: fn(Scalar(v)).data if lo <= v <= hi else float("nan")


def derivative(name: str) -> Callable[[float], float]:
    """The op's derivative, found by backpropagation through a `Scalar`."""
    fn, lo, hi = UNARY[name]

    def d(v: float) -> float:
        if not lo <= v <= hi:
            return float("nan")
        x = Scalar(v)
        fn(x).backward()
        return x.derivative or 0.0

    return d


def operators_page() -> None:
    """Plot chosen operators and the derivatives backward() finds for them."""
    st.header("Operators and their derivatives")
    st.write(
        "Stage 0's operators on floats (left) and their derivatives (right), found by calling "
        "`backward()` on a `Scalar` at every point, as stage 1 does."
    )
    chosen = st.multiselect("operators", list(UNARY), default=["sigmoid", "relu", "exp"])
    if not chosen:
        st.info("Pick at least one operator.")
        return
    values, derivatives = operator_pictures(tuple(chosen))
    left, right = st.columns(2)
    with left:
        st.subheader("f(x)")
        st.image(values)
    with right:
        st.subheader("f′(x)")
        st.image(derivatives)


@st.cache_data(show_spinner=False)
def operator_pictures(chosen: tuple[str, ...]) -> tuple[bytes, bytes]:
    """PNGs of the chosen ops and of their derivatives."""
    values, derivatives = operator_figures(chosen)
    return plots.png(values), plots.png(derivatives)


def operator_figures(chosen: tuple[str, ...]) -> tuple[Figure, Figure]:
    """The chosen ops, and their derivatives, over the union of their intervals."""
    lo = min(UNARY[name][1] for name in chosen)
    hi = max(UNARY[name][2] for name in chosen)
    return (
        plots.function({n: value(n) for n in chosen}, lo, hi, ylabel="f(x)"),
        plots.function({n: derivative(n) for n in chosen}, lo, hi, ylabel="f′(x) by backward()"),
    )


def datasets_page() -> None:
    """The six 2-D datasets side by side."""
    st.header("Datasets")
    st.write("Stage 0's toy datasets: points in the unit square with a 0/1 label.")
    c1, c2 = st.columns(2)
    n = c1.slider("points", 10, 300, 100, step=10)
    seed = c2.number_input("seed", 0, 10_000, 0)
    columns = st.columns(3)
    for i, name in enumerate(datasets):
        columns[i % 3].image(dataset_picture(name, n, int(seed)))


@st.cache_data(show_spinner=False)
def dataset_picture(name: str, n: int, seed: int) -> bytes:
    """A PNG of one dataset's points."""
    graph = datasets[name](n, seed=seed)
    X = np.asarray(graph.X, dtype=np.float64)
    y = np.asarray(graph.y, dtype=np.int64)
    return plots.png(plots.points(X, y, name))


def linear_proba(w1: float, w2: float, b: float) -> Callable[[plots.FloatArray], plots.FloatArray]:
    """P(class 1) = sigmoid(w1·x1 + w2·x2 + b), evaluated with stage 0's operators."""

    def proba(points: plots.FloatArray) -> plots.FloatArray:
        return np.array(
            [
                operators.sigmoid(
                    operators.add(operators.add(operators.mul(w1, x1), operators.mul(w2, x2)), b)
                )
                for x1, x2 in points
            ]
        )

    return proba


def classifier_page() -> None:
    """Tune a linear classifier by hand and watch its decision boundary move."""
    st.header("A hand-tuned classifier")
    st.write(
        "P(class 1) = sigmoid(w₁·x₁ + w₂·x₂ + b). Move the sliders until the black line "
        "(P = 0.5) separates the two colours."
    )
    controls, picture = st.columns([1, 2])
    with controls:
        name = st.selectbox("dataset", list(datasets), index=0)
        w1 = st.slider("w₁", -10.0, 10.0, -8.0, step=0.5)
        w2 = st.slider("w₂", -10.0, 10.0, 0.0, step=0.5)
        b = st.slider("b", -10.0, 10.0, 4.0, step=0.5)
    image, accuracy = classifier_picture(name, w1, w2, b)
    controls.metric("accuracy", f"{accuracy:.0%}")
    picture.image(image)


@st.cache_data(show_spinner=False)
def classifier_picture(name: str, w1: float, w2: float, b: float) -> tuple[bytes, float]:
    """A PNG of the linear classifier's boundary on ``name``, and its accuracy there."""
    graph = datasets[name](100, seed=0)
    X = np.asarray(graph.X, dtype=np.float64)
    y = np.asarray(graph.y, dtype=np.int64)
    proba = linear_proba(w1, w2, b)
    accuracy = float(np.mean((proba(X) > 0.5) == (y == 1)))
    title = f"{name}: accuracy {accuracy:.0%}"
    return plots.png(plots.decision_boundary(proba, X, y, title, resolution=40)), accuracy
