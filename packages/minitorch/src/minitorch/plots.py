"""Figures for training runs and the app: curves, decision boundaries, confusion, filters.

Every function returns a `matplotlib.figure.Figure` built without pyplot, so nothing depends on
a display or a global backend (the figures render with Agg when saved).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CLASS_COLOURS = ("tab:blue", "tab:red")


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes (what the app caches and shows). Every figure here is laid out
    (``tight_layout``) when made; ``bbox_inches="tight"`` would draw it twice (a third of the time
    a short run spends on its plots)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def curves(history: Mapping[str, Sequence[float | None]], title: str = "") -> Figure:
    """Loss (left) and train/test accuracy (right) per epoch."""
    fig = Figure(figsize=(9, 3.5))
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = np.arange(1, len(history["loss"]) + 1)
    marker = "o" if len(epochs) <= 30 else None  # dots for a few epochs, a line for many
    loss = [np.nan if v is None else v for v in history["loss"]]
    loss_ax.plot(epochs, loss, marker=marker, color="tab:purple")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="training loss")
    for key, label in (("train_acc", "train"), ("test_acc", "test")):
        values = [np.nan if v is None else v for v in history.get(key, [])]
        if values and not np.all(np.isnan(values)):
            shown = int(np.sum(~np.isnan(values)))  # a lone value (scalar runs' test) needs a dot
            dots = marker or ("o" if shown == 1 else None)
            acc_ax.plot(epochs[: len(values)], values, marker=dots, label=label)
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.0, 1.02))
    acc_ax.legend(loc="lower right")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def decision_boundary(
    proba: Callable[[FloatArray], FloatArray],
    X: FloatArray,
    y: IntArray,
    title: str = "",
    resolution: int = 60,
) -> Figure:
    """P(class 1) over the unit square as a colour map, with the labelled points on top.

    ``proba`` maps an ``(n, 2)`` array of points to ``n`` probabilities of class 1.
    """
    fig = Figure(figsize=(4.5, 4.2))
    ax = fig.subplots()
    ticks = np.linspace(0.0, 1.0, resolution)
    g1, g2 = np.meshgrid(ticks, ticks)
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    p = np.asarray(proba(grid), dtype=np.float64).reshape(g1.shape)
    mesh = ax.contourf(g1, g2, p, levels=np.linspace(0.0, 1.0, 11), cmap="RdBu_r", alpha=0.55)
    ax.contour(g1, g2, p, levels=[0.5], colors="black", linewidths=1.2)
    for label, colour in enumerate(CLASS_COLOURS):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=14, c=colour, edgecolors="white", linewidths=0.4)
    fig.colorbar(mesh, ax=ax, label="P(class 1)")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="$x_1$", ylabel="$x_2$", aspect="equal")
    ax.set_title(title or "decision boundary")
    fig.tight_layout()
    return fig


def points(X: FloatArray, y: IntArray, title: str = "") -> Figure:
    """A 2-D dataset: its points coloured by label."""
    fig = Figure(figsize=(3.6, 3.6))
    ax = fig.subplots()
    for label, colour in enumerate(CLASS_COLOURS):
        pts = X[y == label]
        ax.scatter(pts[:, 0], pts[:, 1], s=12, c=colour, label=f"class {label}")
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", title=title)
    fig.tight_layout()
    return fig


def confusion_counts(y_true: IntArray, y_pred: IntArray, n_classes: int) -> IntArray:
    """Row ``t``, column ``p``: how many of class ``t`` were predicted as ``p``."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def confusion(counts: IntArray, title: str = "") -> Figure:
    """A confusion matrix with the count in each cell."""
    n = counts.shape[0]
    fig = Figure(figsize=(5, 4.4))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues")
    threshold = counts.max() / 2 if counts.size else 0
    for t in range(n):
        for p in range(n):
            colour = "white" if counts[t, p] > threshold else "black"
            ax.text(p, t, str(counts[t, p]), ha="center", va="center", color=colour, fontsize=8)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    ax.set_title(title or "confusion matrix")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig


def image_grid(
    images: FloatArray, captions: Sequence[str], title: str = "", columns: int = 8
) -> Figure:
    """Greyscale images (``(n, h, w)``) in a grid, each with its caption."""
    n = max(len(images), 1)
    rows = -(-n // columns)
    fig = Figure(figsize=(columns * 1.1, rows * 1.25 + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(images[i], cmap="gray_r")
            ax.set_title(captions[i], fontsize=8)
    if len(images) == 0:
        axes[0].text(0.5, 0.5, "none", ha="center", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def misclassified(
    images: FloatArray, y_true: IntArray, y_pred: IntArray, limit: int = 32
) -> Figure:
    """The first ``limit`` images whose prediction is wrong, captioned ``true→predicted``."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:limit]
    captions = [f"{y_true[i]}→{y_pred[i]}" for i in wrong]
    total = int(np.sum(np.asarray(y_true) != np.asarray(y_pred)))
    return image_grid(
        images[wrong], captions, title=f"misclassified: {total} of {len(y_true)} (true→predicted)"
    )


def filters(weights: FloatArray, title: str = "learned filters") -> Figure:
    """Convolution weights ``(out, in, kh, kw)``: one image per (output, input) channel pair."""
    w = np.asarray(weights, dtype=np.float64)
    out_ch, in_ch = w.shape[:2]
    images = w.reshape(out_ch * in_ch, *w.shape[2:])
    captions = [f"{o}" if in_ch == 1 else f"{o}/{i}" for o in range(out_ch) for i in range(in_ch)]
    return image_grid(images, captions, title=title, columns=min(8, len(images)))


def function(
    fns: Mapping[str, Callable[[float], float]],
    lo: float = -4.0,
    hi: float = 4.0,
    ylabel: str = "f(x)",
) -> Figure:
    """Each named float function drawn over ``[lo, hi]`` on shared, labelled axes."""
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)
    xs = np.linspace(lo, hi, 241)
    for name, fn in fns.items():
        ax.plot(xs, [fn(float(x)) for x in xs], label=name)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.axvline(0, color="grey", linewidth=0.6)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
