"""Convolution and pooling as backend operations: the same values and gradients on every backend,
through a backend's fused kernels and through the composed default, against central differences
and against torch.

A backend declares its fused kernels in ``backend.fused`` (`mt_tensor.tensor_ops.FusedOps`); mt-nn
runs them where declared and otherwise composes the operation (`mt_nn.conv.Unfold`,
`mt_nn.nn.Tiles`). Each case draws small shapes and, half the time, PyTorch's ``stride`` and
``padding``; cuda runs in numba's simulator on a few tiny cases. The fused kernels are also
called directly against the composed default in float64 and float32, with tied maxima and NaN
tiles, and bad shapes are shown to stop before any kernel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mt_nn
from mt_nn.conv import Unfold
from mt_nn.nn import Tiles
from mt_tensor import Tensor, get_backend, tensor
from mt_tensor.tensor_ops import FusedOps
from mt_tensor.testing import assert_tensors_close, backend_names

Array = npt.NDArray[np.float64]
CPU = backend_names()
SIMULATED = [b for b in backend_names(include_cuda=True) if b not in CPU]
EPSILON = 1e-6
OPS = ["conv1d", "conv2d", "avgpool2d", "maxpool2d"]
in_the_simulator = settings(max_examples=3)
"""numba's simulator runs each CUDA thread in Python: a few tiny examples there."""


@dataclass(frozen=True)
class Case:
    """One call: the op, the input arrays (input, weight, bias for a conv) and its options."""

    op: str
    arrays: tuple[Array, ...]
    options: Any

    def run(self, *ts: Tensor) -> Tensor:
        """The op on tensors ``ts`` (in the order of ``arrays``)."""
        if self.op.startswith("conv"):
            conv = mt_nn.conv1d if self.op == "conv1d" else mt_nn.conv2d
            bias = ts[2] if len(ts) > 2 else None
            return conv(ts[0], ts[1], bias, *self.options)
        pool = mt_nn.avgpool2d if self.op == "avgpool2d" else mt_nn.maxpool2d
        return pool(ts[0], self.options)


def _values(draw: st.DrawFn, shape: tuple[int, ...], ties: bool) -> Array:
    """Values in [-3, 3]; with ``ties`` from a few integers (equal maxima), else one apart
    at least 0.01 (so a max keeps its arg-max under central differences)."""
    size = int(np.prod(shape))
    if ties:
        ints = draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size))
        return np.array(ints, dtype=np.float64).reshape(shape)
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    return ((order - size / 2) * 6.0 / max(size, 1)).reshape(shape)


@st.composite
def cases(
    draw: st.DrawFn, op: str, tiny: bool = False, ties: bool = False, nan: bool = False
) -> Case:
    """A call of ``op`` (one of `OPS`) on small inputs (``tiny``: for the simulator); with
    ``nan``, a pooling's input may hold a NaN (its tile's max is NaN, its gradient 0)."""
    top = 2 if tiny else 3
    b, c = draw(st.integers(1, 2)), draw(st.integers(1, top - 1))
    if op.endswith("pool2d"):
        kh, kw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        nh, nw = draw(st.integers(1, top - 1)), draw(st.integers(1, top - 1))
        x = _values(draw, (b, c, kh * nh, kw * nw), ties and op == "maxpool2d")
        if nan and draw(st.booleans()):
            x.flat[draw(st.integers(0, x.size - 1))] = np.nan
        return Case(op, (x,), (kh, kw))
    dims = 1 if op == "conv1d" else 2
    o = draw(st.integers(1, top - 1))
    kernel = tuple(draw(st.integers(1, top)) for _ in range(dims))
    stride: Any = None
    padding: Any = None
    if draw(st.booleans()):
        stride = draw(st.integers(1, 2))
        padding = draw(st.integers(0, 1))
    side = tuple(
        draw(st.integers(max(1, k - 2 * (padding or 0)), max(1, k - 2 * (padding or 0)) + top))
        for k in kernel
    )
    rng = np.random.default_rng(draw(st.integers(0, 1 << 16)))
    x = rng.uniform(-3.0, 3.0, size=(b, c, *side))
    w = rng.uniform(-3.0, 3.0, size=(o, c, *kernel))
    if draw(st.booleans()):
        return Case(op, (x, w, rng.uniform(-3.0, 3.0, size=o)), (stride, padding))
    return Case(op, (x, w), (stride, padding))


