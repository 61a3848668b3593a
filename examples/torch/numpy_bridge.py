"""Tensors and numpy arrays share memory both ways; out= arguments and the legacy constructors.

Plain PyTorch, deterministic, so every printed number is compared with PyTorch's. Run it with
PyTorch or, unchanged, with `python -m minitorch.torch numpy_bridge.py`.
"""

import numpy as np
import torch


def main() -> None:
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    print("numpy view after add_", n.tolist())
    n[0] = 7
    print("tensor after writing the array", t.tolist())

    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    print("from_numpy after np.add", b.sum().item(), b.dtype)
    b.mul_(2)
    print("array after mul_", a.ravel().tolist())

    out = torch.empty(2, 3, dtype=torch.float64)
    torch.add(b, torch.ones(2, 3, dtype=torch.float64), alpha=0.5, out=out)
    print("add out", out.tolist())
    torch.mul(b, b, out=out)
    print("mul out", out.sum().item())
    torch.div(b, 4, rounding_mode="floor", out=out)
    print("div floor out", out.tolist())
    print("sub alpha", torch.sub(b, out, alpha=2).tolist())

    f = torch.FloatTensor([[1, 2], [3, 4]])
    g = torch.LongTensor([1, 0])
    print(
        "legacy",
        f.dtype,
        g.dtype,
        torch.Tensor([0.5, 1.5]).sum().item(),
        tuple(torch.DoubleTensor(2, 3).shape),
    )
    print("index", f[g].tolist(), f.type(torch.LongTensor).dtype)


if __name__ == "__main__":
    main()
