"""Normal family (univariate; ``Independent`` over it is a diagonal Gaussian).

Row of one coordinate (``P = 4``; named offsets below):
``LOC | INV = sqrt(1/2)/scale | CONST = -log(scale) - log(2 pi)/2 | SCALE``.

With ``z = (x - loc) sqrt(1/2) / scale`` the log-density is ``const - z**2``
and the cdf is ``erfc(-z) / 2``: no multiply by 1/2 and no float64 literal in
the fast arithmetic, so float32 rows are evaluated in float32.

A scale whose reciprocal overflows the row's dtype (a subnormal scale) stores
``INV = NaN``: the SIMD tile functions (``*_fast``) then give NaN, the loops
redo those points with the exact functions, which divide by the scale instead.
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..erfc import (
    _X_MID,
    _X_RB,
    _X_SCALE,
    _X_TAIL,
    erfc_any,
    erfc_mid,
    erfc_small,
    erfc_tail_a_near,
    erfc_tail_b,
    erfc_tail_b_near,
)
from ..fastmath import log_pos, sincos_2pi
from ..philox import block_c, u53
from ..quantile import ndtri_approx, xgrad_loc_scale
from ..special import log_half_erfc

# named offsets of one coordinate's row
LOC, INV, CONST, SCALE = 0, 1, 2, 3
P = 4
NPRE = 0  # no per-point quantities

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
# sqrt(1/2) = _SQRT_HALF_HI + _SQRT_HALF_LO to ~2**-106 (tests/test_fastmath.py checks it)
_SQRT_HALF_HI = 0.7071067811865476
_SQRT_HALF_LO = -4.833646656726457e-17
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_SPLIT = 134217729.0  # 2**27 + 1
_BIG = 2.0**900
#: from z = 6 on, 0.5 erfc(-z) rounds to 1; below z = -8 the cdf is under 5.6e-30: dropped
#: terms then change a total of at least CDF_THRESH (smaller totals are redone exactly)
#: by less than 5.6e-20 relative
Z_ONE = 6.0
Z_ZERO = 8.0
_TINY = 2.0**-900


def pack(loc, scale, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``scale`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    loc, scale = np.broadcast_arrays(loc, scale)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = _SQRT_HALF / scale
        tab[..., LOC] = loc
        tab[..., INV] = np.where(inv <= np.finfo(dtype).max, inv, np.nan)
        tab[..., CONST] = -np.log(scale) - _HALF_LOG_2PI
        tab[..., SCALE] = scale
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form: NaN when the scale is subnormal (the loop redoes the point)."""
    z = (v - tab[b, k, o + LOC]) * tab[b, k, o + INV]
    return tab[b, k, o + CONST] - z * z


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    inv = tab[b, k, o + INV]
    if inv != inv:  # subnormal scale: divide (exact for subnormals) instead
        zz = (np.float64(v) - np.float64(tab[b, k, o + LOC])) / np.float64(tab[b, k, o + SCALE]) * _SQRT_HALF
        return np.float64(tab[b, k, o + CONST]) - zz * zz
    z = (v - tab[b, k, o + LOC]) * inv
    return np.float64(tab[b, k, o + CONST] - z * z)


@register_jitable
def bound1(tab, b, k, o):
    """An upper bound of ``logpdf1`` over ``x``: its value at the mode."""
    return tab[b, k, o + CONST]


@register_jitable
def cdf1_fast(v, tab, b, k, o):
    """SIMD form (vectorisable erfc); relative error ~2 z**2 eps in the lower
    tail, which the loops bound by redoing points whose total is small.  0 for
    ``z <= -Z_ZERO`` (the cdf is below 5.6e-30 there), so that :func:`cdf1_tile`
    may skip those terms and still give the same sums bit for bit."""
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    r = 0.5 * erfc_any(-z)
    return 0.0 if z <= -Z_ZERO else r


