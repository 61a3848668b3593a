"""Random expression trees over `mt_operators.testing.OPS`, for gradient tests of every later stage.

An `Expr` calls each op through ``OpInfo.call``, so the same tree runs on `Scalar` values and on
one-element tensors; ``reference`` evaluates it on floats with the table's own functions and
partial derivatives (forward mode), an answer independent of any autodiff engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from mt_operators.testing import OPS, OpInfo, floats_in

__all__ = ["BOUND", "Expr", "expressions", "expressions_at"]

SCALAR_OPS = tuple(op for op in OPS if op.scalar)
"""The ops `Scalar` has (the course's): trees run on both scalars and tensors."""

BOUND = 100.0
"""`expressions_at` keeps every intermediate value and gradient within ``±BOUND``."""


@dataclass(frozen=True)
class Expr:
    """Variable ``x{var}`` when ``op`` is None, else ``op`` applied to the sub-trees ``args``."""

    op: OpInfo | None = None
    args: tuple[Expr, ...] = ()
    var: int = 0

    def __call__(self, *xs: Any) -> Any:
        if self.op is None:
            return xs[self.var]
        return self.op.call(*(a(*xs) for a in self.args))

    def reference(self, *xs: float) -> tuple[float, tuple[float, ...]]:
        """Value and gradient at the floats ``xs``, by the chain rule on the table's partials."""
        if self.op is None:
            return xs[self.var], _unit(self.var, len(xs))
        return _apply(self.op, [a.reference(*xs) for a in self.args])

    @property
    def depth(self) -> int:
        """Operations on the longest path from the root to a variable."""
        return 0 if self.op is None else 1 + max(a.depth for a in self.args)

    def __str__(self) -> str:
        if self.op is None:
            return f"x{self.var}"
        return f"{self.op.name}({', '.join(str(a) for a in self.args)})"


def _unit(i: int, n: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(n))


def _apply(
    op: OpInfo, kids: Sequence[tuple[float, tuple[float, ...]]]
) -> tuple[float, tuple[float, ...]]:
    args = [v for v, _ in kids]
    return op.fn(*args), _chain(op.partials(*args), [g for _, g in kids])


def _chain(partials: Sequence[float], grads: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    n = len(grads[0])
    return tuple(sum(p * g[i] for p, g in zip(partials, grads, strict=True)) for i in range(n))


def expressions(n_vars: int, max_depth: int = 8) -> st.SearchStrategy[Expr]:
    """Trees over every op of `SCALAR_OPS`, at most ``max_depth`` deep, on ``x0..x{n_vars-1}``.

    Variables recur freely, so a tree can use one value in several places (shared subgraphs).
    """
    leaves = st.builds(Expr, var=st.integers(0, n_vars - 1))
    trees: st.SearchStrategy[Expr] = leaves
    for _ in range(max_depth):
        trees = st.one_of(leaves, _nodes(trees))
    return trees


def _nodes(kids: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.sampled_from(SCALAR_OPS).flatmap(
        lambda op: st.tuples(*[kids] * op.arity).map(lambda args: Expr(op, args))
    )


def _tame(value: float, grad: Sequence[float]) -> bool:
    return abs(value) <= BOUND and all(abs(g) <= BOUND for g in grad)


@st.composite
def _tame_tree(
    draw: st.DrawFn, xs: tuple[float, ...], depth: int
) -> tuple[Expr, float, tuple[float, ...]]:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        i = draw(st.integers(0, len(xs) - 1))
        return Expr(var=i), xs[i], _unit(i, len(xs))
    op = draw(st.sampled_from(SCALAR_OPS))
    kids = [draw(_tame_tree(xs, depth - 1)) for _ in range(op.arity)]
    args = [v for _, v, _ in kids]
    if op.avoid is not None and op.avoid(*args):
        return kids[0]
    try:
        value, partials = op.fn(*args), op.partials(*args)
    except ArithmeticError:
        return kids[0]
    grad = _chain(partials, [g for _, _, g in kids])
    if not (_tame(value, grad) and _tame(0.0, partials)):
        return kids[0]
    return Expr(op, tuple(e for e, _, _ in kids)), value, grad


@st.composite
def _expressions_at(
    draw: st.DrawFn, n_vars: int, max_depth: int, lo: float, hi: float
) -> tuple[Expr, tuple[float, ...]]:
    xs = tuple(draw(floats_in(lo, hi)) for _ in range(n_vars))
    expr, _, _ = draw(_tame_tree(xs, max_depth))
    return expr, xs


def expressions_at(
    n_vars: int, max_depth: int = 8, lo: float = -3.0, hi: float = 3.0
) -> st.SearchStrategy[tuple[Expr, tuple[float, ...]]]:
    """A point ``xs`` in ``[lo, hi]`` and a tree that is smooth and moderate there.

    At every node the inputs are away from the op's kinks (``OpInfo.avoid``), and the value, the
    op's partials and the gradient stay within ``±BOUND`` (so no ``log`` of a negative, no
    ``inv`` near 0, no cancelling giants): central differences are then reliable. An op that
    would break this is replaced by its first input.
    """
    return _expressions_at(n_vars, max_depth, lo, hi)
