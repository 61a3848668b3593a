"""Held under stress: deep graphs, long training runs, threads, extreme values, NaN and
zero-size batches, on every backend (cuda too where it runs in numba's simulator: the inputs
here have a handful of elements).

Sizes here are CI-sized; ``bench/stress.py`` at the repository root runs the full-size versions
(100 000-node graphs, 1 000 training steps) and prints the numbers.
"""

from __future__ import annotations

import gc
import math
import threading
import tracemalloc
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from mt_operators.testing import OPS, OpInfo
from mt_tensor import Tensor, default_backend, tensor
from mt_tensor.testing import assert_tensors_close, backend_names

nn = pytest.importorskip("mt_nn")

BACKENDS = backend_names(include_cuda=True)
SIMULATED = [b for b in BACKENDS if b not in backend_names()]
"""``["cuda"]`` when it runs in numba's simulator, else nothing."""
KNOWN_BUGS: dict[tuple[str, str], str] = {}
"""Reported bugs, ``(case, backend)``: strict xfails, so a fix makes the mark's removal due."""


def known_bug(case: str, backend: str) -> list[pytest.MarkDecorator]:
    reason = KNOWN_BUGS.get((case, backend))
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


DEPTH = 20_000
"""Twenty times Python's default recursion limit: recursion anywhere in the engine would fail."""
EXTREME = 1e4
NAN = math.nan