def _run(case: Case, backend: str, g: Array | None = None) -> tuple[Array, list[Array]]:
    """The output and each input's gradient of ``(out * g).sum()`` (``g`` fixed per case)."""
    inputs = [tensor(a, backend=backend, requires_grad=True) for a in case.arrays]
    out = case.run(*inputs)
    weights = np.linspace(-1.0, 1.0, out.size).reshape(out.shape) if g is None else g
    (out * tensor(weights, backend=backend)).sum().backward()
    grads = [np.zeros(t.shape) if t.grad is None else t.grad.to_numpy() for t in inputs]
    return out.to_numpy(), grads


def _central_differences(case: Case, backend: str) -> list[Array]:
    """Every input element's derivative of ``(out * g).sum()``, by central differences."""
    found = []
    for i, a in enumerate(case.arrays):
        grad = np.zeros(a.shape)
        for index in np.ndindex(*a.shape):
            sums = []
            for step in (EPSILON, -EPSILON):
                moved = [v.copy() for v in case.arrays]
                moved[i][index] += step
                out = case.run(*(tensor(v, backend=backend) for v in moved)).to_numpy()
                sums.append(
                    float((out * np.linspace(-1.0, 1.0, out.size).reshape(out.shape)).sum())
                )
            grad[index] = (sums[0] - sums[1]) / (2 * EPSILON)
        found.append(grad)
    return found


def _compare(got: tuple[Array, list[Array]], want: tuple[Array, list[Array]], where: str) -> None:
    assert_tensors_close(got[0], want[0], f"forward {where}")
    for i, (g, w) in enumerate(zip(got[1], want[1], strict=True)):
        assert_tensors_close(g, w, f"backward of input {i} {where}", 1e-5, 1e-6)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", CPU)
@settings(max_examples=10)
@given(data=st.data())
def test_gradients_match_central_differences(backend: str, op: str, data: st.DataObject) -> None:
    case = data.draw(cases(op, tiny=True))
    _, grads = _run(case, backend)
    for i, (g, numeric) in enumerate(zip(grads, _central_differences(case, backend), strict=True)):
        assert_tensors_close(g, numeric, f"{case.op}: input {i} on {backend}", 1e-4, 1e-5)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", [b for b in CPU if b != "simple"])
@given(data=st.data())
def test_backends_agree_with_simple(backend: str, op: str, data: st.DataObject) -> None:
    """Values and gradients (tied maxima sharing theirs) as on the simple backend."""
    case = data.draw(cases(op, ties=True))
    _compare(_run(case, backend), _run(case, "simple"), f"of {case.op} on {backend}")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", SIMULATED)
@in_the_simulator
@given(data=st.data())
def test_backends_agree_with_simple_in_the_simulator(
    backend: str, op: str, data: st.DataObject
) -> None:
    case = data.draw(cases(op, tiny=True, ties=True))
    _compare(_run(case, backend), _run(case, "simple"), f"of {case.op} on {backend}")


FUSED = [b for b in backend_names(include_cuda=True) if get_backend(b).fused.names()]
"""The installed backends declaring fused kernels (read from their declarations)."""
DTYPES = ["float64", "float32"]
TOLERANCES = {"float64": (1e-5, 1e-6), "float32": (1e-4, 1e-4)}
"""(rtol, atol) of fused against composed: float32 sums in a different order differ by a few
ulps of the largest term (values here are at most 3, sums of at most 18 products)."""


def test_backends_declare_their_fused_kernels() -> None:
    """numpy, fast and cuda declare both (so the fused-against-composed tests below are not
    empty); simple, the reference, declares none and gets an empty declaration."""
    for name in ("numpy", "fast", "cuda"):
        assert set(get_backend(name).fused.names()) == {"conv2d", "pool2d"}, name
        assert name in FUSED
    assert get_backend("simple").fused == FusedOps()


def _fused_and_composed(case: Case, backend: str) -> list[Any]:
    fused = get_backend(backend).fused
    if case.op.startswith("conv"):
        return [fused.conv2d, Unfold()]
    return [fused.pool2d, Tiles()]


