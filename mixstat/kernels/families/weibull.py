"""Weibull family (torch's ``Weibull(scale, concentration)``, scipy's ``weibull_min``).

Density ``(k / lam) (x / lam)**(k - 1) exp(-(x / lam)**k)`` on ``x > 0``.

Row of one coordinate (``P = 6``; named offsets below):
``SCALE | CONC | LOG_SCALE | CONST = log k - log lam | KM1 = k - 1 | BOUND``.

Per point, ``pre1`` gives ``log x``; per (point, component) the SIMD form is
``CONST + KM1 z - exp(k z)`` with ``z = log x - log lam``: a subtraction, a
few FMAs and the polynomial ``exp`` of :func:`_exp_le709` (the exponent
``k z`` is positive above the scale, so ``fastmath.exp_neg_any`` would not do).

Sampling: ``draw1`` (inversion) and ``draw_tile``, the same stream and formula
in SIMD (the polynomial ``log``/``exp``; values agree with ``draw1`` to a few ulp).

The exact ``logpdf1``/``cdf1`` take ``y = x / lam`` and ``y**k`` by ``pow``
where ``y`` is a normal number (relative error about ``k eps`` in ``y**k``,
where ``exp(k log y)`` would have ``|k log y| eps``), and the logarithms
otherwise (``x / lam`` under- or overflowing).
"""

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

from ..fastmath import _EXP_MIN, exp_neg, log_pos
from ..philox import block_c
from ..samplers import _open, std_exponential
from ..special import log1mexp

SCALE, CONC, LOG_SCALE, CONST, KM1, BOUND = 0, 1, 2, 3, 4, 5
P = 6
NPRE = 1  # p0 = log x

_INF = math.inf
_NAN = math.nan
_TINY = 2.2250738585072014e-308  # smallest normal float64
_LOG_MAX = 709.782712893384  # log of the largest float64: exp overflows above
_EXP_HI = 709.0  # _exp_le709 is exact up to here; above it returns inf

# as fastmath's: no 'reassoc' (it would fold the rounding shift)
_INLINE = dict(inline="always", error_model="numpy", fastmath={"contract", "nsz", "arcp"}, cache=True)


