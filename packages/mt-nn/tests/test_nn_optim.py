"""Optimizers against PyTorch's update rules written out in numpy, and against torch itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mt_autodiff import Scalar
from mt_nn import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    StepLR,
    clip_grad_norm_,
    clip_grad_value_,
)
from mt_operators import Parameter
from mt_tensor import Tensor, tensor
from mt_tensor.testing import assert_tensors_close, tensor_data

Array = npt.NDArray[np.float64]
STEPS = 10
SHAPE = (2, 3)


def loss_grad(p: Array, target: Array) -> Array:
    """Gradient of $\\sum (p - t)^2 + p^3 / 10$: a loss whose gradient changes every step."""
    return 2 * (p - target) + 0.3 * p * p


def our_loss(p: Tensor, target: Tensor) -> Tensor:
    return ((p - target) * (p - target) + p * p * p * 0.1).sum()


def run_ours(make: Callable[[list[Parameter]], Optimizer], start: Array, target: Array) -> Array:
    param = Parameter(tensor(start, backend="numpy"))
    opt = make([param])
    t = tensor(target, backend="numpy")
    for _ in range(STEPS):
        opt.zero_grad()
        our_loss(param.value, t).backward()
        opt.step()
    out: Array = param.value.to_numpy()
    return out


def sgd_reference(p: Array, target: Array, lr: float, momentum: float, wd: float) -> Array:
    """``torch.optim.SGD`` (dampening 0, no nesterov) as recorded in its documentation."""
    buf = None
    for _ in range(STEPS):
        g = loss_grad(p, target) + wd * p
        if momentum:
            buf = g if buf is None else momentum * buf + g
            g = buf
        p = p - lr * g
    return p


def adam_reference(
    p: Array, target: Array, lr: float, betas: tuple[float, float], eps: float, wd: float
) -> Array:
    """``torch.optim.Adam`` (no amsgrad) as recorded in its documentation."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = loss_grad(p, target) + wd * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        m_hat = m / (1 - betas[0] ** t)
        v_hat = v / (1 - betas[1] ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


hyper = st.fixed_dictionaries(
    {
        "lr": st.sampled_from([1e-3, 0.01, 0.1]),
        "momentum": st.sampled_from([0.0, 0.5, 0.9]),
        "weight_decay": st.sampled_from([0.0, 0.01]),
        "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
        "eps": st.sampled_from([1e-8, 1e-3]),
    }
)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2), h=hyper)
def test_sgd_matches_recorded_rule(start: Array, target: Array, h: dict[str, Any]) -> None:
    ours = run_ours(lambda ps: SGD(ps, h["lr"], h["momentum"], h["weight_decay"]), start, target)
    expected = sgd_reference(start, target, h["lr"], h["momentum"], h["weight_decay"])
    assert_tensors_close(ours, expected, "SGD", rtol=1e-6, atol=1e-6)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2), h=hyper)
def test_adam_matches_recorded_rule(start: Array, target: Array, h: dict[str, Any]) -> None:
    ours = run_ours(
        lambda ps: Adam(ps, h["lr"], h["betas"], h["eps"], h["weight_decay"]), start, target
    )
    expected = adam_reference(start, target, h["lr"], h["betas"], h["eps"], h["weight_decay"])
    assert_tensors_close(ours, expected, "Adam", rtol=1e-6, atol=1e-6)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2), h=hyper)
