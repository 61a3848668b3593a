"""A first check that each built-in backend computes and differentiates."""

from __future__ import annotations

import pytest
from hypothesis import given
from mt_tensor import Tensor, grad_check
from mt_tensor.testing import backend_names, tensors


@pytest.mark.parametrize("backend", backend_names())
@given(data=tensors((2, 3)))
def test_sigmoid_of_product_grad(backend: str, data: Tensor) -> None:
    x = data.to(backend)
    grad_check(lambda t: (t * t).sigmoid().sum(1), x)
