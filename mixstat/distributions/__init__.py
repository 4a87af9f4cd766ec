"""mixstat distributions: the façade.

Classes hold parameters as NumPy arrays, compute ``batch_shape`` /
``event_shape``, validate every input, and hand packed parameter tables to the
numba kernels (see :mod:`mixstat.plan`).
"""
from . import constraints
from .categorical import Categorical
from .distribution import Distribution
from .independent import Independent
from .mixture_same_family import MixtureSameFamily
from .multivariate_normal import MultivariateNormal
from .normal import Normal

__all__ = [
    "Distribution",
    "Categorical",
    "Normal",
    "Independent",
    "MultivariateNormal",
    "MixtureSameFamily",
    "constraints",
]
