"""Random sampling from the one seeded generator: reproducible under torch.manual_seed and
distributed as asked (the printed statistics are compared with PyTorch's within a tolerance;
the values themselves differ, as the libraries' generators do).

Run it with PyTorch or, unchanged, with `python -m minitorch.torch sampling.py`.
"""

import torch


def draws() -> list[torch.Tensor]:
    return [
        torch.normal(2.0, 3.0, size=(20000,)),
        torch.randint(0, 10, (20000,)).float(),
        torch.bernoulli(torch.full((20000,), 0.3)),
        torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 20000, replacement=True).float(),
        torch.randperm(1000).float(),
        torch.rand_like(torch.zeros(20000)),
        torch.randn_like(torch.zeros(20000)),
        torch.empty(20000).uniform_(-2, 4),
        torch.empty(20000).normal_(1.0, 0.5),
    ]


def main() -> None:
    torch.manual_seed(7)
    first = draws()
    torch.manual_seed(7)
    second = draws()
    print("reproducible", all(torch.equal(a, b) for a, b in zip(first, second, strict=True)))
    normal, ints, coins, picks, perm, uniform, gauss, wide, shifted = first
    print(f"normal mean {normal.mean().item():.2f} std {normal.std().item():.2f}")
    low, high = ints.min().item(), ints.max().item()
    print(f"randint mean {ints.mean().item():.2f} min {low:.0f} max {high:.0f}")
    print(f"bernoulli mean {coins.mean().item():.2f}")
    freq = [(picks == k).float().mean().item() for k in range(3)]
    print("multinomial frequencies", " ".join(f"{f:.2f}" for f in freq))
    print("randperm is a permutation", sorted(perm.long().tolist()) == list(range(1000)))
    print(f"rand_like mean {uniform.mean().item():.2f} randn_like std {gauss.std().item():.2f}")
    low, high = wide.min().item(), wide.max().item()
    print(f"uniform_ min {low:.1f} max {high:.1f} mean {wide.mean().item():.2f}")
    print(f"normal_ mean {shifted.mean().item():.2f} std {shifted.std().item():.2f}")
    print("no replacement distinct", len(set(torch.multinomial(torch.ones(50), 50).tolist())))


if __name__ == "__main__":
    main()
