"""Train a model, save its state_dict with torch.save, load it into a new model, check it.

Plain PyTorch. Run it with PyTorch or, unchanged, with `python -m minitorch.torch save_load.py`.
"""

import tempfile
from pathlib import Path

import torch
from torch import nn


def xor_data(n: int, generator_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(generator_seed)
    x = torch.rand(n, 2) * 2 - 1
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).long()
    return x, y


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(dim=1) == y).float().mean().item()


def main() -> None:
    x, y = xor_data(300, 0)
    x_test, y_test = xor_data(200, 1)
    torch.manual_seed(2)
    model = make_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    trained = accuracy(model, x_test, y_test)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        torch.save(model.state_dict(), path)
        restored = make_model()
        restored.load_state_dict(torch.load(path))
    loaded = accuracy(restored, x_test, y_test)
    same = all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), restored.state_dict().values(), strict=True)
    )
    print(f"trained accuracy {trained:.4f}, loaded accuracy {loaded:.4f}, same weights {same}")
    assert same and loaded == trained
    print(f"accuracy {loaded:.4f}")


if __name__ == "__main__":
    main()
