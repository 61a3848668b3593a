"""A float ``exp`` that LLVM can vectorise, for the ``exp`` map kernels.

numba compiles ``math.exp`` to a call into the C library, one element at a time; numpy calls a
SIMD exp (and numba would too with Intel's SVML, which the PyPI build of llvmlite does not
support: see the README). This one is plain arithmetic, so the loop around it runs 8 elements
per instruction: ``e^x = 2^k * e^r`` with ``k = round(x / ln 2)`` and ``|r| <= ln(2) / 2``,
``e^r`` from its Taylor series to degree 13 (error below one unit in the last place) and ``2^k``
read from a table. It agrees with `mt_operators.operators.exp` within 1 ulp, and exactly at the
edges: ``inf`` above `EXP_MAX`, ``nan`` for ``nan``, subnormals and 0 below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numba
import numpy as np

from mt_operators.operators import EXP_MAX

LOG2_E = 1.4426950408889634
LN2_HI = 0.6931471803691238
"""The leading bits of ln 2, so ``k * LN2_HI`` is exact for every ``k`` used here."""
LN2_LO = 1.9082149292705877e-10
"""ln 2 - `LN2_HI`."""
OFFSET = 1080
with np.errstate(over="ignore"):
    POW2 = np.ldexp(1.0, np.arange(-OFFSET, 1031))
"""``POW2[k + OFFSET] = 2^k`` for ``-1080 <= k <= 1030`` (0 below 2^-1074, inf above 2^1023)."""
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(13, -1, -1))
"""``1/13!, 1/12!, ..., 1/0!``: the coefficients of e^r, highest first (for Horner's rule)."""


def _vectorisable(fn: Callable[[float], float]) -> Callable[[float], float]:
    """Compile a scalar function, letting LLVM fuse its multiply-adds (FMA)."""
    return cast(Callable[[float], float], numba.njit(fastmath={"contract"}, cache=True)(fn))


@_vectorisable
def exp(x: float) -> float:
    """$e^x$ as `mt_operators.operators.exp`, in arithmetic a vector loop can run."""
    t = x if -746.0 < x < EXP_MAX else (EXP_MAX if x >= EXP_MAX else -746.0)  # nan: any t
    k = math.floor(t * LOG2_E + 0.5)
    r = (t - k * LN2_HI) - k * LN2_LO
    p = 0.0
    for c in TAYLOR:
        p = p * r + c
    # 2p * 2^(k-1) rather than p * 2^k: at x = EXP_MAX, k = 1024 and 2^k alone would overflow.
    y = (2.0 * p) * POW2[k - 1 + OFFSET]
    return math.inf if x > EXP_MAX else (y if x == x else x)
