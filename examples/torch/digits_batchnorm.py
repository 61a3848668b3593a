"""A normalised CNN on the 8x8 handwritten digits: BatchNorm2d, SiLU, global average pooling,
LayerNorm, RMSprop and gradient clipping.

Plain PyTorch, as a modern small CNN is written. Run it with PyTorch or, unchanged, with
`python -m minitorch.torch digits_batchnorm.py`.
"""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's idiom)
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.silu(self.bn1(self.conv1(x))), 2)
        x = F.silu(self.bn2(self.conv2(x)))
        return self.head(self.norm(self.pool(x).flatten(1)))


def main() -> None:
    torch.manual_seed(0)
    bunch = load_digits()
    images = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(bunch.target)
    test = torch.tensor(np.arange(len(labels)) % 5 == 0)
    loader = DataLoader(TensorDataset(images[~test], labels[~test]), batch_size=64, shuffle=True)
    model = Net()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.003)
    for epoch in range(10):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(images[test]).argmax(dim=1) == labels[test]).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.4f}")
    print(f"accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
