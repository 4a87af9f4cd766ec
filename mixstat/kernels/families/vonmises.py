"""von Mises family (torch's ``VonMises(loc, concentration)``, scipy's ``vonmises``).

Density ``exp(kappa cos(x - loc)) / (2 pi I0(kappa))`` on the real line,
periodic (as in torch and scipy: no ``-inf`` outside ``[-pi, pi]``).  With
``cos(d) = 1 - 2 sin(d/2)**2`` and ``I0(kappa) = i0e(kappa) exp(kappa)``:

    log p(x) = CONST - 2 kappa sin((x - loc) / 2)**2,
    CONST = -log(2 pi) - log(i0e(kappa))

(scipy's ``kappa cosm1(x - loc) - log(2 pi) - log(i0e(kappa))``), which keeps
full relative accuracy at large kappa, where ``kappa cos(d) - log I0`` would
cancel.

Row of one coordinate (``P = 6``; named offsets below):
``LOC | LOCW = loc wrapped to [-pi, pi) | CONC | NEG2K = -2 kappa | CONST | HI``,
``HI`` the largest number of the row's dtype below pi (draws are clamped to it,
so that a float32 draw does not round up to pi).

No cdf (torch has none): the module defines no ``cdf1``.
"""
import math

import numpy as np
from numba.extending import register_jitable
from scipy import special

from ..fastmath import sincos_2pi
from ..samplers import von_mises

LOC, LOCW, CONC, NEG2K, CONST, HI = 0, 1, 2, 3, 4, 5
P = 6
NPRE = 0

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_INV_4PI = 1.0 / (4.0 * math.pi)
_LOG_2PI = math.log(2.0 * math.pi)
_NAN = math.nan
_INF = math.inf
# the SIMD form reduces (x - loc) / (4 pi), rounded once: angle error |d| 2**-54,
# log-density error kappa |d| 2**-54; beyond this |d| the exact form (math.sin)
_FAST_LIM = 16.0


def pack(loc, concentration, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``concentration`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    kappa = np.asarray(concentration, dtype=np.float64)
    loc, kappa = np.broadcast_arrays(loc, kappa)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.mod(loc + _PI, _TWO_PI) - _PI
        w = np.where(w >= _PI, w - _TWO_PI, w)
        tab[..., LOC] = loc
        tab[..., LOCW] = w
        tab[..., CONC] = kappa
        tab[..., NEG2K] = -2.0 * kappa
        tab[..., CONST] = -_LOG_2PI - np.log(special.i0e(kappa))
    dt = np.dtype(dtype).type
    tab[..., HI] = np.float64(np.nextafter(dt(np.pi), dt(0)))  # dt(pi) >= pi in float32 and float64
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form: ``sin(d/2)`` by ``fastmath.sincos_2pi(d / (4 pi))``; NaN (the loop
    redoes the point) for ``|d| >= 16``, infinite or NaN ``d``."""
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    cs, sn = sincos_2pi(d * _INV_4PI)
    r = np.float64(tab[b, k, o + CONST]) + np.float64(tab[b, k, o + NEG2K]) * (sn * sn)
    return r if abs(d) < _FAST_LIM else _NAN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """``CONST - 2 kappa sin(d/2)**2``, ``d = x - loc``; NaN at infinite ``x`` (as scipy, torch)."""
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    if not abs(d) < _INF:  # +-inf or NaN (math.sin(inf) raises in the CUDA simulator)
        return d - d
    s = math.sin(0.5 * d)
    return np.float64(tab[b, k, o + CONST]) + np.float64(tab[b, k, o + NEG2K]) * (s * s)


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``."""
    return tab[b, k, o + CONST]


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Best-Fisher (:func:`..samplers.von_mises`) on word ``c``, plus ``loc``, wrapped to [-pi, pi)."""
    y = von_mises(key0, key1, n, c, np.float64(tab[b, k, o + CONC])) + np.float64(tab[b, k, o + LOCW])
    if y >= _PI:
        y -= _TWO_PI
    elif y < -_PI:
        y += _TWO_PI
    hi = np.float64(tab[b, k, o + HI])
    return hi if y > hi else y
