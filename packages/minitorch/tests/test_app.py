"""Every sandbox page runs under Streamlit's AppTest; its widgets exist and its buttons train."""

from __future__ import annotations

import sys
from typing import Any

import pytest

pytest.importorskip("streamlit", reason="the app is the facade's optional 'app' extra")

from streamlit.testing.v1 import AppTest

from minitorch.app.graph import collect, to_dot
from minitorch.app.module1 import evaluate
from minitorch.app.module2 import parse_shape
from minitorch.app.pages import LAST_MODULE, all_pages, modules_shown
from minitorch.cli import app_file
from mt_autodiff import Scalar

PAGE_WIDGETS: dict[str, dict[str, int]] = {
    "operators": {"multiselect": 1, "image": 2},
    "datasets": {"slider": 1, "image": 6},
    "classifier": {"slider": 3, "image": 1, "metric": 1},
    "autodiff": {"text_input": 1, "number_input": 3, "graphviz_chart": 1, "table": 1},
    "scalar-training": {"button": 1, "number_input": 4},
    "tensors": {"text_input": 3, "dataframe": 3},
    "broadcasting": {"text_input": 2, "table": 1, "dataframe": 1},
    "backends": {"multiselect": 2, "vega_lite_chart": 1},
    "training": {"radio": 1, "button": 1},
}


def counts(at: AppTest) -> dict[str, int]:
    """How many elements of each type the page's main area holds (nested ones included)."""
    found: dict[str, int] = {}
    stack: list[Any] = [at.main]
    while stack:
        node = stack.pop()
        for child in getattr(node, "children", {}).values():
            found[child.type] = found.get(child.type, 0) + 1
            stack.append(child)
    return found


@pytest.fixture(autouse=True)
def app_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads its module count from sys.argv, as `streamlit run main.py -- N` sets it."""
    monkeypatch.setattr(sys, "argv", [str(app_file())])


def widget(widgets: Any, label: str) -> Any:
    """The widget called ``label`` among ``widgets`` (e.g. ``at.selectbox``)."""
    return next(w for w in widgets if w.label == label)


def open_page(slug: str) -> AppTest:
    at = AppTest.from_file(str(app_file()), default_timeout=120)
    at.query_params["page"] = slug
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_page_is_covered() -> None:
    assert {p.slug for p in all_pages()} == set(PAGE_WIDGETS)


@pytest.mark.parametrize("slug", list(PAGE_WIDGETS))
def test_page_runs_and_shows_its_widgets(slug: str) -> None:
    found = counts(open_page(slug))
    for kind, n in PAGE_WIDGETS[slug].items():
        assert found.get(kind, 0) >= n, (kind, found)


def test_backends_page_times_every_usable_backend_but_the_cuda_simulator() -> None:
    from minitorch.app.module3 import simulated

    at = open_page("backends")
    chosen, options = at.multiselect[0].value, at.multiselect[0].options
    assert {"simple", "numpy"} <= set(chosen) <= set(options)
    assert all(not simulated(name) for name in chosen)
    assert list(at.table[0].value.columns) == ["operation", *chosen]


def test_scalar_training_page_trains_when_pressed() -> None:
    at = open_page("scalar-training")
    widget(at.number_input, "points").set_value(20)
    widget(at.number_input, "epochs").set_value(3)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert counts(at).get("image", 0) >= 2
    assert "accuracy" in at.markdown[-1].value


def test_training_page_trains_a_few_epochs_when_pressed() -> None:
    at = open_page("training")
    widget(at.selectbox, "backend").set_value("numpy")
    widget(at.number_input, "points").set_value(40)
    widget(at.number_input, "epochs").set_value(2)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "after 2 epochs" in at.success[0].value
    assert counts(at).get("image", 0) >= 2


def test_training_page_shows_conv_filters_for_the_cnn() -> None:
    pytest.importorskip("sklearn", reason="digits need scikit-learn (mt-nn[datasets])")
    at = open_page("training")
    at.radio[0].set_value("digits, CNN").run()
    widget(at.selectbox, "backend").set_value("numpy")
    widget(at.number_input, "training images").set_value(50)
    widget(at.number_input, "channels").set_value(2)
    widget(at.number_input, "epochs").set_value(1)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("filters" in s.value for s in at.subheader)


def test_the_module_argument_limits_the_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", [str(app_file()), "1"])
    at = AppTest.from_file(str(app_file()), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.sidebar.radio[0].options
    assert shown == [f"{p.module} · {p.title}" for p in all_pages() if p.module <= 1]
    assert len(shown) < len(all_pages())


def test_modules_shown_follows_the_course_argument() -> None:
    assert modules_shown(["2"]) == 2
    assert modules_shown([]) == LAST_MODULE
    assert modules_shown(["tests/test_app.py"]) == LAST_MODULE
    assert modules_shown([str(LAST_MODULE + 3)]) == LAST_MODULE


def test_graph_has_every_value_and_leaf_derivatives_after_backward() -> None:
    x, y = Scalar(2.0, name="x"), Scalar(3.0, name="y")
    out = evaluate("x * y + x.exp() - 1.5", {"x": x, "y": y})
    nodes, edges = collect(out)
    kinds = sorted(n.kind for n in nodes)
    assert kinds.count("leaf") == 2 and kinds.count("constant") >= 1
    assert all(a != b for a, b in edges)
    out.backward()
    dot = to_dot(nodes, edges, output=out.unique_id)
    assert dot.startswith("digraph") and dot.count("->") == len(edges)
    assert f"d = {x.derivative:.4g}" in dot and f"d = {y.derivative:.4g}" in dot


@pytest.mark.parametrize(
    "expression", ["__import__('os')", "x.__class__", "[x]", "x < y < x", "3 + 4"]
)
def test_expression_evaluator_refuses_anything_but_scalar_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError):
        evaluate(expression, {"x": Scalar(1.0), "y": Scalar(2.0)})


def test_parse_shape() -> None:
    assert parse_shape("(2, 3,4)") == (2, 3, 4)
    for bad in ("2, x", "0, 3"):
        with pytest.raises(ValueError, match=r"shape|size"):
            parse_shape(bad)


SUM_OF_20000 = " + ".join(["x"] * 20_000)
TYPED_ERRORS = [
    ("(1).log()", "not to the number 1"),
    (SUM_OF_20000, "at most 500"),
    ("-" * 400 + "x", "parts; at most 300"),
    ("x +", "not a Python expression"),
]


@pytest.mark.parametrize(("expression", "words"), TYPED_ERRORS)
def test_a_failing_expression_is_a_value_error_saying_why(expression: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        evaluate(expression, {"x": Scalar(1.0), "y": Scalar(2.0)})


@pytest.mark.parametrize("expression", ["(1).log()", SUM_OF_20000, "x.foo()"])
def test_the_autodiff_page_shows_a_failing_expression_as_a_message(expression: str) -> None:
    at = open_page("autodiff")
    widget(at.text_input, "expression in x, y, z").set_value(expression).run()
    assert not at.exception
    assert len(at.error) == 1 and "cannot evaluate" in at.error[0].value


def test_the_operator_plots_label_their_axes() -> None:
    from minitorch.app.module0 import operator_figures

    values, derivatives = operator_figures(("relu", "exp"))
    for fig, ylabel in ((values, "f(x)"), (derivatives, "f′(x) by backward()")):
        (ax,) = fig.axes
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", ylabel)


def test_parse_shape_refuses_what_the_pages_cannot_draw() -> None:
    with pytest.raises(ValueError, match="and 100,000 elements"):
        parse_shape("100000, 100000")
