"""Pooling, max/argmax, softmax, log-softmax, dropout and losses against numpy references."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mt_nn
from mt_nn import (
    argmax,
    avgpool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    logsoftmax,
    maxpool2d,
    mse_loss,
    nll_loss,
    one_hot,
    softmax,
    tile,
)
from mt_tensor import Tensor, grad_check, tensor
from mt_tensor.testing import (
    assert_matches_torch,
    assert_tensors_close,
    backend_names,
    shapes,
    tensors,
)

BACKENDS = backend_names()
Pool = Callable[[Tensor, tuple[int, int]], Tensor]
Array = npt.NDArray[np.float64]


def np_logsoftmax(x: Array, dim: int) -> Array:
    z = x - x.max(axis=dim, keepdims=True)
    out: Array = z - np.log(np.exp(z).sum(axis=dim, keepdims=True))
    return out


@st.composite
def pool_case(draw: st.DrawFn) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """A 4-d shape and a kernel that tiles it exactly."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    b, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    return (b, c, kh * draw(st.integers(1, 3)), kw * draw(st.integers(1, 3))), (kh, kw)


def np_tiles(x: Array, kernel: tuple[int, int]) -> Array:
    b, c, h, w = x.shape
    kh, kw = kernel
    return x.reshape(b, c, h // kh, kh, w // kw, kw).transpose(0, 1, 2, 4, 3, 5)


@st.composite
def distinct_tensors(draw: st.DrawFn, shape: tuple[int, ...], backend: str) -> Tensor:
    """Values 0.37 apart in a random order: no ties, so the arg-max is unique and central
    differences see a smooth max."""
    size = int(np.prod(shape))
    order = np.array(draw(st.permutations(range(size))), dtype=np.float64)
    return tensor(((order - size / 2) * 0.37).reshape(shape), backend=backend)


# Pooling and max.


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), case=pool_case())
def test_pooling_matches_reference(
    backend: str, data: st.DataObject, case: tuple[tuple[int, int, int, int], tuple[int, int]]
) -> None:
    shape, kernel = case
    x = data.draw(tensors(shape, backend))
    tiles, nh, nw = tile(x, kernel)
    expected = np_tiles(x.to_numpy(), kernel)
    assert (nh, nw) == expected.shape[2:4]
    assert_tensors_close(tiles, expected.reshape(*expected.shape[:4], -1))
    assert_tensors_close(avgpool2d(x, kernel), expected.mean(axis=(4, 5)), "avgpool2d")
    assert_tensors_close(maxpool2d(x, kernel), expected.max(axis=(4, 5)), "maxpool2d")


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), case=pool_case())
def test_pooling_grad(
    backend: str, data: st.DataObject, case: tuple[tuple[int, int, int, int], tuple[int, int]]
) -> None:
    shape, kernel = case
    x = data.draw(tensors(shape, backend))
    grad_check(lambda a: avgpool2d(a, kernel), x)
    grad_check(lambda a: maxpool2d(a, kernel), data.draw(distinct_tensors(shape, backend)))


@pytest.mark.parametrize("kernel", [(3, 2), (2, 3), (0, 1), (5, 5)])
def test_pooling_kernel_must_tile(kernel: tuple[int, int]) -> None:
    x = Tensor.make(np.zeros(16), (1, 1, 4, 4))
    with pytest.raises(ValueError, match="tile"):
        maxpool2d(x, kernel)


