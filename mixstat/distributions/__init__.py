"""mixstat distributions: the façade.

Classes hold parameters as NumPy arrays, compute ``batch_shape`` /
``event_shape``, validate every input, and hand packed parameter tables to the
numba kernels (see :mod:`mixstat.plan`).  Every module of this package that
defines ``__all__`` is exported here (a new family's façade file needs no
edit of this one).
"""
import importlib as _importlib
import pkgutil as _pkgutil

from . import constraints
from .distribution import Distribution, KernelDistribution
from ._serial import from_dict

__all__ = ["Distribution", "KernelDistribution", "constraints", "from_dict"]

for _m in sorted(m.name for m in _pkgutil.iter_modules(__path__)):
    if _m in ("constraints", "distribution") or _m.startswith("_"):
        continue
    _mod = _importlib.import_module(f"{__name__}.{_m}")
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
del _m, _mod, _name
