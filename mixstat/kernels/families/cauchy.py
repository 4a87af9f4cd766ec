"""Cauchy family: density ``1 / (pi scale (1 + z**2))``, ``z = (x - loc) / scale``.

Row of one coordinate (``P = 4``; named offsets below):
``LOC | SCALE | INV = 1/scale | CONST = -log(pi scale)``.

``log p = CONST - log1p(z**2)``.  A scale whose reciprocal overflows the row's
dtype (subnormal) stores ``INV = NaN``: the SIMD log-density gives NaN there
and the loops redo the point with the exact function, which divides.

cdf: ``1/2 + atan(z)/pi`` for ``z >= -1``; in the lower tail ``z < -1``,
``atan(-1/z)/pi`` (the same number mathematically), formed as
``atan(scale / (loc - x)) / pi``: no cancellation against 1/2, so it keeps its
relative accuracy however far out (``F ~ 1/(pi |z|)``), and no overflow of
``z`` for subnormal scales.

Sampling: ``draw1`` (inversion, :func:`..samplers.std_cauchy`) and
``draw_tile``, the same stream and formula in SIMD (``tan`` as a ratio of the
polynomial ``sin``/``cos``; values agree with ``draw1`` to a few ulp).
"""

import math

import numpy as np
from numba.extending import register_jitable

from ..fastmath import exp_neg, log_pos, sincos_2pi
from ..philox import block_c
from ..quantile import xgrad_loc_scale
from ..samplers import _open, std_cauchy

# named offsets of one coordinate's row
LOC, SCALE, INV, CONST = 0, 1, 2, 3
P = 4
NPRE = 0

