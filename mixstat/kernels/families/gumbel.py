"""Gumbel family (of the maximum; SciPy's ``gumbel_r``), ``z = (x - loc) / scale``:

    log p(x) = -(z + exp(-z)) - log(scale),   F(x) = exp(-exp(-z)).

Row of one coordinate (``P = 4``; named offsets below):
``LOC | SCALE | INV = 1/scale | CONST = -log(scale)``.

A scale whose reciprocal overflows the row's dtype (subnormal) stores
``INV = NaN``: the SIMD log-density gives NaN there and the loops redo the
point with the exact function, which divides.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import exp_neg
from ..samplers import std_gumbel

# named offsets of one coordinate's row
LOC, SCALE, INV, CONST = 0, 1, 2, 3
P = 4
NPRE = 0

_INF = math.inf
# exp(w) overflows float64 above log(max float) = 709.78...; the log-density is
# then below -1.7e308 and the cdf exp(-exp(w)) is 0
_W_MAX = 709.78


def pack(loc, scale, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``scale`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / scale
        tab[..., LOC] = loc
        tab[..., SCALE] = scale
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = -np.log(scale)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form (CPU only): ``exp(-z)`` from the polynomial ``exp_neg`` of ``-|z|``
    (its domain, ``<= 0``), reciprocated for ``z < 0``: one polynomial, one
    division, one select; ``exp(-z)`` within ~3 ulp.

    ``z < -708.4``: ``exp_neg`` flushes to 0, the reciprocal is inf and the term
    ``-inf`` (the exact value is below -1e307: such points, if no component
    has a larger term, are redone exactly).  ``z = -inf``, NaN in, or a
    subnormal scale: NaN, and the loop redoes the point with :func:`logpdf1`.
    """
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    a = exp_neg(-abs(z))
    e = a if z >= 0.0 else 1.0 / a
    return np.float64(tab[b, k, o + CONST]) - (z + e)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density in float64, ``CONST - (z + exp(-z))``; ``-inf`` where
    ``exp(-z)`` overflows (``z < -709.78``, ``x = -inf``)."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return -_INF
    return np.float64(tab[b, k, o + CONST]) - (z + math.exp(-z))


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``: ``CONST - 1``."""
    return tab[b, k, o + CONST] - 1


@register_jitable
def cdf1(v, tab, b, k, o):
    """``exp(-exp(-z))`` in float64 (0 where ``exp(-z)`` overflows)."""
    x = np.float64(v)
    if x != x:
        return x
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < -_W_MAX:
        return 0.0
    return math.exp(-math.exp(-z))


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale G``, G by :func:`..samplers.std_gumbel` (inversion, word ``c``)."""
    return tab[b, k, o + LOC] + std_gumbel(key0, key1, n, c) * tab[b, k, o + SCALE]
