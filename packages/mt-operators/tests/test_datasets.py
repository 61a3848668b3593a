"""The toy datasets: shapes, labels in {0, 1}, points in the unit square, reproducibility."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_operators import datasets


@pytest.mark.parametrize("name", sorted(datasets))
@given(n=st.integers(0, 60), seed=st.integers(0, 2**16))
def test_shapes_labels_reproducible(name: str, n: int, seed: int) -> None:
    g = datasets[name](n, seed=seed)
    expected_n = n - n % 2 if name == "Spiral" else n
    assert g.N == len(g.X) == len(g.y) == expected_n
    assert set(g.y) <= {0, 1}
    assert all(-0.1 <= x <= 1.1 and -0.1 <= y <= 1.1 for x, y in g.X)
    assert datasets[name](n, seed=seed) == g


@pytest.mark.parametrize("name", ["Simple", "Diag", "Split", "Xor", "Circle"])
def test_seed_changes_points(name: str) -> None:
    assert datasets[name](20, seed=1).X != datasets[name](20, seed=2).X


def test_labels_follow_rules() -> None:
    g = datasets["Xor"](200, seed=3)
    for (x1, x2), label in zip(g.X, g.y, strict=True):
        assert label == int((x1 < 0.5) != (x2 < 0.5))
    assert 0 < sum(datasets["Simple"](100).y) < 100


def test_negative_n_is_an_error() -> None:
    with pytest.raises(ValueError, match="N=-1"):
        datasets["Simple"](-1)
