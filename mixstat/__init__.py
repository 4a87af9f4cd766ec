"""mixstat: Numba-accelerated finite mixtures and the distributions they are built from.

``import mixstat`` imports NumPy only; numba is imported and kernels are
compiled (or loaded from the on-disk cache) on first use.
"""
from ._array import tensor
from ._rng import initial_seed, manual_seed
from . import distributions

__version__ = "0.1.0"

__all__ = ["tensor", "manual_seed", "initial_seed", "distributions", "__version__"]