def pack(scale, concentration, dtype):
    """Rows ``(..., P)`` for ``scale`` and ``concentration`` (broadcast together)."""
    scale = np.asarray(scale, dtype=np.float64)
    k = np.asarray(concentration, dtype=np.float64)
    scale, k = np.broadcast_arrays(scale, k)
    tab = np.empty(scale.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        const = np.log(k) - np.log(scale)
        a = 1.0 - 1.0 / k  # the mode is lam a**(1/k) for k > 1
        top = const + a * np.log1p(-1.0 / k) - a
        tab[..., SCALE] = scale
        tab[..., CONC] = k
        tab[..., LOG_SCALE] = np.log(scale)
        tab[..., CONST] = const
        tab[..., KM1] = k - 1.0
        # k < 1: unbounded at 0 (the loops take the running maximum); k == 1: at x = 0
        tab[..., BOUND] = np.where(k > 1.0, top, np.where(k == 1.0, const, _INF))
    return tab.astype(dtype, copy=False)


@njit(**_INLINE)
def _exp_le709(x):
    """``exp(x)`` for ``x <= 709`` (or NaN), float64, branch-free: fastmath's ``exp_neg``
    reduction and polynomial (2**k stays normal for ``-708.4 <= x <= 709``); ``inf``
    above 709 (true values up to 1.8e308 there: callers only subtract it), 0 below -708.4."""
    y = exp_neg(x)
    return _INF if x > _EXP_HI else y  # NaN stays NaN


@register_jitable
def pre1(v):
    """``log x`` (``-inf`` at 0, NaN for ``x < 0``: the SIMD form then gives NaN and the
    loop redoes the point exactly); no ``math.log`` of 0 or a negative (it raises in
    the CUDA simulator)."""
    x = np.float64(v)
    if x > 0.0:
        lx = math.log(x)
        return lx, lx
    if x == 0.0:
        return -_INF, -_INF
    return _NAN, _NAN


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form ``CONST + (k - 1) z - exp(k z)``, ``z = log x - log lam``.

    Not exact (NaN or an infinity the loop's running maximum turns into NaN) at
    ``x = 0`` with ``k <= 1``, ``x = +inf`` with ``k >= 1``, ``x < 0`` and NaN: the
    loop redoes those points with :func:`logpdf1`.
    """
    z = p0 - tab[b, k, o + LOG_SCALE]
    e = _exp_le709(np.float64(tab[b, k, o + CONC] * z))
    return tab[b, k, o + CONST] + tab[b, k, o + KM1] * z - e


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    x = np.float64(v)
    c = np.float64(tab[b, k, o + CONC])
    if x > 0.0:
        y = x / np.float64(tab[b, k, o + SCALE])
        if y >= _TINY and y < _INF:
            lz = math.log(y)
            t = c * lz
            if t > _LOG_MAX:
                return -_INF
            e = math.pow(y, c)
        else:  # x / lam under- or overflowed (or x = inf): the logarithms
            lz = p0 - np.float64(tab[b, k, o + LOG_SCALE])
            t = c * lz
            if t > _LOG_MAX:
                return -_INF
            e = math.exp(t)
        return np.float64(tab[b, k, o + CONST]) + np.float64(tab[b, k, o + KM1]) * lz - e
    if x == 0.0:
        if c == 1.0:
            return np.float64(tab[b, k, o + CONST])
        return _INF if c < 1.0 else -_INF
    if x != x:
        return x
    return -_INF


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode (``+inf`` for ``k < 1``: unbounded at 0)."""
    return tab[b, k, o + BOUND]


@register_jitable
def cdf1(v, tab, b, k, o):
    """``-expm1(-(x / lam)**k)``; 0 for ``x <= 0``, NaN for NaN."""
    x = np.float64(v)
    if x > 0.0:
        c = np.float64(tab[b, k, o + CONC])
        y = x / np.float64(tab[b, k, o + SCALE])
        if y >= _TINY and y < _INF:
            if c * math.log(y) > _LOG_MAX:
                return 1.0
            t = math.pow(y, c)
        else:
            lt = c * (math.log(x) - np.float64(tab[b, k, o + LOG_SCALE]))
            if lt > _LOG_MAX:
                return 1.0
            t = math.exp(lt)
        return -math.expm1(-t)
    if x != x:
        return x
    return 0.0


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Inversion: ``lam exp(log(E) / k)`` with E ~ Exp(1) on counter word ``c``."""
    e = std_exponential(key0, key1, n, c)
    return _from_log(math.log(e) / np.float64(tab[b, k, o + CONC]), tab, b, k, o)


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The uniforms and ``log(-log U)`` first, in a loop without gathers (it
    vectorises), then the parameters of each point's component and the
    polynomial ``exp``; the few points whose exponent is outside
    ``[-708.4, 709]`` (a subnormal, 0 or huge result) are redone with ``math.exp``.
    ``z0``, ``z1``: float64 scratch of the tile's length.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):
            w0, w1, w2, w3 = block_c(key0, key1, g0 + i, 1, 4 * j)  # std_exponential's block
            z0[i] = log_pos(-log_pos(_open(w0, w1)))
        nbad = 0
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            a = z0[i] / np.float64(tab[b, k, o + CONC])
            z1[i] = a
            out[row0 + i, j] = np.float64(tab[b, k, o + SCALE]) * _exp_le709(a)
            nbad += not (a >= _EXP_MIN and a <= _EXP_HI)
        if nbad:
            for i in range(nl):
                a = z1[i]
                if not (a >= _EXP_MIN and a <= _EXP_HI):
                    out[row0 + i, j] = _from_log(a, tab, bb[i], kk[i], o)


@register_jitable
def _from_log(a, tab, b, k, o):
    """``lam exp(a)``: ``inf`` where it overflows, finite where ``exp(a)`` alone would overflow."""
    s = a + np.float64(tab[b, k, o + LOG_SCALE])
    if s > _LOG_MAX:
        return _INF
    if a <= _EXP_HI:
        return np.float64(tab[b, k, o + SCALE]) * math.exp(a)
    return math.exp(s)


@register_jitable
def _log_t(x, tab, b, k, o):
    """``log t``, ``t = (x / lam)**k``, for ``x > 0`` finite."""
    c = np.float64(tab[b, k, o + CONC])
    y = x / np.float64(tab[b, k, o + SCALE])
    if y >= _TINY and y < _INF:
        return c * math.log(y)
    return c * (math.log(x) - np.float64(tab[b, k, o + LOG_SCALE]))


@register_jitable
def logcdf1(v, tab, b, k, o):
    """``log(1 - exp(-t))``, ``t = (x / lam)**k``: for ``t < 1/2`` as
    ``log t + log(-expm1(-t) / t)`` (finite where ``t`` underflows), else
    :func:`..special.log1mexp`; ``-inf`` for ``x <= 0``."""
    x = np.float64(v)
    if x > 0.0:
        if x == _INF:
            return 0.0
        lt = _log_t(x, tab, b, k, o)
        if lt < -0.6931471805599453:
            t = math.exp(lt)
            if t == 0.0:
                return lt
            return lt + math.log(-math.expm1(-t) / t)
        if lt > _LOG_MAX:
            return 0.0
        return log1mexp(-math.exp(lt))
    if x != x:
        return x
    return -_INF


@register_jitable
def logsf1(v, tab, b, k, o):
    """``-(x / lam)**k`` (by ``pow`` where ``x / lam`` is a normal number, as :func:`cdf1`);
    0 for ``x <= 0``, ``-inf`` where it overflows."""
    x = np.float64(v)
    if x > 0.0:
        if x == _INF:
            return -_INF
        c = np.float64(tab[b, k, o + CONC])
        y = x / np.float64(tab[b, k, o + SCALE])
        if y >= _TINY and y < _INF:
            if c * math.log(y) > _LOG_MAX:
                return -_INF
            return -math.pow(y, c)
        lt = c * (math.log(x) - np.float64(tab[b, k, o + LOG_SCALE]))
        if lt > _LOG_MAX:
            return -_INF
        return -math.exp(lt)
    if x != x:
        return x
    return 0.0


@register_jitable
def icdf1(p, upper, tab, b, k, o):
    """The quantile at tail probability ``p``: ``scale (-log S)**(1 / concentration)``."""
    lam = np.float64(tab[b, k, o + SCALE])
    c = np.float64(tab[b, k, o + CONC])
    e = -math.log(p) if upper else -math.log1p(-p)
    return lam * math.exp(math.log(e) / c)


# -- implicit reparameterisation (``sample_grad``) ------------------------------------
#: the parameters (façade names) whose sample derivative ``xgrad1`` has in closed form
XGRAD = ("scale", "concentration")


@register_jitable
def xgrad1(v, tab, b, k, o, i):
    """``dx/dtheta_i`` at fixed ``u = F(x)``: ``x = scale E**(1/c)`` (``E = -log(1 - u)``)
    gives ``x / scale`` and ``-x log(x / scale) / c``."""
    x = np.float64(v)
    if i == 0:
        return x / np.float64(tab[b, k, o + SCALE])
    return -x * (math.log(x) - np.float64(tab[b, k, o + LOG_SCALE])) / np.float64(tab[b, k, o + CONC])


# -- derivatives (the log_prob_grad operation) ---------------------------------------
#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("scale", "concentration")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; with ``y = v / scale``, ``t = y**c`` (``c`` the concentration):
    ``d/dv = (c - 1 - c t) / v``, ``d/dscale = c (t - 1) / scale``,
    ``d/dc = 1 / c + log(y) (1 - t)``."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not abs(lp) < _INF:
        return lp
    x = np.float64(v)
    c = np.float64(tab[b, k, o + CONC])
    lam = np.float64(tab[b, k, o + SCALE])
    ly = np.float64(p0) - np.float64(tab[b, k, o + LOG_SCALE])
    t = math.exp(c * ly)
    g[j] = (c - 1.0 - c * t) / x
    g[j + 1] = c * (t - 1.0) / lam
    g[j + 2] = 1.0 / c + ly * (1.0 - t)
    return lp
