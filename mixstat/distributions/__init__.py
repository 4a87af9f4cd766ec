"""mixstat distributions: the façade.

Classes hold parameters as NumPy arrays, compute ``batch_shape`` /
``event_shape``, validate every input, and hand packed parameter tables to the
numba kernels (see :mod:`mixstat.plan`).  Every module of this package that
defines ``__all__`` is exported here (a new family's façade file needs no
edit of this one).
"""

import importlib as _importlib
import pkgutil as _pkgutil
from typing import TYPE_CHECKING

from . import constraints
from .distribution import Distribution, KernelDistribution
from ._serial import from_dict

__all__ = ["Distribution", "KernelDistribution", "constraints", "from_dict"]

if TYPE_CHECKING:  # the names the loop below exports, spelled out for type checkers (py.typed)
    from .bernoulli import Bernoulli as Bernoulli
    from .beta import Beta as Beta
    from .binomial import Binomial as Binomial
    from .categorical import Categorical as Categorical
    from .cauchy import Cauchy as Cauchy
    from .dirichlet import Dirichlet as Dirichlet
    from .exponential import Exponential as Exponential
    from .gamma import Gamma as Gamma
    from .geometric import Geometric as Geometric
    from .gumbel import Gumbel as Gumbel
    from .halfnormal import HalfNormal as HalfNormal
    from .independent import Independent as Independent
    from .kl import kl_divergence as kl_divergence, register_kl as register_kl
    from .laplace import Laplace as Laplace
    from .lognormal import LogNormal as LogNormal
    from .lowrank_multivariate_normal import LowRankMultivariateNormal as LowRankMultivariateNormal
    from .mixture_same_family import MixtureSameFamily as MixtureSameFamily
    from .multivariate_normal import MultivariateNormal as MultivariateNormal
    from .negative_binomial import NegativeBinomial as NegativeBinomial
    from .normal import Normal as Normal
    from .poisson import Poisson as Poisson
    from .studentt import StudentT as StudentT
    from .uniform import Uniform as Uniform
    from .vonmises import VonMises as VonMises
    from .weibull import Weibull as Weibull

for _m in sorted(m.name for m in _pkgutil.iter_modules(__path__)):
    if _m in ("constraints", "distribution") or _m.startswith("_"):
        continue
    _mod = _importlib.import_module(f"{__name__}.{_m}")
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)  # noqa: PYI056 - the names are found at import time
del _m, _mod, _name
