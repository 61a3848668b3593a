"""``minitorch.torch`` against PyTorch: every op of the face on generated shapes.

Each case is one line: a function of the module ``T`` (torch, then ours) and its inputs,
compared by `assert_torch_parity` (outputs' shapes, dtypes and values, then the gradient of every
float input). The whole file skips without torch (``pip install torch==2.13.0``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch.torch as ours
from mt_tensor.testing import assert_torch_parity, shapes, tensor_data

pytest.importorskip("torch", reason="the parity suite compares with torch==2.13.0")

Array = npt.NDArray[Any]
Inputs = st.SearchStrategy[tuple[Array, ...]]


@dataclass(frozen=True)
class Case:
    """One op of the face: ``fn(T, *tensors)`` and the strategy for its input arrays."""

    name: str
    fn: Callable[..., Any]
    inputs: Inputs


def arrays(
    shape_st: st.SearchStrategy[tuple[int, ...]] | None = None, lo: float = -5.0, hi: float = 5.0
) -> st.SearchStrategy[Array]:
    return (shapes(1, 3) if shape_st is None else shape_st).flatmap(
        lambda s: tensor_data(s, lo, hi)
    )


def distinct(
    shape_st: st.SearchStrategy[tuple[int, ...]] | None = None,
) -> st.SearchStrategy[Array]:
    """Values without ties (max/min route the gradient to one element)."""

    @st.composite
    def draw(d: st.DrawFn) -> Array:
        s = d(shapes(1, 3) if shape_st is None else shape_st)
        order = d(st.permutations(range(int(np.prod(s)))))
        return (np.array(order, dtype=np.float64) * 0.37 - 1.0).reshape(s)

    return draw()


def one(a: st.SearchStrategy[Array]) -> Inputs:
    return a.map(lambda x: (x,))


def pair_same() -> Inputs:
    return shapes(1, 3).flatmap(lambda s: st.tuples(tensor_data(s, -5, 5), tensor_data(s, -5, 5)))


def broadcast_pair() -> Inputs:
    @st.composite
    def draw(d: st.DrawFn) -> tuple[Array, Array]:
        s = d(shapes(1, 3))
        other = tuple(1 if d(st.booleans()) else n for n in s)[d(st.integers(0, len(s) - 1)) :]
        return d(tensor_data(s, -5, 5)), d(tensor_data(other, -5, 5))

    return draw()


def matmul_pair(batch: int = 0) -> Inputs:
    @st.composite
    def draw(d: st.DrawFn) -> tuple[Array, Array]:
        n, m, p = (d(st.integers(1, 4)) for _ in range(3))
        b = tuple(d(st.integers(1, 3)) for _ in range(batch))
        return d(tensor_data((*b, n, m))), d(tensor_data((*b, m, p)))

    return draw()


def logits_and_labels(probabilities: bool = False) -> Inputs:
    @st.composite
    def draw(d: st.DrawFn) -> tuple[Array, Array]:
        n, c = d(st.integers(1, 5)), d(st.integers(2, 5))
        logits = d(tensor_data((n, c), -5, 5))
        if probabilities:
            p = d(tensor_data((n, c), 0.01, 1.0))
            return logits, p / p.sum(axis=1, keepdims=True)
        return logits, np.array(d(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))

    return draw()


def images(channels: int = 2, side: tuple[int, int] = (3, 6)) -> st.SearchStrategy[Array]:
    @st.composite
    def draw(d: st.DrawFn) -> Array:
        b, h, w = d(st.integers(1, 2)), d(st.integers(*side)), d(st.integers(*side))
        return d(tensor_data((b, channels, h, w)))

    return draw()


def conv_inputs(dims: int) -> Inputs:
    @st.composite
    def draw(d: st.DrawFn) -> tuple[Array, Array, Array, int, int]:
        b, c, o = d(st.integers(1, 2)), d(st.integers(1, 2)), d(st.integers(1, 3))
        k = d(st.integers(1, 3))
        size = tuple(d(st.integers(k, 6)) for _ in range(dims))
        x = d(tensor_data((b, c, *size)))
        w = d(tensor_data((o, c, *(k,) * dims)))
        return x, w, d(tensor_data((o,))), d(st.integers(1, 2)), d(st.integers(0, 2))

    return draw().map(lambda t: (t[0], t[1], t[2], np.array(t[3]), np.array(t[4])))


def labels(n: int, c: int) -> st.SearchStrategy[Array]:
    return st.lists(st.integers(0, c - 1), min_size=n, max_size=n).map(np.array)


def index_of(x: Array) -> st.SearchStrategy[Array]:
    return st.lists(st.integers(0, x.shape[0] - 1), min_size=1, max_size=4).map(np.array)


def with_trailing_params(k: int = 1) -> Inputs:
    """An input of 2-3 dims (sides >= 2), and a weight and a bias of its last ``k`` dims."""
    return shapes(2, 3, 2, 4).flatmap(
        lambda s: st.tuples(
            tensor_data(s, -5, 5), tensor_data(s[-k:], -2, 2), tensor_data(s[-k:], -2, 2)
        )
    )


CASES = [
    # Element-wise and arithmetic.
    Case("add", lambda T, a, b: a + b, broadcast_pair()),
    Case("sub", lambda T, a, b: a - b, broadcast_pair()),
    Case("mul", lambda T, a, b: a * b, broadcast_pair()),
    Case("div", lambda T, a, b: a / (b.abs() + 1), broadcast_pair()),
    Case("number ops", lambda T, a: (2 - a * 3 + 1) / 4, one(arrays())),
    Case("rdiv", lambda T, a: 1 / (a.abs() + 0.5), one(arrays())),
    Case("neg", lambda T, a: -a, one(arrays())),
    Case("exp", lambda T, a: a.exp(), one(arrays())),
    Case("log", lambda T, a: T.log(a), one(arrays(lo=0.1, hi=5))),
    Case("sqrt", lambda T, a: a.sqrt(), one(arrays(lo=0.1, hi=5))),
    Case("pow", lambda T, a: a.pow(2) + a**3 - T.pow(a, 1), one(arrays())),
    Case("pow real", lambda T, a: a**0.5 + a**-1.5, one(arrays(lo=0.1, hi=5))),
    Case("abs", lambda T, a: a.abs(), one(arrays())),
    Case("clamp", lambda T, a: a.clamp(-1.0, 2.0) + T.clamp(a, min=0.5), one(arrays())),
    Case("relu", lambda T, a: a.relu() + T.relu(a), one(arrays())),
    Case("sigmoid", lambda T, a: a.sigmoid(), one(arrays())),
    Case("tanh", lambda T, a: a.tanh() + T.tanh(a), one(arrays())),
    Case("trig", lambda T, a: (a.sin(), T.cos(a), a.tan()), one(arrays(lo=-1.2, hi=1.2))),
    Case("log1p expm1", lambda T, a: (a.log1p(), T.expm1(a)), one(arrays(lo=-0.9, hi=3))),
    Case("erf", lambda T, a: a.erf() + T.erf(a), one(arrays())),
    Case(
        "rsqrt reciprocal square",
        lambda T, a: (a.rsqrt(), T.reciprocal(a), a.square(), T.square(a)),
        one(arrays(lo=0.1, hi=5)),
    ),
    Case(
        "rounding",
        lambda T, a: (a.sign(), a.floor(), T.ceil(a), a.trunc(), a.round(), T.round(a, decimals=1)),
        one(arrays()),
    ),
    Case(
        "pow tensor exponent",
        lambda T, a, b: (a.pow(b.round()), T.pow(a.abs() + 0.5, b), a ** (b * 0)),
        pair_same(),
    ),
    Case("gelu", lambda T, a: (T.nn.functional.gelu(a), T.nn.GELU()(a)), one(arrays())),
    Case("matmul", lambda T, a, b: a @ b, matmul_pair()),
    Case("mm", lambda T, a, b: T.mm(a, b), matmul_pair()),
    Case("bmm", lambda T, a, b: a.bmm(b), matmul_pair(batch=1)),
    Case("matmul batched", lambda T, a, b: T.matmul(a, b), matmul_pair(batch=2)),
    Case("matmul vector", lambda T, a, b: a @ b[..., 0], matmul_pair()),
    Case(
        "comparisons", lambda T, a, b: (a < b, a <= b, a > b, a >= b, a == b, a != b), pair_same()
    ),
    Case("logic", lambda T, a, b: ((a > 0) & (b > 0), (a > 0) | (b > 0), ~(a > 0)), pair_same()),
    Case("where", lambda T, a, b: T.where(a > b, a, b * 2), pair_same()),
    # Reductions: PyTorch's dims.
    Case("sum", lambda T, a: (a.sum(), a.sum(0), a.sum(-1, keepdim=True), T.sum(a)), one(arrays())),
    Case("mean", lambda T, a: (a.mean(), a.mean(0), a.mean(dim=-1, keepdim=True)), one(arrays())),
    Case("sum dims", lambda T, a: a.sum(dim=(0, -1)), one(arrays(shapes(2, 3)))),
    Case("max", lambda T, a: (a.max(), *a.max(0), *a.max(dim=-1, keepdim=True)), one(distinct())),
    Case("min", lambda T, a: (a.min(), *a.min(0), *T.min(a, -1, keepdim=True)), one(distinct())),
    Case(
        "argmax",
        lambda T, a: (a.argmax(), a.argmax(0), a.argmin(-1, keepdim=True)),
        one(distinct()),
    ),
    Case("maximum", lambda T, a, b: T.maximum(a, b) + T.minimum(a, b) * 2, pair_same()),
    Case("softmax", lambda T, a: (a.softmax(-1), T.softmax(a, 0)), one(arrays())),
    Case("log_softmax", lambda T, a: (a.log_softmax(-1), T.log_softmax(a, 0)), one(arrays())),
    Case("all any", lambda T, a: ((a > 0).all(), (a > 0).any(), (a > 0).all(0)), one(arrays())),
    # Shapes.
    Case("reshape", lambda T, a: a.reshape(-1) * a.reshape(a.numel(), 1).view(-1), one(arrays())),
    Case(
        "flatten",
        lambda T, a: (a.flatten(), a.flatten(1), T.flatten(a, 0, -1)),
        one(arrays(shapes(2, 3))),
    ),
    Case(
        "unsqueeze",
        lambda T, a: (a.unsqueeze(0), a.unsqueeze(-1), a.unsqueeze(1).squeeze(1)),
        one(arrays()),
    ),
    Case("squeeze", lambda T, a: (a.squeeze(), a.squeeze(0)), one(arrays(shapes(1, 3, 1, 2)))),
    Case(
        "transpose",
        lambda T, a: (a.transpose(0, -1), a.T, a.t() if a.dim() == 2 else a),
        one(arrays(shapes(2, 3))),
    ),
    Case("permute", lambda T, a: a.permute(*reversed(range(a.dim()))).contiguous(), one(arrays())),
    Case("expand", lambda T, a: a.unsqueeze(0).expand(3, *a.shape) * 1.5, one(arrays())),
    Case(
        "expand -1",
        lambda T, a: a[..., :1].expand(-1, 4) if a.dim() == 2 else a,
        one(arrays(shapes(2, 2))),
    ),
    Case(
        "repeat",
        lambda T, a: a.repeat(2, 1) if a.dim() == 2 else a.repeat(3),
        one(arrays(shapes(1, 2))),
    ),
    Case("cat", lambda T, a, b: (T.cat([a, b, a], 0), T.cat([a, b], -1)), pair_same()),
    Case("stack", lambda T, a, b: (T.stack([a, b]), T.stack([a, b], -1)), pair_same()),
    Case("chunk", lambda T, a: a.chunk(2, 0), one(arrays())),
    Case("clone", lambda T, a: a.clone() * a.detach(), one(arrays())),
    # Indexing with gradients.
    Case("index int", lambda T, a: (a[0], a[-1]), one(arrays())),
    Case("slice", lambda T, a: (a[:, 1:3], a[::2], a[..., -1]), one(arrays(shapes(2, 3)))),
    Case("mask", lambda T, a: a[a > 0], one(arrays())),
    Case(
        "index tensor",
        lambda T, a, i: a[i],
        one(arrays()).flatmap(lambda t: st.tuples(st.just(t[0]), index_of(t[0]))),
    ),
    Case("setitem", lambda T, a: _setitem(T, a), one(arrays(shapes(1, 3, 2)))),
    Case("in place", lambda T, a: _in_place(T, a), one(arrays())),
    Case("backward gradient", lambda T, a: _backward_with(T, a), one(arrays())),
    Case("introspection", lambda T, a: _introspection(a), one(arrays())),
    # Creation and dtypes.
    Case("creation", lambda T: _creation(T), st.just(())),
    Case("legacy constructors", lambda T: _legacy(T), st.just(())),
    Case(
        "free arithmetic",
        lambda T, a, b: (
            T.add(a, b, alpha=2),
            T.sub(a, b, alpha=0.5),
            T.mul(a, b),
            T.div(a, b.abs() + 1),
            T.subtract(a, 1.5),
            T.true_divide(a, 4),
        ),
        broadcast_pair(),
    ),
    Case(
        "div rounding",
        lambda T, a, b: (
            T.div(a.detach(), b.detach().abs() + 0.5, rounding_mode="floor"),
            a.detach().div(b.detach().abs() + 0.5, rounding_mode="trunc"),
            T.div(T.tensor([7, -7]), 2, rounding_mode="trunc"),
        ),
        pair_same(),
    ),
    Case("out=", lambda T, a, b: _out(T, a, b), pair_same()),
    Case(
        "index_add",
        lambda T, a, b: (
            a.index_add(0, T.tensor([0, 0, 0]), b[[0, 0, 0]] * 2, alpha=0.5),
            a.index_add(-1, T.tensor([0, 0]), b[..., :1].expand(*b.shape[:-1], 2)),
        ),
        pair_same(),
    ),
    Case(
        "index_add_",
        lambda T, a, b: _index_add(T, a, b),
        st.tuples(tensor_data((3, 4), -5, 5), tensor_data((3, 3), -5, 5)),
    ),
    Case("autograd.Function", lambda T, a, b: _functions(T, a, b), pair_same()),
    Case("autograd.grad", lambda T, a, b: _grads(T, a, b), pair_same()),
    Case("retain_graph", lambda T, a: _retained(T, a), one(arrays())),
    Case("embedding padding_idx", lambda T, w: _padded(T, w), one(tensor_data((4, 2), -5, 5))),
    Case("dtypes", lambda T, a: _dtypes(T, a), one(arrays())),
    Case(
        "int arithmetic",
        lambda T, i: (i + 1, i * 2, i / 2, i // 2, i % 3, i.float() * 0.5, i.sum()),
        one(labels(4, 7)),
    ),
    # nn.functional.
    Case(
        "cross_entropy",
        lambda T, x, y: (
            T.nn.functional.cross_entropy(x, y),
            T.nn.functional.cross_entropy(x, y, reduction="sum"),
        ),
        logits_and_labels(),
    ),
    Case(
        "cross_entropy probabilities",
        lambda T, x, p: T.nn.functional.cross_entropy(x, p),
        logits_and_labels(True),
    ),
    Case(
        "nll_loss",
        lambda T, x, y: T.nn.functional.nll_loss(x.log_softmax(1), y, reduction="none"),
        logits_and_labels(),
    ),
    Case("mse_loss", lambda T, a, b: T.nn.functional.mse_loss(a, b), pair_same()),
    Case(
        "bce",
        lambda T, a, b: T.nn.functional.binary_cross_entropy(a.sigmoid(), b.sigmoid()),
        pair_same(),
    ),
    Case(
        "bce logits",
        lambda T, a, b: T.nn.functional.binary_cross_entropy_with_logits(a, b.sigmoid()),
        pair_same(),
    ),
    Case("one_hot", lambda T, y: T.nn.functional.one_hot(y, 7), one(labels(5, 7))),
    Case("linear", lambda T, x, w: T.nn.functional.linear(x, w.t(), w[0]), matmul_pair()),
    Case(
        "conv1d",
        lambda T, x, w, b, s, p: T.nn.functional.conv1d(x, w, b, stride=int(s), padding=int(p)),
        conv_inputs(1),
    ),
    Case(
        "conv2d",
        lambda T, x, w, b, s, p: T.nn.functional.conv2d(x, w, b, stride=int(s), padding=int(p)),
        conv_inputs(2),
    ),
    Case(
        "conv2d same",
        lambda T, x, w, b, s, p: T.nn.functional.conv2d(x, w, padding="same"),
        conv_inputs(2),
    ),
    Case(
        "max_pool2d",
        lambda T, x: T.nn.functional.max_pool2d(x, 2),
        one(
            distinct(
                st.tuples(
                    st.integers(1, 2), st.integers(1, 2), st.integers(2, 5), st.integers(2, 5)
                )
            )
        ),
    ),
    Case("avg_pool2d", lambda T, x: T.nn.functional.avg_pool2d(x, (2, 1)), one(images())),
    Case(
        "pad",
        lambda T, x: (
            T.nn.functional.pad(x, (1, 2)),
            T.nn.functional.pad(x, (0, 1, 2, 0), value=3.0),
        ),
        one(arrays(shapes(2, 3))),
    ),
    Case(
        "dropout off",
        lambda T, x: (
            T.nn.functional.dropout(x, 0.5, training=False) + T.nn.functional.dropout(x, 0.0)
        ),
        one(arrays()),
    ),
    Case(
        "var and std",
        lambda T, a: (
            a.var(),
            a.std(0),
            T.var(a, dim=-1, keepdim=True),
            a.var(unbiased=False),
            T.std(a, (0, 1), correction=0),
        ),
        one(arrays(shapes(2, 3, 2, 4))),
    ),
    Case(
        "square, masked_fill",
        lambda T, a: (
            a.square(),
            T.square(a),
            a.masked_fill(a > 0, 0.5),
            T.masked_fill(a, a < 0, -1),
        ),
        one(arrays()),
    ),
    Case(
        "comparisons by name",
        lambda T, a, b: (T.eq(a, b), T.ne(a, b), T.lt(a, b), T.le(a, 0), T.gt(a, b), T.ge(a, b)),
        pair_same(),
    ),
    Case(
        "layer_norm",
        lambda T, x, w, b: (
            T.nn.functional.layer_norm(x, x.shape[-1:], w, b),
            T.nn.functional.layer_norm(x, (x.shape[-1],)),
        ),
        with_trailing_params(),
    ),
    Case(
        "layer_norm 2 dims",
        lambda T, x, w, b: T.nn.functional.layer_norm(x, x.shape[-2:], w, b, eps=1e-3),
        with_trailing_params(2),
    ),
    Case(
        "logsumexp",
        lambda T, a: (T.logsumexp(a, 0), a.logsumexp(-1, keepdim=True), a.logsumexp((0, -1))),
        one(arrays(shapes(2, 3), lo=-50, hi=50)),
    ),
    Case(
        "regression losses",
        lambda T, x, t: (
            T.nn.functional.l1_loss(x, t),
            T.nn.functional.smooth_l1_loss(x, t, beta=0.5),
            T.nn.functional.huber_loss(x, t, reduction="sum", delta=2.0),
            T.nn.L1Loss(reduction="none")(x, t),
            T.nn.SmoothL1Loss()(x, t),
            T.nn.HuberLoss(delta=0.5)(x, t),
        ),
        pair_same(),
    ),
    Case(
        "silu, softplus, elu",
        lambda T, x: (
            T.nn.functional.silu(x),
            T.nn.functional.softplus(x),
            T.nn.functional.softplus(x, beta=2.0),
            T.nn.SiLU()(x),
            T.nn.Softplus(beta=0.5)(x),
            T.nn.functional.elu(x),
            T.nn.ELU(alpha=0.5)(x),
        ),
        one(arrays(lo=-30, hi=30)),
    ),
    Case(
        "adaptive_avg_pool2d",
        lambda T, x: (
            T.nn.functional.adaptive_avg_pool2d(x, 1),
            T.nn.functional.adaptive_avg_pool2d(x, (3, None)),
            T.nn.AdaptiveAvgPool2d((1, 2))(x),
        ),
        one(images(side=(6, 6))),
    ),
    Case(
        "activations",
        lambda T, x: (
            T.nn.functional.relu(x),
            T.nn.functional.sigmoid(x),
            T.nn.functional.tanh(x),
            T.nn.functional.leaky_relu(x, 0.1),
        ),
        one(arrays()),
    ),
]


def _setitem(T: Any, a: Any) -> Any:
    b = a * 1.0
    b[0] = b[0] * 2
    c = T.zeros(a.shape, dtype=T.float64)
    c[a > 0] = 1.0
    return b, c


def _in_place(T: Any, a: Any) -> Any:
    b = a.detach().clone()
    with T.no_grad():
        b.add_(1.0).mul_(2.0)
        b.sub_(a, alpha=0.5)
        b += 1
        b.clamp_(-3.0, 3.0)
    c = a * 1.0
    c.mul_(a)
    return b, c


def _backward_with(T: Any, a: Any) -> Any:
    """``backward(gradient)`` of a non-scalar output, then a function of the gradient."""
    b = a.detach().clone().requires_grad_(True)
    (b * b).backward(T.ones_like(b) * 3)
    return a * b.grad


def _introspection(a: Any) -> tuple[Any, ...]:
    return (
        tuple(a.shape),
        a.size(0),
        a.size(),
        a.dim(),
        a.ndim,
        a.numel(),
        a.detach().tolist(),
        a.flatten()[0].item(),
        a.requires_grad,
        a.is_leaf,
        (a * 2).is_leaf,
        a.is_floating_point(),
        len(a),
    )


def _creation(T: Any) -> tuple[Any, ...]:
    return (
        T.tensor([[1, 2], [3, 4]]),
        T.tensor([1.5, 2.0]),
        T.tensor([True, False]),
        T.tensor(3.0),
        T.zeros(2, 3),
        T.ones((2,), dtype=T.int64),
        T.full((2, 2), 7),
        T.full((2,), 0.5),
        T.arange(5),
        T.arange(1, 2, 0.25),
        T.linspace(0, 1, 5),
        T.eye(3),
        T.zeros_like(T.ones(2, dtype=T.float64)),
        T.ones_like(T.tensor([1, 2])),
        T.from_numpy(np.arange(6.0).reshape(2, 3)),
        T.from_numpy(np.arange(3)),
    )


def _legacy(T: Any) -> tuple[Any, ...]:
    return (
        T.Tensor([1, 2.5]),
        T.Tensor(2, 3).shape,
        T.FloatTensor([[1, 2], [3, 4]]),
        T.LongTensor([3, -1]),
        T.DoubleTensor([0.5]),
        T.IntTensor([1, 2]),
        T.BoolTensor([True, False]),
        T.tensor([1.7, -2.2]).type(T.LongTensor),
        T.tensor([1, 2]).type("torch.DoubleTensor"),
    )


def _out(T: Any, a: Any, b: Any) -> tuple[Any, ...]:
    x, y = a.detach(), b.detach()
    same, empty, scalar = T.empty(x.shape, dtype=T.float64), T.empty(0, dtype=T.float64), T.zeros(0)
    T.add(x, y, alpha=3, out=same)
    T.matmul(x.reshape(-1), y.reshape(-1), out=empty)
    T.sum(x, 0, out=scalar)
    held = T.zeros(x.shape, dtype=T.float64)
    alias = held.view(-1)
    T.mul(x, y, out=held)
    return same, empty, scalar, alias, T.cat([x, y], out=T.empty(0, dtype=T.float64))


def _index_add(T: Any, a: Any, b: Any) -> Any:
    held = a.detach().clone()
    with T.no_grad():
        held.index_add_(1, T.tensor([3, 0, 3]), b.detach(), alpha=2)
    return (
        held,
        a.index_add(1, T.tensor([2, 2, 1]), b),
        a.index_add(0, T.tensor([2, 0, 2]), b[:, :1].expand(3, 4)),
    )


def _functions(T: Any, a: Any, b: Any) -> Any:
    """Custom autograd Functions: saved tensors, a non-tensor argument, needs_input_grad, a
    None gradient, a non-differentiable output."""

    class Cube(T.autograd.Function):  # type: ignore[misc]  # T is torch or ours (Any)
        @staticmethod
        def forward(ctx: Any, x: Any, k: float) -> Any:
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            (x,) = ctx.saved_tensors
            return g * 3 * x * x * ctx.k, None

    class Product(T.autograd.Function):  # type: ignore[misc]  # T is torch or ours (Any)
        @staticmethod
        def forward(ctx: Any, x: Any, y: Any) -> Any:
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            x, y = ctx.saved_tensors
            return (g * y if ctx.needs_input_grad[0] else None), (
                g * x if ctx.needs_input_grad[1] else None
            )

    class Sign(T.autograd.Function):  # type: ignore[misc]  # T is torch or ours (Any)
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            out = (x > 0).float()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            return g * 0

    plain = Product.apply(a.detach(), b.detach())
    mixed = Product.apply(a, b.detach())
    return Cube.apply(a, 0.5) + Product.apply(a, b), mixed, plain, Sign.apply(a)


def _grads(T: Any, a: Any, b: Any) -> Any:
    loss = (a * a * b).sum() + (b * 3).sum()
    ga, gb = T.autograd.grad(loss, [a, b], retain_graph=True)
    (gv,) = T.autograd.grad(a * b, a, grad_outputs=T.ones_like(a) * 2)
    return ga.detach(), gb.detach(), gv.detach(), loss


def _retained(T: Any, a: Any) -> Any:
    b = a.detach().clone().requires_grad_(True)
    y = (b * b * b).sum()
    y.backward(retain_graph=True)
    first = b.grad.clone()
    y.backward()
    return first, b.grad


def _padded(T: Any, w: Any) -> Any:
    return T.nn.functional.embedding(T.tensor([[0, 1], [3, 1]]), w, padding_idx=1)


def _dtypes(T: Any, a: Any) -> tuple[Any, ...]:
    i = (a * 3).long()
    return (
        a.float(),
        a.double(),
        i,
        a.int(),
        (a > 0).long(),
        (a > 0).float(),
        i + 1,
        i + 0.5,
        i * a,
        (a > 0) + (a < 1),
        (a > 0) * 3,
        a.to(T.float32),
        i.to(T.float64),
        T.tensor(2) * a,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@given(data=st.data())
def test_same_as_torch(case: Case, data: st.DataObject) -> None:
    assert_torch_parity(case.fn, *data.draw(case.inputs), ours=ours)


# Autograd: the graph as PyTorch names it.


def _graph(T: Any) -> dict[str, Any]:
    F = T.nn.functional
    x = T.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    y = T.tensor([[0.5, 1.5], [-1.0, 2.0]], requires_grad=True)
    c = T.tensor([[2.0, 1.0], [1.0, 3.0]])
    return {
        "add": x + y,
        "sub": x - y,
        "mul": x * y,
        "div": x / y,
        "by a constant": x * c,
        "by a number": x * 2,
        "mm": x @ y,
        "mv": x @ y[0],
        "dot": x[0] @ y[0],
        "sum": x.sum(),
        "sum dim": x.sum(0),
        "mean": x.mean(),
        "mean dim": x.mean(1),
        "exp": x.exp(),
        "log": y.abs().log(),
        "relu": x.relu(),
        "sigmoid": x.sigmoid(),
        "tanh": x.tanh(),
        "neg": -x,
        "pow": x**2,
        "view": x.view(-1),
        "reshape": x.reshape(4),
        "t": x.t(),
        "transpose": x.transpose(0, 1),
        "permute": x.permute(1, 0),
        "select": x[0],
        "slice": x[:, 1:],
        "index": x[T.tensor([1, 0])],
        "unsqueeze": x.unsqueeze(0),
        "squeeze": x.unsqueeze(0).squeeze(0),
        "cat": T.cat([x, y]),
        "stack": T.stack([x, y]),
        "clone": x.clone(),
        "expand": x[0].expand(3, 2),
        "softmax": F.softmax(x, 1),
        "log_softmax": F.log_softmax(x, 1),
        "mse_loss": F.mse_loss(x, y),
        "linear": F.linear(x, y, y[0]),
        "abs": x.abs(),
        "sqrt": y.abs().sqrt(),
        "bce with logits": F.binary_cross_entropy_with_logits(x, c / 3),
        "add alpha": T.add(x, y, alpha=2),
        "chain": (x * y).sum(),
    }


def test_grad_fn_names_and_next_functions_as_in_torch() -> None:
    import torch

    for (name, theirs), mine in zip(_graph(torch).items(), _graph(ours).values(), strict=True):
        assert mine.grad_fn.name() == theirs.grad_fn.name(), name
        nexts = [
            [n.name() for n, _ in t.grad_fn.next_functions if n is not None] for t in (theirs, mine)
        ]
        assert nexts[1] == nexts[0], name
        assert repr(mine).split("grad_fn")[1] == repr(theirs).split("grad_fn")[1], name


def test_parameters_print_as_in_torch() -> None:
    import torch

    makers: list[Callable[[Any], Any]] = [
        lambda T: T.nn.Parameter(T.ones(2)),
        lambda T: T.nn.Parameter(T.zeros(2, 2, dtype=T.float64), requires_grad=False),
    ]
    for make in makers:
        assert str(make(ours)) == str(make(torch))


def test_softmax_without_dim_as_in_torch() -> None:
    import torch

    for shape in [(4,), (2, 3), (2, 3, 2), (2, 2, 2, 3)]:
        x = np.linspace(-2, 2, int(np.prod(shape))).reshape(shape)
        for fn in ("softmax", "log_softmax", "softmin"):
            with pytest.warns(UserWarning, match="Implicit dimension"):
                mine = getattr(ours.nn.functional, fn)(ours.tensor(x))
            with pytest.warns(UserWarning, match="Implicit dimension"):
                theirs = getattr(torch.nn.functional, fn)(torch.tensor(x))
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, err_msg=fn)


def test_sampling_shapes_and_dtypes_as_in_torch() -> None:
    import torch

    def draws(T: Any) -> list[Any]:
        z = T.zeros(3, 2)
        return [
            T.normal(T.zeros(3), T.ones(3)),
            T.normal(0.0, T.ones(2, 2)),
            T.normal(T.zeros(2, 1), 1.0),
            T.normal(2.0, 3.0, size=(4,)),
            T.bernoulli(z + 0.5),
            T.multinomial(T.tensor([1.0, 2.0, 3.0]), 2),
            T.multinomial(T.ones(2, 5), 3, replacement=True),
            T.randint(0, 5, (2, 2)),
            T.randint(5, (3,)),
            T.randperm(4),
            T.rand_like(z),
            T.randn_like(z),
            T.randint_like(z, 3),
            z.clone().uniform_(),
            z.clone().normal_(),
            z.bernoulli(),
        ]

    for mine, theirs in zip(draws(ours), draws(torch), strict=True):
        assert (tuple(mine.shape), str(mine.dtype)) == (tuple(theirs.shape), str(theirs.dtype))


def test_embedding_refuses_indices_outside_the_table_as_torch() -> None:
    import torch

    for T in (torch, ours):
        w = T.ones(3, 2)
        for bad in ([-1], [3]):
            with pytest.raises(IndexError, match="index out of range in self"):
                T.nn.functional.embedding(T.tensor(bad), w)


# Modules, optimizers, data: the same weights in both libraries.


def _copy_weights(theirs: Any, mine: Any) -> None:
    state = {k: ours.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    mine.load_state_dict(state)


def _models(T: Any) -> Any:
    nn = T.nn
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3 * 2 * 2, 5),
        nn.Tanh(),
        nn.Dropout(0.3),
        nn.Linear(5, 3),
    )


@settings(max_examples=10)
@given(x=tensor_data((4, 1, 4, 4)), y=labels(4, 3), lr=st.sampled_from([0.01, 0.1]))
def test_a_model_trains_as_in_torch(x: Array, y: Array, lr: float) -> None:
    import torch

    theirs, mine = _models(torch).double(), _models(ours).double()
    _copy_weights(theirs, mine)
    theirs.eval()
    mine.eval()
    for T, model in ((torch, theirs), (ours, mine)):
        opt = T.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=0.01)
        loss_fn = T.nn.CrossEntropyLoss()
        for _ in range(3):
            opt.zero_grad()
            loss = loss_fn(model(T.tensor(x)), T.tensor(y))
            loss.backward()
            opt.step()
    for (name, a), (_, b) in zip(
        theirs.state_dict().items(), mine.state_dict().items(), strict=True
    ):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("make", ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad"])
@given(w=tensor_data((3, 2)), g=tensor_data((3, 2)))
def test_optimizers_step_as_in_torch(make: str, w: Array, g: Array) -> None:
    import torch

    finals = []
    for T in (torch, ours):
        p = T.tensor(w, dtype=T.float64, requires_grad=True)
        opt = getattr(T.optim, make)([p], lr=0.05, weight_decay=0.1)
        schedule = T.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        for _ in range(5):
            opt.zero_grad()
            (p * T.tensor(g) + p * p).sum().backward()
            opt.step()
            schedule.step()
        finals.append((p.detach().numpy(), opt.param_groups[0]["lr"]))
    np.testing.assert_allclose(finals[1][0], finals[0][0], rtol=1e-6, atol=1e-9)
    assert finals[1][1] == pytest.approx(finals[0][1])


def test_dataloader_batches_as_in_torch() -> None:
    import torch

    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = []
    for T in (torch, ours):
        data = T.utils.data.TensorDataset(T.tensor(x), T.tensor(y))
        loader = T.utils.data.DataLoader(data, batch_size=4)
        batches.append([(bx.numpy().tolist(), by.numpy().tolist()) for bx, by in loader])
        assert len(loader) == 3
    assert batches[0] == batches[1]
    shuffled = ours.utils.data.DataLoader(
        ours.utils.data.TensorDataset(ours.tensor(y)), batch_size=3, shuffle=True, drop_last=True
    )
    seen = [int(v) for (b,) in shuffled for v in b]
    assert len(seen) == 9 and len(set(seen)) == 9


@pytest.mark.parametrize("name", ["ReLU", "Tanh", "Sigmoid", "Flatten", "Identity"])
def test_parameterless_modules_match(name: str) -> None:

    x = np.linspace(-2, 2, 12).reshape(2, 6)
    assert_torch_parity(lambda T, t: getattr(T.nn, name)()(t), x, ours=ours)


@given(idx=labels(5, 4))
def test_embedding_looks_up_rows(idx: Array) -> None:
    import torch

    theirs, mine = torch.nn.Embedding(4, 3).double(), ours.nn.Embedding(4, 3).double()
    _copy_weights(theirs, mine)
    for T, model in ((torch, theirs), (ours, mine)):
        model(T.tensor(idx)).sum().backward()
    grad = mine.weight.grad
    assert grad is not None
    np.testing.assert_allclose(grad.numpy(), theirs.weight.grad.numpy())


def test_repr_looks_like_torch() -> None:
    import torch

    cases: list[Callable[[Any], Any]] = [
        lambda T: T.tensor([1.0, 2.5]),
        lambda T: T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True),
        lambda T: T.tensor([1, 2, 3]),
        lambda T: T.tensor([True, False]),
        lambda T: T.tensor(3.0),
        lambda T: T.tensor([1.0, 2.0], dtype=T.float64),
        lambda T: T.tensor([0.001, 2000.0]),
        lambda T: T.tensor([1.0, 2.0], requires_grad=True) * 2,
        lambda T: T.tensor(np.linspace(-0.2, 0.19, 52).reshape(2, 26)),
        lambda T: T.tensor(np.linspace(-13, 11, 36).reshape(2, 2, 9)),
        lambda T: T.arange(30.0) / 7,
        lambda T: T.tensor([[0.6614, 0.2669, 0.0617, 0.6213, -0.4519]], requires_grad=True) * 1,
        lambda T: T.tensor([0.5] * 7, requires_grad=True),
    ]
    for make in cases:
        theirs, mine = repr(make(torch)), repr(make(ours))
        assert mine.split("grad_fn=<")[0] == theirs.split("grad_fn=<")[0], (mine, theirs)


def test_layer_norm_module_matches_torch() -> None:
    import torch

    x = np.linspace(-3, 2, 24).reshape(2, 3, 4) ** 2
    modules = [T.nn.LayerNorm(4).double() for T in (torch, ours)]
    assert repr(modules[1]) == repr(modules[0])
    assert [n for n, _ in modules[1].named_parameters()] == ["weight", "bias"]
    _copy_weights(modules[0], modules[1])
    assert_torch_parity(lambda T, t: modules[T is ours](t), x, ours=ours)
    plain = ours.nn.LayerNorm((3, 4), elementwise_affine=False)
    assert list(plain.parameters()) == []


@given(w=tensor_data((3, 2), -5, 5), max_norm=st.sampled_from([0.1, 1.0, 100.0]))
def test_clip_grad_norm_and_value_as_in_torch(w: Array, max_norm: float) -> None:
    import torch

    results = []
    for T in (torch, ours):
        p = T.tensor(w, requires_grad=True)
        q = T.tensor(w[0], requires_grad=True)
        (p * p * 3.0).sum().backward()
        (q * 2.0).sum().backward()
        norm = T.nn.utils.clip_grad_norm_([p, q], max_norm)
        T.nn.utils.clip_grad_value_(q, 1.0)
        results.append((float(norm), p.grad.numpy(), q.grad.numpy()))
    (theirs, mine) = results
    assert mine[0] == pytest.approx(theirs[0], rel=1e-5)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "shape"), [("BatchNorm1d", (4, 3)), ("BatchNorm2d", (3, 2, 2, 3))]
)
@settings(max_examples=10)
@given(data=st.data())
def test_batch_norm_trains_and_evaluates_as_in_torch(
    name: str, shape: tuple[int, ...], data: st.DataObject
) -> None:
    import torch

    batches = [data.draw(tensor_data(shape, -3, 3)) for _ in range(3)]
    modules = [getattr(T.nn, name)(shape[1], momentum=0.3).double() for T in (torch, ours)]
    assert repr(modules[1]) == repr(modules[0])
    assert list(modules[1].state_dict()) == list(modules[0].state_dict())
    _copy_weights(modules[0], modules[1])
    for x in batches[:2]:
        assert_torch_parity(lambda T, t: modules[T is ours](t), x, ours=ours)
    for key, value in modules[0].state_dict().items():
        np.testing.assert_allclose(modules[1].state_dict()[key].numpy(), value.numpy(), err_msg=key)
    for m in modules:
        m.eval()
    assert_torch_parity(lambda T, t: modules[T is ours](t), batches[2], ours=ours)


def test_module_dict_holds_named_children_as_in_torch() -> None:
    import torch

    dicts = [T.nn.ModuleDict({"enc": T.nn.Linear(3, 2), "act": T.nn.ReLU()}) for T in (torch, ours)]
    for d in dicts:
        d["dec"] = type(d["enc"])(2, 3)
    assert repr(dicts[1]) == repr(dicts[0])
    assert list(dicts[1].keys()) == list(dicts[0].keys()) == ["enc", "act", "dec"]
    assert [n for n, _ in dicts[1].named_parameters()] == [
        n for n, _ in dicts[0].named_parameters()
    ]
    assert "act" in dicts[1] and len(dicts[1]) == 3
    del dicts[1]["act"]
    assert list(dicts[1]) == ["enc", "dec"]
