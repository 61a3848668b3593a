"""SPEC §4: every bad input is refused at the public entry point with the values in the message."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_tensor import (
    IndexingError,
    Tensor,
    TensorData,
    cat,
    get_backend,
    index,
    index_put,
    installed_backends,
    ones,
    pad,
    stack,
    tensor,
    where,
    zeros,
)
from mt_tensor.testing import backend_names, shapes, tensors

BACKENDS = backend_names()


@dataclass(frozen=True)
class Bad:
    """One refused call: what it raises and what its message must name."""

    name: str
    call: Callable[[str], Any]
    error: type[Exception]
    says: tuple[str, ...]


def _t(backend: str, shape: tuple[int, ...] = (2, 3)) -> Tensor:
    return ones(shape, backend=backend)


CASES = [
    Bad("index out of range", lambda b: _t(b)[2, 0], IndexingError, ("(2, 0)", "(2, 3)")),
    Bad("index too short", lambda b: _t(b)[1], IndexingError, ("(1,)", "(2, 3)")),
    Bad("negative index", lambda b: _t(b)[0, -1], IndexingError, ("(0, -1)", "(2, 3)")),
    Bad(
        "slice index",
        lambda b: _t(b)[0, 1:2],  # type: ignore[index]  # a slice is the bad input
        IndexingError,
        ("slice", "(2, 3)"),
    ),
    Bad("set out of range", lambda b: _t(b).__setitem__((0, 3), 1.0), IndexingError, ("(0, 3)",)),
    Bad("strides per dim", lambda b: TensorData([0.0] * 6, (2, 3), (1,)), IndexingError, ("(1,)",)),
    Bad(
        "strides past storage",
        lambda b: TensorData([0.0] * 6, (2, 3), (3, 2)),
        IndexingError,
        ("(3, 2)", "(2, 3)", "6"),
    ),
    Bad("negative shape", lambda b: TensorData([0.0], (-1,)), IndexingError, ("(-1,)",)),
    Bad(
        "broadcast",
        lambda b: _t(b) + _t(b, (4,)),
        ValueError,
        ("cannot broadcast", "(2, 3)", "(4,)"),
    ),
    Bad(
        "view of non-contiguous",
        lambda b: _t(b).permute(1, 0).view(6),
        ValueError,
        ("contiguous()", "(3, 2)"),
    ),
    Bad("view of wrong size", lambda b: _t(b).view(4), ValueError, ("(2, 3)", "(4,)")),
    Bad("view with two -1", lambda b: _t(b).view(-1, -1), ValueError, ("(-1, -1)",)),
    Bad("sum bad dim", lambda b: _t(b).sum(5), ValueError, ("dim 5", "(2, 3)")),
    Bad("mean bad dim", lambda b: _t(b).mean(-3), ValueError, ("dim -3", "(2, 3)")),
    Bad("all bad dim", lambda b: _t(b).all(2), ValueError, ("dim 2", "(2, 3)")),
    Bad("permute repeats", lambda b: _t(b).permute(0, 0), ValueError, ("(0, 0)", "(2, 3)")),
    Bad("permute too short", lambda b: _t(b).permute(1), ValueError, ("(1,)", "(2, 3)")),
    Bad("permute bad dim", lambda b: _t(b).permute(0, 2), ValueError, ("2", "(2, 3)")),
    Bad(
        "matmul inner",
        lambda b: _t(b, (2, 3)) @ _t(b, (2, 3)),
        ValueError,
        ("(2, 3)", "inner", "3", "2"),
    ),
    Bad("matmul 1-d", lambda b: _t(b, (3,)) @ _t(b, (2,)), ValueError, ("(3,)", "(2,)")),
    Bad(
        "matmul batch",
        lambda b: _t(b, (2, 1, 3)) @ _t(b, (4, 3, 1)),
        ValueError,
        ("(2,)", "(4,)"),
    ),
    Bad("index key out of range", lambda b: index(_t(b), (0, 5)), IndexingError, ("5", "(2, 3)")),
    Bad(
        "index float key",
        lambda b: index(_t(b), 1.5),  # type: ignore[arg-type]  # a float key is the bad input
        IndexingError,
        ("float", "(2, 3)"),
    ),
    Bad(
        "index list of floats",
        lambda b: index(_t(b), [0.5]),
        IndexingError,
        ("[0.5]", "integers", "(2, 3)"),
    ),
    Bad("index zero step", lambda b: index(_t(b), slice(0, 2, 0)), IndexingError, ("step",)),
    Bad("index mask shape", lambda b: index(_t(b), np.ones(3, bool)), IndexingError, ("(2, 3)",)),
    Bad(
        "index_put values shape",
        lambda b: index_put(_t(b), 0, _t(b, (2,))),
        ValueError,
        ("(2,)", "(3,)"),
    ),
    Bad(
        "cat shapes",
        lambda b: cat([_t(b), _t(b, (2, 4))], 0),
        ValueError,
        ("(2, 3)", "(2, 4)"),
    ),
    Bad("cat nothing", lambda b: cat([], 0), TypeError, ("[]",)),
    Bad("cat bad dim", lambda b: cat([_t(b)], 2), ValueError, ("dim 2", "(2, 3)")),
    Bad("stack shapes", lambda b: stack([_t(b), _t(b, (3, 2))]), ValueError, ("(3, 2)",)),
    Bad(
        "where shapes",
        lambda b: where(np.ones(4, bool), _t(b), _t(b)),
        ValueError,
        ("(4,)", "(2, 3)"),
    ),
    Bad("pad widths", lambda b: pad(_t(b), [(1, 1)]), ValueError, ("(2, 3)", "(1, 1)")),
    Bad("pad negative", lambda b: pad(_t(b), [(0, 0), (-1, 0)]), ValueError, ("(-1, 0)",)),
    Bad("clamp order", lambda b: _t(b).clamp(2.0, 1.0), ValueError, ("min=2.0", "max=1.0")),
    Bad("clamp str", lambda b: _t(b).clamp("a"), TypeError, ("'a'",)),
    Bad("pow str", lambda b: _t(b) ** "a", TypeError, ("**", "str")),
    Bad(
        "broadcast_to",
        lambda b: _t(b).broadcast_to(4, 3),
        ValueError,
        ("(2, 3)", "(4, 3)"),
    ),
    Bad(
        "ragged",
        lambda b: tensor([[1.0, 2.0], [3.0]], backend=b),
        ValueError,
        ("ls[1]", "ls[0]", "length"),
    ),
    Bad(
        "ragged depth",
        lambda b: tensor([[1.0], 2.0], backend=b),
        ValueError,
        ("ragged", "ls[1]"),
    ),
    Bad("non-numeric", lambda b: tensor([[1.0, "x"]], backend=b), ValueError, ("ls[0][1]", "'x'")),
    Bad("non-numeric None", lambda b: tensor([None], backend=b), ValueError, ("ls[0]", "None")),
    Bad(
        "non-numeric array",
        lambda b: tensor(np.array(["a"]), backend=b),
        ValueError,
        ("non-numeric", "<U1"),
    ),
    Bad("add str", lambda b: _t(b) + "a", TypeError, ("+", "str")),
    Bad(
        "radd list",
        lambda b: [1.0] + _t(b),  # noqa: RUF005 (a list operand is the bad input)
        TypeError,
        ("+", "list"),
    ),
    Bad("mul None", lambda b: _t(b) * None, TypeError, ("*", "NoneType")),
    Bad("matmul ndarray", lambda b: np.ones((3, 2)) @ _t(b), TypeError, ("@", "ndarray")),
    Bad("lt str", lambda b: _t(b) < "a", TypeError, ("<", "str")),
    Bad(
        "backward of non-scalar",
        lambda b: (_t(b).requires_grad_() * 2.0).backward(),
        RuntimeError,
        ("grad_output", "(2, 3)"),
    ),
    Bad(
        "grad_output shape",
        lambda b: (_t(b).requires_grad_() * 2.0).backward(ones((3, 2), backend=b)),
        ValueError,
        ("(3, 2)", "(2, 3)"),
    ),
    Bad(
        "backward of a constant",
        lambda b: _t(b).sum().backward(),
        RuntimeError,
        ("requires_grad_()",),
    ),
    Bad("item of many", lambda b: _t(b).item(), ValueError, ("(2, 3)",)),
    Bad("bool of many", lambda b: bool(_t(b)), ValueError, ("(2, 3)", "ambiguous")),
    Bad("iterate 2-d", lambda b: list(_t(b)), TypeError, ("(2, 3)", "to_numpy")),
    Bad("unknown backend", lambda b: get_backend("tpu"), ValueError, ("'tpu'", "simple", "numpy")),
    Bad("unknown backend name", lambda b: zeros((2,), backend="gpu"), ValueError, ("'gpu'",)),
    Bad("backend not a name", lambda b: get_backend(3), TypeError, ("3",)),  # type: ignore[arg-type]  # the wrong type is the point
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_refused_with_the_values_named(backend: str, case: Bad) -> None:
    with pytest.raises(case.error) as err:
        case.call(backend)
    message = str(err.value)
    for part in case.says:
        assert part in message, f"{case.name}: {part!r} missing from {message!r}"
    assert "assert" not in message.lower()


def test_indexing_error_is_both_index_error_and_value_error() -> None:
    assert issubclass(IndexingError, IndexError) and issubclass(IndexingError, ValueError)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixing_backends_names_both(backend: str) -> None:
    for other in installed_backends():
        if other == backend or other not in BACKENDS:
            continue
        with pytest.raises(ValueError, match=re.escape(f".to({backend!r})")) as err:
            _t(backend) * _t(other)
        assert repr(other) in str(err.value)


@given(shapes(), shapes())
def test_broadcast_errors_exactly_where_numpy_errors(
    a: tuple[int, ...], b: tuple[int, ...]
) -> None:
    x, y = ones(a, backend="numpy"), ones(b, backend="numpy")
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        with pytest.raises(ValueError, match="cannot broadcast"):
            x + y
        return
    assert (x + y).shape == expected


@given(st.data())
def test_bad_dims_are_refused_and_good_ones_accepted(data: st.DataObject) -> None:
    t = data.draw(tensors())
    dim = data.draw(st.integers(-6, 6))
    if -t.dims <= dim < t.dims:
        assert t.sum(dim).shape[dim] == 1
    else:
        with pytest.raises(ValueError, match=re.escape(f"dim {dim}")):
            t.sum(dim)