def test_deep_chain_backpropagates() -> None:
    """``DEPTH`` chained adds and muls, each step also reusing the leaf (shared subgraphs)."""
    backend = default_backend().name
    x = tensor([0.5], backend=backend, requires_grad=True)
    y = x
    for _ in range(DEPTH // 2):
        y = y * 1.0 + x
    y.sum().backward()
    assert x.grad is not None
    assert_tensors_close(x.grad, [DEPTH // 2 + 1.0], "d(deep chain)/dx")
    assert_tensors_close(y, [0.5 * (DEPTH // 2 + 1)], "deep chain value")


def test_deep_graph_is_freed_without_backward() -> None:
    """Dropping an unused deep graph neither recurses nor leaks."""
    x = tensor([0.5], backend=default_backend().name, requires_grad=True)
    y = x
    for _ in range(DEPTH):
        y = -y
    first = weakref.ref(y.history.inputs[0]) if y.history else None
    del y
    gc.collect()
    assert first is not None and first() is None


def test_backward_frees_the_graph() -> None:
    """After ``backward`` no intermediate tensor survives (no cycles keep them alive)."""
    x = tensor([[1.0, 2.0], [3.0, 4.0]], backend=default_backend().name, requires_grad=True)
    hidden = (x @ x).sigmoid()
    loss = (hidden * x).sum()
    ref = weakref.ref(hidden)
    del hidden
    gc.disable()
    try:
        loss.backward()
        assert ref() is None, "an intermediate tensor survived backward()"
    finally:
        gc.enable()


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=known_bug("exp overflow", b)) for b in BACKENDS]
)
def test_sigmoid_and_exp_at_extremes(backend: str) -> None:
    values = [EXTREME, -EXTREME]
    x = tensor(values, backend=backend, requires_grad=True)
    s = x.sigmoid()
    s.sum().backward()
    assert_tensors_close(s, [1.0, 0.0], "sigmoid(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [0.0, 0.0], "sigmoid'(±1e4)")
    x.zero_grad_()
    e = x.exp()
    e.sum().backward()
    assert_tensors_close(e, [math.inf, 0.0], "exp(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [math.inf, 0.0], "exp'(±1e4)")


COMPARISONS = ("lt", "gt", "eq", "is_close")
NAN_CASES = [
    pytest.param(op, backend, id=f"{op.name}-{backend}", marks=known_bug(op.name, backend))
    for op in OPS
    for backend in BACKENDS
]


@pytest.mark.parametrize(("op", "backend"), NAN_CASES)
def test_nan_propagates(op: OpInfo, backend: str) -> None:
    """NaN in gives NaN out (comparisons give 0.0, as IEEE says; rounding and ``sign`` keep
    NaN, as numpy and PyTorch); backward does not raise."""
    lo, hi = op.domain
    finite = [lo + (hi - lo) / 3, NAN, hi]
    inputs = [tensor(finite, backend=backend, requires_grad=True)]
    inputs += [tensor([hi, hi, NAN], backend=backend, requires_grad=True)] * (op.arity - 1)
    out = op.call(*inputs)
    out.sum().backward()
    got = out.to_numpy()
    has_nan = np.isnan(np.sum([t.to_numpy() for t in inputs], axis=0))
    if op.name in COMPARISONS:
        assert (got[has_nan] == 0.0).all(), f"{op.name} with NaN gave {got}, expected 0.0"
    else:
        assert np.isnan(got[has_nan]).all(), f"{op.name} with NaN gave {got}, expected NaN"
    assert not np.isnan(got[~has_nan]).any(), f"{op.name} spread NaN to finite inputs: {got}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_propagates_through_reductions_and_matmul(backend: str) -> None:
    a = tensor([[1.0, NAN], [2.0, 3.0]], backend=backend, requires_grad=True)
    b = tensor([[1.0, 0.0], [0.0, 1.0]], backend=backend)
    assert_tensors_close(a.sum(1), [[NAN], [5.0]], "sum with NaN")
    assert_tensors_close(a.mean(0), [[1.5, NAN]], "mean with NaN")
    c = a.detach()
    assert_tensors_close(c.f.max_reduce(c, 1), [[NAN], [3.0]], "max with NaN, NaN first")
    assert_tensors_close(c.f.max_reduce(c, 0), [[2.0, NAN]], "max with NaN, NaN last")
    product = a @ b
    assert_tensors_close(product, [[NAN, NAN], [2.0, 3.0]], "matmul with NaN (nan * 0 is nan)")
    product.sum().backward()
    assert a.grad is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_size_batches(backend: str) -> None:
    """A batch of 0 rows flows through maps, broadcasts, reductions, matmul and backward."""
    x = tensor(np.zeros((0, 3)), backend=backend, requires_grad=True)
    w = tensor(np.ones((3, 2)), backend=backend, requires_grad=True)
    bias = tensor([1.0, 2.0], backend=backend, requires_grad=True)
    y = (x @ w + bias).sigmoid()
    assert y.shape == (0, 2)
    assert x.exp().shape == (0, 3)
    assert x.sum(1).shape == (0, 1)
    assert_tensors_close(x.sum(0), np.zeros((1, 3)), "sum over an empty dim")
    y.sum().backward()
    assert x.grad is not None and x.grad.shape == (0, 3)
    assert w.grad is not None and bias.grad is not None
    assert_tensors_close(w.grad, np.zeros((3, 2)), "grad of w from no rows")
    assert_tensors_close(bias.grad, np.zeros(2), "grad of bias from no rows")


@pytest.mark.parametrize("backend", BACKENDS)
def test_softmax_log_softmax_cross_entropy_at_extremes(backend: str) -> None:
    """Logits of ±1e4 give exact probabilities, finite log-probabilities and finite gradients.

    Row 0 is one-hot-like; row 1 ties two classes: softmax ``[0, 1/2, 1/2]``. The gradients are
    of weighted sums with weights ``w``: softmax's ``s (w - s·w)``, logsoftmax's ``w - s Σw``;
    cross-entropy's (mean over 2 rows) is ``(s - onehot) / 2``.
    """
    logits = [[EXTREME, -EXTREME, 0.0], [-EXTREME, EXTREME, EXTREME]]
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    w = tensor([[1.0, 2.0, 3.0]], backend=backend)
    half = math.log(0.5)

    x = tensor(logits, backend=backend, requires_grad=True)
    s = nn.softmax(x, 1)
    (s * w).sum().backward()
    assert_tensors_close(s, probabilities, "softmax(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [[0.0, 0.0, 0.0], [0.0, -0.25, 0.25]], "softmax'(±1e4)")

    x = tensor(logits, backend=backend, requires_grad=True)
    log_s = nn.logsoftmax(x, 1)
    (log_s * w).sum().backward()
    expected = [[0.0, -2 * EXTREME, -EXTREME], [-2 * EXTREME + half, half, half]]
    assert_tensors_close(log_s, expected, "logsoftmax(±1e4)")
    assert x.grad is not None
    assert_tensors_close(x.grad, [[-5.0, 2.0, 3.0], [1.0, -1.0, 0.0]], "logsoftmax'(±1e4)")

    x = tensor(logits, backend=backend, requires_grad=True)
    labels = tensor([0.0, 2.0], backend=backend)
    loss = nn.cross_entropy(x, labels)
    loss.backward()
    assert_tensors_close(loss, [-half / 2], "cross_entropy(±1e4)")
    assert x.grad is not None
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert_tensors_close(x.grad, (probabilities - onehot) / 2, "cross_entropy'(±1e4)")


# Long runs and threads: an MLP trained with Adam on the fast backend.

Array = npt.NDArray[np.float64]


@dataclass
class Run:
    """A model, its optimizer and its one batch, on the fast backend; the losses so far."""

    model: Any
    optimizer: Any
    x: Tensor
    y: Tensor
    losses: list[float] = field(default_factory=list)


def new_run(hidden: int = 16, batch: int = 64, seed: int = 0) -> Run:
    """A seeded 2-``hidden``-``hidden``-2 MLP with Adam and a batch of ``batch`` points.

    Build runs one at a time (in one thread): initialisation draws from mt-nn's shared
    generator, reseeded here. Training them shares nothing.
    """
    nn.manual_seed(seed)
    model = nn.MLP(2, hidden, 2, backend="fast")
    rng = np.random.default_rng(seed)
    x = tensor(rng.normal(size=(batch, 2)), backend="fast")
    y = tensor((rng.random(batch) > 0.5).astype(np.float64), backend="fast")
    return Run(model, nn.Adam(model.parameters(), lr=0.01), x, y)


def train(run: Run, steps: int, start: threading.Barrier | None = None) -> Run:
    """``steps`` Adam steps (gradients reset each step), after waiting at ``start`` if given."""
    if start is not None:
        start.wait()
    for _ in range(steps):
        run.optimizer.zero_grad()
        loss = nn.nll_loss(run.model(run.x), run.y)
        loss.backward()
        run.optimizer.step()
        run.losses.append(loss.item())
    return run


def weights(model: Any) -> dict[str, Array]:
    return {name: p.value.to_numpy() for name, p in model.named_parameters()}


MEMORY_WARMUP = 250
"""Steps before measuring. CPython keeps up to 2 000 freed tuples of each small size for reuse,
and tracemalloc counts them as allocated: this MLP's steps add about 480 bytes of 2-tuples a
step to that free list until it is full, near step 200 (measured), then the heap is flat."""
MEMORY_STEPS = 200
MEMORY_BOUND = 32 * 1024
"""Bytes the traced heap may grow over `MEMORY_STEPS` steps: under 164 bytes a step, where one
leaked tensor (object, storage, history) costs about a kilobyte and a leaked graph of this MLP
tens of kilobytes. Measured: a few hundred bytes in all."""


def test_training_holds_memory_flat() -> None:
    """`MEMORY_STEPS` Adam steps of an MLP on the fast backend, after `MEMORY_WARMUP` steps
    traced (so one-off caches and Python's free lists have filled), grow the heap traced by
    `tracemalloc` by less than `MEMORY_BOUND`, with the cycle collector off: no graph survives
    ``backward()``, not even as garbage cycles. ``bench/stress.py`` runs 1 000 steps and reports
    RSS too."""
    run = new_run()
    model, optimizer, x, y = run.model, run.optimizer, run.x, run.y

    def step() -> None:
        optimizer.zero_grad()
        nn.nll_loss(model(x), y).backward()
        optimizer.step()

    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        for _ in range(MEMORY_WARMUP):
            step()
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(MEMORY_STEPS):
            step()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    growth = after - before
    assert growth < MEMORY_BOUND, (
        f"{MEMORY_STEPS} training steps grew the traced heap by {growth} bytes "
        f"(bound {MEMORY_BOUND})"
    )
    optimizer.zero_grad()
    out = model(x)
    hidden = weakref.ref(out.history.inputs[0]) if out.history else None
    nn.nll_loss(out, y).backward()
    assert hidden is not None and hidden() is None, "an intermediate survived backward()"
    assert not list(out.parents), "the model's output still holds its graph after backward()"
    for name, p in model.named_parameters():
        grad = p.value.grad
        assert grad is not None and grad.history is None, f"{name}.grad is {grad!r}"


THREAD_STEPS = 10
THREAD_HIDDEN = 128
THREAD_BATCH = 256
"""Large enough for mt-fast's parallel kernels: 256 x 128 activations are 2^15 elements and the
hidden layer's matmul 2^22 multiply-adds, so both threads run numba's parallel regions at once."""


def test_two_threads_train_as_serially() -> None:
    """Two models trained at the same time, one per thread, end bit for bit where the same two
    trained one after the other do: the fast backend's kernels share no state between calls."""
    seeds = (1, 2)
    serial = [train(new_run(THREAD_HIDDEN, THREAD_BATCH, seed), THREAD_STEPS) for seed in seeds]
    runs = [new_run(THREAD_HIDDEN, THREAD_BATCH, seed) for seed in seeds]
    start = threading.Barrier(len(runs))
    with ThreadPoolExecutor(len(runs)) as pool:
        futures = [pool.submit(train, run, THREAD_STEPS, start) for run in runs]
        threaded = [f.result(timeout=600) for f in futures]
    assert serial[0].losses != serial[1].losses, "the two runs should differ (different seeds)"
    for seed, run, expected in zip(seeds, threaded, serial, strict=True):
        assert run.losses == expected.losses, f"seed {seed}: {run.losses} != {expected.losses}"
        expected_weights = weights(expected.model)
        for name, value in weights(run.model).items():
            assert np.array_equal(value, expected_weights[name]), f"seed {seed}: {name} differs"