def test_optimizers_match_torch(start: Array, target: Array, h: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    pairs: list[tuple[Callable[[list[Parameter]], Optimizer], Callable[[list[Any]], Any]]] = [
        (
            lambda ps: SGD(ps, h["lr"], h["momentum"], h["weight_decay"]),
            lambda ps: torch.optim.SGD(
                ps, lr=h["lr"], momentum=h["momentum"], weight_decay=h["weight_decay"]
            ),
        ),
        (
            lambda ps: Adam(ps, h["lr"], h["betas"], h["eps"], h["weight_decay"]),
            lambda ps: torch.optim.Adam(
                ps, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"]
            ),
        ),
    ]
    for ours_make, theirs_make in pairs:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(target, dtype=torch.float64)
        opt = theirs_make([p])
        for _ in range(STEPS):
            opt.zero_grad()
            ((p - t) ** 2 + p**3 * 0.1).sum().backward()
            opt.step()
        ours = run_ours(ours_make, start, target)
        assert_tensors_close(ours, p.detach().numpy(), type(opt).__name__, rtol=1e-6, atol=1e-6)


def test_parameters_without_gradient_are_skipped() -> None:
    used = Parameter(tensor([1.0, 2.0], backend="numpy"))
    unused = Parameter(tensor([5.0], backend="numpy"))
    opt = Adam([used, unused], lr=0.1)
    (used.value * used.value).sum().backward()
    opt.step()
    assert unused.value.to_numpy().tolist() == [5.0]
    assert used.value.requires_grad() and used.value.grad is None
    assert not np.allclose(used.value.to_numpy(), [1.0, 2.0])


def test_zero_grad_forgets_gradients() -> None:
    p = Parameter(tensor([1.0, 2.0], backend="numpy"))
    opt = SGD([p], lr=0.1)
    (p.value * 3.0).sum().backward()
    assert p.value.grad is not None
    opt.zero_grad()
    assert p.value.grad is None


def test_sgd_updates_scalar_parameters() -> None:
    p = Parameter(Scalar(2.0))
    opt = SGD([p], lr=0.25)
    (p.value * p.value).backward()
    opt.step()
    assert p.value.data == pytest.approx(2.0 - 0.25 * 4.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=-1.0),
        lambda ps: SGD(ps, lr=0.1, momentum=-0.5),
        lambda ps: Adam(ps, betas=(1.0, 0.9)),
        lambda ps: Adam(ps, eps=-1.0),
    ],
)
def test_bad_hyperparameters_raise(make: Callable[[list[Parameter]], Optimizer]) -> None:
    with pytest.raises(ValueError, match=r"lr|momentum|betas"):
        make([Parameter(tensor([1.0]))])


def test_non_tensor_parameter_is_a_type_error() -> None:
    opt = SGD([Parameter("weights", name="w")], lr=0.1)
    with pytest.raises(TypeError, match="'w'"):
        opt.step()


