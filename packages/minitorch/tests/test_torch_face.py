"""``minitorch.torch`` on its own: refusals that name the feature, PyTorch's errors, randomness,
modules, init, saving, devices. (Numerical parity with torch is ``test_torch_parity.py``.)"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch.torch as torch
import minitorch.torch.nn.functional as F  # noqa: N812 (PyTorch's idiom)
from minitorch.torch import nn


def _x() -> torch.Tensor:
    return torch.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], requires_grad=True)


def _any(fn: Any) -> Any:
    """``fn`` as the type checker sees an untyped call (for keywords the face lacks)."""
    return fn


def _grad(t: torch.Tensor) -> torch.Tensor:
    assert t.grad is not None
    return t.grad


def _node(t: torch.Tensor) -> Any:
    assert t.grad_fn is not None
    return t.grad_fn


class _Pair(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * 1, x * 2

    @staticmethod
    def backward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + 2 * b


UNSUPPORTED: list[tuple[str, Callable[[], Any]]] = [
    ("torch.compile", lambda: torch.compile),
    ("torch.fft", lambda: torch.fft),
    ("Tensor.register_hook", lambda: _x().register_hook),
    ("torch.nn.Transformer", lambda: nn.Transformer),
    ("approximate=.tanh.", lambda: F.gelu(_x(), approximate="tanh")),
    ("torch.special", lambda: torch.special),
    ("torch.optim.LBFGS", lambda: torch.optim.LBFGS),
    ("only sides that divide evenly", lambda: F.adaptive_avg_pool2d(torch.ones(1, 1, 5, 5), 2)),
    ("groups", lambda: F.conv2d(torch.ones(1, 2, 4, 4), torch.ones(2, 1, 3, 3), groups=2)),
    ("stride != kernel_size", lambda: F.max_pool2d(torch.ones(1, 1, 4, 4), 2, stride=1)),
    ("amsgrad", lambda: torch.optim.Adam([nn.Parameter(torch.ones(2))], amsgrad=True)),
    ("create_graph", lambda: (_x() * 2).sum().backward(create_graph=True)),
    ("torch.autograd.forward_ad", lambda: torch.autograd.forward_ad),
    ("pin_memory of torch.zeros", lambda: _any(torch.zeros)(2, pin_memory=True)),
    ("layout of torch.nn.functional.softmax", lambda: _any(F.softmax)(_x(), 1, layout=None)),
    ("memory_format of Tensor.clone", lambda: _any(_x().clone)(memory_format=None)),
    ("torch.Generator", lambda: torch.rand(2, generator=object())),
    ("padding_mode of torch.nn.Linear", lambda: _any(nn.Linear)(1, 2, padding_mode="zeros")),
    ("several tensors", lambda: _Pair.apply(_x())),
    ("'tpu'", lambda: torch.device("tpu")),
    ("weight", lambda: F.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]), torch.ones(3))),
    ("reflect", lambda: F.pad(torch.ones(2, 2), (1, 1), mode="reflect")),
    ("torch.Generator", lambda: torch.utils.data.DataLoader([1, 2], generator=object())),
]


@pytest.mark.parametrize("feature, use", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_features_are_named(feature: str, use: Callable[[], Any]) -> None:
    with pytest.raises(NotImplementedError, match=feature.replace("(", r"\(")):
        use()


def test_hasattr_is_false_for_what_is_missing() -> None:
    assert not hasattr(torch, "compile") and hasattr(torch, "tensor")
    assert not hasattr(_x(), "register_hook") and hasattr(_x(), "backward")


ERRORS: list[tuple[type[Exception], str, Callable[[], Any]]] = [
    (RuntimeError, "floating point", lambda: torch.tensor([1, 2], requires_grad=True)),
    (RuntimeError, "leaf Variable", lambda: _x().add_(1.0)),
    (RuntimeError, "dim 0 appears multiple times", lambda: _x().sum((0, -2))),
    (RuntimeError, "detach", lambda: _x().numpy()),
    (RuntimeError, "Long", lambda: torch.tensor([1, 2]).mean()),
    (RuntimeError, "scalar outputs", lambda: (_x() * 2).backward()),
    (RuntimeError, "does not require grad", lambda: torch.ones(2).sum().backward()),
    (IndexError, "long, int, byte or bool", lambda: _x()[torch.tensor([0.0])]),
    (IndexError, "out of range", lambda: _x()[5]),
    (IndexError, "Dimension out of range", lambda: _x().sum(2)),
    (ValueError, "(2, 3)", lambda: torch.cat([_x(), torch.ones(2, 2)])),
    (ValueError, "cannot broadcast", lambda: _x() + torch.ones(4)),
    (ValueError, "inner dimensions", lambda: _x() @ torch.ones(2, 2)),
    (ValueError, "ragged", lambda: torch.tensor([[1.0], [2.0, 3.0]])),
    (TypeError, "str", lambda: torch.tensor(["a"])),
    (TypeError, "str", lambda: _x() + "a"),
    (RuntimeError, "can't be cast", lambda: torch.tensor([1, 2]).add_(0.5)),
    (RuntimeError, "bool tensors", lambda: torch.tensor([True]) - torch.tensor([False])),
    (RuntimeError, "negative integer powers", lambda: torch.tensor([2]) ** -1),
    (IndexError, "out of bounds", lambda: F.cross_entropy(torch.ones(2, 3), torch.tensor([0, 3]))),
    (RuntimeError, "ambiguous", lambda: bool(torch.ones(2))),
    (ValueError, "between 0 and 1", lambda: nn.Dropout(1.5)),
    (IndexError, "index out of range in self", lambda: F.embedding(torch.tensor([-1]), _x())),
    (IndexError, "index out of range in self", lambda: nn.Embedding(3, 2)(torch.tensor([3]))),
    (RuntimeError, "second time", lambda: _twice(_x())),
    (RuntimeError, "does not require grad", lambda: torch.autograd.grad(_x().sum(), torch.ones(2))),
    (RuntimeError, "not have been used", lambda: torch.autograd.grad(_x().sum(), [_x()])),
    (RuntimeError, "out=", lambda: torch.add(_x(), 1, out=torch.zeros(2, 3))),
    (RuntimeError, "std >= 0.0", lambda: torch.normal(torch.zeros(2), -torch.ones(2))),
    (RuntimeError, "without replacement", lambda: torch.multinomial(torch.ones(3), 4)),
    (RuntimeError, "p_in >= 0", lambda: torch.bernoulli(torch.full((2,), 1.5))),
    (RuntimeError, "rounding_mode", lambda: torch.div(_x(), 2, rounding_mode="up")),
    (
        ValueError,
        "mutually exclusive",
        lambda: torch.utils.data.DataLoader([1], sampler=[0], shuffle=True),
    ),
    (TypeError, "invalid combination", lambda: _any(_x().to)(requires_grad=True)),
    (
        IndexError,
        "out of range",
        lambda: torch.ones(2, 3).index_add_(1, torch.tensor([3]), torch.ones(2, 1)),
    ),
    (
        RuntimeError,
        "does not match",
        lambda: torch.ones(2, 3).index_add_(1, torch.tensor([0]), torch.ones(2, 2)),
    ),
]


def _twice(x: torch.Tensor) -> None:
    y = (x * x).sum()
    y.backward()
    y.backward()


@pytest.mark.parametrize("error, says, call", ERRORS, ids=[e[1] for e in ERRORS])
def test_bad_input_gives_pytorchs_error(
    error: type[Exception], says: str, call: Callable[[], Any]
) -> None:
    with pytest.raises(error) as err:
        call()
    assert says in str(err.value)


# Randomness: one generator, seeded by torch.manual_seed.


@given(seed=st.integers(0, 2**31 - 1))
def test_manual_seed_reproduces_every_draw(seed: int) -> None:
    def draw() -> list[Any]:
        torch.manual_seed(seed)
        return [
            torch.rand(3).tolist(),
            torch.randn(2, 2).tolist(),
            torch.randint(0, 5, (4,)).tolist(),
            torch.randperm(5).tolist(),
            nn.Linear(2, 2).weight.tolist(),
            F.dropout(torch.ones(6), 0.5).tolist(),
        ]

    assert draw() == draw()


def test_random_values_have_their_ranges_and_dtypes() -> None:
    torch.manual_seed(0)
    u, n, i = torch.rand(10_000), torch.randn(10_000), torch.randint(3, 7, (10_000,))
    assert u.dtype == torch.float32 and float(u.min()) >= 0 and float(u.max()) < 1
    assert abs(float(n.mean())) < 0.05 and abs(float((n * n).mean()) - 1) < 0.05
    assert i.dtype == torch.int64 and set(i.tolist()) == {3, 4, 5, 6}
    assert sorted(torch.randperm(50).tolist()) == list(range(50))


@given(seed=st.integers(0, 2**31 - 1))
def test_manual_seed_reproduces_the_sampling_functions(seed: int) -> None:
    def draw() -> list[Any]:
        torch.manual_seed(seed)
        x = torch.zeros(3, 2)
        return [
            torch.normal(torch.zeros(3), torch.ones(3)).tolist(),
            torch.normal(1.0, 2.0, size=(2,)).tolist(),
            torch.bernoulli(torch.full((5,), 0.5)).tolist(),
            torch.multinomial(torch.tensor([[1.0, 2.0, 3.0], [3.0, 0.0, 1.0]]), 2).tolist(),
            torch.rand_like(x).tolist(),
            torch.randn_like(x).tolist(),
            torch.randint_like(x, 4).tolist(),
            torch.zeros(4).uniform_(-1, 1).tolist(),
            torch.zeros(4).normal_(3, 0.1).tolist(),
            torch.zeros(4).bernoulli_(0.3).tolist(),
            list(torch.utils.data.RandomSampler(range(6))),
        ]

    assert draw() == draw()


def test_one_generator_behind_both_seeds() -> None:
    import minitorch
    import mt_tensor

    torch.manual_seed(5)
    ours = (torch.randn(4).tolist(), mt_tensor.rand((3,)).to_numpy().tolist())
    minitorch.manual_seed(5)
    again = (torch.randn(4).tolist(), mt_tensor.rand((3,)).to_numpy().tolist())
    assert ours == again


def test_sampling_follows_its_distribution() -> None:
    torch.manual_seed(0)
    n = torch.normal(torch.full((20_000,), 2.0), torch.full((20_000,), 3.0))
    assert abs(float(n.mean()) - 2) < 0.1 and abs(float(n.std()) - 3) < 0.1
    b = torch.bernoulli(torch.full((20_000,), 0.3))
    assert b.dtype == torch.float32 and set(b.tolist()) == {0.0, 1.0}
    assert abs(float(b.mean()) - 0.3) < 0.02
    picks = torch.multinomial(torch.tensor([1.0, 0.0, 3.0]), 20_000, replacement=True)
    assert picks.dtype == torch.int64 and 1 not in picks.tolist()
    assert abs(float((picks == 2).float().mean()) - 0.75) < 0.02
    rows = torch.multinomial(torch.ones(4, 10), 10)
    assert all(sorted(r) == list(range(10)) for r in rows.tolist())
    u = torch.empty(20_000).uniform_(-2, 4)
    assert float(u.min()) >= -2 and float(u.max()) < 4 and abs(float(u.mean()) - 1) < 0.1
    ints = torch.randint_like(torch.zeros(1000), 2, 5)
    assert set(ints.tolist()) == {2.0, 3.0, 4.0}


def test_numpy_and_tensors_share_memory() -> None:
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    assert n.tolist() == [2.0] * 5
    n[0] = 9
    assert t[0].item() == 9
    a = np.ones((2, 3))
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    assert b.tolist() == [[2.0] * 3] * 2 and b.dtype == torch.float64
    b.mul_(3)
    assert a.tolist() == [[6.0] * 3] * 2
    assert np.shares_memory(torch.zeros(2, 2).view(4).numpy(), torch.zeros(1).numpy()) is False
    longs = torch.tensor([1, 2])
    assert longs.numpy().dtype == np.int64 and not np.shares_memory(longs.numpy(), longs.numpy())
    view = torch.arange(6.0).reshape(2, 3).t()
    assert view.numpy().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def _batches(loader: Any) -> list[Any]:
    return [[t.tolist() for t in batch] for batch in loader]


@given(seed=st.integers(0, 2**31 - 1), workers=st.integers(1, 4), batch=st.integers(1, 7))
def test_dataloader_workers_give_the_in_process_batches(
    seed: int, workers: int, batch: int
) -> None:
    data = torch.utils.data.TensorDataset(torch.arange(20.0), torch.arange(20))
    out = []
    for n in (0, workers):
        torch.manual_seed(seed)
        out.append(_batches(torch.utils.data.DataLoader(data, batch, shuffle=True, num_workers=n)))
    assert out[0] == out[1]


def test_samplers_and_batch_samplers() -> None:
    data = torch.utils.data
    batches = list(data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(data.BatchSampler(range(7), 3, drop_last=True)) == 2
    assert sorted(data.RandomSampler(range(9))) == list(range(9))
    assert len(list(data.RandomSampler(range(3), replacement=True, num_samples=8))) == 8
    assert sorted(data.SubsetRandomSampler([4, 7, 9])) == [4, 7, 9]
    weighted = list(data.WeightedRandomSampler([0.0, 1.0, 0.0], 5))
    assert weighted == [1] * 5
    loader = data.DataLoader(
        list(range(10)), batch_sampler=data.BatchSampler(data.SequentialSampler(range(10)), 4, True)
    )
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2
    ordered = data.DataLoader(list(range(5)), batch_size=2, sampler=[4, 3, 2, 1, 0], drop_last=True)
    assert [b.tolist() for b in ordered] == [[4, 3], [2, 1]]
    joined = data.DataLoader(
        list(range(5)), batch_size=2, collate_fn=lambda s: sum(s), pin_memory=True
    )
    assert list(joined) == [1, 5, 4]
    single = data.DataLoader([1.0, 2.0], batch_size=None)
    assert list(single) == [1.0, 2.0]
    parts = data.random_split(range(10), [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    assert sorted(p[i] for p in parts for i in range(len(p))) == list(range(10))


class _Stream(torch.utils.data.IterableDataset):
    def __iter__(self) -> Any:
        return iter(range(5))


def test_iterable_dataset_is_batched_in_order() -> None:
    loader = torch.utils.data.DataLoader(_Stream(), batch_size=2)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]


# Autograd semantics.


def test_retained_graph_runs_backward_again_and_a_freed_one_refuses() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x * 3).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    assert _grad(x).tolist() == [12.0, 24.0]
    y.backward()
    assert _grad(x).tolist() == [18.0, 36.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_no_graph_is_kept_alive_after_backward() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    assert _node(y).next_functions
    y.backward()
    history = y.value.history
    assert _node(y).next_functions == () and history is not None and history.inputs == ()


def test_autograd_grad_leaves_grad_alone() -> None:
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    w = torch.tensor(3.0, requires_grad=True)
    y = (x * x * w).sum()
    gx, gw = _any(torch.autograd.grad(y, [x, w], retain_graph=True))
    assert gx.tolist() == [6.0, -12.0] and gw.item() == 5.0
    assert x.grad is None and w.grad is None
    (again,) = _any(
        torch.autograd.grad([y, y], x, grad_outputs=[torch.tensor(1.0), torch.tensor(2.0)])
    )
    assert again.tolist() == [18.0, -36.0]
    z = torch.tensor(1.0, requires_grad=True)
    assert torch.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)[1] is None


class _Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, k: float, y: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, y)
        ctx.k = k
        ctx.seen = ctx.needs_input_grad
        return x * y * k

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[Any, ...]:
        x, y = ctx.saved_tensors
        return g * y * ctx.k, None, (g * x * ctx.k if ctx.needs_input_grad[2] else None)


def test_custom_function_records_one_node() -> None:
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0, 4.0])
    out = _Scale.apply(x, 2.0, y)
    assert _node(out).name() == "_ScaleBackward" and out.requires_grad
    out.sum().backward()
    assert _grad(x).tolist() == [6.0, 8.0]
    with torch.no_grad():
        assert not _Scale.apply(x, 2.0, y).requires_grad
    assert not _Scale.apply(y, 2.0, y).requires_grad
    assert torch.autograd.Variable(y, requires_grad=True) is y and y.requires_grad


def test_importing_missing_torch_modules_is_named(tmp_path: Path) -> None:
    script = tmp_path / "imports.py"
    script.write_text(
        "import torch.autograd\nfrom torch.autograd import Function, Variable\n"
        "from torch.autograd.function import once_differentiable\n"
        "try:\n    import torch.autograd.forward_ad\nexcept NotImplementedError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "minitorch.torch", str(script)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "torch.autograd.forward_ad" in done.stdout


def test_softmax_without_dim_warns_and_picks_pytorchs_dim() -> None:
    x = torch.arange(6.0).reshape(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        out = F.softmax(x)
    assert torch.allclose(out, F.softmax(x, dim=1))
    with pytest.warns(UserWarning, match="log_softmax"):
        assert torch.allclose(nn.LogSoftmax()(x[0]), F.log_softmax(x[0], 0))


def test_set_default_device_cpu() -> None:
    torch.set_default_device("cpu")
    assert torch.zeros(2).device == torch.device("cpu")
    assert torch.get_default_device().type == "cpu"
    torch.set_default_device(None)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_the_expectation(p: float) -> None:
    torch.manual_seed(1)
    out = F.dropout(torch.ones(20_000), p)
    zeros = float((out == 0).float().mean())
    assert abs(zeros - p) < 0.02
    assert abs(float(out.mean()) - 1.0) < 0.05
    layer = nn.Dropout(p).eval()
    assert torch.equal(layer(torch.ones(5)), torch.ones(5))


# Modules.


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.shared = self.head
        self.register_buffer("scale", torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x).flatten(1)) * self.scale
        return out


def test_module_tree_as_in_pytorch() -> None:
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["features.0.weight", "features.0.bias", "head.weight", "head.bias"]
    assert len(list(net.parameters())) == 4
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds == ["Net", "Sequential", "Conv2d", "ReLU", "Linear"]
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "Linear"]
    assert list(net.state_dict()) == ["scale", *names, "shared.weight", "shared.bias"]
    assert net.eval() is net and not net.head.training
    assert net.train() is net and net.features[0].training
    out = net(torch.ones(2, 1, 4, 4))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_matches_torchs_names() -> None:
    real = pytest.importorskip("torch")

    theirs = real.nn.Module()
    theirs.features = real.nn.Sequential(real.nn.Conv2d(1, 2, 3), real.nn.ReLU())
    theirs.head = real.nn.Linear(8, 3)
    theirs.shared = theirs.head
    theirs.register_buffer("scale", real.ones(3))
    assert list(Net().state_dict()) == list(theirs.state_dict())


def test_load_state_dict_names_what_is_wrong() -> None:
    net = Net()
    state = net.state_dict()
    with pytest.raises(RuntimeError, match=r"missing keys.*head\.bias"):
        Net().load_state_dict({k: v for k, v in state.items() if k != "head.bias"})
    state["head.weight"] = torch.ones(3, 7)
    with pytest.raises(RuntimeError, match=r"head.weight: checkpoint \(3, 7\), model \(3, 8\)"):
        Net().load_state_dict(state)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    values = {
        "f": torch.tensor([[1.5, -2.0]]),
        "d": torch.tensor([1.0], dtype=torch.float64),
        "i": torch.tensor([3, 4]),
        "b": torch.tensor([True, False]),
        "s": torch.tensor(2.5),
        "p": nn.Parameter(torch.ones(2)),
    }
    torch.save(values, tmp_path / "x.pt")
    loaded = torch.load(tmp_path / "x.pt")
    for k, v in values.items():
        assert loaded[k].dtype == v.dtype and loaded[k].shape == v.shape
        assert loaded[k].tolist() == v.tolist()
    assert isinstance(loaded["p"], nn.Parameter) and loaded["p"].requires_grad


def test_weights_only_load_refuses_code() -> None:
    evil = io.BytesIO(pickle.dumps(print))
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.print"):
        torch.load(evil)


def test_init_functions_fill_in_place() -> None:
    w = nn.Linear(50, 40).weight
    before = id(w)
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    assert id(w) == before and float(w.abs().max()) <= np.sqrt(6 / 50) + 1e-12
    nn.init.xavier_uniform_(w)
    assert float(w.abs().max()) <= np.sqrt(6 / 90) + 1e-12
    nn.init.zeros_(w)
    assert float(w.abs().sum()) == 0.0
    nn.init.constant_(w, 0.5)
    assert set(w.flatten().tolist()) == {0.5}


def test_parameter_updates_keep_identity_and_aliases() -> None:
    layer = nn.Linear(2, 1)
    weight, alias = layer.weight, layer.weight.data
    opt = torch.optim.SGD(layer.parameters(), lr=1.0)
    layer(torch.ones(1, 2)).sum().backward()
    opt.step()
    assert layer.weight is weight
    assert alias.tolist() == weight.tolist()


def test_no_grad_as_decorator_and_context() -> None:
    @torch.no_grad()
    def double(t: torch.Tensor) -> torch.Tensor:
        return t * 2

    assert not double(_x()).requires_grad
    with torch.no_grad():
        assert not torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert not (_x() * 2).requires_grad
    assert torch.is_grad_enabled()


def test_cuda_device_maps_to_the_cuda_backend() -> None:
    """Under numba's simulator (tests without a GPU) the device works, but is not offered."""
    model = nn.Linear(3, 2).to("cuda")
    x = torch.ones(4, 3, device="cuda")
    out = model(x)
    assert out.device.type == "cuda" and out.is_cuda
    assert torch.allclose(out.cpu(), model.cpu()(x.cpu()))
    assert "device='cuda:0'" in repr(x)