def _kernel_results(
    case: Case, backend: str, dtype: str, kernels: Any, input_grad: bool
) -> tuple[Array, list[Array]]:
    """The output and gradients of ``kernels`` called directly on ``case`` in ``dtype``, after
    checking that every result is in that dtype and shape."""
    ts = [tensor(a, backend=backend, dtype=dtype) for a in case.arrays]
    if case.op.startswith("conv"):
        x, w, *bias = ts
        if case.op == "conv1d":
            x = x.contiguous().view(x.shape[0], x.shape[1], 1, x.shape[2])
            w = w.contiguous().view(w.shape[0], w.shape[1], 1, w.shape[2])
        s, p, out_hw = mt_nn.conv._output_size(
            (x.shape[2], x.shape[3]), (w.shape[2], w.shape[3]), *_pairs(case)
        )
        out, saved = kernels.forward(x, w, bias[0] if bias else None, s, p, out_hw)
        g = tensor(np.linspace(-1.0, 1.0, out.size).reshape(out.shape), backend, dtype=dtype)
        grads = [t for t in kernels.backward(saved, g, input_grad) if t is not None]
        shapes = [x.shape, w.shape] + [t.shape for t in bias]
    else:
        out, saved = kernels.forward(ts[0], case.options, case.op == "avgpool2d")
        g = tensor(np.linspace(-1.0, 1.0, out.size).reshape(out.shape), backend, dtype=dtype)
        grads = [kernels.backward(saved, g)]
        shapes = [ts[0].shape]
    for t in [out, *grads]:
        assert str(t.dtype) == dtype, f"{case.op} on {backend}: a result in {t.dtype}, not {dtype}"
    assert [t.shape for t in grads] == shapes, f"{case.op} on {backend}: gradient shapes"
    return out.to_numpy(), [t.to_numpy() for t in grads]


