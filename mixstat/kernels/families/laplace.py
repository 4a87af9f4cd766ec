"""Laplace family: density ``exp(-|x - loc| / scale) / (2 scale)`` on the real line.

Row of one coordinate (``P = 4``; named offsets below):
``LOC | INV = 1/scale | CONST = -log(2 scale) | SCALE``.

The log-density ``CONST - |x - loc| INV`` is branch-free (``abs`` is a SIMD
instruction).  The cdf is ``exp(z) / 2`` for ``z = (x - loc)/scale < 0`` and
``1/2 - expm1(-z) / 2`` above, accurate to a relative ``~|z| eps`` in both
tails (the lower tail down to underflow, ``z ~ -745``).

A subnormal scale (whose reciprocal overflows) stores ``INV = NaN`` as in
:mod:`.normal`; the exact functions then divide by the scale.
"""
import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import exp_neg
from ..samplers import std_laplace

LOC, INV, CONST, SCALE = 0, 1, 2, 3
P = 4
NPRE = 0

_LOG2 = math.log(2.0)


def pack(loc, scale, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``scale`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / scale
        tab[..., LOC] = loc
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = -np.log(scale) - _LOG2
        tab[..., SCALE] = scale
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form: NaN when the scale is subnormal (the loop redoes the point)."""
    return tab[b, k, o + CONST] - abs(v - tab[b, k, o + LOC]) * tab[b, k, o + INV]


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    inv = tab[b, k, o + INV]
    if inv != inv:  # subnormal scale: divide instead
        return (np.float64(tab[b, k, o + CONST])
                - abs(np.float64(v) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]))
    return np.float64(tab[b, k, o + CONST] - abs(v - tab[b, k, o + LOC]) * inv)


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode ``x = loc``."""
    return tab[b, k, o + CONST]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``exp(z)/2`` for ``z < 0``, ``1/2 - expm1(-z)/2`` for ``z >= 0``, ``z = (x - loc)/scale``."""
    x = np.float64(v)
    z = (x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE])
    if z < 0:
        if z < -745.0:  # exp underflows to 0 (and math.exp never sees -inf issues)
            return 0.0
        return 0.5 * math.exp(z)
    if z >= 0:
        return 0.5 - 0.5 * math.expm1(-z)
    return z  # NaN


@register_jitable
def cdf1_fast(v, tab, b, k, o):
    """SIMD form (polynomial exp, flushed to 0 below exp(-708.4)), selects only;
    NaN for a subnormal scale (the loop redoes it)."""
    x = np.float64(v)
    z = (x - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    e = 0.5 * exp_neg(-abs(z))
    r = e if z < 0 else 1.0 - e
    return r if z == z else z


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale l``, ``l`` standard Laplace (inversion) on counter word ``c``."""
    return tab[b, k, o + LOC] + tab[b, k, o + SCALE] * std_laplace(key0, key1, n, c)