def test_running_a_script_as_torch(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text(
        "import torch\nimport torch.nn.functional as F\nprint(F.relu(torch.tensor([-1.0, 2.0])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "minitorch.torch", str(script)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tensor([0., 2.])"


SCOPE = {
    "torch": "tensor zeros ones full rand randn randint arange linspace eye zeros_like ones_like "
    "manual_seed no_grad from_numpy cat stack where float32 float64 int64 long bool",
    "torch.Tensor": "shape size dim numel item tolist numpy detach clone requires_grad_ grad "
    "backward zero_ reshape view flatten unsqueeze squeeze transpose permute T expand contiguous "
    "__getitem__ sum mean max min argmax argmin softmax log_softmax exp log sqrt pow abs clamp "
    "relu sigmoid tanh matmul __matmul__ mm bmm add_ mul_ sub_ float long dtype",
    "torch.nn": "Module Parameter Linear Conv1d Conv2d ReLU Tanh Sigmoid Dropout MaxPool2d "
    "AvgPool2d Flatten Sequential Embedding CrossEntropyLoss NLLLoss MSELoss BCELoss "
    "BCEWithLogitsLoss",
    "torch.nn.Module": "parameters named_parameters children modules train eval zero_grad "
    "state_dict load_state_dict to",
    "torch.nn.init": "kaiming_uniform_ xavier_uniform_ zeros_",
    "torch.nn.functional": "relu sigmoid tanh softmax log_softmax cross_entropy nll_loss "
    "mse_loss binary_cross_entropy binary_cross_entropy_with_logits conv1d conv2d max_pool2d "
    "avg_pool2d dropout linear one_hot pad",
    "torch.optim": "SGD Adam AdamW",
    "torch.optim.lr_scheduler": "StepLR",
    "torch.utils.data": "TensorDataset DataLoader",
}
"""The scope the face promises (its issue's list)."""


def test_the_promised_scope_is_all_there() -> None:
    from minitorch.torch.names import supported

    found = supported()
    missing = {
        space: sorted(set(names.split()) - set(found[space])) for space, names in SCOPE.items()
    }
    assert not any(missing.values()), missing


def test_names_are_listed_from_the_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "minitorch.torch", "--names"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("torch (") and "torch.nn.functional (" in done.stdout


def test_a_model_deep_copies() -> None:
    """``copy.deepcopy(model)`` (keeping the best model) gives equal, separate parameters."""
    import copy

    net = Net()
    best = copy.deepcopy(net)
    pairs = zip(net.parameters(), best.parameters(), strict=True)
    assert all(a is not b and torch.equal(a, b) for a, b in pairs)
    assert best.shared is best.head