def _fused_against_composed(case: Case, backend: str, dtype: str, input_grad: bool) -> None:
    results = []
    for kernels in _fused_and_composed(case, backend):
        if kernels is None:
            pytest.skip(f"{backend} declares no fused kernel for {case.op}")
        results.append(_kernel_results(case, backend, dtype, kernels, input_grad))
    rtol, atol = TOLERANCES[dtype]
    where = f"of {case.op} in {dtype} on {backend}, fused against composed"
    assert_tensors_close(results[0][0], results[1][0], f"forward {where}", rtol, atol)
    for i, (got, want) in enumerate(zip(results[0][1], results[1][1], strict=True)):
        assert_tensors_close(got, want, f"backward of input {i} {where}", rtol, atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", [b for b in FUSED if b in CPU])
@given(data=st.data(), input_grad=st.booleans())
def test_fused_kernels_match_the_composed_default(
    backend: str, op: str, dtype: str, data: st.DataObject, input_grad: bool
) -> None:
    """The kernels a backend declares against the composed form, called directly in each float
    dtype: forward, then backward with a fixed upstream gradient (conv1d runs as conv2d of
    height 1); tied maxima, NaN tiles, strides and padding drawn."""
    case = data.draw(cases(op, ties=True, nan=True))
    _fused_against_composed(case, backend, dtype, input_grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", [b for b in FUSED if b in SIMULATED])
@in_the_simulator
@given(data=st.data(), input_grad=st.booleans())
def test_fused_kernels_match_the_composed_default_in_the_simulator(
    backend: str, op: str, dtype: str, data: st.DataObject, input_grad: bool
) -> None:
    case = data.draw(cases(op, tiny=True, ties=True, nan=True))
    _fused_against_composed(case, backend, dtype, input_grad)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", SIMULATED)
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_gradients_match_central_differences_in_the_simulator(
    backend: str, op: str, data: st.DataObject
) -> None:
    """The simulated backend's gradients (its fused kernels, where declared) against central
    differences of its own forward."""
    case = data.draw(cases(op, tiny=True))
    _, grads = _run(case, backend)
    for i, (g, numeric) in enumerate(zip(grads, _central_differences(case, backend), strict=True)):
        assert_tensors_close(g, numeric, f"{case.op}: input {i} on {backend}", 1e-4, 1e-5)


BAD_CALLS: list[tuple[str, Callable[[str], Any], str]] = [
    (
        "channels",
        lambda b: mt_nn.conv2d(_zeros((1, 2, 4, 4), b), _zeros((3, 1, 2, 2), b)),
        "input has 2 channels but weight (3, 1, 2, 2) expects 1",
    ),
    (
        "dims",
        lambda b: mt_nn.conv2d(_zeros((2, 4, 4), b), _zeros((3, 2, 2, 2), b)),
        "conv2d needs a 4-d input and weight, got (2, 4, 4) and (3, 2, 2, 2)",
    ),
    (
        "bias",
        lambda b: mt_nn.conv2d(_zeros((1, 1, 4, 4), b), _zeros((3, 1, 2, 2), b), _zeros((2,), b)),
        "bias shape (2,) should be (3,)",
    ),
    (
        "too large",
        lambda b: mt_nn.conv2d(_zeros((1, 1, 2, 2), b), _zeros((1, 1, 5, 5), b), None, 1, 0),
        "kernel (5, 5) is larger than the input (2, 2)",
    ),
    (
        "pool tiles",
        lambda b: mt_nn.maxpool2d(_zeros((1, 1, 5, 4), b), (2, 2)),
        "kernel (2, 2) must tile the input's height and width (5, 4)",
    ),
    (
        "pool kernel",
        lambda b: mt_nn.maxpool2d(_zeros((1, 1, 4, 4), b), (1.0, 2.0)),  # type: ignore[arg-type]  # floats on purpose
        "kernel must be a pair of ints (kh, kw), got (1.0, 2.0)",
    ),
    (
        "pool dims",
        lambda b: mt_nn.avgpool2d(_zeros((5, 4), b), (2, 2)),
        "tile needs a 4-d (batch, channel, height, width) input, got (5, 4)",
    ),
]


def _zeros(shape: tuple[int, ...], backend: str) -> Tensor:
    return tensor(np.zeros(shape), backend=backend)


@pytest.mark.parametrize(("name", "call", "message"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
@pytest.mark.parametrize("backend", FUSED)
def test_bad_input_is_refused_before_any_kernel(
    backend: str, name: str, call: Callable[[str], Any], message: str
) -> None:
    """Shapes are checked where the call enters (mt-nn), so a fused kernel never sees them: a
    `ValueError` naming the shapes, never a numba error."""
    with pytest.raises(ValueError, match=re.escape(message)):
        call(backend)


def _pairs(case: Case) -> tuple[Any, Any]:
    """A conv case's (stride, padding) as conv2d takes them (conv1d's along the width)."""
    stride, padding = case.options
    if case.op == "conv2d":
        return stride, padding
    return (
        None if stride is None else (1, stride),
        None if padding is None and stride is None else (0, padding or 0),
    )


def _torch_call(case: Case, torch: Any) -> Callable[..., Any]:
    """The same op in torch; the course's keep-the-size convolution is torch's on an input padded
    by ``kernel - 1`` zeros at the end of each spatial dim."""
    F = torch.nn.functional
    if case.op in ("avgpool2d", "maxpool2d"):
        pool = F.avg_pool2d if case.op == "avgpool2d" else F.max_pool2d
        return lambda x: pool(x, case.options)
    conv = F.conv1d if case.op == "conv1d" else F.conv2d
    stride, padding = case.options
    if stride is not None:
        return lambda x, w, b=None: conv(x, w, b, stride=stride, padding=padding)
    ends: list[int] = []
    for k in reversed(case.arrays[1].shape[2:]):
        ends += [0, k - 1]
    return lambda x, w, b=None: conv(F.pad(x, ends), w, b)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("backend", CPU)
@given(data=st.data())
def test_matches_torch(backend: str, op: str, data: st.DataObject) -> None:
    """Forward and every gradient against torch (float64); skipped without torch. Values are
    distinct, so torch's max pooling (which picks one of tied maxima) is comparable."""
    torch = pytest.importorskip("torch")
    case = data.draw(cases(op))
    theirs = [torch.tensor(a, requires_grad=True) for a in case.arrays]
    out = _torch_call(case, torch)(*theirs)
    g = np.linspace(-1.0, 1.0, out.numel()).reshape(tuple(out.shape))
    (out * torch.tensor(g)).sum().backward()
    expected = (out.detach().numpy(), [t.grad.numpy() for t in theirs])
    _compare(_run(case, backend, g), expected, f"of {case.op} on {backend} against torch")


@pytest.mark.parametrize("dtype", ["int64", "bool"])
@pytest.mark.parametrize("op", ["conv2d", "avgpool2d", "maxpool2d"])
@pytest.mark.parametrize("backend", [b for b in FUSED if b in CPU])
def test_fused_kernels_give_the_composed_result_dtype_for_integers(
    backend: str, op: str, dtype: str
) -> None:
    """Integer and boolean operands: a fused kernel returns the composed default's dtype and
    values (a conv of int64 is int64, a mean is float, a max keeps the input's dtype)."""
    rng = np.random.default_rng(0)
    top = 2 if dtype == "bool" else 5
    shapes = [(2, 2, 4, 4), (3, 2, 2, 2)] if op == "conv2d" else [(2, 2, 4, 4)]
    arrays = [rng.integers(0, top, size=shape).astype(np.float64) for shape in shapes]
    outs = []
    for kernels in _fused_and_composed(Case(op, tuple(arrays), None), backend):
        ts = [tensor(a, backend=backend, dtype=dtype) for a in arrays]
        if op == "conv2d":
            out, _ = kernels.forward(ts[0], ts[1], None, (1, 1), (0, 0), (3, 3))
        else:
            out, _ = kernels.forward(ts[0], (2, 2), op == "avgpool2d")
        outs.append(out)
    fused, composed = outs
    assert fused.dtype == composed.dtype, f"{op} of {dtype} on {backend}: {fused.dtype}"
    assert_tensors_close(fused.to_numpy(), composed.to_numpy(), f"{op} of {dtype} on {backend}")
