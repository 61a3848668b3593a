"""Stage 2's tensor functions and constructors (the course's ``minitorch.tensor_functions``)."""

from mt_tensor.constructors import *
from mt_tensor.tensor_functions import *
