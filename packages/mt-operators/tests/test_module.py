"""Module trees of random shape: registration, dotted names, counts and modes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mt_operators import Module, Parameter

Spec = tuple[int, list["Spec"]]
"""A module in a random tree: how many parameters it holds, and its children."""

trees: st.SearchStrategy[Spec] = st.recursive(
    st.tuples(st.integers(0, 3), st.just([])),
    lambda children: st.tuples(st.integers(0, 3), st.lists(children, max_size=3)),
    max_leaves=12,
)


class Node(Module):
    def __init__(self, spec: Spec) -> None:
        super().__init__()
        n_params, children = spec
        for i in range(n_params):
            self.add_parameter(f"p{i}", float(i))
        for j, child in enumerate(children):
            setattr(self, f"c{j}", Node(child))


def count(spec: Spec) -> tuple[int, int]:
    """(parameters, modules) in a spec tree, the root included."""
    n_params, children = spec
    params, modules = n_params, 1
    for child in children:
        p, m = count(child)
        params += p
        modules += m
    return params, modules


def expected_names(spec: Spec, prefix: str = "") -> list[str]:
    n_params, children = spec
    names = [f"{prefix}p{i}" for i in range(n_params)]
    for j, child in enumerate(children):
        names += expected_names(child, f"{prefix}c{j}.")
    return names


@given(trees)
def test_parameter_counts_and_names(spec: Spec) -> None:
    root = Node(spec)
    n_params, n_modules = count(spec)
    assert len(root.parameters()) == n_params
    assert [name for name, _ in root.named_parameters()] == expected_names(spec)
    assert len(root.named_modules()) == n_modules
    assert len(root.modules()) == len(spec[1]) == len(root.children())


@given(trees)
def test_train_eval_recurse(spec: Spec) -> None:
    root = Node(spec)
    root.eval()
    assert all(not m.training for _, m in root.named_modules())
    root.train()
    assert all(m.training for _, m in root.named_modules())


def test_attribute_access_and_update() -> None:
    class Affine(Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = Parameter(2.0)
            self.inner = Module()

        def forward(self, x: float) -> float:
            w: float = self.w.value
            return w * x

    m = Affine()
    assert m(3.0) == 6.0
    m.w.update(5.0)
    assert m(3.0) == 15.0
    assert "(inner): Module()" in repr(m)
    assert repr(m).startswith("Affine(")


def test_parameter_switches_on_gradients() -> None:
    class Tracked:
        def __init__(self) -> None:
            self.flag = False
            self.name = ""

        def requires_grad_(self, flag: bool) -> None:
            self.flag = flag

    t = Tracked()
    p = Parameter(t, "weights")
    assert t.flag and t.name == "weights" and p.value is t


def test_missing_attribute_and_forward() -> None:
    m = Module()
    try:
        m.nothing  # noqa: B018
    except AttributeError as e:
        assert "nothing" in str(e)
    else:
        raise AssertionError("expected AttributeError")
    try:
        m(1.0)
    except NotImplementedError as e:
        assert "forward" in str(e)
    else:
        raise AssertionError("expected NotImplementedError")


def test_a_module_tree_copies_and_pickles() -> None:
    """``copy.deepcopy`` and ``pickle`` rebuild modules before their dicts exist."""
    import copy
    import pickle

    net = Module()
    net.child = Module()
    net.child.w = Parameter(2.0)
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert [n for n, _ in clone.named_parameters()] == ["child.w"]
        assert clone.child.w.value == 2.0 and clone.child is not net.child
