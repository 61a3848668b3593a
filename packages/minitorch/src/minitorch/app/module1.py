"""Module 1 pages: a Scalar expression's graph and derivatives, and training the Scalar MLP."""

from __future__ import annotations

import ast
import time
from typing import Any

import numpy as np
import streamlit as st

from minitorch import plots
from minitorch.app import graph
from mt_autodiff import Scalar
from mt_autodiff.train import predict, train_scalar
from mt_operators import datasets

ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Call,
    ast.Attribute,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.USub,
    ast.UAdd,
    ast.Lt,
    ast.Gt,
    ast.Eq,
)
METHODS = ("log", "exp", "sigmoid", "relu")


MAX_CHARACTERS = 500
MAX_NODES = 300
"""Limits on a typed expression: enough for any hand-made graph, small enough to draw and to keep
Python's parser and compiler away from their recursion limits."""


def evaluate(expression: str, variables: dict[str, Scalar]) -> Scalar:
    """``expression`` over the named Scalars: arithmetic, comparisons and ``.log() .exp()
    .sigmoid() .relu()``; anything else, or anything that fails while evaluating, is a
    `ValueError` saying what."""
    if len(expression) > MAX_CHARACTERS:
        raise ValueError(
            f"the expression has {len(expression):,} characters; at most {MAX_CHARACTERS}"
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"not a Python expression ({e.msg})") from None
    except (RecursionError, MemoryError):
        raise ValueError("the expression is nested too deeply") from None
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise ValueError(f"the expression has {len(nodes):,} parts; at most {MAX_NODES}")
    for node in nodes:
        if not isinstance(node, ALLOWED_NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in an expression")
        if isinstance(node, ast.Attribute) and node.attr not in METHODS:
            raise ValueError(f".{node.attr}() is not allowed; use {', '.join(METHODS)}")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Constant):
            raise ValueError(
                f".{node.attr}() applies to x, y, z or an expression of them, not to the "
                f"number {node.value.value!r}"
            )
        if isinstance(node, ast.Name) and node.id not in variables:
            raise ValueError(f"unknown name {node.id!r}; use {', '.join(variables)}")
        if isinstance(node, ast.Compare) and len(node.ops) != 1:
            raise ValueError("chained comparisons are not allowed")
    try:
        code = compile(tree, "<expression>", "eval")
        result = eval(code, {"__builtins__": {}}, dict(variables))
    except (ArithmeticError, AttributeError, TypeError, ValueError, RecursionError) as e:
        raise ValueError(f"{type(e).__name__}: {e}") from None
    if not isinstance(result, Scalar):
        raise ValueError(f"the expression gives {result!r}, not a Scalar: use x, y or z in it")
    return result


def graph_page() -> None:
    """Build an expression from x, y, z, draw its graph, and show the derivatives."""
    st.header("Autodiff: the computation graph")
    st.write(
        "Each `Scalar` operation records its inputs. `backward()` walks this graph from the "
        "output back to the leaves, applying the chain rule; leaves show `d` = ∂out/∂leaf."
    )
    expression = st.text_input("expression in x, y, z", "(x * y + x.exp()).sigmoid() - y / z")
    cols = st.columns(3)
    values = {
        name: col.number_input(name, value=default, step=0.5, format="%.2f")
        for name, default, col in zip("xyz", (1.0, 2.0, 4.0), cols, strict=True)
    }
    variables = {name: Scalar(v, name=name) for name, v in values.items()}
    try:
        out = evaluate(expression, variables)
        nodes, edges = graph.collect(out)
        if not out.is_constant():
            out.backward()
    except (ValueError, ArithmeticError, RecursionError) as e:
        st.error(f"cannot evaluate {expression[:80]!r}: {e}")
        return
    if out.is_constant():
        st.warning("the expression depends on no variable, so there is nothing to differentiate")
    st.graphviz_chart(graph.to_dot(nodes, edges, output=out.unique_id))
    st.write(f"**out** = {out.data:.6g}")
    st.table(
        {
            "leaf": list(variables),
            "value": [v.data for v in variables.values()],
            "∂out/∂leaf": [v.derivative or 0.0 for v in variables.values()],
        }
    )


def training_page() -> None:
    """Train the Scalar MLP on a 2-D dataset and show its loss and decision boundary."""
    st.header("Training the Scalar MLP")
    st.write(
        "An MLP whose every weight is a `Scalar`: one graph node per multiply, trained by "
        "gradient descent with nothing but the chain rule. Slow by design: keep it small."
    )
    c1, c2, c3, c4, c5 = st.columns(5)
    name = c1.selectbox("dataset", list(datasets), index=0)
    n = c2.number_input("points", 10, 200, 50, step=10)
    hidden = c3.number_input("hidden", 1, 10, 6)
    lr = c4.number_input("learning rate", 0.01, 5.0, 0.5, step=0.1)
    epochs = c5.number_input("epochs", 1, 500, 150, step=10)
    if st.button("Train", type="primary"):
        data = datasets[name](int(n), seed=0)
        bar = st.progress(0.0, text="training")
        start = time.perf_counter()

        def log(epoch: int, total: float, correct: int, losses: list[float]) -> None:
            bar.progress(epoch / epochs, text=f"epoch {epoch}: loss {total / data.N:.4f}")

        model, history = train_scalar(
            data, hidden=int(hidden), lr=float(lr), epochs=int(epochs), log_fn=log
        )
        st.session_state["scalar_run"] = {
            "name": name,
            "data": data,
            "model": model,
            "history": {
                "loss": [v / data.N for v in history.losses],
                "train_acc": history.accuracy,
            },
            "seconds": time.perf_counter() - start,
        }
    run: dict[str, Any] | None = st.session_state.get("scalar_run")
    if run is None:
        st.info("Press **Train** to fit the model.")
        return
    data = run["data"]
    X = np.asarray(data.X, dtype=np.float64)
    y = np.asarray(data.y, dtype=np.int64)
    acc = run["history"]["train_acc"][-1]
    st.write(f"{run['name']}: accuracy {acc:.0%} after {run['seconds']:.1f} s")
    left, right = st.columns([3, 2])
    left.pyplot(plots.curves(run["history"]))

    def proba(points: plots.FloatArray) -> plots.FloatArray:
        return np.asarray(predict(run["model"], points.tolist()), dtype=np.float64)

    right.pyplot(plots.decision_boundary(proba, X, y, run["name"], resolution=30))
