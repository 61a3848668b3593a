"""Stage 1 against stage 2: one random expression on `Scalar`s and on one-element tensors.

The expressions (`mt_autodiff.testing.expressions_at`) are trees over every op in
`mt_operators.testing.OPS` whose variables recur, so shared subgraphs are exercised; both
engines must agree with each other and with the table's forward-mode reference.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from mt_autodiff import Scalar
from mt_autodiff.testing import Expr, expressions_at
from mt_operators.testing import assert_close
from mt_tensor import tensor
from mt_tensor.testing import backend_names

N_VARS = 3


def on_scalars(expr: Expr, xs: tuple[float, ...]) -> tuple[float, list[float]]:
    """Value and derivatives of ``expr`` at ``xs`` with `Scalar` autodiff."""
    leaves = [Scalar(x) for x in xs]
    out = expr(*leaves)
    if not out.is_constant():
        out.backward()
    return out.data, [0.0 if v.derivative is None else v.derivative for v in leaves]


def on_tensors(expr: Expr, xs: tuple[float, ...], backend: str) -> tuple[float, list[float]]:
    """Value and derivatives of ``expr`` at ``xs`` with one-element tensors on ``backend``."""
    leaves = [tensor([x], backend=backend, requires_grad=True) for x in xs]
    out = expr(*leaves)
    assert out.shape == (1,), f"{expr} gave shape {out.shape} from one-element tensors"
    out.sum().backward()
    return out.item(), [0.0 if v.grad is None else v.grad.item() for v in leaves]


@pytest.mark.parametrize("backend", backend_names())
@given(case=expressions_at(N_VARS))
def test_scalar_and_tensor_agree(backend: str, case: tuple[Expr, tuple[float, ...]]) -> None:
    expr, xs = case
    reference_value, reference_grad = expr.reference(*xs)
    s_value, s_grad = on_scalars(expr, xs)
    t_value, t_grad = on_tensors(expr, xs, backend)
    assert_close(s_value, reference_value)
    assert_close(t_value, s_value)
    for i in range(N_VARS):
        assert_close(s_grad[i], reference_grad[i])
        assert_close(t_grad[i], s_grad[i])