def test_pooling_edges_identity_and_whole_image() -> None:
    x = tensor(np.arange(12.0).reshape(1, 1, 3, 4), backend="numpy")
    assert_tensors_close(maxpool2d(x, (1, 1)), x)
    assert_tensors_close(avgpool2d(x, (3, 4)), [[[[5.5]]]])
    assert_tensors_close(maxpool2d(x, (3, 4)), [[[[11.0]]]])


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cuda"])
@given(data=st.data(), case=pool_case())
def test_pooling_kernels_match_the_course_composition(
    backend: str, data: st.DataObject, case: tuple[tuple[int, int, int, int], tuple[int, int]]
) -> None:
    """The CPU kernels give `tile` then `max`/`mean`'s values and gradients, ties included
    (values from a few integers, so tiles often hold equal maxima that share the gradient)."""
    shape, kernel = case
    size = int(np.prod(shape))
    values = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size)))
    g = data.draw(tensors((shape[0], shape[1], shape[2] // kernel[0], shape[3] // kernel[1])))
    ways: list[tuple[Pool, Pool]] = [
        (avgpool2d, lambda a, k: tile(a, k)[0].mean(4)),
        (maxpool2d, lambda a, k: mt_nn.max(tile(a, k)[0], 4)),
    ]
    for pair in ways:
        results: list[tuple[Tensor, Tensor]] = []
        for fn in pair:
            x = tensor(values.reshape(shape).astype(np.float64), backend=backend)
            x.requires_grad_(True)
            out = fn(x, kernel).contiguous().view(*g.shape)
            out.backward(g.to(backend))
            assert x.grad is not None
            results.append((out, x.grad))
        (mine, mine_grad), (course, course_grad) = results
        assert_tensors_close(mine, course, "forward")
        assert_tensors_close(mine_grad, course_grad, "gradient")


def test_maxpool_kernel_handles_nan_as_the_course_composition() -> None:
    """NaN is folded as stage 0's ``max`` folds it on the simple backend (a NaN anywhere in a
    tile makes its max NaN); a tile whose max is NaN has no element equal to it, so none is
    selected and its gradient is 0 everywhere, as `Max.backward` gives."""
    values = [[[[1.0, np.nan], [np.nan, 2.0]]]]
    ways: list[Callable[[Tensor], Tensor]] = [
        lambda a: maxpool2d(a, (1, 2)),
        lambda a: mt_nn.max(tile(a, (1, 2))[0], 4).view(1, 1, 2, 1),
    ]
    results = []
    for fn in ways:
        x = tensor(values, backend="simple", requires_grad=True)
        out = fn(x)
        out.sum().backward()
        assert x.grad is not None
        results.append((out.to_numpy(), x.grad.to_numpy()))
    for mine, course in zip(*results, strict=True):
        np.testing.assert_array_equal(mine, course)
    assert np.isnan(results[0][0]).all() and (results[0][1] == 0.0).all()


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), shape=shapes(1, 3))
def test_max_and_argmax(backend: str, data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = data.draw(tensors(shape, backend))
    dim = data.draw(st.integers(0, len(shape) - 1))
    values = x.to_numpy()
    assert_tensors_close(mt_nn.max(x, dim), values.max(axis=dim, keepdims=True))
    hot = argmax(x, dim)
    assert_tensors_close(hot, values == values.max(axis=dim, keepdims=True))
    grad_check(lambda a: mt_nn.max(a, dim), data.draw(distinct_tensors(shape, backend)))


def test_max_ties_share_the_gradient() -> None:
    x = tensor([[1.0, 3.0, 3.0, 0.0]], requires_grad=True, backend="numpy")
    mt_nn.max(x, 1).sum().backward()
    assert x.grad is not None
    assert_tensors_close(x.grad, [[0.0, 0.5, 0.5, 0.0]])


# Softmax family.


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), shape=shapes(1, 3))
def test_softmax_and_logsoftmax(backend: str, data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = data.draw(tensors(shape, backend))
    dim = data.draw(st.integers(0, len(shape) - 1))
    expected = np_logsoftmax(x.to_numpy(), dim)
    assert_tensors_close(logsoftmax(x, dim), expected, "logsoftmax")
    assert_tensors_close(softmax(x, dim), np.exp(expected), "softmax")
    grad_check(lambda a: logsoftmax(a, dim), x)
    grad_check(lambda a: softmax(a, dim) * a, x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [1e4, -1e4, 1e300])
def test_softmax_stable_at_any_magnitude(backend: str, scale: float) -> None:
    raw = np.array([[1.0, -1.0, 0.0, 1.0]]) * scale
    x = tensor(raw, backend=backend, requires_grad=True)
    out = logsoftmax(x, 1)
    (out * tensor(np.arange(4.0), backend=backend)).sum().backward()
    assert x.grad is not None
    for label, t in (("logsoftmax", out), ("softmax", softmax(x, 1)), ("grad", x.grad)):
        assert np.all(np.isfinite(t.to_numpy())), f"{label} not finite at {scale}"
    assert_tensors_close(out, np_logsoftmax(raw, 1))


# Dropout.


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_dropout_edges(backend: str, data: st.DataObject) -> None:
    x = data.draw(tensors(backend=backend))
    assert np.array_equal(dropout(x, 0.0).to_numpy(), x.to_numpy())
    assert np.array_equal(dropout(x, 0.7, ignore=True).to_numpy(), x.to_numpy())
    assert not np.any(dropout(x, 1.0).to_numpy())


@pytest.mark.parametrize("backend", BACKENDS)
@given(rate=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_dropout_mask_scale_gradient_and_seed(backend: str, rate: float, seed: int) -> None:
    x = tensor(np.linspace(1.0, 2.0, 60).reshape(6, 10), backend=backend, requires_grad=True)
    out = dropout(x, rate, generator=np.random.default_rng(seed))
    again = dropout(x.detach(), rate, generator=np.random.default_rng(seed))
    assert np.array_equal(out.to_numpy(), again.to_numpy())
    kept = out.to_numpy() != 0
    assert_tensors_close(out.to_numpy()[kept], x.to_numpy()[kept] / (1 - rate))
    out.sum().backward()
    assert x.grad is not None
    assert_tensors_close(x.grad, kept / (1 - rate))


def test_dropout_module_generator_is_seeded() -> None:
    x = tensor(np.ones((4, 25)), backend="numpy")
    mt_nn.manual_seed(3)
    first = dropout(x, 0.5).to_numpy()
    mt_nn.manual_seed(3)
    assert np.array_equal(first, dropout(x, 0.5).to_numpy())


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_dropout_rejects_bad_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        dropout(tensor([1.0]), rate)


# Losses.


@st.composite
def classification(draw: st.DrawFn, backend: str) -> tuple[Tensor, Tensor]:
    """Logits ``(N, C)`` and float class labels ``(N,)``."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    logits = draw(tensors((n, c), backend, lo=-5, hi=5))
    labels = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    return logits, tensor(labels, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_cross_entropy_and_nll(backend: str, data: st.DataObject) -> None:
    logits, labels = data.draw(classification(backend))
    rows = np.arange(labels.size)
    idx = labels.to_numpy().astype(int)
    expected = -np_logsoftmax(logits.to_numpy(), 1)[rows, idx]
    assert_tensors_close(cross_entropy(logits, labels), [expected.mean()])
    assert_tensors_close(cross_entropy(logits, labels, "none"), expected)
    hot = one_hot(labels, logits.shape[1])
    assert_tensors_close(nll_loss(logsoftmax(logits, 1), hot, "sum"), [expected.sum()])
    grad_check(lambda a: cross_entropy(a, labels), logits)


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), shape=shapes(1, 2))
def test_binary_losses(backend: str, data: st.DataObject, shape: tuple[int, ...]) -> None:
    z = data.draw(tensors(shape, backend, lo=-5, hi=5))
    t = data.draw(tensors(shape, backend, lo=0, hi=1))
    zn, tn = z.to_numpy(), t.to_numpy()
    p = 1 / (1 + np.exp(-zn))
    expected = -(tn * np.log(p) + (1 - tn) * np.log(1 - p))
    probs = tensor(p, backend=backend)
    assert_tensors_close(binary_cross_entropy_with_logits(z, t, "none"), expected, rtol=1e-6)
    assert_tensors_close(binary_cross_entropy(probs, t, "none"), expected, rtol=1e-6)
    assert_tensors_close(mse_loss(z, t), [((zn - tn) ** 2).mean()])
    grad_check(lambda a: binary_cross_entropy_with_logits(a, t), z)
    grad_check(lambda a: binary_cross_entropy(a, t), probs)
    grad_check(lambda a: mse_loss(a, t), z)


@pytest.mark.parametrize("backend", BACKENDS)
def test_losses_stable_at_extremes(backend: str) -> None:
    z = tensor([[1e4, -1e4, 0.0]], backend=backend, requires_grad=True)
    target = tensor([[0.0, 1.0, 1.0]], backend=backend)
    label = tensor([1.0], backend=backend)
    for loss in (
        binary_cross_entropy_with_logits(z, target),
        binary_cross_entropy(z.sigmoid(), target),
        cross_entropy(z, label),
    ):
        z.zero_grad_()
        loss.backward()
        assert z.grad is not None
        assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad.to_numpy())), loss
    assert_tensors_close(cross_entropy(z, label), [2e4])
    assert_tensors_close(binary_cross_entropy(z.sigmoid(), target), [(200 + np.log(2)) / 3])


@pytest.mark.parametrize(
    ("fn", "args", "message"),
    [
        (nll_loss, ((2, 3), (3,)), "target shape"),
        (nll_loss, ((2, 3, 1), (2,)), r"\(N, C\)"),
        (mse_loss, ((2, 3), (3, 2)), "target shape"),
        (cross_entropy, ((2,), (2,)), r"\(N, C\)"),
    ],
)
def test_loss_shape_errors(
    fn: Callable[[Tensor, Tensor], Tensor], args: tuple[tuple[int, ...], ...], message: str
) -> None:
    a, b = (Tensor.make(np.zeros(int(np.prod(s))), s) for s in args)
    with pytest.raises(ValueError, match=message):
        fn(a, b)


def test_labels_must_be_class_indices() -> None:
    logits = Tensor.make(np.zeros(6), (2, 3))
    for bad in ([0.5, 1.0], [0.0, 3.0], [-1.0, 0.0]):
        with pytest.raises(ValueError, match="label"):
            cross_entropy(logits, tensor(bad))


TORCH_PAIRS: list[tuple[str, Callable[..., object], Callable[..., Tensor]]] = [
    ("softmax", lambda F, a: F.softmax(a, 1), lambda a: softmax(a, 1)),
    ("log_softmax", lambda F, a: F.log_softmax(a, 1), lambda a: logsoftmax(a, 1)),
    ("avg_pool2d", lambda F, a: F.avg_pool2d(a, (1, 2)), lambda a: avgpool2d(a, (1, 2))),
    ("max_pool2d", lambda F, a: F.max_pool2d(a, (2, 2)), lambda a: maxpool2d(a, (2, 2))),
]


@pytest.mark.parametrize(("name", "theirs", "ours"), TORCH_PAIRS)
@given(values=distinct_tensors((2, 3, 2, 4), "numpy"))
def test_functions_match_torch(
    name: str,
    theirs: Callable[..., object],
    ours: Callable[..., Tensor],
    values: Tensor,
) -> None:
    torch = pytest.importorskip("torch")
    assert_matches_torch(
        lambda a: theirs(torch.nn.functional, a),
        values.to_numpy(),
        ours=ours,
        backend="numpy",
    )


# Min and the index of the max/min (the torch face's ``max(dim)``/``argmax``).


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_min_and_arg_indices_match_numpy(backend: str, data: st.DataObject) -> None:
    shape = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(0, len(shape) - 1))
    x = data.draw(distinct_tensors(shape, backend))
    a = x.to_numpy()
    assert_tensors_close(mt_nn.min(x, dim), a.min(axis=dim, keepdims=True), "min")
    assert_tensors_close(mt_nn.argmax_indices(x, dim), a.argmax(dim, keepdims=True), "argmax")
    assert_tensors_close(mt_nn.argmin_indices(x, dim), a.argmin(dim, keepdims=True), "argmin")
    grad_check(lambda t: mt_nn.min(t, dim), x)


def test_arg_indices_take_the_first_of_ties() -> None:
    x = tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    assert mt_nn.argmax_indices(x, 1).to_numpy().ravel().tolist() == [1.0, 0.0]
    assert mt_nn.argmin_indices(x, 0).to_numpy().ravel().tolist() == [0.0, 1.0, 1.0]


# Variance, standard deviation and layer normalisation.


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), correction=st.sampled_from([0, 1]))
def test_var_and_std_match_numpy(backend: str, data: st.DataObject, correction: int) -> None:
    shape = data.draw(shapes(1, 3))
    dim = data.draw(st.integers(0, len(shape) - 1))
    x = data.draw(tensors(shape, backend))
    if shape[dim] <= correction:  # PyTorch's NaN where there are too few values
        assert np.isnan(mt_nn.var(x, dim, correction).to_numpy()).all()
        return
    var = x.to_numpy().var(axis=dim, ddof=correction, keepdims=True)
    assert_tensors_close(mt_nn.var(x, dim, correction), var, "var")
    assert_tensors_close(mt_nn.std(x, dim, correction), np.sqrt(var), "std")
    grad_check(lambda t: mt_nn.var(t, dim, correction), x)


@pytest.mark.parametrize("correction", [-1, 0.5, True])
def test_var_rejects_bad_correction(correction: object) -> None:
    with pytest.raises(ValueError, match="correction"):
        mt_nn.var(tensor([1.0, 2.0]), 0, correction)  # type: ignore[arg-type]  # on purpose


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data())
def test_layer_norm_normalises_the_trailing_dims(backend: str, data: st.DataObject) -> None:
    shape = data.draw(shapes(1, 3, 2, 4))
    k = data.draw(st.integers(1, len(shape)))
    x = data.draw(tensors(shape, backend, lo=-3.0, hi=3.0))
    out = mt_nn.layer_norm(x, shape[-k:]).to_numpy()
    axes = tuple(range(len(shape) - k, len(shape)))
    a = x.to_numpy()
    expected = (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(
        a.var(axis=axes, keepdims=True) + 1e-5
    )
    assert_tensors_close(out, expected, "layer_norm")
    w = data.draw(tensors(shape[-k:], backend))
    b = data.draw(tensors(shape[-k:], backend))
    grad_check(lambda t, u, v: mt_nn.layer_norm(t, shape[-k:], u, v), x, w, b)


def test_layer_norm_shape_errors_name_the_shapes() -> None:
    x = tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"\(2,\).*\(1, 3\)"):
        mt_nn.layer_norm(x, (2,))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        mt_nn.layer_norm(x, (3,), tensor([1.0, 1.0]))


def test_layer_norm_layer_starts_as_the_identity_affine() -> None:
    layer = mt_nn.LayerNorm(3, backend="numpy")
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    x = tensor([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]], backend="numpy")
    assert_tensors_close(layer(x), mt_nn.layer_norm(x, (3,)).to_numpy(), "LayerNorm(3)")
    plain = mt_nn.LayerNorm((2, 3), elementwise_affine=False)
    assert list(plain.parameters()) == [] and "(2, 3), eps=1e-05" in repr(plain)


def test_var_and_layer_norm_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    assert_matches_torch(
        lambda t: t.var(1, keepdim=True), a, ours=lambda t: mt_nn.var(t, 1), backend="numpy"
    )
    assert_matches_torch(
        lambda t, u, v: torch.nn.functional.layer_norm(t, (3, 4), u, v),
        a,
        w,
        b,
        ours=lambda t, u, v: mt_nn.layer_norm(t, (3, 4), u, v),
        backend="numpy",
    )


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), momentum=st.sampled_from([0.1, 0.5]))
def test_batch_norm_tracks_running_statistics(
    backend: str, data: st.DataObject, momentum: float
) -> None:
    shape = data.draw(st.sampled_from([(4, 3), (3, 2, 2, 3), (2, 2, 5)]))
    kind = mt_nn.BatchNorm2d if len(shape) == 4 else mt_nn.BatchNorm1d
    layer = kind(shape[1], backend=backend)
    layer.momentum = momentum
    mean, var = np.zeros(shape[1]), np.ones(shape[1])
    axes = tuple(d for d in range(len(shape)) if d != 1)
    for _ in range(2):
        x = data.draw(tensors(shape, backend))
        a = x.to_numpy()
        out = layer(x)
        batch_var = a.var(axis=axes)
        expected = (a - a.mean(axis=axes, keepdims=True)) / np.sqrt(
            a.var(axis=axes, keepdims=True) + 1e-5
        )
        assert_tensors_close(out, expected, "batch_norm in training")
        count = a.size // shape[1]
        mean = (1 - momentum) * mean + momentum * a.mean(axis=axes)
        var = (1 - momentum) * var + momentum * batch_var * count / (count - 1)
    assert layer.running_mean is not None and layer.running_var is not None
    assert_tensors_close(layer.running_mean, mean, "running_mean")
    assert_tensors_close(layer.running_var, var, "running_var")
    layer.eval()
    per_channel = (1, shape[1]) + (1,) * (len(shape) - 2)
    x = data.draw(tensors(shape, backend))
    expected = (x.to_numpy() - mean.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    assert_tensors_close(layer(x), expected, "batch_norm in eval")


def test_batch_norm_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"more than one value per channel.*\(1, 3\)"):
        mt_nn.batch_norm(tensor([[1.0, 2.0, 3.0]]), None, None, training=True)
    with pytest.raises(ValueError, match=r"running_mean has shape \(2,\), expected \(3,\)"):
        mt_nn.batch_norm(tensor([[1.0, 2.0, 3.0]]), tensor([0.0, 0.0]), None)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects \(4,\)-d input"):
        mt_nn.BatchNorm2d(3)(tensor([[1.0, 2.0, 3.0]]))


# More losses and activations (PyTorch's).


@pytest.mark.parametrize("backend", BACKENDS)
@given(data=st.data(), beta=st.sampled_from([0.5, 1.0, 2.0]))
def test_l1_smooth_l1_and_huber_match_numpy(backend: str, data: st.DataObject, beta: float) -> None:
    shape = data.draw(shapes(1, 2))
    x, t = data.draw(tensors(shape, backend)), data.draw(tensors(shape, backend))
    a = np.abs(x.to_numpy() - t.to_numpy())
    huber = np.where(a <= beta, 0.5 * a * a, beta * (a - 0.5 * beta))
    assert_tensors_close(mt_nn.l1_loss(x, t, "none"), a, "l1_loss")
    assert_tensors_close(mt_nn.huber_loss(x, t, "sum", beta), np.array([huber.sum()]), "huber")
    assert_tensors_close(mt_nn.smooth_l1_loss(x, t, "mean", beta), np.array([huber.mean() / beta]))
    with pytest.raises(ValueError, match="delta"):
        mt_nn.huber_loss(x, t, delta=0.0)


def test_new_losses_and_activations_match_torch() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(3, 4)) * 3, rng.normal(size=(3, 4))
    target = tensor(t, backend="numpy")
    pairs: list[tuple[Callable[..., Any], Callable[..., Tensor]]] = [
        (lambda a: F.l1_loss(a, torch.tensor(t)), lambda a: mt_nn.l1_loss(a, target)),
        (
            lambda a: F.smooth_l1_loss(a, torch.tensor(t), beta=0.5),
            lambda a: mt_nn.smooth_l1_loss(a, target, beta=0.5),
        ),
        (
            lambda a: F.huber_loss(a, torch.tensor(t), delta=2.0),
            lambda a: mt_nn.huber_loss(a, target, delta=2.0),
        ),
        (lambda a: F.silu(a), mt_nn.silu),
        (lambda a: F.softplus(a, beta=2.0), lambda a: mt_nn.softplus(a, 2.0)),
        (lambda a: torch.logsumexp(a, 1, keepdim=True), lambda a: mt_nn.logsumexp(a, 1)),
    ]
    for theirs, ours in pairs:
        assert_matches_torch(
            lambda a, theirs=theirs: theirs(a).reshape(-1),
            x,
            ours=lambda a, ours=ours: _flat(ours(a)),
            backend="numpy",
        )


def _flat(t: Tensor) -> Tensor:
    return t.contiguous().view(t.size)
