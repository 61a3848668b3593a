"""The course's module layout, names and test tables, as course code reaches them."""

from __future__ import annotations

import importlib
import inspect
import math
import os
import subprocess
import sys
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minitorch
import mt_autodiff
import mt_cuda
import mt_fast
import mt_nn
import mt_operators
import mt_tensor
from minitorch import MathTest, MathTestVariable
from mt_autodiff import Scalar
from mt_operators.testing import assert_close, floats_in
from mt_tensor.testing import assert_tensors_close

COURSE_MODULES = {
    "operators": ["mt_operators.operators"],
    "module": ["mt_operators.module"],
    "datasets": ["mt_operators.datasets"],
    "autodiff": ["mt_autodiff.autodiff"],
    "scalar": ["mt_autodiff.scalar"],
    "scalar_functions": ["mt_autodiff.scalar_functions"],
    "tensor": ["mt_tensor.tensor"],
    "tensor_data": ["mt_tensor.tensor_data"],
    "tensor_functions": ["mt_tensor.tensor_functions", "mt_tensor.constructors"],
    "tensor_ops": ["mt_tensor.tensor_ops"],
    "fast_ops": ["mt_fast.fast_ops"],
    "fast_conv": ["mt_nn.conv"],
    "cuda_ops": ["mt_cuda.cuda_ops"],
    "nn": ["mt_nn.nn"],
    "optim": ["mt_nn.optim"],
}
"""Each course module and the stage modules whose ``__all__`` it re-exports."""


@pytest.mark.parametrize("name", sorted(COURSE_MODULES))
def test_course_modules_reexport_their_stage(name: str) -> None:
    facade = importlib.import_module(f"minitorch.{name}")
    assert isinstance(facade, ModuleType) and facade.__name__ == f"minitorch.{name}"
    for stage_name in COURSE_MODULES[name]:
        stage = importlib.import_module(stage_name)
        assert stage.__all__, f"{stage_name} declares its names"
        for public in stage.__all__:
            assert getattr(facade, public) is getattr(stage, public), f"minitorch.{name}.{public}"


def test_course_imports_and_the_names_they_leave() -> None:
    import minitorch.operators as operators
    from minitorch.operators import add, prod
    from minitorch.tensor import Tensor
    from minitorch.tensor_data import TensorData, shape_broadcast

    assert operators is minitorch.operators and add is mt_operators.operators.add
    assert Tensor is mt_tensor.Tensor and TensorData is mt_tensor.TensorData
    assert shape_broadcast((2, 1), (3,)) == (2, 3)
    assert minitorch.tensor is mt_tensor.tensor, "the constructor, not the module"
    assert minitorch.tensor([1.0, 2.0]).shape == (2,)
    assert isinstance(minitorch.datasets, dict) and minitorch.datasets["Xor"](10).N == 10
    assert minitorch.prod is prod and prod([2.0, 3.0, 4.0]) == math.prod([2.0, 3.0, 4.0])


def test_course_names_on_the_facade() -> None:
    assert minitorch.SimpleOps is mt_tensor.SimpleOps
    assert minitorch.SimpleBackend is mt_tensor.SimpleBackend
    assert minitorch.FastOps is mt_fast.FastOps
    assert minitorch.FastTensorBackend is mt_fast.FastTensorBackend
    assert minitorch.CudaOps is mt_cuda.CudaOps
    assert minitorch.Conv1dFun is mt_nn.Conv1dFun and minitorch.Conv2dFun is mt_nn.Conv2dFun
    assert minitorch.ReLU is mt_autodiff.ReLU, "the course's meaning: the Scalar function"
    assert minitorch.History is mt_tensor.History


STAGES = [mt_operators, mt_autodiff, mt_tensor, mt_fast, mt_cuda, mt_nn]


@pytest.mark.parametrize("stage", STAGES, ids=lambda m: m.__name__)
def test_every_stage_name_is_reachable(stage: ModuleType) -> None:
    for name in stage.__all__:
        assert hasattr(minitorch, name), f"minitorch.{name} (from {stage.__name__})"