@register_jitable
def cdf1_tile(xv, nl, xlo, xhi, tab, b, k, o, wk, acc):
    """``acc[i] += wk * cdf1_fast(xv[i], ...)`` for ``i < nl``, the same terms bit for bit, for
    values in ``[xlo, xhi]`` (no NaN), by the cheapest path for the whole tile: every ``z``
    at least ``Z_ONE`` (every term is ``wk``: 0.5 erfc(-z) rounds to 1), at most ``-Z_ZERO``
    (0), or in one region of the erfc (``|z|`` below 0.84375, up to 1.25, up to 1/0.35, beyond;
    :mod:`mixstat.kernels.erfc`: one rational function instead of all four; in the tails, up to
    ``|z| = 26``, without the clamp and the scaling), else all regions.
    ``z`` is monotone in the value (``inv > 0``), so the tile's ``z`` lie in ``[zlo, zhi]``."""
    mu = np.float64(tab[b, k, o + LOC])
    inv = np.float64(tab[b, k, o + INV])
    zlo = (xlo - mu) * inv
    zhi = (xhi - mu) * inv
    if zlo >= Z_ONE:
        for i in range(nl):
            acc[i] += wk
    elif zhi <= -Z_ZERO:
        pass
    elif zlo > -_X_MID and zhi < _X_MID:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * erfc_small(-z))
    elif (zlo >= _X_MID and zhi < _X_TAIL) or (zlo > -_X_TAIL and zhi <= -_X_MID):
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * erfc_mid(-z))
    elif zlo >= _X_TAIL and zhi < _X_RB:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * (2.0 - erfc_tail_a_near(z)))
    elif zhi <= -_X_TAIL and zlo > -_X_RB:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * erfc_tail_a_near(-z))
    elif zlo >= _X_RB and zhi <= _X_SCALE:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * (2.0 - erfc_tail_b_near(z)))
    elif zhi <= -_X_RB and zlo >= -_X_SCALE:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            r = 0.5 * erfc_tail_b_near(-z)
            acc[i] += wk * (0.0 if z <= -Z_ZERO else r)
    elif zlo >= _X_RB:  # (the far tails, up to +-inf: the clamped, scaled tail)
        for i in range(nl):
            z = (xv[i] - mu) * inv
            acc[i] += wk * (0.5 * (2.0 - erfc_tail_b(z)))
    elif zhi <= -_X_RB:
        for i in range(nl):
            z = (xv[i] - mu) * inv
            r = 0.5 * erfc_tail_b(-z)
            acc[i] += wk * (0.0 if z <= -Z_ZERO else r)
    else:  # (tiles across a region boundary: rare once sorted, and fewer inlined copies to compile)
        for i in range(nl):
            acc[i] += wk * cdf1_fast(xv[i], tab, b, k, o)


@register_jitable
def cdf1(v, tab, b, k, o):
    """``erfc(-z) / 2``: :func:`_cdf_side` of the lower tail."""
    return _cdf_side(v, tab, b, k, o, 1.0)


@register_jitable
def sf1(v, tab, b, k, o):
    """``1 - F(x) = erfc(z) / 2``, as accurate in the upper tail as :func:`cdf1` in the lower."""
    return _cdf_side(v, tab, b, k, o, -1.0)


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """A seed for the quantile at lower-tail probability ``p`` (upper-tail where ``upper``),
    ``0 < p <= 1/2``: ``loc -+ scale Phi^{-1}(p)`` with Acklam's approximation (1e-9)."""
    z = ndtri_approx(p)
    s = np.float64(tab[b, k, o + SCALE])
    mu = np.float64(tab[b, k, o + LOC])
    return mu - s * z if upper else mu + s * z