def sgd_full_reference(
    p: Array, target: Array, lr: float, momentum: float, dampening: float, nesterov: bool
) -> Array:
    """``torch.optim.SGD`` with dampening and Nesterov, as in its documentation."""
    buf = None
    for _ in range(STEPS):
        g = loss_grad(p, target)
        buf = g if buf is None else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def adamw_reference(
    p: Array, target: Array, lr: float, betas: tuple[float, float], eps: float, wd: float
) -> Array:
    """``torch.optim.AdamW``: the weights decay directly, then the Adam step."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t in range(1, STEPS + 1):
        g = loss_grad(p, target)
        p = p * (1 - lr * wd)
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        p = p - lr * (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)
    return p


@given(
    start=tensor_data(SHAPE, -2, 2),
    target=tensor_data(SHAPE, -2, 2),
    lr=st.sampled_from([1e-3, 0.01, 0.1]),
    momentum=st.sampled_from([0.5, 0.9]),
    variant=st.sampled_from([(0.0, True), (0.3, False), (0.0, False)]),
)
def test_sgd_dampening_and_nesterov_match_recorded_rule(
    start: Array, target: Array, lr: float, momentum: float, variant: tuple[float, bool]
) -> None:
    dampening, nesterov = variant
    ours = run_ours(
        lambda ps: SGD(ps, lr, momentum, dampening=dampening, nesterov=nesterov), start, target
    )
    expected = sgd_full_reference(start, target, lr, momentum, dampening, nesterov)
    assert_tensors_close(ours, expected, "SGD", rtol=1e-6, atol=1e-6)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2), h=hyper)
def test_adamw_matches_recorded_rule(start: Array, target: Array, h: dict[str, Any]) -> None:
    wd = h["weight_decay"] * 10
    ours = run_ours(lambda ps: AdamW(ps, h["lr"], h["betas"], h["eps"], wd), start, target)
    expected = adamw_reference(start, target, h["lr"], h["betas"], h["eps"], wd)
    assert_tensors_close(ours, expected, "AdamW", rtol=1e-6, atol=1e-6)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2))
def test_nesterov_and_adamw_match_torch(start: Array, target: Array) -> None:
    torch = pytest.importorskip("torch")
    pairs: list[tuple[Callable[[list[Parameter]], Optimizer], Callable[[list[Any]], Any]]] = [
        (
            lambda ps: SGD(ps, 0.05, 0.9, weight_decay=0.01, nesterov=True),
            lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
        ),
        (
            lambda ps: AdamW(ps, 0.05, weight_decay=0.1),
            lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1),
        ),
    ]
    for ours_make, theirs_make in pairs:
        p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(target, dtype=torch.float64)
        opt = theirs_make([p])
        for _ in range(STEPS):
            opt.zero_grad()
            ((p - t) ** 2 + p**3 * 0.1).sum().backward()
            opt.step()
        ours = run_ours(ours_make, start, target)
        assert_tensors_close(ours, p.detach().numpy(), type(opt).__name__, rtol=1e-6, atol=1e-6)


def test_parameter_groups_keep_their_own_learning_rate() -> None:
    a = Parameter(tensor([1.0], backend="numpy"))
    b = Parameter(tensor([1.0], backend="numpy"))
    groups: list[dict[str, Any]] = [{"params": [a]}, {"params": [b], "lr": 0.5}]
    opt = SGD(groups, lr=0.1)
    ((a.value + b.value) * 2.0).sum().backward()
    opt.step()
    assert a.value.to_numpy().tolist() == pytest.approx([1.0 - 0.1 * 2.0])
    assert b.value.to_numpy().tolist() == pytest.approx([1.0 - 0.5 * 2.0])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]


def test_a_changed_group_learning_rate_is_used() -> None:
    p = Parameter(tensor([1.0], backend="numpy"))
    opt = SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = 0.0
    (p.value * 3.0).sum().backward()
    opt.step()
    assert p.value.to_numpy().tolist() == [1.0]


def test_step_lr_follows_torch() -> None:
    p = Parameter(tensor([1.0], backend="numpy"))
    opt = SGD([p], lr=0.1)
    schedule = StepLR(opt, step_size=3, gamma=0.5)
    ours = []
    for _ in range(8):
        ours.append(schedule.get_last_lr()[0])
        schedule.step()
    expected = [0.1 * 0.5 ** (epoch // 3) for epoch in range(8)]
    assert ours == pytest.approx(expected)


def test_zero_grad_can_keep_zero_tensors() -> None:
    p = Parameter(tensor([1.0, 2.0], backend="numpy"))
    opt = SGD([p], lr=0.1)
    (p.value * 3.0).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.value.grad is not None and p.value.grad.to_numpy().tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, nesterov=True),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
        lambda ps: SGD([], lr=0.1),
        lambda ps: SGD([{"params": ps, "moment": 0.9}], lr=0.1),
        lambda ps: StepLR(SGD(ps, lr=0.1), step_size=0),
    ],
)
def test_bad_settings_raise(make: Callable[[list[Parameter]], Any]) -> None:
    with pytest.raises(ValueError, match=r"Nesterov|empty|moment|step_size"):
        make([Parameter(tensor([1.0]))])


# Gradient clipping.


def _with_grads(grads: list[Array], backend: str = "numpy") -> list[Parameter]:
    params = []
    for g in grads:
        p = Parameter(tensor(np.zeros_like(g), backend=backend))
        p.value.grad = tensor(g, backend=backend)
        params.append(p)
    return params


@pytest.mark.parametrize("backend", ["simple", "numpy", "fast"])
@given(
    a=tensor_data((2, 3), -3, 3),
    b=tensor_data((4,), -3, 3),
    max_norm=st.sampled_from([0.1, 1.0, 100.0]),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, float("inf")]),
)
def test_clip_grad_norm_follows_torch_rule(
    backend: str, a: Array, b: Array, max_norm: float, norm_type: float
) -> None:
    params = _with_grads([a, b], backend)
    alias = params[0].value.grad
    flat = np.concatenate([a.ravel(), b.ravel()])
    norm = np.abs(flat).max() if norm_type == float("inf") else np.linalg.norm(flat, norm_type)
    assert clip_grad_norm_(params, max_norm, norm_type) == pytest.approx(norm)
    factor = min(1.0, max_norm / (norm + 1e-6))
    for p, g in zip(params, [a, b], strict=True):
        assert_tensors_close(p.value.grad, g * factor, "clipped gradient")
    assert alias is params[0].value.grad, "clipping replaced the gradient instead of scaling it"


def test_clip_grad_norm_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(3, 2)) * 5, rng.normal(size=(2,))]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads, strict=True):
        t.grad = torch.tensor(g)
    expected = float(torch.nn.utils.clip_grad_norm_(theirs, 1.5))
    params = _with_grads(grads)
    assert clip_grad_norm_(params, 1.5) == pytest.approx(expected)
    for p, t in zip(params, theirs, strict=True):
        assert_tensors_close(p.value.grad, t.grad.numpy(), "clipped like torch")


def test_clip_grad_value_clamps_in_place_and_skips_missing_grads() -> None:
    params = _with_grads([np.array([-3.0, 0.5, 2.0])])
    params.append(Parameter(tensor([1.0])))
    alias = params[0].value.grad
    clip_grad_value_(params, 1.0)
    assert_tensors_close(alias, np.array([-1.0, 0.5, 1.0]), "clamped gradient")
    assert params[1].value.grad is None
    assert clip_grad_norm_(params[1:], 1.0) == 0.0
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(params, 1.0, norm_type=0.0)


# RMSprop.


def rmsprop_reference(
    p: Array, target: Array, lr: float, alpha: float, eps: float, momentum: float, centered: bool
) -> Array:
    """``torch.optim.RMSprop`` as recorded in its documentation."""
    v, mean, buf = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for _ in range(STEPS):
        g = loss_grad(p, target)
        v = alpha * v + (1 - alpha) * g * g
        spread = v
        if centered:
            mean = alpha * mean + (1 - alpha) * g
            spread = v - mean * mean
        step = g / (np.sqrt(spread) + eps)
        if momentum:
            buf = momentum * buf + step
            step = buf
        p = p - lr * step
    return p


rms_hyper = st.fixed_dictionaries(
    {
        "lr": st.sampled_from([1e-3, 0.01]),
        "alpha": st.sampled_from([0.9, 0.99]),
        "eps": st.sampled_from([1e-8, 1e-3]),
        "momentum": st.sampled_from([0.0, 0.5]),
        "centered": st.booleans(),
    }
)


@given(start=tensor_data(SHAPE, -2, 2), target=tensor_data(SHAPE, -2, 2), h=rms_hyper)
def test_rmsprop_matches_recorded_rule_and_torch(
    start: Array, target: Array, h: dict[str, Any]
) -> None:
    ours = run_ours(lambda ps: RMSprop(ps, **h), start, target)
    expected = rmsprop_reference(start, target, **h)
    assert_tensors_close(ours, expected, "RMSprop", rtol=1e-6, atol=1e-6)
    try:
        import torch
    except ImportError:
        return
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(target, dtype=torch.float64)
    opt = torch.optim.RMSprop([p], **h)
    for _ in range(STEPS):
        opt.zero_grad()
        ((p - t) ** 2 + p**3 * 0.1).sum().backward()
        opt.step()
    assert_tensors_close(ours, p.detach().numpy(), "RMSprop vs torch", rtol=1e-6, atol=1e-6)


def test_rmsprop_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="alpha"):
        RMSprop([Parameter(tensor([1.0]))], alpha=1.5)


@given(
    start=tensor_data(SHAPE, -2, 2),
    target=tensor_data(SHAPE, -2, 2),
    lr_decay=st.sampled_from([0.0, 0.1]),
    initial=st.sampled_from([0.0, 0.5]),
)
def test_adagrad_matches_recorded_rule(
    start: Array, target: Array, lr_decay: float, initial: float
) -> None:
    """``torch.optim.Adagrad`` as recorded in its documentation."""
    ours = run_ours(
        lambda ps: Adagrad(ps, lr=0.1, lr_decay=lr_decay, initial_accumulator_value=initial),
        start,
        target,
    )
    p, total = start, np.full_like(start, initial)
    for t in range(1, STEPS + 1):
        g = loss_grad(p, target)
        total = total + g * g
        p = p - 0.1 / (1 + (t - 1) * lr_decay) * g / (np.sqrt(total) + 1e-10)
    assert_tensors_close(ours, p, "Adagrad", rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="lr_decay"):
        Adagrad([Parameter(tensor([1.0]))], lr_decay=-1.0)
