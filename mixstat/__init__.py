"""mixstat: Numba-accelerated finite mixtures and the distributions they are built from.

``import mixstat`` imports NumPy only; numba is imported and kernels are
compiled (or loaded from the on-disk cache) on first use.
"""

from ._array import tensor
from ._rng import initial_seed, manual_seed
from . import distributions
from .information import Estimate, estimate_entropy, estimate_kl
from .fitting import fit_mixture, select_n_components
from .io import load, save
from .distributions._grad import score
from ._buffers import set_buffer_cache

__version__ = "0.1.0"

__all__ = [
    "tensor",
    "manual_seed",
    "initial_seed",
    "distributions",
    "Estimate",
    "estimate_entropy",
    "estimate_kl",
    "fit_mixture",
    "select_n_components",
    "__version__",
]
__all__ += ["save", "load"]
__all__ += ["score"]
__all__ += ["set_buffer_cache"]
