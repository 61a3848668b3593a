"""A custom autograd.Function fits a cubic by gradient descent; autograd.grad and a retained
graph check its backward.

Plain PyTorch, deterministic (no random numbers), so every printed number is compared with
PyTorch's. Run it with PyTorch or, unchanged, with `python -m minitorch.torch autograd_function.py`.
"""

from typing import Any

import torch


class Cube(torch.autograd.Function):
    """x ** 3 with a hand-written backward: 3 x ** 2 times the incoming gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None]:
        (x,) = ctx.saved_tensors
        grad_x = grad_output * 3 * x * x * ctx.scale if ctx.needs_input_grad[0] else None
        return grad_x, None


def main() -> None:
    x = torch.linspace(-1, 1, 41)
    y = 0.5 * x**3 - 0.25 * x + 0.1
    a = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    c = torch.zeros((), requires_grad=True)
    u = torch.tensor(0.8, requires_grad=True)
    for step in range(301):
        pred = a * Cube.apply(u * x, 1.0) + b * x + c
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in (a, b, c, u):
                p -= 0.5 * p.grad
                p.grad = None
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.6f}")
    print(f"fit a {a.item():.4f} b {b.item():.4f} c {c.item():.4f} u {u.item():.4f}")

    t = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
    out = Cube.apply(t, 2.0).sum()
    print("grad_fn", out.grad_fn.name(), out.grad_fn.next_functions[0][0].name())
    (g,) = torch.autograd.grad(out, t, retain_graph=True)
    print("autograd.grad", " ".join(f"{v:.4f}" for v in g.tolist()))
    out.backward(retain_graph=True)
    out.backward()
    print("twice", " ".join(f"{v:.4f}" for v in t.grad.tolist()))
    try:
        out.backward()
    except RuntimeError as e:
        print("third backward refused:", "retain_graph=True" in str(e))


if __name__ == "__main__":
    main()
