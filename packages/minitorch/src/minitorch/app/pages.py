"""The sandbox's pages, in course order, and how many course modules to show."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page: its URL name (``?page=``), its title, its course module and what draws it."""

    slug: str
    title: str
    module: int
    render: Callable[[], None]


def all_pages() -> list[Page]:
    """Every page (importing them needs streamlit, so only when the app runs)."""
    from . import module0, module1, module2, module3, module4

    return [
        Page("operators", "Operators", 0, module0.operators_page),
        Page("datasets", "Datasets", 0, module0.datasets_page),
        Page("classifier", "Hand-tuned classifier", 0, module0.classifier_page),
        Page("autodiff", "Autodiff graph", 1, module1.graph_page),
        Page("scalar-training", "Scalar training", 1, module1.training_page),
        Page("tensors", "Tensors", 2, module2.tensor_page),
        Page("broadcasting", "Broadcasting", 2, module2.broadcast_page),
        Page("backends", "Backends", 3, module3.backends_page),
        Page("training", "Training", 4, module4.training_page),
    ]


LAST_MODULE = 4


def modules_shown(argv: Sequence[str]) -> int:
    """The course's ``streamlit run app.py -- N``: show modules 0..N (all when not given)."""
    if argv and argv[-1].isdigit():
        return min(int(argv[-1]), LAST_MODULE)
    return LAST_MODULE
