"""Generalised NumPy ufuncs over raw parameters, one set per component family.

``normal_mixture_log_prob(x, logits, loc, scale)`` (layout ``(),(k),(k),(k)->()``)
and its kin are real :class:`numpy.ufunc` objects: they broadcast like any
ufunc, take ``out=``, ``axes=``, ``where`` is not supported (gufuncs), and float32
in gives float32 out (other inputs are cast to float64).  ``dask.array`` and
``xarray.apply_ufunc(..., dask="parallelized")`` dispatch them as they are.

Each gufunc is compiled on first access (``import mixstat.gufuncs`` compiles
nothing), with a float32 and a float64 loop, and cached on disk beside the
kernels (``MIXSTAT_CACHE_DIR``), so a second process loads it in milliseconds.
The bodies evaluate the family's own scalar hooks (the exact ones of
:mod:`mixstat.kernels`), so values agree with the distribution objects.

Invalid parameters (those the distribution objects reject: a scale that is not
positive and finite, NaN or ``+inf`` logits, a row of logits without a finite
entry, ...) give NaN, never an error or a warning.  ``-inf`` logits are zero
weights and contribute nothing.

See ``docs/api/gufuncs.md`` for the list (:func:`available`) and the layouts.
"""

from __future__ import annotations

import threading

__all__ = []  # filled below, without importing numba

_lock = threading.RLock()
_built: dict = {}
_names = None


def _catalogue():
    from . import _gufunc_build

    return _gufunc_build.catalogue()


def _list():
    global _names
    if _names is None:
        _names = tuple(_catalogue())
    return _names


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    uf = _built.get(name)
    if uf is not None:
        return uf
    with _lock:
        uf = _built.get(name)
        if uf is None:
            from . import _gufunc_build

            cat = _gufunc_build.catalogue()
            entry = cat.get(name)
            if entry is None:
                raise AttributeError(f"module 'mixstat.gufuncs' has no attribute {name!r}")
            _, uf = _gufunc_build.build(entry)
            try:
                uf.__doc__ = entry.doc
            except (AttributeError, TypeError):
                pass
            _built[name] = uf
    return uf


def __dir__():
    return sorted(set(globals()) | set(_list()))


def available() -> tuple[str, ...]:
    """The names of every gufunc (imports numba; compiles nothing)."""
    return _list()


def compiled() -> tuple[str, ...]:
    """The names of the gufuncs built so far in this process."""
    return tuple(_built)