@pytest.mark.parametrize("ops", [minitorch.SimpleOps, minitorch.FastOps, minitorch.CudaOps])
def test_tensor_backend_takes_the_ops_class(ops: type[minitorch.TensorOps]) -> None:
    backend = minitorch.TensorBackend(ops)
    assert backend.name == ops.name and isinstance(backend.ops, ops)
    if ops.device == "cuda":
        return  # its kernels are exercised by mt-cuda's tests (simulator); here only the form
    a = minitorch.tensor([[1.0, -2.0], [3.0, 4.0]], backend=backend)
    assert_tensors_close((a * a).relu() @ a, (a.to("simple") * a.to("simple")) @ a.to("simple"))


@given(st.data())
def test_math_test_tables_agree_on_floats_and_scalars(data: st.DataObject) -> None:
    one, two, red = MathTestVariable._comp_testing()
    for name, float_fn, scalar_fn in one:
        x = data.draw(floats_in(-5.0, 5.0), label=name)
        assert_close(scalar_fn(Scalar(x)).data, float_fn(x))
    for name, float_fn, scalar_fn in two:
        x, y = data.draw(st.tuples(floats_in(-5.0, 5.0), floats_in(-5.0, 5.0)), label=name)
        assert_close(scalar_fn(Scalar(x), Scalar(y)).data, float_fn(x, y))
    for name, float_fn, tensor_fn in red:
        xs = data.draw(st.lists(floats_in(-5.0, 5.0), min_size=1, max_size=6), label=name)
        assert_close(tensor_fn(minitorch.tensor(xs)).item(), float_fn(xs))


def test_math_test_tables_have_the_course_names() -> None:
    one, two, red = MathTest._tests()
    names = {n for table in (one, two, red) for n, _ in table}
    assert {"neg", "addConstant", "square", "cube", "sig", "explog", "complex"} <= names
    assert {n for n, _ in two} == {"add2", "mul2", "div2", "gt2", "lt2", "eq2"}
    assert {n for n, _ in red} == {"sum_red", "mean_red", "mean_full_red"}
    for table, variable in zip((one, two, red), MathTestVariable._tests(), strict=True):
        assert [n for n, _ in table] == [n for n, _ in variable]
    assert MathTest.neg.__name__ == "neg"


def test_conv1d_fun_is_the_course_convolution() -> None:
    x = minitorch.tensor([[[0.0, 1.0, 2.0, 3.0]], [[1.0, -1.0, 0.5, 2.0]]])
    w = minitorch.tensor([[[1.0, 2.0, 3.0]], [[0.5, 0.0, -1.0]]])
    assert_tensors_close(minitorch.Conv1dFun.apply(x, w), minitorch.conv1d(x, w))
    minitorch.grad_check(minitorch.Conv1dFun.apply, x, w)


def test_numba_cuda_is_an_attribute_after_import_minitorch() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    code = "import numba, minitorch; print(numba.cuda.is_available())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "True", "the simulator answers True"


def test_import_minitorch_and_the_train_command_leave_numba_cuda_unloaded() -> None:
    """numba's CUDA target costs 0.3-0.5 s of import that a CPU run never uses."""
    code = (
        "import sys, minitorch; from minitorch.cli import build_parser; build_parser()"
        ".parse_args(['train', '--dataset', 'xor']); print('numba.cuda' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_the_torch_face_keeps_pytorchs_requires_grad() -> None:
    """Course: ``requires_grad_()`` on a non-leaf makes a fresh leaf; PyTorch: a no-op."""
    import minitorch.torch as torch

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    assert y.requires_grad_() is y and not y.is_leaf
    y.sum().backward()
    assert x.grad is not None
    assert_tensors_close(x.grad.numpy(), [3.0, 3.0], "the gradient reached the leaf")

    course_x = minitorch.tensor([1.0, 2.0]).requires_grad_()
    course_y = (course_x * 3.0).requires_grad_()
    assert course_y.is_leaf()


@pytest.mark.parametrize(
    "stage_name", sorted({s for mods in COURSE_MODULES.values() for s in mods})
)
def test_stage_modules_list_every_public_function_and_class(stage_name: str) -> None:
    """A stage function or class missing from its module's ``__all__`` would be missing from the
    course module that re-exports it."""
    stage = importlib.import_module(stage_name)
    defined = {
        name
        for name, obj in vars(stage).items()
        if not name.startswith("_")
        and (inspect.isfunction(obj) or inspect.isclass(obj))
        and obj.__module__ == stage_name
    }
    missing = sorted(defined - set(stage.__all__))
    assert not missing, f"{stage_name}.__all__ lacks {missing}"
