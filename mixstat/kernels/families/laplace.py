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

from ..fastmath import exp_neg, log_pos
from ..philox import block_c
from ..quantile import xgrad_loc_scale
from ..samplers import _open, std_laplace

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
        return np.float64(tab[b, k, o + CONST]) - abs(np.float64(v) - np.float64(tab[b, k, o + LOC])) / np.float64(
            tab[b, k, o + SCALE]
        )
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
        if z < -746.0:  # exp(z) / 2 underflows to 0
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


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The same open uniform and inversion as :func:`..samplers.std_laplace`
    (``log(2U)`` below 1/2, ``-log(2(1 - U))`` above, both arguments exact),
    with the branches as selects and the polynomial ``log`` of
    :mod:`..fastmath` (within 1 ulp): values agree with :func:`draw1` to a few ulp.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            w0, w1, w2, w3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            u = _open(w0, w1)
            lo = u < 0.5
            a = 2.0 * u if lo else 2.0 * (1.0 - u)
            lg = log_pos(a)
            z0[i] = lg if lo else -lg
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            out[row0 + i, j] = tab[b, k, o + LOC] + tab[b, k, o + SCALE] * z0[i]


@register_jitable
def _log_lower(z):
    """``log F`` of the standard Laplace at ``z``: ``z - log 2`` below 0, else
    ``log1p(-exp(-z) / 2)``; NaN for NaN."""
    if z < 0:
        return z - _LOG2
    if z >= 0:
        return math.log1p(-0.5 * math.exp(-z))
    return z


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log F(x)``, ``z = (x - loc) / scale``: exact in both tails."""
    x = np.float64(v)
    return _log_lower((x - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]))


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - F(x)) = log F`` of the standard Laplace at ``-z`` (symmetry)."""
    x = np.float64(v)
    return _log_lower((np.float64(tab[b, k, o + LOC]) - x) / np.float64(tab[b, k, o + SCALE]))


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p <= 1/2``: ``loc -+ scale log(2 p)``."""
    s = np.float64(tab[b, k, o + SCALE])
    mu = np.float64(tab[b, k, o + LOC])
    t = s * math.log(2.0 * p)
    return mu - t if upper else mu + t


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("loc", "scale")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """The derivative of a draw ``x`` at a fixed cdf value ``u = F(x)`` with respect to
    parameter ``i`` (``loc``, ``scale``): ``-(dF/dtheta_i) / p(x)``, float64.  A location-scale
    family: ``x = loc + scale F0^-1(u)``, so 1 and ``(x - loc) / scale``."""
    return xgrad_loc_scale(v, tab[b, k, o + LOC], tab[b, k, o + SCALE], i)


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("loc", "scale")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv = -sign(v - loc) / scale = -d/dloc`` (0 at the cusp ``v = loc``: the
    mean of the one-sided derivatives), ``d/dscale = (|v - loc| / scale - 1) / scale``."""
    sc = np.float64(tab[b, k, o + SCALE])
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    sg = 1.0 if d > 0.0 else (-1.0 if d < 0.0 else 0.0)
    g[j] = -sg / sc
    g[j + 1] = sg / sc
    g[j + 2] = (abs(d) / sc - 1.0) / sc
    return logpdf1(v, p0, p1, tab, b, k, o)
