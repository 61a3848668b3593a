"""An MLP learns two interleaved spirals: TensorDataset, DataLoader, Adam, CrossEntropyLoss.

Plain PyTorch. Run it with PyTorch (`python mlp_classifier.py`) or, unchanged, with MiniTorch
(`python -m minitorch.torch mlp_classifier.py`).
"""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's idiom)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def spirals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.25, 1.0, n) * 3 * np.pi
    label = rng.integers(0, 2, n)
    angle = t + np.pi * label
    points = np.stack([t * np.cos(angle), t * np.sin(angle)], 1) / (3 * np.pi)
    return points + rng.normal(0, 0.02, points.shape), label


class MLP(nn.Module):
    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.out = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.layers(x))


def main() -> None:
    torch.manual_seed(0)
    x_train, y_train = spirals(400, seed=1)
    x_test, y_test = spirals(200, seed=2)
    train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
    loader = DataLoader(train, batch_size=32, shuffle=True)
    model = MLP()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(60):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        if epoch % 20 == 19:
            print(f"epoch {epoch + 1}: loss {total / len(train):.4f}")
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(x_test, dtype=torch.float32))
        predicted = logits.argmax(dim=1)
        accuracy = (predicted == torch.tensor(y_test)).float().mean().item()
        probabilities = F.softmax(logits, dim=1)
    print(f"mean confidence {probabilities.max(dim=1).values.mean().item():.3f}")
    print(f"accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
