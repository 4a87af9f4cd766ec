"""LogNormal family: ``log X ~ Normal(loc, scale)``, support ``x > 0``.

Row of one coordinate (``P = 5``; named offsets below):
``LOC | INV = sqrt(1/2)/scale | CONST = -log(scale) - log(2 pi)/2 | SCALE | BOUND``.

The point's logarithm is the per-point quantity (``NPRE = 1``, ``p0 = log x``,
computed once per point by :func:`pre1`).  With ``z = (log x - loc) INV`` the
log-density is ``CONST - z**2 - log x`` (a few FMAs per (point, component)),
and the cdf is ``erfc(-z) / 2``.  ``BOUND = CONST - loc + scale**2 / 2`` is the
log-density at the mode ``exp(loc - scale**2)`` (``+inf`` when it overflows:
the loop then takes its running-maximum path).

A scale whose reciprocal overflows the row's dtype (a subnormal scale) stores
``INV = NaN`` as in :mod:`.normal`: :func:`logpdf1_fast` then gives NaN and the
loop redoes the point with :func:`logpdf1`, which divides by the scale.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..erfc import erfc_any
from ..fastmath import log_pos, sincos_2pi
from ..philox import block_c, u53
from ..quantile import ndtri_approx
from ..samplers import std_normal
from ..special import log_half_erfc

LOC, INV, CONST, SCALE, BOUND = 0, 1, 2, 3, 4
P = 5
NPRE = 1  # p0 = log x

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
_TINY = 2.0**-1022  # below: subnormal, scaled by 2**54 before the polynomial log
_UP = 2.0**54
_LOG_UP = 54.0 * math.log(2.0)
_EXP_BIG = 709.0  # math.exp of more may overflow (and raises in the CUDA simulator)
_E = math.e


def pack(loc, scale, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``scale`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = _SQRT_HALF / scale
        const = -np.log(scale) - _HALF_LOG_2PI
        tab[..., LOC] = loc
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = const
        tab[..., SCALE] = scale
        # the mode's log-density, rounded up a little so that it stays a bound
        # after the rounding of the row to ``dtype``
        bound = const - loc + 0.5 * scale * scale
        tab[..., BOUND] = bound + 1e-6 * (1.0 + np.abs(bound))
    return tab.astype(dtype, copy=False)


@register_jitable
def pre1(v):
    """``(log v, log v)``: ``-inf`` for ``v <= 0`` (out of support), NaN for NaN.

    ``math.log`` (scalar), once per point: the CPU loop that fills a tile with
    it does not vectorise (it writes a transposed view), and a scalar
    polynomial log (:func:`..fastmath.log_pos`) measured slower than glibc's.
    """
    if v > 0:
        lv = math.log(v)
        return lv, lv
    if v != v:
        return v, v
    r = v * 0 - math.inf  # v <= 0: -inf (NaN for v = -inf; unused: logpdf1 tests v)
    return r, r


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form: NaN when the scale is subnormal (the loop redoes the point)."""
    z = (p0 - tab[b, k, o + LOC]) * tab[b, k, o + INV]
    r = tab[b, k, o + CONST] - z * z - p0
    return -math.inf if v <= 0 else r  # NaN stays NaN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    if not v > 0:
        if v != v:
            return np.float64(v)
        return -math.inf  # 0 and below
    inv = tab[b, k, o + INV]
    if inv != inv:  # subnormal scale: divide instead
        zz = (np.float64(p0) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF
        return np.float64(tab[b, k, o + CONST]) - zz * zz - np.float64(p0)
    z = (p0 - tab[b, k, o + LOC]) * inv
    return np.float64(tab[b, k, o + CONST] - z * z - p0)


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode (rounded up)."""
    return tab[b, k, o + BOUND]


@register_jitable
def _z(x, tab, b, k, o):
    # (log x - loc) / (scale sqrt 2) in float64; x > 0 finite
    return (math.log(x) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF


@register_jitable
def cdf1(v, tab, b, k, o):
    """``erfc(-(log x - loc) / (scale sqrt 2)) / 2``; 0 for ``x <= 0``, 1 at ``+inf``."""
    x = np.float64(v)
    if x > 0:
        if x == math.inf:
            return 1.0
        return 0.5 * math.erfc(-_z(x, tab, b, k, o))
    if x != x:
        return x
    return 0.0


@register_jitable
def cdf1_fast(v, tab, b, k, o):
    """SIMD form: polynomial ``log`` (subnormal ``x`` scaled first) and erfc, selects only.

    Relative error ~2 z**2 eps in the lower tail (the loop redoes small totals).
    """
    x = np.float64(v)
    small = x < _TINY
    xs = x * _UP if small else x
    xs = xs if xs > 0 else 1.0  # lanes not picked below: keep the log finite
    xs = xs if xs < math.inf else 1.0
    lx = log_pos(xs) - (_LOG_UP if small else 0.0)
    z = (lx - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    r = 0.5 * erfc_any(-z)
    r = r if x > 0 else 0.0
    r = 1.0 if x == math.inf else r
    return r if x == x else x


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``exp(loc + scale z)``, ``z`` standard normal (Box-Muller) on counter word ``c``."""
    y = np.float64(tab[b, k, o + LOC]) + np.float64(tab[b, k, o + SCALE]) * std_normal(key0, key1, n, c)
    if y > _EXP_BIG:  # exp(y - 1) e: overflows to inf in the multiply, never in math.exp
        return math.exp(y - 1.0) * _E
    return math.exp(y)


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The normals as in :func:`.normal.draw_tile` (the same stream and formula,
    polynomial ``log``/``sincos``), then ``exp(loc + scale z)`` per point with
    ``math.exp`` (exact ``exp``; the overflow branch of :func:`draw1`): values
    agree with :func:`draw1` to a few ulp relative times ``1 + |loc + scale z|``.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            c0, c1, c2, c3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            r = math.sqrt(-2.0 * log_pos(1.0 - u53(c0, c1)))
            cs, sn = sincos_2pi(u53(c2, c3))
            z0[i] = r * cs
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            z0[i] = np.float64(tab[b, k, o + LOC]) + np.float64(tab[b, k, o + SCALE]) * z0[i]
        for i in range(nl):
            y = z0[i]
            out[row0 + i, j] = math.exp(y - 1.0) * _E if y > _EXP_BIG else math.exp(y)


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log(erfc(-z) / 2)``, ``z = (log x - loc) / (scale sqrt 2)``, by
    :func:`..special.log_half_erfc` (finite in far tails); ``-inf`` for ``x <= 0``."""
    x = np.float64(v)
    if x > 0:
        if x == math.inf:
            return 0.0
        return log_half_erfc(-_z(x, tab, b, k, o))
    if x != x:
        return x
    return -math.inf


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(erfc(z) / 2)``; 0 for ``x <= 0``, ``-inf`` at ``+inf``."""
    x = np.float64(v)
    if x > 0:
        if x == math.inf:
            return -math.inf
        return log_half_erfc(_z(x, tab, b, k, o))
    if x != x:
        return x
    return 0.0


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at tail probability ``p`` (:func:`..quantile.ndtri_approx`)."""
    z = ndtri_approx(p)
    s = np.float64(tab[b, k, o + SCALE])
    mu = np.float64(tab[b, k, o + LOC])
    return math.exp(mu - s * z) if upper else math.exp(mu + s * z)


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("loc", "scale")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dtheta_i`` at fixed ``u = F(x)`` (``-(dF/dtheta_i) / p(x)``), float64:
    ``x = exp(loc + scale z)`` gives ``x`` (loc) and ``x (log x - loc) / scale`` (scale)."""
    x = np.float64(v)
    if i == 0:
        return x
    return x * ((math.log(x) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]))


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("loc", "scale")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; ``d/dv, d/dloc, d/dscale`` into ``g[j:j + 3]``.  With
    ``q = (log v - loc) / scale``: ``d/dloc = q / scale``, ``d/dscale = (q**2 - 1) / scale``,
    ``d/dv = -(1 + q / scale) / v``."""
    sc = np.float64(tab[b, k, o + SCALE])
    q = (np.float64(p0) - np.float64(tab[b, k, o + LOC])) / sc
    dl = q / sc
    g[j] = -(1.0 + dl) / np.float64(v)
    g[j + 1] = dl
    g[j + 2] = (q * q - 1.0) / sc
    return logpdf1(v, p0, p1, tab, b, k, o)
