"""Stage 4 across backends: every network op against numpy and central differences, every
backend against simple, and one optimizer step per backend.

`NN_OPS` declares mt-nn's differentiable ops the way `TENSOR_OPS` declares the tensor ones
(``function`` names the `Function` each is built on), so the undeclared-op guard covers mt-nn.
In numba's CUDA simulator cuda is checked against simple by the ``*_in_the_simulator`` tests, on
inputs of at most `TINY_SIZE` elements and `SIMULATED_EXAMPLES` examples per op (on a GPU it is
one of ``OTHER_BACKENDS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mt_operators import Parameter
from mt_tensor import Function, Tensor, get_backend, tensor
from mt_tensor.tensor_data import on_device
from mt_tensor.testing import TensorOpInfo, assert_tensors_close, backend_names, shapes, tensors

nn = pytest.importorskip("mt_nn")

Array = npt.NDArray[np.float64]
Shapes = tuple[tuple[int, ...], ...]
OTHER_BACKENDS = [b for b in backend_names() if b != "simple"]
EPSILON = 1e-6
SIMULATED = [b for b in backend_names(include_cuda=True) if b not in backend_names()]
"""``["cuda"]`` when it runs in the simulator, else nothing (on a GPU it is a full backend)."""
SIMULATED_EXAMPLES = max(3, (settings.default.max_examples if settings.default else 0) // 50)
"""3 examples per test under the ci profile, 10 under thorough."""
TINY_SIZE = 24
"""The most elements of any input in the simulator."""
sides = st.integers(1, 2)


def as_array(values: Any) -> Array:
    return np.asarray(values, dtype=np.float64)


def conv_reference(x: Array, w: Array) -> Array:
    """The course's convolution in numpy: kernel anchored at the top-left, zeros past the edge."""
    spatial = x.shape[2:]
    kernel = w.shape[2:]
    pad = [(0, 0), (0, 0)] + [(0, k - 1) for k in kernel]
    xp = np.pad(x, pad)
    out = np.zeros((x.shape[0], w.shape[0], *spatial))
    for offset in np.ndindex(*kernel):
        window = tuple(slice(o, o + n) for o, n in zip(offset, spatial, strict=True))
        out += np.einsum(
            "bc...,oc->bo...", xp[(slice(None), slice(None), *window)], w[..., *offset]
        )
    return out


