"""``torch.cuda``: whether the cuda backend runs on a real GPU here."""

from __future__ import annotations

import os

from mt_tensor import get_backend, installed_backends


def is_available() -> bool:
    """True with an NVIDIA GPU and driver (numba's simulator does not count: it is a teaching
    tool, far too slow to train on)."""
    if "cuda" not in installed_backends() or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    try:
        get_backend("cuda")
    except RuntimeError:
        return False
    return True


def device_count() -> int:
    return 1 if is_available() else 0


def manual_seed(seed: int) -> None:
    """Seeds the one generator (as ``torch.manual_seed``)."""
    from .creation import manual_seed as seed_all

    seed_all(seed)


manual_seed_all = manual_seed
