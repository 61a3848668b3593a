"""DataLoader with workers, samplers, batch samplers and a collate function; a linear model
trained on batches in a fixed order.

Plain PyTorch. The training order is sequential, so the printed numbers are compared with
PyTorch's. Run it with PyTorch or, unchanged, with
`python -m minitorch.torch dataloader_workers.py`.
"""

from typing import Any

import torch
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)


class Squares(Dataset[dict[str, Any]]):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"x": torch.tensor([float(i)]), "y": i * i}


def order(loader: DataLoader[Any]) -> list[Any]:
    return [b[0].tolist() for b in loader]


def main() -> None:
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    y = 3 * x - 0.5
    data = TensorDataset(x, y)

    torch.manual_seed(3)
    in_process = order(DataLoader(data, batch_size=8, shuffle=True))
    torch.manual_seed(3)
    workers = order(DataLoader(data, batch_size=8, shuffle=True, num_workers=2, pin_memory=True))
    print("workers give the same batches", in_process == workers)

    loader = DataLoader(data, batch_size=10, drop_last=True, num_workers=2)
    print("batches", len(loader), [len(b[0]) for b in loader])
    sampler = BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False)
    print("batch sampler", list(sampler))
    shuffled = sorted(i for i in RandomSampler(range(12)))
    print("random sampler covers", shuffled == list(range(12)))

    def collate(samples: list[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.cat([s["x"] for s in samples]), torch.tensor([s["y"] for s in samples])

    squares = DataLoader(
        Squares(),
        batch_sampler=BatchSampler(SequentialSampler(range(10)), 4, True),
        collate_fn=collate,
    )
    print("collate", [(a.tolist(), b.tolist()) for a, b in squares])
    default = next(iter(DataLoader(Squares(), batch_size=3)))
    print("default collate", default["x"].tolist(), default["y"].tolist())

    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(0.0)
        model.bias.fill_(0.0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train = DataLoader(data, batch_size=16, sampler=SequentialSampler(data), num_workers=2)
    for epoch in range(20):
        total = 0.0
        for xb, yb in train:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        if epoch % 5 == 4:
            print(f"epoch {epoch + 1} loss {total / len(train):.5f}")
    print(f"weight {model.weight.item():.4f} bias {model.bias.item():.4f}")


if __name__ == "__main__":
    main()