@register_jitable
def _cdf_side(v, tab, b, k, o, sg):
    """``erfc(-sg z) / 2`` with ``z = (x - loc) / (scale sqrt 2)`` carried in two parts
    (``sg = 1``: the cdf; ``-1``: the survival function).

    In the lower tail ``erfc(|z|)`` has relative condition ``~2 z**2``, so an
    ``z`` rounded once (1 ulp) would cost ``2 z**2 eps`` (1e-13 at z = -21).
    ``z = zh + zl`` is formed to about 2**-100 relative (exact difference,
    division with its remainder, sqrt(1/2) in two parts) and ``zl`` enters by
    the first-order term ``exp(-zh**2) / sqrt(pi)``.  The products are formed
    on the scale times a power of two, so huge and subnormal scales neither
    overflow nor lose bits.
    """
    xv = np.float64(v)
    mu = np.float64(tab[b, k, o + LOC])
    sc = np.float64(tab[b, k, o + SCALE])
    d = xv - mu
    q = d / sc
    z0 = q * _SQRT_HALF
    if not abs(z0) < 38.0:  # NaN, +-inf, or a tail where the result is 0 or 1
        return 0.5 * math.erfc(-sg * z0)
    bv = d - xv  # two-sum: d + dl == xv - mu exactly
    dl = (xv - (d - bv)) + (-mu - bv)
    f = 1.0
    if sc > _BIG:
        f = 2.0**-600
    elif sc < _TINY:
        f = 2.0**600
    d = d * f
    dl = dl * f
    sc = sc * f
    ph, pl = _two_prod(q, sc)  # q + ql == (d + dl) / sc to ~2**-106
    ql = (((d - ph) - pl) + dl) / sc
    zh, zl = _two_prod(q, _SQRT_HALF_HI)
    zl += q * _SQRT_HALF_LO + ql * _SQRT_HALF_HI
    z = zh + zl
    zl = zl - (z - zh)
    return 0.5 * math.erfc(-sg * z) + sg * zl * _INV_SQRT_PI * math.exp(-z * z)


@register_jitable
def _two_prod(a, b):
    """``a * b == p + e`` exactly (Dekker, Veltkamp's split; no FMA needed)."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = _SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale z``, ``z`` by Box-Muller (cosine) on block 1 of counter word ``c``."""
    c0, c1, c2, c3 = block_c(key0, key1, n, 1, c)
    r = math.sqrt(-2.0 * math.log(1.0 - u53(c0, c1)))
    z = r * math.cos(2.0 * math.pi * u53(c2, c3))
    return tab[b, k, o + LOC] + z * tab[b, k, o + SCALE]


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The same random stream and formula, with the polynomial ``log``/``sincos``
    of :mod:`..fastmath`: values agree with :func:`draw1` to a few ulp.
    ``bb[i]``, ``kk[i]``: batch row and component of point ``i``; it is written
    to ``out[row0 + i]``.  ``z0``, ``z1``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        # the random numbers first, in a loop without gathers (it vectorises) ...
        for i in range(nl):
            c0, c1, c2, c3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            r = math.sqrt(-2.0 * log_pos(1.0 - u53(c0, c1)))
            cs, sn = sincos_2pi(u53(c2, c3))
            z0[i] = r * cs
        # ... then the parameters of each point's component
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            out[row0 + i, j] = tab[b, k, o + LOC] + z0[i] * tab[b, k, o + SCALE]


