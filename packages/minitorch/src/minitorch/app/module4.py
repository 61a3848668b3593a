"""Module 4 page: train the 2-D MLP or the digits CNN live, then look at its conv filters."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import streamlit as st

from minitorch import checkpoint, plots
from minitorch.runs import tensor_figures
from minitorch.settings import TrainConfig
from mt_nn import History, fit
from mt_operators import datasets
from mt_tensor import get_backend

from .module3 import usable_backends

DIGITS_TRAIN = 1437
"""Images in the digits training split (the rest of scikit-learn's 1797 are the test split)."""

TASKS = {
    "2-D points, MLP": ("points", "mlp"),
    "digits, CNN": ("digits", "cnn"),
    "digits, MLP": ("digits", "mlp"),
}


def _settings() -> TrainConfig:
    task = st.radio("task", list(TASKS), horizontal=True)
    kind, model = TASKS[task]
    backends = [name for name, why in usable_backends().items() if not why]
    default = 0  # usable_backends lists the installed ones best first
    c = st.columns(6)
    if kind == "points":
        dataset = c[0].selectbox("dataset", [n.lower() for n in datasets], index=3)
        samples = c[1].number_input("points", 20, 1000, 200, step=20)
        hidden = c[3].number_input("hidden", 2, 200, 20)
        epochs = c[4].number_input("epochs", 1, 200, 30)
        lr = c[5].number_input("learning rate", 0.001, 1.0, 0.05, format="%.3f")
    else:
        dataset = c[0].selectbox("dataset", ["digits"], disabled=True)
        samples = c[1].number_input("training images", 50, DIGITS_TRAIN, DIGITS_TRAIN, step=50)
        hidden = c[3].number_input(
            "channels" if model == "cnn" else "hidden", 2, 128, 8 if model == "cnn" else 64
        )
        epochs = c[4].number_input("epochs", 1, 50, 4)
        lr = c[5].number_input("learning rate", 0.001, 1.0, 0.01, format="%.3f")
    backend = c[2].selectbox("backend", backends, index=default)
    return TrainConfig(
        dataset=dataset,
        model=model,
        backend=backend,
        hidden=int(hidden),
        epochs=int(epochs),
        lr=float(lr),
        batch=16 if kind == "points" else 32,
        samples=int(samples),
    )


def _show(config: TrainConfig, model: Any, train: Any, test: Any, history: History) -> None:
    """Curves on the left, the boundary (or confusion matrix) on the right."""
    left, right = st.columns([3, 2])
    left.pyplot(plots.curves(asdict(history), f"{config.dataset} · {config.model}"))
    figures = tensor_figures(config, get_backend(config.backend), model, train, test)
    right.pyplot(figures.get("boundary.png") or figures["confusion.png"])


def _filters(model: Any) -> plots.FloatArray | None:
    """The first convolution's weights ``(out, in, kh, kw)``, if the model has one."""
    for _, p in model.named_parameters():
        if len(p.value.shape) == 4:
            return np.asarray(p.value.to_numpy(), dtype=np.float64)
    return None


def training_page() -> None:
    """Settings, a Train button, and the run's curves and pictures updating per epoch."""
    st.header("Training networks")
    st.write(
        "Stage 4's `fit`: mini-batches, Adam, log-softmax and NLL loss. The pictures below "
        "update after every epoch."
    )
    config = _settings()
    if st.button("Train", type="primary"):
        backend = get_backend(config.backend)
        model = checkpoint.build_tensor(config, backend)
        train, test = checkpoint.load_data(config, backend)
        bar = st.progress(0.0, text="training")
        live = st.empty()

        def update(epoch: int, history: History) -> None:
            bar.progress(
                (epoch + 1) / config.epochs,
                text=f"epoch {epoch + 1}: loss {history.loss[-1]:.4f}, "
                f"test accuracy {history.test_acc[-1]:.3f}",
            )
            with live.container():
                _show(config, model, train, test, history)

        history = fit(
            model,
            train,
            test,
            epochs=config.epochs,
            lr=config.lr,
            batch_size=config.batch,
            callback=update,
            progress=False,
        )
        live.empty()
        st.session_state["nn_run"] = (config, model, train, test, history)
    run = st.session_state.get("nn_run")
    if run is None:
        st.info("Choose a task and press **Train**.")
        return
    config, model, train, test, history = run
    summary = history.summary()
    st.success(
        f"{config.dataset} {config.model} on {config.backend}: test accuracy "
        f"{summary['test_acc']:.3f} after {summary['epochs']} epochs ({summary['seconds']:.1f} s)"
    )
    _show(config, model, train, test, history)
    weights = _filters(model)
    if weights is not None:
        st.subheader("Learned filters of the first convolution")
        st.pyplot(plots.filters(weights))
