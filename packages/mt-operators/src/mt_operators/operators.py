"""Scalar operators on Python floats, and the higher-order helpers built from them.

Domain rule (the same on every backend): values outside a function's domain follow IEEE-754
as numpy does, never an exception: ``log(0) = -inf``, ``log(x < 0) = nan``, ``inv(0) = ±inf``
(the sign of the zero), ``exp(x) = inf`` past overflow. ``relu`` has derivative 0 at 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "PRIMITIVES",
    "PRIMITIVES_BY_NAME",
    "Primitive",
    "abs",
    "abs_back",
    "add",
    "addLists",
    "ceil",
    "central_difference",
    "codes",
    "cos",
    "cos_back",
    "eq",
    "erf",
    "erf_back",
    "exp",
    "exp_back",
    "expm1",
    "expm1_back",
    "flat",
    "floor",
    "id",
    "inv",
    "inv_back",
    "is_close",
    "log",
    "log1p",
    "log1p_back",
    "log_back",
    "lt",
    "map",
    "max",
    "max_dx",
    "max_dy",
    "mul",
    "neg",
    "negList",
    "pow",
    "pow_dx",
    "pow_dy",
    "prod",
    "reduce",
    "relu",
    "relu_back",
    "round",
    "rsqrt",
    "rsqrt_back",
    "scaled",
    "sigmoid",
    "sigmoid_back",
    "sign",
    "sin",
    "sin_back",
    "sqrt",
    "sqrt_back",
    "square",
    "square_back",
    "sum",
    "tan",
    "tan_back",
    "tanh",
    "tanh_back",
    "trunc",
    "zipWith",
]

EXP_MAX = 709.782712893384
"""The largest float whose ``exp`` is finite."""


def mul(x: float, y: float) -> float:
    """$x \\cdot y$."""
    return x * y


def id(x: float) -> float:  # noqa: A001 (the course's name for identity)
    """The identity."""
    return x


def add(x: float, y: float) -> float:
    """$x + y$."""
    return x + y


def neg(x: float) -> float:
    """$-x$."""
    return -x


def lt(x: float, y: float) -> float:
    """1.0 if $x < y$ else 0.0."""
    return 1.0 if x < y else 0.0


def eq(x: float, y: float) -> float:
    """1.0 if $x = y$ else 0.0."""
    return 1.0 if x == y else 0.0


def max(x: float, y: float) -> float:  # noqa: A001 (the course's name)
    """The larger of $x$ and $y$; NaN if either is NaN (as numpy's ``maximum``)."""
    return x if x > y or x != x else y


def is_close(x: float, y: float) -> float:
    """1.0 if $|x - y| < 10^{-2}$ else 0.0 (the course's tolerance)."""
    return 1.0 if abs(x - y) < 1e-2 else 0.0


def exp(x: float) -> float:
    """$e^x$, ``inf`` past overflow instead of ``OverflowError`` (NaN stays NaN)."""
    return math.inf if x > EXP_MAX else math.exp(x)


def sigmoid(x: float) -> float:
    """$1 / (1 + e^{-x})$, computed on the side where the exponential cannot overflow.

    >>> sigmoid(0.0)
    0.5
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def relu(x: float) -> float:
    """$\\max(x, 0)$; NaN stays NaN."""
    return 0.0 if x <= 0.0 else x


def log(x: float) -> float:
    """Natural log; ``-inf`` at 0 and ``nan`` below it (the domain rule)."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


def inv(x: float) -> float:
    """$1 / x$; ``±inf`` at ±0 (the domain rule)."""
    if x == 0.0:
        return math.copysign(math.inf, x)
    return 1.0 / x


def scaled(d: float, g: float) -> float:
    """$d \\cdot g$ for a gradient $d$ and a derivative $g$, selected: 0 where $d = 0$, even
    where $g$ is infinite. A gradient that does not flow (a branch not taken, a mask's zeros)
    stays 0 through functions whose derivative is infinite somewhere (sqrt, log, inv at 0)."""
    return 0.0 if d == 0.0 else d * g


def log_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx}\\log x = d / x$, divided (not $d \\cdot (1/x)$, whose $1/x$
    overflows for tiny $x$): finite wherever $\\log$ and $d / x$ are."""
    if x == 0.0 or d == 0.0:
        return scaled(d, inv(x))
    return d / x


def inv_back(x: float, d: float) -> float:
    """$d \\cdot \\frac{d}{dx} x^{-1} = -d / x^2$."""
    return scaled(-d, inv(x * x))


def relu_back(x: float, d: float) -> float:
    """$d$ where $x > 0$, else 0."""
    return d if x > 0.0 else 0.0


def sigmoid_back(x: float, d: float) -> float:
    """$d \\cdot \\sigma(x)(1 - \\sigma(x))$."""
    s = sigmoid(x)
    return d * (s * (1.0 - s))


def exp_back(x: float, d: float) -> float:
    """$d \\cdot e^x$."""
    return d * exp(x)


# More primitives (PyTorch's names): each total on floats, NaN in, NaN out, never an exception.

INTEGRAL = 4503599627370496.0
"""$2^{52}$: every float of at least this size is an integer (and rounding leaves it alone)."""


def sin(x: float) -> float:
    """$\\sin x$; NaN at ±inf."""
    return math.sin(x) if math.isfinite(x) else math.nan


def sin_back(x: float, d: float) -> float:
    """$d \\cos x$."""
    return d * cos(x)


def cos(x: float) -> float:
    """$\\cos x$; NaN at ±inf."""
    return math.cos(x) if math.isfinite(x) else math.nan


def cos_back(x: float, d: float) -> float:
    """$-d \\sin x$."""
    return -d * sin(x)


def tan(x: float) -> float:
    """$\\tan x$; NaN at ±inf."""
    return math.tan(x) if math.isfinite(x) else math.nan


def tan_back(x: float, d: float) -> float:
    """$d / \\cos^2 x$."""
    c = cos(x)
    return scaled(d, inv(c * c))


def tanh(x: float) -> float:
    """$\\tanh x$ (±1 at ±inf)."""
    return math.tanh(x)


def tanh_back(x: float, d: float) -> float:
    """$d (1 - \\tanh^2 x)$."""
    t = math.tanh(x)
    return d * (1.0 - t * t)


def abs(x: float) -> float:  # noqa: A001 (PyTorch's name)
    """$|x|$."""
    return math.fabs(x)


def abs_back(x: float, d: float) -> float:
    """$d \\operatorname{sign} x$, selected: 0 at 0 whatever $d$ is (PyTorch's convention)."""
    if x > 0.0:
        return d
    if x < 0.0:
        return -d
    return x * 0.0  # 0, or NaN for NaN


def sign(x: float) -> float:
    """-1, 0 or 1 by the sign of $x$ (±0 and NaN stay as they are)."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x


def floor(x: float) -> float:
    """The largest integer $\\le x$ (±inf and NaN stay)."""
    return float(math.floor(x)) if math.fabs(x) < INTEGRAL else x


def ceil(x: float) -> float:
    """The smallest integer $\\ge x$ (±inf and NaN stay)."""
    return float(math.ceil(x)) if math.fabs(x) < INTEGRAL else x


def trunc(x: float) -> float:
    """$x$ rounded towards 0 (±inf and NaN stay)."""
    # float(x): numba's CUDA simulator hands in numpy float32 scalars, which lack __trunc__
    return float(math.trunc(float(x))) if math.fabs(x) < INTEGRAL else x


def round(x: float) -> float:  # noqa: A001 (PyTorch's name)
    """The nearest integer, ties to even (as numpy and PyTorch; ±inf and NaN stay)."""
    if not math.fabs(x) < INTEGRAL:
        return x
    r = float(math.floor(x))
    diff = x - r
    if diff > 0.5 or (diff == 0.5 and r % 2.0 != 0.0):
        r += 1.0
    return r


def sqrt(x: float) -> float:
    """$\\sqrt x$; NaN below 0."""
    return math.sqrt(x) if x >= 0.0 else math.nan


def sqrt_back(x: float, d: float) -> float:
    """$d / (2 \\sqrt x)$ (inf at 0, as PyTorch)."""
    return scaled(d, 0.5 * inv(sqrt(x)))


def rsqrt(x: float) -> float:
    """$1 / \\sqrt x$; ±inf at ±0, NaN below 0."""
    if x > 0.0:
        return 1.0 / math.sqrt(x)
    if x == 0.0:
        return math.copysign(math.inf, x)
    return math.nan


def rsqrt_back(x: float, d: float) -> float:
    """$-d / (2 x^{3/2})$."""
    r = rsqrt(x)
    return scaled(d, -0.5 * (r * r * r))


def square(x: float) -> float:
    """$x^2$."""
    return x * x


def square_back(x: float, d: float) -> float:
    """$2 d x$."""
    return 2.0 * d * x


def log1p(x: float) -> float:
    """$\\log(1 + x)$, accurate near 0; -inf at -1, NaN below (log's domain rule)."""
    if x > -1.0:
        return math.log1p(x)
    if x == -1.0:
        return -math.inf
    return math.nan


def log1p_back(x: float, d: float) -> float:
    """$d / (1 + x)$."""
    return log_back(1.0 + x, d)


def expm1(x: float) -> float:
    """$e^x - 1$, accurate near 0; inf past overflow."""
    return math.inf if x > EXP_MAX else math.expm1(x)


def expm1_back(x: float, d: float) -> float:
    """$d e^x$."""
    return d * exp(x)


def erf(x: float) -> float:
    """The error function $\\frac{2}{\\sqrt\\pi} \\int_0^x e^{-t^2} dt$."""
    return math.erf(x)


def erf_back(x: float, d: float) -> float:
    """$d \\frac{2}{\\sqrt\\pi} e^{-x^2}$."""
    return d * (1.1283791670955126 * math.exp(-x * x))


def _odd(y: float) -> bool:
    return y % 2.0 == 1.0


def pow(x: float, y: float) -> float:  # noqa: A001 (PyTorch's name)
    """$x^y$ as IEEE-754 (C's ``pow``, numpy, PyTorch): 1 when $y = 0$ or $x = 1$ (even with a
    NaN), a negative $x$ with an integral $y$ works, NaN with a non-integral one, $0^{-y} = inf$
    (-inf for $-0$ and odd $y$), ±inf past overflow."""
    if y == 0.0 or x == 1.0:
        return 1.0
    if x != x or y != y:
        return math.nan
    finite = math.isfinite(x) and math.isfinite(y)
    if finite and x < 0.0 and y % 1.0 != 0.0:
        return math.nan
    negative = x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0)
    sign = -1.0 if negative and math.isfinite(y) and _odd(y) else 1.0
    if x == 0.0 and y < 0.0:
        return sign * math.inf
    if finite and x != 0.0 and y * math.log2(math.fabs(x)) > 1024.0:
        return sign * math.inf
    return math.pow(x, y)


def pow_dx(x: float, y: float) -> float:
    """$\\partial x^y / \\partial x = y x^{y - 1}$, selected: 0 where $y = 0$."""
    return 0.0 if y == 0.0 else y * pow(x, y - 1.0)


def pow_dy(x: float, y: float) -> float:
    """$\\partial x^y / \\partial y = x^y \\log x$, selected: 0 where $x = 0$ and $y \\ge 0$
    (PyTorch's rule; NaN for a negative $x$, whose log is NaN)."""
    if x == 0.0 and y >= 0.0:
        return 0.0
    return pow(x, y) * log(x)


def max_dx(x: float, y: float) -> float:
    """$\\partial \\max(x, y) / \\partial x$: 1 where $x$ is the larger, 1/2 on a tie, 0 where
    $y$ is (PyTorch's rule, a NaN counting as the larger)."""
    return 0.0 if x < y else (0.5 if x == y else 1.0)


def max_dy(x: float, y: float) -> float:
    """$\\partial \\max(x, y) / \\partial y$, `max_dx` with the roles swapped."""
    return 0.0 if x > y else (0.5 if x == y else 1.0)


def flat(x: float, y: float) -> float:
    """The partial derivative of a comparison (``lt``, ``eq``, ``is_close``): 0 wherever it
    exists."""
    return 0.0


def central_difference(
    f: Callable[..., float], *vals: float, arg: int = 0, epsilon: float = 1e-6
) -> float:
    """$\\partial f / \\partial x_{arg}$ by the central difference $(f(x+h) - f(x-h)) / 2h$."""
    up = [v + epsilon if i == arg else v for i, v in enumerate(vals)]
    down = [v - epsilon if i == arg else v for i, v in enumerate(vals)]
    return (f(*up) - f(*down)) / (2.0 * epsilon)


# Higher-order helpers (the course's Task 0.3).


def map(fn: Callable[[float], float]) -> Callable[[Iterable[float]], list[float]]:  # noqa: A001
    """Lift ``fn`` to lists: ``map(neg)([1, 2]) == [-1, -2]``."""

    def apply(ls: Iterable[float]) -> list[float]:
        return [fn(x) for x in ls]

    return apply


def zipWith(  # noqa: N802 (the course's name)
    fn: Callable[[float, float], float],
) -> Callable[[Iterable[float], Iterable[float]], list[float]]:
    """Lift a binary ``fn`` to pairs of lists, element by element."""

    def apply(ls1: Iterable[float], ls2: Iterable[float]) -> list[float]:
        return [fn(x, y) for x, y in zip(ls1, ls2, strict=True)]

    return apply


def reduce(fn: Callable[[float, float], float], start: float) -> Callable[[Iterable[float]], float]:
    """Fold a list from the left: ``reduce(add, 0.0)([1, 2, 3]) == 6``."""

    def apply(ls: Iterable[float]) -> float:
        acc = start
        for x in ls:
            acc = fn(acc, x)
        return acc

    return apply


def negList(ls: Iterable[float]) -> list[float]:  # noqa: N802 (the course's name)
    """Negate every element."""
    return map(neg)(ls)


def addLists(ls1: Iterable[float], ls2: Iterable[float]) -> list[float]:  # noqa: N802
    """Add two lists element by element."""
    return zipWith(add)(ls1, ls2)


def sum(ls: Iterable[float]) -> float:  # noqa: A001 (the course's name)
    """Sum of a list (0.0 when empty)."""
    return reduce(add, 0.0)(ls)


def prod(ls: Iterable[float]) -> float:
    """Product of a list (1.0 when empty)."""
    return reduce(mul, 1.0)(ls)


# The table of primitives: every backend builds its kernels from it, every test table reads it.

INTEGERS = tuple(float(k) for k in range(-10, 11))
"""Where rounding functions jump inside the default test domain."""


@dataclass(frozen=True)
class Primitive:
    """One element-wise primitive, declared once for every backend and test.

    ``fn`` is the float function (one or two arguments). A unary primitive's derivative is
    ``back(x, d)`` $= d \\cdot f'(x)$, run by the backends as a zip; ``back=None`` means the
    gradient is 0 wherever it exists (piecewise-constant functions). A binary primitive's
    ``partials`` are $\\partial f / \\partial x$ and $\\partial f / \\partial y$ as functions of
    ``(x, y)`` (zips too), multiplied by the gradient; with ``selects`` they are weights in
    $[0, 1]$ that select it instead (a weight of 0 gives 0 whatever the gradient, inf or NaN
    included). ``start``, when given, is the identity that makes it a reduction.
    ``domain`` is where tests draw inputs, ``kinks`` the points they keep away from (of $x$ for a
    unary primitive, of $x - y$ for a binary one), ``ufunc``
    the name of numpy's function computing the same values where one exists, and ``costly``
    marks functions several times slower than a multiply (compiled backends go parallel sooner).
    """

    name: str
    fn: Callable[..., float]
    arity: int = 1
    back: Callable[[float, float], float] | None = None
    partials: tuple[Callable[[float, float], float], Callable[[float, float], float]] | None = None
    selects: bool = False
    start: float | None = None
    domain: tuple[float, float] = (-10.0, 10.0)
    kinks: tuple[float, ...] = ()
    ufunc: str | None = None
    costly: bool = False


PRIMITIVES: tuple[Primitive, ...] = (
    Primitive("id", id, ufunc="copy"),
    Primitive("neg", neg, back=lambda x, d: -d, ufunc="negative"),
    Primitive("inv", inv, back=inv_back, domain=(0.5, 10.0), ufunc="reciprocal"),
    Primitive("log", log, back=log_back, domain=(0.1, 100.0), ufunc="log", costly=True),
    Primitive("exp", exp, back=exp_back, domain=(-5.0, 5.0), ufunc="exp", costly=True),
    Primitive("sigmoid", sigmoid, back=sigmoid_back, costly=True),
    Primitive("relu", relu, back=relu_back, kinks=(0.0,)),
    Primitive("sin", sin, back=sin_back, ufunc="sin", costly=True),
    Primitive("cos", cos, back=cos_back, ufunc="cos", costly=True),
    Primitive("tan", tan, back=tan_back, domain=(-1.4, 1.4), ufunc="tan", costly=True),
    Primitive("tanh", tanh, back=tanh_back, domain=(-5.0, 5.0), ufunc="tanh", costly=True),
    Primitive("abs", abs, back=abs_back, kinks=(0.0,), ufunc="fabs"),
    Primitive("sign", sign, kinks=(0.0,), ufunc="sign"),
    Primitive("floor", floor, kinks=INTEGERS, ufunc="floor"),
    Primitive("ceil", ceil, kinks=INTEGERS, ufunc="ceil"),
    Primitive("trunc", trunc, kinks=INTEGERS, ufunc="trunc"),
    Primitive("round", round, kinks=tuple(k + 0.5 for k in INTEGERS), ufunc="rint"),
    Primitive("sqrt", sqrt, back=sqrt_back, domain=(0.1, 10.0), ufunc="sqrt"),
    Primitive("rsqrt", rsqrt, back=rsqrt_back, domain=(0.1, 10.0)),
    Primitive("square", square, back=square_back, ufunc="square"),
    Primitive("log1p", log1p, back=log1p_back, domain=(-0.9, 10.0), ufunc="log1p", costly=True),
    Primitive("expm1", expm1, back=expm1_back, domain=(-5.0, 5.0), ufunc="expm1", costly=True),
    Primitive("erf", erf, back=erf_back, domain=(-3.0, 3.0), costly=True),
    Primitive("add", add, 2, partials=(lambda x, y: 1.0, lambda x, y: 1.0), start=0.0, ufunc="add"),
    Primitive(
        "mul", mul, 2, partials=(lambda x, y: y, lambda x, y: x), start=1.0, ufunc="multiply"
    ),
    Primitive(
        "max",
        max,
        2,
        partials=(max_dx, max_dy),
        selects=True,
        start=-math.inf,
        kinks=(0.0,),
        ufunc="maximum",
    ),
    Primitive("lt", lt, 2, partials=(flat, flat), selects=True, kinks=(0.0,), ufunc="less"),
    Primitive("eq", eq, 2, partials=(flat, flat), selects=True, kinks=(0.0,), ufunc="equal"),
    Primitive("is_close", is_close, 2, partials=(flat, flat), selects=True, kinks=(-1e-2, 1e-2)),
    Primitive(
        "pow", pow, 2, partials=(pow_dx, pow_dy), domain=(0.5, 3.0), ufunc="power", costly=True
    ),
)
"""Every element-wise primitive; add one here (after its float function above) and every
backend, kernel and test table picks it up."""

PRIMITIVES_BY_NAME: dict[str, Primitive] = {p.name: p for p in PRIMITIVES}
UNARY: tuple[Primitive, ...] = tuple(p for p in PRIMITIVES if p.arity == 1)
BINARY: tuple[Primitive, ...] = tuple(p for p in PRIMITIVES if p.arity == 2)

MAP_FNS: tuple[Callable[[float], float], ...] = tuple(p.fn for p in UNARY)
"""The functions backends map, in code order (a kernel's op code is the index here)."""
ZIP_FNS: tuple[Callable[[float, float], float], ...] = (
    tuple(p.fn for p in BINARY)
    + tuple(p.back for p in UNARY if p.back is not None)
    + tuple(d for p in BINARY if p.partials is not None for d in p.partials)
)
"""The functions backends zip: the binary primitives, the unary ones' derivatives, then the
binary ones' partial derivatives."""
REDUCE_FNS: tuple[Callable[[float, float], float], ...] = tuple(
    p.fn for p in BINARY if p.start is not None
)
"""The functions backends reduce with (the binary primitives with an identity ``start``)."""


def codes(fns: tuple[Callable[..., float], ...]) -> dict[Callable[..., float], int]:
    """Each function's op code: its position in ``fns`` (found by identity)."""
    return {fn: code for code, fn in enumerate(fns)}