@register_jitable
def _log_half_erfc_side(v, tab, b, k, o, s):
    """``log(erfc(-s z) / 2)`` with ``z = (x - loc) / (scale sqrt 2)``: ``s = 1`` gives
    ``log F(x)``, ``s = -1`` gives ``log(1 - F(x))``.

    For ``|z| < 26`` (the erfc of ``|z|`` still a normal number) ``z`` is carried in
    two parts as in :func:`cdf1`, the tail side is ``log`` of the corrected
    ``erfc(|z|) / 2`` and the bulk side ``log1p`` of minus it; beyond,
    :func:`..special.log_half_erfc` (``-z**2 + log(erfcx(|z|) / 2)``, its
    asymptotic series), finite however far out ``x`` is.
    """
    xv = np.float64(v)
    mu = np.float64(tab[b, k, o + LOC])
    sc = np.float64(tab[b, k, o + SCALE])
    d = xv - mu
    q = d / sc
    z0 = q * _SQRT_HALF
    if not abs(z0) < 26.0:  # NaN, +-inf, or a far tail
        return log_half_erfc(-s * z0)
    bv = d - xv  # two-sum: d + dl == xv - mu exactly
    dl = (xv - (d - bv)) + (-mu - bv)
    f = 1.0
    if sc > _BIG:
        f = 2.0**-600
    elif sc < _TINY:
        f = 2.0**600
    d = d * f
    dl = dl * f
    sc = sc * f
    ph, pl = _two_prod(q, sc)
    ql = (((d - ph) - pl) + dl) / sc
    zh, zl = _two_prod(q, _SQRT_HALF_HI)
    zl += q * _SQRT_HALF_LO + ql * _SQRT_HALF_HI
    z = zh + zl
    zl = zl - (z - zh)
    g = zl * _INV_SQRT_PI * math.exp(-z * z)
    if s * z <= 0.0:  # the tail side: erfc(-s z) / 2 <= 1/2
        return math.log(0.5 * math.erfc(-s * z) + s * g)
    return math.log1p(-(0.5 * math.erfc(s * z) - s * g))


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log F(x)``, exact in both tails (``log Phi(-40)`` is finite)."""
    return _log_half_erfc_side(v, tab, b, k, o, 1.0)


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - F(x))``, exact in both tails."""
    return _log_half_erfc_side(v, tab, b, k, o, -1.0)


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("loc", "scale")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)`` (float64, the bits of :func:`logpdf1`); writes ``d/dv``, ``d/dloc``,
    ``d/dscale`` into ``g[j], g[j + 1], g[j + 2]``.  With ``q = (v - loc) / scale``:
    ``d/dloc = q / scale = -d/dv``, ``d/dscale = (q**2 - 1) / scale``."""
    sc = np.float64(tab[b, k, o + SCALE])
    q = (np.float64(v) - np.float64(tab[b, k, o + LOC])) / sc
    dl = q / sc
    g[j] = -dl
    g[j + 1] = dl
    g[j + 2] = (q * q - 1.0) / sc
    return logpdf1(v, p0, p1, tab, b, k, o)


@register_jitable
def score1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form of ``(log p(v), d/dv log p(v))``: ``(const - z**2, -2 z inv)``, NaN where the
    scale is subnormal (the loop redoes the point with :func:`grad1`)."""
    inv = tab[b, k, o + INV]
    z = (v - tab[b, k, o + LOC]) * inv
    return tab[b, k, o + CONST] - z * z, -2.0 * z * inv


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("loc", "scale")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """The derivative of a draw ``x`` at a fixed cdf value ``u = F(x)`` with respect to
    parameter ``i`` (``loc``, ``scale``): ``-(dF/dtheta_i) / p(x)``, float64.  A location-scale
    family: ``x = loc + scale F0^-1(u)``, so 1 and ``(x - loc) / scale``."""
    return xgrad_loc_scale(v, tab[b, k, o + LOC], tab[b, k, o + SCALE], i)


@register_jitable
def grad1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form of :func:`grad1`: ``(log p, d/dv, d/dloc, d/dscale)`` from ``z = (v - loc) inv``:
    ``d/dloc = 2 z inv``, ``d/dscale = (2 z**2 - 1) sqrt(2) inv``; NaN where the scale is
    subnormal (the loop redoes the point with :func:`grad1`)."""
    inv = tab[b, k, o + INV]
    z = (v - tab[b, k, o + LOC]) * inv
    dl = 2.0 * z * inv
    return tab[b, k, o + CONST] - z * z, -dl, dl, (2.0 * z * z - 1.0) * (_SQRT2 * inv)


_SQRT2 = math.sqrt(2.0)