def pool_reference(reduce: Callable[..., Array]) -> Callable[..., Array]:
    def pool(kernel: tuple[int, int], x: Array) -> Array:
        b, c, h, w = x.shape
        kh, kw = kernel
        return as_array(reduce(x.reshape(b, c, h // kh, kh, w // kw, kw), axis=(3, 5)))

    return pool


def logsoftmax_reference(dim: int, x: Array) -> Array:
    z = x - x.max(axis=dim, keepdims=True)
    return as_array(z - np.log(np.exp(z).sum(axis=dim, keepdims=True)))


def labels(n: int, c: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(st.integers(0, c - 1), min_size=n, max_size=n).map(tuple)


@st.composite
def conv_cases(draw: st.DrawFn, spatial_dims: int) -> tuple[Shapes, None]:
    b, c, o = draw(sides), draw(sides), draw(sides)
    size = tuple(draw(st.integers(1, 4)) for _ in range(spatial_dims))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(spatial_dims))
    return ((b, c, *size), (o, c, *kernel)), None


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[Shapes, tuple[int, int]]:
    b, c, nh, nw, kh, kw = (draw(sides) for _ in range(6))
    return ((b, c, nh * kh, nw * kw),), (kh, kw)


def dim_cases(shape: tuple[int, ...]) -> st.SearchStrategy[tuple[Shapes, int]]:
    return st.integers(0, len(shape) - 1).map(lambda d: ((shape,), d))


@st.composite
def class_cases(draw: st.DrawFn) -> tuple[Shapes, tuple[int, ...]]:
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return ((n, c),), draw(labels(n, c))


@st.composite
def binary_cases(draw: st.DrawFn) -> tuple[Shapes, tuple[float, ...]]:
    n = draw(st.integers(1, 5))
    return ((n,),), tuple(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))


@st.composite
def layer_norm_cases(draw: st.DrawFn) -> tuple[Shapes, int]:
    """An input, and a weight and bias of its last ``k`` dims (the normalised shape)."""
    shape = draw(shapes())
    k = draw(st.integers(1, len(shape)))
    return (shape, shape[-k:], shape[-k:]), k


def layer_norm_reference(k: int, x: Array, w: Array, b: Array) -> Array:
    axes = tuple(range(x.ndim - k, x.ndim))
    centred = x - x.mean(axis=axes, keepdims=True)
    return as_array(centred / np.sqrt((centred**2).mean(axis=axes, keepdims=True) + 1e-5) * w + b)


@st.composite
def batch_norm_cases(draw: st.DrawFn) -> tuple[Shapes, None]:
    """``(N, C, *spatial)`` with at least two values per channel, and a weight and bias ``(C,)``."""
    n, c = draw(st.integers(2, 3)), draw(sides)
    spatial = tuple(draw(st.lists(sides, max_size=2)))
    return ((n, c, *spatial), (c,), (c,)), None


def batch_norm_reference(_: None, x: Array, w: Array, b: Array) -> Array:
    axes = tuple(d for d in range(x.ndim) if d != 1)
    per_channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    centred = x - x.mean(axis=axes, keepdims=True)
    scale = np.sqrt((centred**2).mean(axis=axes, keepdims=True) + 1e-5)
    return as_array(centred / scale * w.reshape(per_channel) + b.reshape(per_channel))


def huber_reference(t: tuple[float, ...], x: Array) -> Array:
    a = np.abs(x - np.asarray(t))
    return as_array(np.mean(np.where(a <= 0.5, 0.5 * a * a, 0.5 * (a - 0.25)))).reshape(1)


def like(x: Tensor, values: Any) -> Tensor:
    return tensor(np.asarray(values, dtype=np.float64), backend=x.backend)


def cross_entropy_reference(y: tuple[int, ...], x: Array) -> Array:
    return as_array(-np.mean(logsoftmax_reference(1, x)[np.arange(len(y)), list(y)])).reshape(1)


def bce_reference(t: tuple[float, ...], x: Array) -> Array:
    p = 1.0 / (1.0 + np.exp(-x))
    ts = np.asarray(t)
    return as_array(-np.mean(ts * np.log(p) + (1 - ts) * np.log(1 - p))).reshape(1)


def bce_logits_reference(t: tuple[float, ...], x: Array) -> Array:
    return as_array(np.mean(np.logaddexp(0.0, x) - x * np.asarray(t))).reshape(1)


NN_OPS: tuple[TensorOpInfo, ...] = (
    TensorOpInfo(
        "conv1d",
        "Conv2dFun",
        lambda _, x, w: nn.conv1d(x, w),
        lambda _, x, w: conv_reference(x, w),
        conv_cases(1),
    ),
    TensorOpInfo(
        "Conv1dFun",
        "Conv1dFun",
        lambda _, x, w: nn.Conv1dFun.apply(x, w),
        lambda _, x, w: conv_reference(x, w),
        conv_cases(1),
    ),
    TensorOpInfo(
        "conv2d",
        "Conv2dFun",
        lambda _, x, w: nn.conv2d(x, w),
        lambda _, x, w: conv_reference(x, w),
        conv_cases(2),
    ),
    TensorOpInfo(
        "avgpool2d",
        "Pool2dFun",
        lambda k, x: nn.avgpool2d(x, k),
        pool_reference(np.mean),
        pool_cases(),
    ),
    TensorOpInfo(
        "maxpool2d",
        "Pool2dFun",
        lambda k, x: nn.maxpool2d(x, k),
        pool_reference(np.max),
        pool_cases(),
    ),
    TensorOpInfo(
        "max",
        "Max",
        lambda d, x: nn.max(x, d),
        lambda d, x: x.max(axis=d, keepdims=True),
        shapes().flatmap(dim_cases),
    ),
    TensorOpInfo(
        "softmax",
        "Exp",
        lambda d, x: nn.softmax(x, d),
        lambda d, x: np.exp(logsoftmax_reference(d, x)),
        shapes().flatmap(dim_cases),
    ),
    TensorOpInfo(
        "logsoftmax",
        "Log",
        lambda d, x: nn.logsoftmax(x, d),
        logsoftmax_reference,
        shapes().flatmap(dim_cases),
    ),
    TensorOpInfo(
        "var",
        "Sum",
        lambda d, x: nn.var(x, d, correction=0),
        lambda d, x: x.var(axis=d, keepdims=True),
        shapes().flatmap(dim_cases),
    ),
    TensorOpInfo(
        "std",
        "Std",
        lambda d, x: nn.std(x, d),
        lambda d, x: x.std(axis=d, ddof=1, keepdims=True),
        shapes(1, 3, 2, 3).flatmap(dim_cases),
    ),
    TensorOpInfo(
        "layer_norm",
        "Sqrt",
        lambda k, x, w, b: nn.layer_norm(x, x.shape[x.dims - k :], w, b),
        layer_norm_reference,
        layer_norm_cases(),
    ),
    TensorOpInfo(
        "batch_norm",
        "Sqrt",
        lambda _, x, w, b: nn.batch_norm(x, None, None, w, b, training=True),
        batch_norm_reference,
        batch_norm_cases(),
    ),
    TensorOpInfo(
        "adaptive_avgpool2d",
        "Pool2dFun",
        lambda k, x: nn.adaptive_avgpool2d(x, (x.shape[2] // k[0], x.shape[3] // k[1])),
        pool_reference(np.mean),
        pool_cases(),
    ),
    TensorOpInfo(
        "logsumexp",
        "Log",
        lambda d, x: nn.logsumexp(x, d),
        lambda d, x: np.log(np.exp(x).sum(axis=d, keepdims=True)),
        shapes().flatmap(dim_cases),
    ),
    TensorOpInfo(
        "softplus",
        "Softplus",
        lambda _, x: nn.softplus(x, 2.0),
        lambda _, x: np.logaddexp(0.0, 2.0 * x) / 2.0,
        shapes().map(lambda s: ((s,), None)),
    ),
    TensorOpInfo(
        "silu",
        "Sigmoid",
        lambda _, x: nn.silu(x),
        lambda _, x: x / (1.0 + np.exp(-x)),
        shapes().map(lambda s: ((s,), None)),
    ),
    TensorOpInfo(
        "elu",
        "ReLU",
        lambda _, x: nn.elu(x),
        lambda _, x: as_array(np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))),
        shapes().map(lambda s: ((s,), None)),
    ),
    TensorOpInfo(
        "huber_loss",
        "Clamp",
        lambda t, x: nn.huber_loss(x, like(x, t), delta=0.5),
        huber_reference,
        binary_cases(),
    ),
    TensorOpInfo(
        "cross_entropy",
        "Log",
        lambda y, x: nn.cross_entropy(x, like(x, y)),
        cross_entropy_reference,
        class_cases(),
    ),
    TensorOpInfo(
        "binary_cross_entropy",
        "ClampedLog",
        lambda t, x: nn.binary_cross_entropy(x.sigmoid(), like(x, t)),
        bce_reference,
        binary_cases(),
    ),
    TensorOpInfo(
        "binary_cross_entropy_with_logits",
        "Softplus",
        lambda t, x: nn.binary_cross_entropy_with_logits(x, like(x, t)),
        bce_logits_reference,
        binary_cases(),
    ),
    TensorOpInfo(
        "mse_loss",
        "Mul",
        lambda t, x: nn.mse_loss(x, like(x, t)),
        lambda t, x: np.mean((x - np.asarray(t)) ** 2).reshape(1),
        binary_cases(),
    ),
)
"""Every mt-nn op, with its numpy reference (course semantics: dims kept, conv anchored left)."""

DISTINCT = {"max", "maxpool2d", "std"}
"""Ops whose gradient is undefined at ties (for std: at zero spread, a kink like abs's at 0):
their inputs are drawn with distinct values, one apart."""


@st.composite
def nn_inputs(
    draw: st.DrawFn, op: TensorOpInfo, backend: str = "simple", max_size: int | None = None
) -> tuple[list[Tensor], Any]:
    """Inputs for ``op`` (each of at most ``max_size`` elements) and its parameter."""
    cases = op.cases
    if max_size is not None:
        limit = max_size
        cases = cases.filter(lambda c: all(int(np.prod(s)) <= limit for s in c[0]))
    in_shapes, param = draw(cases)
    if op.name not in DISTINCT:
        return [draw(tensors(s, backend)) for s in in_shapes], param
    (shape,) = in_shapes
    order = draw(st.permutations(range(int(np.prod(shape)))))
    values = (np.array(order, dtype=np.float64) - len(order) / 2).reshape(shape)
    return [tensor(values, backend=backend)], param


def run(fn: Callable[..., Tensor], inputs: list[Tensor]) -> tuple[Array, list[Array]]:
    """The output of ``fn`` and the gradient of its sum with respect to each input."""
    for x in inputs:
        x.requires_grad_(True)
    out = fn(*inputs)
    out.sum().backward()
    return out.to_numpy(), [
        np.zeros(x.shape) if x.grad is None else x.grad.to_numpy() for x in inputs
    ]


def central_differences(f: Callable[..., Array], arrays: list[Array]) -> list[Array]:
    """$\\partial\\, \\mathrm{sum}(f) / \\partial x$ for every element of every input.

    Outputs are differenced before they are summed, so those a nudge leaves alone cancel exactly
    instead of adding the whole sum's rounding error (6e-5 in the quotient on a sum of 10^4s:
    it failed the gradient -0.25 of ``x ** -2`` at 2.0, beside 0.01s, in a thorough run).
    """
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros(a.shape)
        for idx in np.ndindex(a.shape):
            up = [x.copy() for x in arrays]
            down = [x.copy() for x in arrays]
            up[i][idx] += EPSILON
            down[i][idx] -= EPSILON
            g[idx] = np.sum(f(*up) - f(*down)) / (2 * EPSILON)
        grads.append(g)
    return grads


@pytest.mark.parametrize("op", NN_OPS, ids=[op.name for op in NN_OPS])
@given(data=st.data())
def test_nn_gradients_match_central_differences(op: TensorOpInfo, data: st.DataObject) -> None:
    inputs, param = data.draw(nn_inputs(op))
    arrays = [t.to_numpy() for t in inputs]

    def reference(*xs: Array) -> Array:
        return op.reference(param, *xs)

    out, grads = run(lambda *ts: op.call(param, *ts), inputs)
    assert_tensors_close(out, reference(*arrays), "forward")
    for i, (g, e) in enumerate(zip(grads, central_differences(reference, arrays), strict=True)):
        assert_tensors_close(g, e, f"backward of input {i}", rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
@pytest.mark.parametrize("op", NN_OPS, ids=[op.name for op in NN_OPS])
@given(data=st.data())
def test_nn_ops_match_simple(op: TensorOpInfo, backend: str, data: st.DataObject) -> None:
    check_against_simple(op, data.draw(nn_inputs(op)), backend)


@pytest.mark.parametrize("backend", SIMULATED)
@pytest.mark.parametrize("op", NN_OPS, ids=[op.name for op in NN_OPS])
@settings(max_examples=SIMULATED_EXAMPLES)
@given(data=st.data())
def test_nn_ops_match_simple_in_the_simulator(
    op: TensorOpInfo, backend: str, data: st.DataObject
) -> None:
    check_against_simple(op, data.draw(nn_inputs(op, max_size=TINY_SIZE)), backend)


def check_against_simple(op: TensorOpInfo, case: tuple[list[Tensor], Any], backend: str) -> None:
    """``op`` on ``backend`` gives simple's output and input gradients."""
    inputs, param = case
    fn = lambda *ts: op.call(param, *ts)
    expected_out, expected_grads = run(fn, inputs)
    out, grads = run(fn, [t.to(backend).detach() for t in inputs])
    assert_tensors_close(out, expected_out, f"forward on {backend}")
    for i, (g, e) in enumerate(zip(grads, expected_grads, strict=True)):
        assert_tensors_close(g, e, f"backward of input {i} on {backend}")


def test_every_nn_function_is_declared() -> None:
    """The undeclared-op guard for mt-nn: each of its `Function` classes has an `NN_OPS` entry."""
    declared = {op.function for op in NN_OPS}
    todo: list[type] = list(Function.__subclasses__())
    found: list[type] = []
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] == "mt_nn":
            found.append(cls)
    assert found, "no mt_nn Function found: the guard would be vacuous"
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in found if c.__name__ not in declared)
    assert not missing, f"mt_nn Functions with no entry in NN_OPS: {', '.join(missing)}"


# One optimizer step on every backend.

SEED = 7
IN, HIDDEN, CLASSES, BATCH = 3, 5, 4, 6


def model_and_batch(backend: str) -> tuple[Any, Tensor, Tensor]:
    """The same MLP (seeded) and batch on ``backend``."""
    nn.manual_seed(SEED)
    model = nn.MLP(IN, HIDDEN, CLASSES, backend=backend)
    rng = np.random.default_rng(SEED)
    x = tensor(rng.normal(size=(BATCH, IN)), backend=backend)
    y = tensor(rng.integers(0, CLASSES, size=BATCH).astype(np.float64), backend=backend)
    return model, x, y


def parameters(model: Any) -> dict[str, Array]:
    named: list[tuple[str, Parameter]] = model.named_parameters()
    return {name: p.value.to_numpy() for name, p in named}


def one_step(
    backend: str, optimizer: Callable[..., Any]
) -> tuple[dict[str, Array], dict[str, Array]]:
    """Parameters before and after one step of ``optimizer`` on ``backend``."""
    model, x, y = model_and_batch(backend)
    opt = optimizer(model.parameters())
    before = parameters(model)
    opt.zero_grad()
    nn.nll_loss(model(x), y).backward()
    opt.step()
    return before, parameters(model)


OPTIMIZERS = {
    "sgd": lambda ps: nn.SGD(ps, lr=0.5, momentum=0.9),
    "adam": lambda ps: nn.Adam(ps, lr=0.1),
}


@pytest.mark.parametrize("backend", OTHER_BACKENDS + SIMULATED)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_one_step_changes_parameters_identically(name: str, backend: str) -> None:
    expected_before, expected_after = one_step("simple", OPTIMIZERS[name])
    before, after = one_step(backend, OPTIMIZERS[name])
    assert expected_before.keys() == after.keys()
    for key in expected_before:
        assert_tensors_close(before[key], expected_before[key], f"{key} before {name} step")
        assert not np.allclose(expected_after[key], expected_before[key]), f"{name} left {key}"
        assert_tensors_close(after[key], expected_after[key], f"{key} after {name} on {backend}")


@pytest.mark.parametrize("backend", [b for b in OTHER_BACKENDS + SIMULATED if get_backend(b).cuda])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_step_on_a_device_keeps_parameters_and_state_there(name: str, backend: str) -> None:
    model, x, y = model_and_batch(backend)
    opt = OPTIMIZERS[name](model.parameters())
    for _ in range(2):
        opt.zero_grad()
        nn.nll_loss(model(x), y).backward()
        opt.step()
    for p in model.parameters():
        assert on_device(p.value._tensor._storage), f"{p.name} came back to the host"
        assert p.value.requires_grad() and p.value.is_leaf(), f"{p.name} is no longer a leaf"
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, Tensor):
                assert on_device(value._tensor._storage), f"{name} state {key!r} on the host"
