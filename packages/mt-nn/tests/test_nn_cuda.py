"""The cuda backend gives the CPU's values and gradients for every mt-nn function.

Runs in a subprocess with ``NUMBA_ENABLE_CUDASIM=1`` (numba reads it at import), at tiny sizes,
so CI covers cuda without a GPU. Skipped until a ``cuda`` backend is installed; an expected
failure (naming it) while the backend's own matmul is wrong, since every conv on cuda uses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from mt_tensor import installed_backends

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import mt_nn
    from mt_tensor import tensor
    from mt_tensor.testing import assert_tensors_close

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    product = (tensor(a, backend="cuda") @ tensor(b, backend="cuda")).to_numpy()
    if not np.allclose(product, a @ b):
        print("mt-cuda's own matrix_multiply disagrees with numpy on (3, 4) @ (4, 2)")
        raise SystemExit(3)
    x4 = rng.normal(size=(2, 2, 4, 4))
    w4 = rng.normal(size=(3, 2, 2, 3))
    x3 = rng.normal(size=(2, 2, 5))
    w3 = rng.normal(size=(3, 2, 2))
    logits = rng.normal(size=(3, 4)) * 3
    labels = np.array([0.0, 3.0, 1.0])
    CASES = {
        "conv2d": (lambda a, b: mt_nn.conv2d(a, b), [x4, w4]),
        "conv2d strided": (lambda a, b: mt_nn.conv2d(a, b, stride=2, padding=1), [x4, w4]),
        "conv1d": (lambda a, b: mt_nn.conv1d(a, b), [x3, w3]),
        "maxpool2d": (lambda a: mt_nn.maxpool2d(a, (2, 2)), [x4]),
        "avgpool2d": (lambda a: mt_nn.avgpool2d(a, (2, 1)), [x4]),
        "softmax": (lambda a: mt_nn.softmax(a, 1), [logits]),
        "logsoftmax": (lambda a: mt_nn.logsoftmax(a, 0), [logits]),
        "max": (lambda a: mt_nn.max(a, 1), [logits]),
        "cross_entropy": (lambda a: mt_nn.cross_entropy(a, tensor(labels, backend=a.backend)),
                          [logits]),
        "bce_with_logits": (lambda a: mt_nn.binary_cross_entropy_with_logits(
            a, tensor(np.ones(a.shape) * 0.5, backend=a.backend)), [logits]),
    }
    for name, (fn, arrays) in CASES.items():
        results = []
        for backend in ("cuda", "numpy"):
            ins = [tensor(a, backend=backend, requires_grad=True) for a in arrays]
            out = fn(*ins)
            (out * out).sum().backward()
            results.append([out.to_numpy()] + [t.grad.to_numpy() for t in ins])
        for i, (got, want) in enumerate(zip(*results)):
            assert_tensors_close(got, want, f"{name} {'forward' if i == 0 else f'grad {i}'}")
    print("cuda ok:", ", ".join(CASES))
    """
)


@pytest.mark.skipif("cuda" not in installed_backends(), reason="no cuda backend installed")
def test_cuda_matches_cpu_in_the_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode == 3:
        pytest.xfail(done.stdout.strip())
    assert done.returncode == 0, done.stdout + done.stderr
