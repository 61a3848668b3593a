"""A small CNN reads the 8x8 handwritten digits shipped with scikit-learn.

Plain PyTorch: Conv2d, MaxPool2d, Flatten, Linear, CrossEntropyLoss, SGD with momentum and a
StepLR schedule. Run it with PyTorch or, unchanged, with `python -m minitorch.torch digits_cnn.py`.
"""

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    bunch = load_digits()
    images = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(bunch.target)
    test = np.arange(len(labels)) % 5 == 0
    train_idx = torch.tensor(np.flatnonzero(~test))
    test_idx = torch.tensor(np.flatnonzero(test))
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def main() -> None:
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = digits()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    model = nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(6):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        schedule.step()
        model.eval()
        with torch.no_grad():
            correct = (model(x_test).argmax(1) == y_test).sum().item()
        print(f"epoch {epoch + 1}: test accuracy {correct / len(y_test):.4f}")
    print(f"accuracy {correct / len(y_test):.4f}")


if __name__ == "__main__":
    main()