_INF = math.inf
_NAN = math.nan
_INV_PI = 1.0 / math.pi


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
        tab[..., CONST] = -np.log(np.pi) - np.log(scale)
    return tab.astype(dtype, copy=False)


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form (CPU only): ``log1p(t)``, ``t = z**2``, as ``log_pos(u) + c`` with
    ``u = 1 + t`` rounded and ``c = t - (u - 1)`` its exact rounding error, for
    ``t < 1`` (see ``studentt.logpdf1_fast``: within ~2 ulp of ``log1p``).  NaN
    where ``u`` is not finite (NaN in, ``z**2`` overflowing, subnormal scale): the
    loop redoes those points exactly."""
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    t = z * z
    u = 1.0 + t
    c = t - (u - 1.0)
    lg = log_pos(u) + (c if t < 1.0 else 0.0)
    r = np.float64(tab[b, k, o + CONST]) - lg
    return r if u < _INF else _NAN


@register_jitable
def term1_fast(v, p0, p1, tab, b, k, o, sh):
    """``exp(logpdf1_fast + sh)`` (CPU mixture loop, SIMD) as ``exp(CONST + sh) / (1 + z**2)``:
    no logarithm or exponential per point (the exponential is of loop constants), within a
    few ulp.  ``sh <= -CONST`` (the loop's scaling), so the term is at most 1.  NaN for NaN
    (and a NaN ``INV``: subnormal scale), so the loop redoes the point; 0 where ``z**2``
    overflows (the exact term is below ``1e-308`` of ``exp(CONST + sh)`` there)."""
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) * np.float64(tab[b, k, o + INV])
    return exp_neg(np.float64(tab[b, k, o + CONST]) + np.float64(sh)) / (1.0 + z * z)


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """Exact log-density in float64: ``CONST - log1p(z**2)``; where ``z**2`` overflows,
    ``2 (log|x - loc| - log scale)`` (exact to ~1e-300)."""
    x = np.float64(v)
    if not abs(x) < _INF:
        return x if x != x else -_INF
    sc = np.float64(tab[b, k, o + SCALE])
    d = x - np.float64(tab[b, k, o + LOC])
    a = abs(d) / sc
    t = a * a
    if t < _INF:
        lg = math.log1p(t)
    else:
        lg = 2.0 * (math.log(abs(d)) - math.log(sc))
    return np.float64(tab[b, k, o + CONST]) - lg


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``: ``CONST``."""
    return tab[b, k, o + CONST]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``atan(scale / (loc - x)) / pi`` below ``loc - scale``, else ``1/2 + atan(z)/pi``."""
    x = np.float64(v)
    sc = np.float64(tab[b, k, o + SCALE])
    d = x - np.float64(tab[b, k, o + LOC])
    if d < -sc:  # z < -1 (x = -inf included: atan(0) = 0)
        return math.atan(sc / -d) * _INV_PI
    return 0.5 + math.atan(d / sc) * _INV_PI  # NaN stays NaN; +inf: 1


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """``loc + scale C``, C by :func:`..samplers.std_cauchy` (inversion, word ``c``)."""
    return tab[b, k, o + LOC] + std_cauchy(key0, key1, n, c) * tab[b, k, o + SCALE]


@register_jitable
def _std_tile(w0, w1):
    """:func:`..samplers.std_cauchy` of the open uniform ``U = _open(w0, w1)``, SIMD-friendly.

    ``std_cauchy`` takes ``tan(pi h)``, ``h = U - 1/2``, for ``|h| <= 1/4``, and
    ``-1 / tan(pi U)`` below, ``1 / tan(pi (1 - U))`` above (all arguments
    exact).  Here ``a`` is ``h``, ``U`` or ``1 - U``, and ``sincos_2pi(a / 2)``
    (``a / 2`` exact, in ``[-1/8, 1/8]``: no reduction, and its argument
    ``2 pi (a / 2)`` is the same float64 as ``std_cauchy``'s ``pi a``) gives
    ``cos``/``sin`` of that argument; the result is ``sin/cos`` in the middle,
    ``-cos/sin`` and ``cos/sin`` in the tails (one division, selects only).
    Within a few ulp (relative) of ``std_cauchy``, from ``U = 2**-53``
    (``-2.9e15``) to ``1 - 2**-53`` (``2.9e15``).
    """
    u = _open(w0, w1)
    h = u - 0.5  # exact
    lo = h < -0.25
    hi = h > 0.25
    mid = not (lo or hi)
    a = h if mid else (u if lo else 1.0 - u)  # 1 - u exact
    cs, sn = sincos_2pi(0.5 * a)
    r = (sn if mid else cs) / (cs if mid else sn)
    return -r if lo else r


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The standard Cauchy draws by :func:`_std_tile` on the words of
    :func:`..samplers.std_cauchy` (block 1 of word ``4 j``), first, in a loop
    without gathers (it vectorises), then ``loc + C scale`` with each point's
    component: values agree with :func:`draw1` to a few ulp of ``|loc| + |C| scale``.
    ``z0``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):  # the random numbers, without gathers (SIMD)
            w0, w1, w2, w3 = block_c(key0, key1, g0 + i, 1, 4 * j)
            z0[i] = _std_tile(w0, w1)
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            out[row0 + i, j] = tab[b, k, o + LOC] + z0[i] * tab[b, k, o + SCALE]


@register_jitable
def _log_lower(d, sc):
    """``log F`` of a Cauchy at offset ``d = x - loc`` with ``scale`` ``sc``: below ``-sc``
    ``log(atan(sc / -d) / pi)`` (no cancellation in the tail), above ``sc``
    ``log1p(-atan(sc / d) / pi)``, between ``log(1/2 + atan(d / sc) / pi)``."""
    if d < -sc:
        t = math.atan(sc / -d) * _INV_PI
        return math.log(t) if t > 0.0 else -_INF
    if d > sc:
        return math.log1p(-math.atan(sc / d) * _INV_PI)
    return math.log(0.5 + math.atan(d / sc) * _INV_PI)  # NaN stays NaN


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log F(x)``, exact in both tails."""
    x = np.float64(v)
    return _log_lower(x - np.float64(tab[b, k, o + LOC]), np.float64(tab[b, k, o + SCALE]))


@register_jitable
def logsf1(v, tab, b, k, o):
    """``log(1 - F(x)) = log F`` at ``loc - x`` (symmetry)."""
    x = np.float64(v)
    return _log_lower(np.float64(tab[b, k, o + LOC]) - x, np.float64(tab[b, k, o + SCALE]))


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p <= 1/2``: ``loc -+ scale / tan(pi p)``."""
    mu = np.float64(tab[b, k, o + LOC])
    if p == 0.5:
        return mu
    t = np.float64(tab[b, k, o + SCALE]) / math.tan(math.pi * p)
    return mu + t if upper else mu - t


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
    """``log p(v)``; with ``z = (v - loc) / scale``: ``d/dv = -2 z / (1 + z**2) / scale``
    (formed as ``2 / (z + 1/z)`` for ``|z| > 1``: no overflow), ``d/dloc = -d/dv``,
    ``d/dscale = (2 z**2 / (1 + z**2) - 1) / scale``."""
    sc = np.float64(tab[b, k, o + SCALE])
    z = (np.float64(v) - np.float64(tab[b, k, o + LOC])) / sc
    if abs(z) > 1.0:
        u = 2.0 / (z + 1.0 / z)
        f = 2.0 / (1.0 + 1.0 / (z * z))
    else:
        u = 2.0 * z / (1.0 + z * z)
        f = 2.0 * z * z / (1.0 + z * z)
    g[j] = -u / sc
    g[j + 1] = u / sc
    g[j + 2] = (f - 1.0) / sc
    return logpdf1(v, p0, p1, tab, b, k, o)
