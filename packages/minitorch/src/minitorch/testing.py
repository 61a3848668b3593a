"""The course's ``MathTest`` and ``MathTestVariable``, declared in stage 0 (needs hypothesis)."""

from mt_operators.mathtest import MathTest, MathTestVariable

__all__ = ["MathTest", "MathTestVariable"]
