"""Stage 0's toy 2-D datasets (the course's ``minitorch.datasets``)."""

from mt_operators.datasets import *
