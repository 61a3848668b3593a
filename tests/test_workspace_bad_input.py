"""Bad input, table-driven, on every backend: the documented error, a message naming the values.

Each case is a label, a call that must fail (given the backend under test), the error type the
spec documents for it and fragments its message must contain. A numba typing error, a wrong
exception type or a call that returns (a silent wrong shape) all fail the test. The backends
include cuda in numba's simulator: the tensors here have a dozen elements at most.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from mt_tensor import (
    IndexingError,
    Tensor,
    cat,
    get_backend,
    index,
    index_put,
    ones,
    pad,
    set_default_backend,
    stack,
    tensor,
    where,
    zeros,
)
from mt_tensor.testing import backend_names

BACKENDS = backend_names(include_cuda=True)


@dataclass(frozen=True)
class Case:
    """``call(backend)`` must raise ``error`` with every string of ``names`` in its message.

    ``{b}`` and ``{other}`` in a name stand for the backend under test and another one.
    """

    label: str
    call: Callable[[str], Any]
    error: type[Exception]
    names: tuple[str, ...]
    bug: str | None = None
    """A known bug (reported): the case is a strict xfail until it is fixed."""


def m(backend: str, shape: tuple[int, ...] = (2, 3)) -> Tensor:
    """A tensor of ``shape`` holding 0, 1, 2, ... on ``backend``."""
    size = int(np.prod(shape))
    return tensor(np.arange(size, dtype=np.float64).reshape(shape), backend=backend)


def other(backend: str) -> str:
    return "simple" if backend != "simple" else "numpy"


def setitem(t: Tensor, key: Any, value: Any) -> None:
    t[key] = value


CASES = [
    # Constructors.
    Case("ragged list", lambda b: tensor([[1.0, 2.0], [3.0]], backend=b), ValueError, ("ragged",)),
    Case("ragged depth", lambda b: tensor([[1.0], 2.0], backend=b), ValueError, ("ragged",)),
    Case("string", lambda b: tensor("abc", backend=b), ValueError, ("'abc'",)),
    Case("string in list", lambda b: tensor([1.0, "x"], backend=b), ValueError, ("'x'",)),
    Case("None", lambda b: tensor(None, backend=b), ValueError, ("None",)),
    Case("None in list", lambda b: tensor([[1.0, None]], backend=b), ValueError, ("None",)),
    Case(
        "string array",
        lambda b: tensor(np.array(["a", "b"]), backend=b),
        ValueError,
        ("<U1",),
    ),
    Case(
        "negative shape",
        lambda b: zeros((2, -1), backend=b),
        ValueError,
        ("(2, -1)",),
    ),
    Case("float shape", lambda b: ones((2.5,), backend=b), ValueError, ("2.5",)),  # type: ignore[arg-type]  # the bad input under test
    Case(
        "unknown backend", lambda b: tensor([1.0], backend="nope"), ValueError, ("'nope'", "simple")
    ),
    Case("unknown get_backend", lambda b: get_backend("nope"), ValueError, ("'nope'", "simple")),
    Case(
        "unknown default", lambda b: set_default_backend("nope"), ValueError, ("'nope'", "simple")
    ),
    Case("unknown .to", lambda b: m(b).to("nope"), ValueError, ("'nope'", "simple")),
    # Element access.
    Case("index out of range", lambda b: m(b)[2, 0], IndexingError, ("(2, 0)", "(2, 3)")),
    Case("negative index", lambda b: m(b)[0, -1], IndexingError, ("(0, -1)", "(2, 3)")),
    Case("index too short", lambda b: m(b)[0], IndexingError, ("(0,)", "(2, 3)")),
    Case("index too long", lambda b: m(b)[0, 0, 0], IndexingError, ("(0, 0, 0)", "(2, 3)")),
    Case(
        "set out of range",
        lambda b: setitem(m(b), (0, 3), 1.0),
        IndexingError,
        ("(0, 3)", "(2, 3)"),
    ),
    # Dims.
    Case("sum dim", lambda b: m(b).sum(2), ValueError, ("2", "(2, 3)")),
    Case("mean dim", lambda b: m(b).mean(-3), ValueError, ("-3", "(2, 3)")),
    Case("all dim", lambda b: m(b).all(5), ValueError, ("5", "(2, 3)")),
    Case("permute too few", lambda b: m(b).permute(0), ValueError, ("(0,)", "(2, 3)")),
    Case("permute repeat", lambda b: m(b).permute(0, 0), ValueError, ("(0, 0)", "(2, 3)")),
    Case("view size", lambda b: m(b).view(4), ValueError, ("(2, 3)", "(4,)")),
    Case(
        "view of non-contiguous",
        lambda b: m(b).permute(1, 0).view(6),
        ValueError,
        ("contiguous", "(3, 2)"),
    ),
    Case("item of many", lambda b: m(b).item(), ValueError, ("(2, 3)",)),
    # Shapes of two operands.
    Case("unbroadcastable", lambda b: m(b) + m(b, (4,)), ValueError, ("(2, 3)", "(4,)")),
    Case(
        "unbroadcastable mul",
        lambda b: m(b, (2, 3, 1)) * m(b, (4, 2)),
        ValueError,
        ("(2, 3, 1)", "(4, 2)"),
    ),
    Case("matmul inner", lambda b: m(b) @ m(b), ValueError, ("(2, 3)",)),
    Case("matmul vector", lambda b: m(b) @ m(b, (2,)), ValueError, ("(2, 3)", "(2,)")),
    Case(
        "matmul batch",
        lambda b: m(b, (2, 2, 3)) @ m(b, (3, 3, 1)),
        ValueError,
        ("(2, 2, 3)", "(3, 3, 1)"),
    ),
    # Types and backends.
    Case("add a string", lambda b: m(b) + "a", TypeError, ("str",)),
    Case("multiply by None", lambda b: None * m(b), TypeError, ("NoneType",)),
    Case("matmul a list", lambda b: m(b) @ [[1.0]], TypeError, ("list",)),
    Case(
        "mixing backends",
        lambda b: m(b) + m(other(b)),
        ValueError,
        ("'{b}'", "'{other}'"),
    ),
    Case(
        "mixing backends in matmul",
        lambda b: m(other(b)) @ m(b, (3, 2)),
        ValueError,
        ("'{b}'", "'{other}'"),
    ),
    Case(
        "backward without grad",
        lambda b: m(b).sum().backward(),
        RuntimeError,
        ("requires_grad",),
    ),
    Case(
        "backward of many",
        lambda b: tensor([1.0, 2.0], backend=b, requires_grad=True).backward(),
        RuntimeError,
        ("(2,)",),
    ),
    # Indexing, joining, selecting, padding (numpy-style keys).
    Case(
        "index() out of range", lambda b: index(m(b), (2, 0)), IndexingError, ("(2, 0)", "(2, 3)")
    ),
    Case("index a float", lambda b: index(m(b), 1.5), IndexingError, ("1.5", "(2, 3)")),  # type: ignore[arg-type]  # the bad input under test
    Case("index a string", lambda b: index(m(b), "a"), IndexingError, ("'a'", "(2, 3)")),
    Case("index float list", lambda b: index(m(b), [0.5]), IndexingError, ("[0.5]", "(2, 3)")),
    Case(
        "index negative step",
        lambda b: index(m(b), slice(None, None, -1)),
        IndexingError,
        ("slice(None, None, -1)", "(2, 3)"),
    ),
    Case(
        "index too many", lambda b: index(m(b), (0, 0, 0)), IndexingError, ("(0, 0, 0)", "(2, 3)")
    ),
    Case(
        "index mask shape",
        lambda b: index(m(b), np.array([True, False, True])),
        IndexingError,
        ("(2, 3)", "3"),
    ),
    Case(
        "index_put out of range",
        lambda b: index_put(m(b), (5,), 1.0),
        IndexingError,
        ("(5,)", "(2, 3)"),
    ),
    Case(
        "index_put values shape",
        lambda b: index_put(m(b), 0, m(b, (2,))),
        ValueError,
        ("(2,)", "(3,)"),
    ),
    Case("index_put a string", lambda b: index_put(m(b), 0, "a"), TypeError, ("str",)),  # type: ignore[arg-type]  # the bad input under test
    Case(
        "index_put mixing backends",
        lambda b: index_put(m(b), 0, m(other(b), (3,))),
        ValueError,
        ("'{b}'", "'{other}'"),
    ),
    Case("cat nothing", lambda b: cat([]), TypeError, ("[]",)),
    Case("cat a list", lambda b: cat([m(b), [1.0]]), TypeError, ("[1.0]",)),  # type: ignore[list-item]  # the bad input under test
    Case("cat shapes", lambda b: cat([m(b), m(b, (3, 3))], 1), ValueError, ("(2, 3)", "(3, 3)")),
    Case("cat dims", lambda b: cat([m(b), m(b, (3,))]), ValueError, ("(2, 3)", "(3,)")),
    Case("cat dim", lambda b: cat([m(b)], 2), ValueError, ("2", "(2, 3)")),
    Case(
        "cat mixing backends",
        lambda b: cat([m(b), m(other(b))]),
        ValueError,
        ("'{b}'", "'{other}'"),
    ),
    Case("stack nothing", lambda b: stack([]), TypeError, ("[]",)),
    Case("stack shapes", lambda b: stack([m(b), m(b, (3, 2))]), ValueError, ("(2, 3)", "(3, 2)")),
    Case("stack dim", lambda b: stack([m(b)], 4), ValueError, ("4",)),
    Case(
        "where unbroadcastable condition",
        lambda b: where(np.ones(4), m(b), m(b)),
        ValueError,
        ("(4,)", "(2, 3)"),
    ),
    Case(
        "where unbroadcastable values",
        lambda b: where(np.ones((2, 3)), m(b), m(b, (4,))),
        ValueError,
        ("(2, 3)", "(4,)"),
    ),
    Case(
        "where mixing backends",
        lambda b: where(np.ones((2, 3)), m(b), m(other(b))),
        ValueError,
        ("'{b}'", "'{other}'"),
    ),
    Case(
        "where a string condition",
        lambda b: where("abc", m(b), m(b)),
        ValueError,
        ("'abc'",),
    ),
    Case("pad negative", lambda b: pad(m(b), [(0, -1), (0, 0)]), ValueError, ("(0, -1)", "(2, 3)")),
    Case("pad too few", lambda b: pad(m(b), [(1, 1)]), ValueError, ("(1, 1)", "(2, 3)")),
    Case(
        "pad triple",
        lambda b: pad(m(b), [(1, 1, 1), (0, 0)]),  # type: ignore[list-item]  # the bad input under test
        ValueError,
        ("(1, 1, 1)", "(2, 3)"),
    ),
    Case(
        "pad float width",
        lambda b: pad(m(b), [(0.5, 1), (0, 0)]),  # type: ignore[list-item]  # the bad input under test
        ValueError,
        ("0.5", "(2, 3)"),
    ),
    Case(
        "pad a string value",
        lambda b: pad(m(b), [(1, 1), (0, 0)], "x"),  # type: ignore[arg-type]  # the bad input
        ValueError,
        ("'x'",),
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.bug)) if c.bug else c
        for c in CASES
    ],
    ids=[c.label for c in CASES],
)
def test_bad_input_raises_documented_error(case: Case, backend: str) -> None:
    with pytest.raises(Exception) as info:
        case.call(backend)
    err = info.value
    assert isinstance(err, case.error), (
        f"{case.label} on {backend}: expected {case.error.__name__}, got "
        f"{type(err).__module__}.{type(err).__name__}: {err}"
    )
    message = str(err)
    names = [n.format(b=backend, other=other(backend)) for n in case.names]
    missing = [n for n in names if n not in message]
    assert not missing, f"{case.label} on {backend}: message {message!r} does not name {missing}"
    assert "numba" not in message.lower(), f"{case.label}: a numba error leaked: {message}"
